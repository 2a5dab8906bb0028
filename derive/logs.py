"""One proof step the rewrites and the derivation checker share: logarithms of sums of
exponentials split, which SymPy's simplify does not do (log(1 + e^(x - y)) = log(e^x + e^y)
- y, the Beta KL's Bernoulli part)."""

import sympy as sp


def in_positive_logs(difference: sp.Expr) -> sp.Expr:
    """``difference`` with every (real) symbol x written log X, X > 0 (a one-to-one change
    of variables), each logarithm's argument put over one denominator and factored, the
    logarithms split (of positive factors only, as SymPy knows them) and the result
    cancelled: 0 where the logarithms of sums were all that kept it from simplifying."""
    positive = {s: sp.log(sp.Dummy(s.name, positive=True)) for s in difference.free_symbols}
    spread = difference.xreplace(positive)
    spread = spread.replace(sp.log, lambda z: sp.log(sp.factor(sp.together(z))))
    return sp.cancel(sp.expand(sp.expand_log(spread)))
