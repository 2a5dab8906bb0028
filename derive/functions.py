"""Functions loss terms use that SymPy lacks: ``klgen.sigmoid``, ``klgen.softplus``,
``klgen.logaddexp`` and ``klgen.xlogy``.

Each is a SymPy function with its derivative (so the gradients stay in these functions,
which the printers evaluate stably) and its definition in plain SymPy (``exact``), which the
rewrites are proved against and which the generated tests evaluate in mpmath.
"""

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801 (named as users write it)
    """1 / (1 + e^-x), evaluated without overflow for every x."""

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sigmoid(x) * sigmoid(-x)

    def exact(self):
        return 1 / (1 + sp.exp(-self.args[0]))


class softplus(sp.Function):  # noqa: N801
    """log(1 + e^x), evaluated as max(x, 0) + log1p(e^-|x|): finite for every finite x."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def exact(self):
        return sp.log(1 + sp.exp(self.args[0]))


class logaddexp(sp.Function):  # noqa: N801
    """log(e^a + e^b), evaluated as max(a, b) + log1p(e^-|a - b|)."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sigmoid(a - b) if argindex == 1 else sigmoid(b - a)

    def exact(self):
        a, b = self.args
        return sp.log(sp.exp(a) + sp.exp(b))


class xlogy(sp.Function):  # noqa: N801
    """x log(y), and 0 where x = 0 (whatever y): the convention of entropy terms."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, y = self.args
        return sp.log(y) if argindex == 1 else x / y

    def exact(self):
        x, y = self.args
        return x * sp.log(y)


FUNCTIONS = (sigmoid, softplus, logaddexp, xlogy)


def as_exact(expr: sp.Expr) -> sp.Expr:
    """``expr`` with these functions replaced by their definitions."""
    for function in FUNCTIONS:
        expr = expr.replace(function, lambda *args, f=function: f(*args).exact())
    return expr
