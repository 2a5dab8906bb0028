"""The numerics rewrites of a user's kernel, each proved equal to what it replaces.

A loss term typed from a textbook loses digits or overflows where its value is fine:
``log(1 + x)`` for small x, ``log(1 + e^x)`` for large x, ``e^x - 1`` near 0, ``log`` of a
sigmoid, ``e^t - 1 - t``. Each rule below replaces such a pattern by a function the
printers evaluate stably. A rewrite is kept only when SymPy proves the rewritten expression
(its functions replaced by their definitions) equal to the one before; an unproved one is
dropped, never used.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.codegen.rewriting import expm1_opt, log1p_opt, optimize

from klgen.derive import functions, numerics
from klgen.derive.functions import (
    beta_bernoulli_gap,
    beta_stirling_gap,
    exp_bregman,
    exp_bregman_split,
    exp_difference,
    exp_product,
    exprel,
    log_exprel,
    logaddexp,
    product_error,
    rounded_sum,
    sigmoid,
    sigmoid_difference,
    small_error,
    softplus,
    softplus_bregman,
    stirling_bregman,
    sum_error,
)
from klgen.derive.logs import in_positive_logs


@dataclass(frozen=True)
class Rule:
    """One rewrite: what it does (shown in the module docstring) and the function doing it."""

    name: str
    why: str
    apply: Callable[[sp.Expr], sp.Expr]


def _sigmoids(expr):
    """1 / (1 + e^-x) -> sigmoid(x)."""

    def is_sigmoid(e):
        if not (isinstance(e, sp.Pow) and e.exp == -1 and isinstance(e.base, sp.Add)):
            return False
        one, rest = e.base.as_coeff_Add()
        return one == 1 and isinstance(rest, sp.exp)

    return expr.replace(is_sigmoid, lambda e: sigmoid(-e.base.as_coeff_Add()[1].args[0]))


def _softplus(expr):
    """log1p(e^x) -> softplus(x), also where SymPy's log1p_opt split e^(a + b) into e^a e^b
    (log(1 + e^(x - y)) becomes log1p(e^x e^-y), whose factors overflow on their own) and
    for c e^x, c > 0 (softplus(x + log c))."""
    return expr.replace(
        lambda e: isinstance(e, log1p) and _exponent(e.args[0]) is not None,
        lambda e: softplus(_exponent(e.args[0])),
    )


def _exponent(e) -> sp.Expr | None:
    """x where ``e`` is e^x: a product of exponentials e^a e^b ... (x = a + b + ...), times
    a positive constant c (x + log c)."""
    coeff, rest = sp.powsimp(e, combine="exp").as_coeff_Mul()
    if not isinstance(rest, sp.exp) or coeff <= 0:
        return None
    return rest.args[0] + sp.log(coeff)


def _one_minus_sigmoid(expr):
    """1 - sigmoid(x) -> sigmoid(-x)."""
    x = sp.Wild("x")
    return expr.replace(1 - sigmoid(x), sigmoid(-x))


def _log_sigmoid(expr):
    """log(sigmoid(x)) -> -softplus(-x)."""
    return expr.replace(
        lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sigmoid),
        lambda e: -softplus(-e.args[0].args[0]),
    )


def _tangent_gap(expr, function, slope, node, canonical):
    """c (f(b) - f(a) - f'(a) (b - a)) -> c node(a, b) (f = ``function``, f' = ``slope``), looked
    for in ``canonical(expr)``, expanded: the gap between f and its tangent, which cancels
    near b = a typed as it reads."""
    expanded = sp.expand(canonical(expr))
    terms = len(sp.Add.make_args(expanded))
    for s in sorted(expanded.atoms(slope), key=sp.default_sort_key):
        a = s.args[0]
        for f in sorted(expanded.atoms(function), key=sp.default_sort_key):
            b, coeff = f.args[0], expanded.coeff(f)
            gap = function(b) - function(a) - slope(a) * (b - a)
            rest = sp.expand(expanded - coeff * gap)
            if b != a and coeff != 0 and len(sp.Add.make_args(rest)) <= terms - 3:
                return coeff * node(a, b) + rest
    return expr


def _softplus_bregman(expr):
    """softplus(b) - softplus(a) - sigmoid(a) (b - a) -> softplus_bregman(a, b), looked for
    with softplus(-x) written as softplus(x) - x and sigmoid(-x) as 1 - sigmoid(x) (so the
    Bernoulli KL, typed with both outcomes' terms, shows it)."""

    def positive(function, flipped):
        return lambda x: flipped(x) if x.could_extract_minus_sign() else function(x)

    def canonical(e):
        e = e.replace(softplus, positive(softplus, lambda x: softplus(-x) + x))
        return e.replace(sigmoid, positive(sigmoid, lambda x: 1 - sigmoid(-x)))

    return _tangent_gap(expr, softplus, sigmoid, softplus_bregman, canonical)


def _exp_bregman(expr):
    """e^b - e^a - e^a (b - a) -> exp_bregman(a, b) (the Poisson KL in log-rates)."""
    return _tangent_gap(expr, sp.exp, sp.exp, exp_bregman, lambda e: e)


def _lgamma_bregman(expr):
    """c (lgamma(e^b) - lgamma(e^a) - psi(e^a) (e^b - e^a)) -> c stirling_bregman(a, b) +
    c (e^a - e^b - e^b (a - b)): lgamma's tangent gap is that of f = lgamma - x log x + x
    (a node, evaluated without cancellation) plus that of x log x - x, whose exponentials
    join the others of the term (the Gamma KL: exp_bregman_split then finds their gap)."""
    expanded = sp.expand(expr, power_exp=False)
    terms = len(sp.Add.make_args(expanded))
    for slope in sorted(expanded.atoms(sp.polygamma), key=sp.default_sort_key):
        order, x = slope.args
        if order != 0 or not isinstance(x, sp.exp):
            continue
        for f in sorted(expanded.atoms(sp.loggamma), key=sp.default_sort_key):
            y, coeff = f.args[0], expanded.coeff(f)
            if y == x or not isinstance(y, sp.exp) or coeff == 0:
                continue
            gap = sp.loggamma(y) - sp.loggamma(x) - slope * (y - x)
            rest = sp.expand(expanded - coeff * gap, power_exp=False)
            if len(sp.Add.make_args(rest)) <= terms - 3:
                a, b = x.args[0], y.args[0]
                outer = sp.exp(a) - sp.exp(b) - sp.exp(b) * (a - b)
                return coeff * stirling_bregman(a, b) + sp.expand(
                    rest + coeff * outer, power_exp=False
                )
    return expr


def _lbeta_bregman(expr):
    """c (lnB(e^u, e^v) - lnB(e^x, e^y) - (psi(e^x) - psi(s)) (e^u - e^x) - (psi(e^y) - psi(s))
    (e^v - e^y)), lnB(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b) and s = e^x + e^y (the Beta
    KL: lnB's tangent gap), -> c (beta_stirling_gap(x, y, u, v) + beta_bernoulli_gap(x, y, u,
    v)), the second e^S_p times a Bernoulli KL, S_p = logaddexp(u, v): lgamma's gaps split as
    ``lgamma_bregman`` splits them,
    into those of f = lgamma - x log x + x (one node, evaluated without the cancellation of
    its three gaps where one concentration is far below the other) and those of x log x - x,
    which sum to s_p times the KL of the Bernoulli distributions of logits u - v and x - y
    (never negative)."""
    expanded = sp.expand(expr, power_exp=False)
    terms = len(sp.Add.make_args(expanded))
    for top in sorted(expanded.atoms(sp.loggamma), key=sp.default_sort_key):
        pair_p = _two_exponentials(top.args[0])
        coeff = -expanded.coeff(top)
        for slope in sorted(expanded.atoms(sp.polygamma), key=sp.default_sort_key):
            pair = _two_exponentials(slope.args[1]) if slope.args[0] == 0 else None
            if pair_p is None or pair is None or pair == pair_p or coeff == 0:
                continue
            (x, y), (u, v) = pair, pair_p
            gap = _lbeta(u, v) - _lbeta(x, y)
            for z, w in ((x, u), (y, v)):
                gap -= (sp.polygamma(0, sp.exp(z)) - slope) * (sp.exp(w) - sp.exp(z))
            rest = sp.expand(expanded - coeff * gap, power_exp=False)
            if len(sp.Add.make_args(rest)) <= terms - 6:
                node = beta_stirling_gap(x, y, u, v) + beta_bernoulli_gap(x, y, u, v)
                return coeff * node + rest
    return expr


def _two_exponentials(e) -> tuple[sp.Expr, sp.Expr] | None:
    """(x, y) where ``e`` is e^x + e^y, else None."""
    parts = sp.Add.make_args(e)
    if len(parts) != 2 or not all(isinstance(p, sp.exp) for p in parts):
        return None
    return parts[0].args[0], parts[1].args[0]


def _lbeta(x, y):
    """log B(e^x, e^y) = lgamma(e^x) + lgamma(e^y) - lgamma(e^x + e^y)."""
    a, b = sp.exp(x), sp.exp(y)
    return sp.loggamma(a) + sp.loggamma(b) - sp.loggamma(a + b)


def _exp_bregman_split(expr):
    """c (e^(b + c - d) - e^a - e^a (b + c - d - a)) -> c exp_bregman_split(a, b, c, d), for
    symbols a, b, c, d: the gap of e^x between a and a + D, D = (b - a) + (c - d) summed from
    its differences (b the argument whose name shares the longest start with a's: log_rate
    with log_rate_p), so that D is 0 exactly where b = a and c = d."""
    expanded = sp.powsimp(sp.expand(expr, power_exp=False), combine="exp")
    terms = len(sp.Add.make_args(expanded))
    exponentials = sorted(expanded.atoms(sp.exp), key=sp.default_sort_key)
    for low in exponentials:
        a = low.args[0]
        for high in exponentials:
            pairs = _two_differences(high.args[0] - a, a)
            coeff = expanded.coeff(high)
            if pairs is None or coeff == 0:
                continue
            gap = high - low - low * (high.args[0] - a)
            rest = sp.expand(expanded - coeff * gap, power_exp=False)
            if len(sp.Add.make_args(rest)) <= terms - 3:
                return coeff * exp_bregman_split(a, *pairs) + rest
    return expr


def _two_differences(shift, a):
    """(b, c, d) with shift = (b - a) + (c - d), all symbols, b the one named most like a; or
    None."""
    if not a.is_Symbol:
        return None
    plus = [t for t in sp.Add.make_args(shift) if t.is_Symbol]
    minus = [-t for t in sp.Add.make_args(shift) if (-t).is_Symbol]
    if len(plus) != 2 or len(minus) != 2 or a not in minus or len(sp.Add.make_args(shift)) != 4:
        return None
    (d,) = (m for m in minus if m != a)
    b, c = sorted(plus, key=lambda p: -len(os.path.commonprefix([p.name, a.name])))
    return b, c, d


def _opposite_pairs(expr, function, pair):
    """In every sum, terms c f(x) and -c f(y) (f = ``function``) replaced by
    ``pair(c, x, y)`` where that gives an expression (None leaves them)."""
    if not expr.args:
        return expr
    expr = expr.func(*(_opposite_pairs(a, function, pair) for a in expr.args))
    if not isinstance(expr, sp.Add):
        return expr

    def split(term):  # (coefficient, argument) of a term c f(x), else None
        factors = [f for f in sp.Mul.make_args(term) if isinstance(f, function)]
        return (term / factors[0], factors[0].args[0]) if len(factors) == 1 else None

    terms, paired = list(expr.args), []
    while True:
        found = [(t, split(t)) for t in terms if split(t)]
        matches = (
            (t, u, replacement)
            for t, (c, x) in found
            for u, (k, y) in found
            if k == -c and (replacement := pair(c, x, y)) is not None
        )
        match = next(matches, None)
        if match is None:
            return sp.Add(*terms, *paired)
        t, u, replacement = match
        terms.remove(t)
        terms.remove(u)
        paired.append(replacement)


def _sigmoid_difference(c, x, y):
    """c sigmoid(x) - c sigmoid(y) -> c sigmoid_difference(x, y), c written positive."""
    return (
        -c * sigmoid_difference(y, x)
        if c.could_extract_minus_sign()
        else c * sigmoid_difference(x, y)
    )


def _exp_difference(c, x, y):
    """c e^x - c e^y -> c exp_difference(x, y), c written positive."""
    return -c * exp_difference(y, x) if c.could_extract_minus_sign() else c * exp_difference(x, y)


def _softplus_of_opposites(c, x, y):
    """c softplus(x) - c softplus(-x) -> c x (softplus(x) - softplus(-x) = x exactly)."""
    return c * x if y == -x else None


def _logaddexp(expr):
    """log(e^a + e^b) -> logaddexp(a, b); also for c e^a (a + log c) and a constant c > 0
    (log c), except log(1 + e^x), which is softplus(x) (rules log1p, softplus)."""

    def exponents(e):
        inner = e.args[0] if isinstance(e, sp.log) else None
        if not isinstance(inner, sp.Add) or len(inner.args) != 2 or inner.is_number:
            return None
        if sp.S.One in inner.args and any(isinstance(t, sp.exp) for t in inner.args):
            return None
        found = [sp.log(t) if t.is_number and t.is_positive else _exponent(t) for t in inner.args]
        return None if None in found else found

    return expr.replace(lambda e: exponents(e) is not None, lambda e: logaddexp(*exponents(e)))


def _one_exponential(expr):
    """e^a e^b -> e^(a + b) (products distributed over sums first), kept when it leaves fewer
    exponentials: a factor e^a may overflow where the product does not."""
    combined = sp.powsimp(sp.expand_mul(expr), combine="exp")
    return combined if len(combined.atoms(sp.exp)) < len(expr.atoms(sp.exp)) else expr


def _log_exprel(expr):
    """log(expm1(x) / x) -> log_exprel(x) (the continuous Bernoulli's log-normaliser)."""

    def is_log_exprel(e):
        if not isinstance(e, sp.log):
            return False
        numerator, denominator = sp.fraction(e.args[0])
        return isinstance(numerator, expm1) and numerator.args[0] == denominator

    return expr.replace(is_log_exprel, lambda e: log_exprel(sp.fraction(e.args[0])[1]))


def _exponentials_multiplied(expr):
    """e^a e^b m -> e^(a + b) m in every product of two or more exponentials, as the last
    rewrites leave them (a gradient's e^-s e^(s - t - y) |d|): a factor may overflow where
    the product does not, and one exponential leaves exp_product a product to scale."""

    def is_product(e):
        return isinstance(e, sp.Mul) and sum(isinstance(f, sp.exp) for f in e.args) > 1

    return expr.replace(is_product, lambda e: sp.powsimp(e, combine="exp"))


def _expm1_of_products(expr):
    """expm1(u), u = c m e^z, -> u exprel(u) as exp_product(c m exprel(u), z) where |u| < 1
    (beyond, expm1(u) is not small and keeps its own scale), and then
    every exp_product(c exp_product(m, z), x) as exp_product(c m, z + x): the scale of a small
    argument kept in the exponent, where m e^z alone would underflow (kl_laplace's
    e^-log_scale_p (1 - e^-|d| e^-log_scale) at log_scale = 710)."""

    def scaled(u):
        products = [f for f in sp.Mul.make_args(u) if isinstance(f, exp_product)]
        return len(products) == 1

    def expanded(u):
        (node,) = (f for f in sp.Mul.make_args(u) if isinstance(f, exp_product))
        m, z = node.args
        small = exp_product(u / node * m * exprel(u), z)
        return sp.Piecewise((small, sp.Abs(u) < 1), (expm1(u), True))

    expr = expr.replace(
        lambda e: isinstance(e, expm1) and scaled(e.args[0]), lambda e: expanded(e.args[0])
    )
    expr = sp.piecewise_fold(expr)

    def nested(m, x):
        inner = [f for f in sp.Mul.make_args(m) if isinstance(f, exp_product)]
        if len(inner) != 1:
            return exp_product(m, x)
        (node,) = inner
        return nested(m / node * node.args[0], node.args[1] + x)

    return expr.replace(exp_product, nested)


def _compensated_exponents(expr):
    """e^A, expm1(A), e^A - 1 - A and m e^A for an exponent A = t1 + t2 + ... of two or more
    terms that are not numbers: A as s + err, s its sum added term by term (rounded_sum)
    and err the exact rounding errors of those additions (sum_error), then each to first
    order in err (below |A| eps; the rest is below its square), err taken 0 where |err| >= 1
    (e^s is 0 or inf there), so 1 + err > 0: e^A = e^s (1 + err), expm1(A)
    = expm1(s) (1 + err) + err, e^A - 1 - A = E(s) (1 + err) + s err. A rounded exponent of
    700 would otherwise put 700 eps of relative error into e^A. A term c m e^x (exp_product)
    adds its own rounding to err too (product_error: e^x's and the product's), and a term's
    inner sums theirs times its slope. The forms are finite where the result is and +inf
    where e^s overflows, whatever the sign of err (1 + err > 0)."""

    def added(terms):  # (fl of the sum added in order, the exact errors of the additions)
        total, error = terms[0], sp.Integer(0)
        for term in terms[1:]:
            error += sum_error(total, term)
            total = rounded_sum(total, term)
        return total, error

    def is_sum(e):
        return isinstance(e, sp.Add) and sum(not t.is_number for t in e.args) > 1

    def rounded_term(term):  # a term with its inner sums g rounded, and the error that makes
        error = sp.Integer(0)  # ((d term / d g) err_g: |loc - loc_p| e^-b has |d| eps)
        for inner in sorted(term.atoms(sp.Add), key=sp.default_sort_key):
            if is_sum(inner) and inner != term:
                total, inner_error = added(sp.Add.make_args(inner))
                g = sp.Dummy("g", real=True)
                slope = sp.diff(term.xreplace({inner: g}), g).xreplace({g: total})
                term = term.xreplace({inner: total})
                error += _exp_products(sp.expand(without_deltas(slope) * inner_error))
        coeff, rest = term.as_coeff_Mul()
        if isinstance(rest, exp_product):  # c m e^x: its own rounding, |c m e^x| eps
            error += coeff * product_error(*rest.args)
        return term, error

    def split(exponent):
        if not is_sum(exponent):
            return None
        rounded = [rounded_term(t) for t in sp.Add.make_args(exponent)]
        total, error = added([t for t, _ in rounded])
        error += sp.Add(*(e for _, e in rounded))
        # An error of 1 or more comes from terms of 1/eps or more (e^s is 0 or inf then), an
        # infinite or NaN one from an infinite term: the correction would only add NaN.
        return total, small_error(error)

    def gap(t, expm1_t):
        if (parts := split(t)) is None:
            return numerics.Expm1MinusX(t, expm1_t)
        s, err = parts
        correction = sp.Piecewise((0, sp.Eq(err, 0)), (s * err, True))  # s may be inf there
        return numerics.Expm1MinusX(s, expm1(s)) * (1 + err) + correction

    def exp_minus_one(x):
        if (parts := split(x)) is None:
            return expm1(x)
        s, err = parts
        return expm1(s) * (1 + err) + err

    def product(m, x):
        parts = split(x)
        return exp_product(m, x) if parts is None else exp_product(m * (1 + parts[1]), parts[0])

    def exponential(x):
        parts = split(x)
        return sp.exp(x) if parts is None else exp_product(1 + parts[1], parts[0])

    expr = expr.replace(numerics.Expm1MinusX, gap).replace(expm1, exp_minus_one)
    return expr.replace(exp_product, product).replace(sp.exp, exponential)


def _complete_expm1_minus_x(expr):
    """c expm1(t) + rest -> c (e^t - 1 - t) + (c t + rest) where c t + rest has fewer terms
    than rest (its parts cancel exactly, symbolically, instead of in floating point), for
    |t| < 2 only: beyond, e^t - 1 - t no longer cancels, but -t may hold a large part that c t
    + rest gives back (kl_laplace at t = -87: 86 - 79), so the sum as it was is kept there.
    (Up to 2, not 1: the sum as it was cancels 5 times over at t = -1.09, kl_laplace's value
    4 ulps off there.)"""
    if not isinstance(expr, sp.Add):
        return expr.func(*map(_complete_expm1_minus_x, expr.args)) if expr.args else expr
    for term in expr.args:
        nodes = [f for f in sp.Mul.make_args(term) if isinstance(f, expm1)]
        if len(nodes) == 1:
            node = nodes[0]
            coeff, t = term / node, node.args[0]
            rest = expr - term
            remainder = sp.expand(coeff * t + rest)
            if len(sp.Add.make_args(remainder)) < len(sp.Add.make_args(rest)):
                completed = coeff * numerics.Expm1MinusX(t, node) + remainder
                return sp.Piecewise((completed, sp.Abs(t) < 2), (expr, True))
    return expr.func(*map(_complete_expm1_minus_x, expr.args))


def _exp_products(expr):
    """m e^x -> exp_product(m, x) in every product of an exponential and a factor that is
    not a number (a power of a difference, a symbol): that factor can be tiny or huge where
    e^x overflows or underflows. A square d^2 e^x becomes exp_product(d, x/2)^2 (x/2 is
    exact), so that d^2 does not overflow first."""

    def is_product(e):
        if not isinstance(e, sp.Mul):
            return False
        exps = [f for f in e.args if isinstance(f, sp.exp)]
        return len(exps) == 1 and not (e / exps[0]).is_number

    def product(e):
        (x,) = (f for f in e.args if isinstance(f, sp.exp))
        coeff, m = sp.Mul(*(f for f in e.args if f is not x)).as_coeff_Mul()
        if isinstance(m, sp.Pow) and m.exp == 2:  # d^2 e^x = (d e^(x/2))^2: d^2 may overflow
            return coeff * exp_product(m.base, x.args[0] / 2) ** 2
        return coeff * exp_product(m, x.args[0])

    return expr.replace(is_product, product)


def _cancelled(expr):
    """Products distributed over sums and the common factors taken out again, kept when
    terms cancel on the way (fewer operations): c (t + u) - c u -> c t, symbolically instead
    of in floating point."""
    tidy = sp.factor_terms(sp.expand_mul(expr))
    return tidy if sp.count_ops(tidy) < sp.count_ops(expr) else expr


def _expm1(expr):
    """SymPy's expm1_opt, on the products distributed over sums where that finds more."""
    direct = optimize(expr, [expm1_opt])
    spread = optimize(sp.expand_mul(expr), [expm1_opt])
    return spread if len(spread.atoms(expm1)) > len(direct.atoms(expm1)) else direct


EXP_DIFFERENCE = Rule(
    "exp_difference",
    "e^x - e^y -> e^max(x, y) (1 - e^-|x - y|): no cancellation, no overflow of a factor",
    lambda e: _opposite_pairs(e, sp.exp, _exp_difference),
)
RULES = (
    Rule("one_exponential", "e^a e^b -> e^(a + b): no overflow of a factor", _one_exponential),
    Rule("sigmoid", "1/(1 + e^-x) -> sigmoid(x): no overflow of e^-x", _sigmoids),
    Rule("one_minus_sigmoid", "1 - sigmoid(x) -> sigmoid(-x): no cancellation", _one_minus_sigmoid),
    Rule("log_sigmoid", "log(sigmoid(x)) -> -softplus(-x): no log of 0", _log_sigmoid),
    Rule(
        "softplus_bregman",
        "softplus(b) - softplus(a) - sigmoid(a) (b - a) -> a sum of non-negative terms: no "
        "cancellation near b = a",
        _softplus_bregman,
    ),
    Rule(
        "exp_bregman",
        "e^b - e^a - e^a (b - a) -> e^a (e^d - 1 - d) or e^b - e^a (1 + d): no cancellation "
        "near b = a",
        _exp_bregman,
    ),
    Rule(
        "lbeta_bregman",
        "lnB(e^u, e^v) - lnB(e^x, e^y) - grad lnB (e^u - e^x, e^v - e^y) -> the gaps of lgamma "
        "- x log x + x (one node, in the form without cancellation where one concentration is "
        "far below the other) + s_p KL(Bernoulli) (never negative): no cancellation near q = p",
        _lbeta_bregman,
    ),
    Rule(
        "lgamma_bregman",
        "lgamma(e^b) - lgamma(e^a) - psi(e^a) (e^b - e^a) -> the gap of lgamma - x log x + x "
        "(a sum of terms of one sign) + e^a - e^b - e^b (a - b): no cancellation near b = a",
        _lgamma_bregman,
    ),
    Rule(
        "exp_bregman_split",
        "e^(b + c - d) - e^a - e^a (b + c - d - a) -> e^a E((b - a) + (c - d)): no "
        "cancellation near D = 0, which q = p gives exactly",
        _exp_bregman_split,
    ),
    Rule(
        "sigmoid_difference",
        "sigmoid(x) - sigmoid(y) -> sigmoid(y) sigmoid(-x) expm1(x - y): no cancellation",
        lambda e: _opposite_pairs(e, sigmoid, _sigmoid_difference),
    ),
    EXP_DIFFERENCE,
    Rule(
        "softplus_of_opposites",
        "softplus(x) - softplus(-x) -> x: exact, where the two cancel",
        lambda e: _opposite_pairs(e, softplus, _softplus_of_opposites),
    ),
    Rule("logaddexp", "log(e^a + e^b) -> logaddexp(a, b): no overflow", _logaddexp),
    Rule("log1p", "log(1 + x) -> log1p(x): exact for small x", lambda e: optimize(e, [log1p_opt])),
    Rule("softplus", "log(1 + e^x) -> softplus(x): finite for every finite x", _softplus),
    Rule("expm1", "e^x - 1 -> expm1(x): exact near x = 0", lambda e: _expm1(e)),
    Rule(
        "log_exprel",
        "log((e^x - 1)/x) -> log1p((e^x - 1 - x)/x) or x - log x: exact near 0, finite above 710",
        _log_exprel,
    ),
    Rule("cancelled", "c (t + u) - c u -> c t: terms that cancel removed exactly", _cancelled),
)
# Applied last, to the term and its gradients: the differences of exponentials the e^t - 1 - t
# completion leaves (kl_laplace's |d| e^-b_p - |d| e^-b), then the products of exponentials
# combined, then the products left.
EXP_PRODUCTS = (
    EXP_DIFFERENCE,
    Rule(
        "exponentials_multiplied",
        "e^a e^b -> e^(a + b) in a product: no overflow of a factor",
        _exponentials_multiplied,
    ),
    Rule(
        "exp_product",
        "m e^x -> (m e^r) 2^k, x = r + k ln 2: no overflow or underflow of e^x alone",
        _exp_products,
    ),
)
# Applied to the term and its gradients after the products (its nodes have no derivatives).
EXPM1_OF_PRODUCTS = Rule(
    "expm1_of_product",
    "expm1(m e^z) -> m e^z exprel(m e^z), e^z kept in the exponent: no underflow of m e^z",
    _expm1_of_products,
)
# Applied to the term and its gradients after every other rewrite (its nodes have no
# derivatives).
COMPENSATED_EXPONENTS = Rule(
    "compensated_exponent",
    "e^(x + y) -> e^s + err e^s, s = fl(x + y), err its rounding: no |x + y| eps error",
    _compensated_exponents,
)
# The last stages of the term and of every gradient, in this order.
LAST_REWRITES = (*EXP_PRODUCTS, EXPM1_OF_PRODUCTS, COMPENSATED_EXPONENTS)
# Applied after differentiation (the node has no derivative of its own).
EXPM1_MINUS_X = (
    Rule(
        "expm1_minus_x",
        "e^t - 1 - t -> a series below |t| = 0.5: exact where expm1(t) and t cancel",
        numerics.pair_expm1_minus_x,
    ),
    Rule(
        "expm1_minus_x_completed",
        "expm1(t) + rest -> (e^t - 1 - t) + (t + rest), t + rest simplified exactly",
        _complete_expm1_minus_x,
    ),
)


def without_deltas(gradient: sp.Expr) -> sp.Expr:
    """A gradient with its Dirac deltas (from differentiating sign or Heaviside) set to 0:
    they vanish everywhere but at the kink, where 0 is the subgradient numpy-side libraries
    return too. Not a rewrite proved equal: the docstring of the module says so."""
    return gradient.replace(sp.DiracDelta, lambda *args: sp.Integer(0))


def exact(expr: sp.Expr) -> sp.Expr:
    """``expr`` in plain SymPy functions (the code generation nodes replaced by their
    definitions)."""
    expr = numerics.as_exact(functions.as_exact(expr))
    return expr.replace(log1p, lambda x: sp.log(1 + x)).replace(expm1, lambda x: sp.exp(x) - 1)


def proved_equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether SymPy proves ``a`` and ``b`` equal (as functions of real arguments)."""
    difference = given = exact(a) - exact(b)
    for attempt in (sp.expand, sp.cancel, lambda d: sp.simplify(sp.expand_log(d))):
        difference = attempt(difference)
        if difference == 0:
            return True
    return in_positive_logs(given) == 0


def stages(expr: sp.Expr, rules=RULES) -> list[tuple[Rule, sp.Expr]]:
    """Every rule that changes ``expr`` and is proved, in order, with the expression after
    it (a spec kernel's derivation shows each as a step: derive/kernel.py)."""
    applied = []
    for rule in rules:
        rewritten = rule.apply(expr)
        if rewritten != expr and proved_equal(rewritten, expr):
            expr = rewritten
            applied.append((rule, expr))
    return applied


def apply(expr: sp.Expr, rules=RULES) -> tuple[sp.Expr, tuple[str, ...]]:
    """``expr`` with every rule that changes it and is proved applied, in order; and the
    names of those rules."""
    applied = stages(expr, rules)
    return (applied[-1][1] if applied else expr), tuple(rule.name for rule, _ in applied)
