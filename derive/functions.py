"""Functions loss terms use that SymPy lacks: ``klgen.sigmoid``, ``klgen.softplus``,
``klgen.logaddexp`` and ``klgen.xlogy``; and ``softplus_bregman`` and
``sigmoid_difference``, which rewrites introduce.

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


class softplus_bregman(sp.Function):  # noqa: N801
    """softplus(b) - softplus(a) - sigmoid(a) (b - a): how far softplus at b lies above its
    tangent at a (its Bregman divergence), which is the KL divergence between Bernoulli
    distributions of logits a and b. Typed as it reads it cancels where b is near a; the
    printers evaluate it as a sum of two terms that are never negative (the rewrite
    ``softplus_bregman`` of derive/rewrites.py finds it in a user's term)."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return -sigmoid(a) * sigmoid(-a) * (b - a) if argindex == 1 else sigmoid(b) - sigmoid(a)

    def exact(self):
        a, b = self.args
        return softplus(b).exact() - softplus(a).exact() - sigmoid(a).exact() * (b - a)


class sigmoid_difference(sp.Function):  # noqa: N801
    """sigmoid(x) - sigmoid(y), evaluated as sigmoid(y) sigmoid(-x) expm1(x - y) (or its
    mirror image, whichever takes expm1 of a number <= 0): no cancellation where x is near y
    or both are large (the rewrite ``sigmoid_difference`` of derive/rewrites.py finds it)."""

    nargs = 2

    def fdiff(self, argindex=1):
        x = self.args[argindex - 1]
        slope = sigmoid(x) * sigmoid(-x)
        return slope if argindex == 1 else -slope

    def exact(self):
        x, y = self.args
        return sigmoid(x).exact() - sigmoid(y).exact()


FUNCTIONS = (sigmoid, softplus, logaddexp, xlogy, softplus_bregman, sigmoid_difference)


def as_exact(expr: sp.Expr) -> sp.Expr:
    """``expr`` with these functions replaced by their definitions."""
    for function in FUNCTIONS:
        expr = expr.replace(function, lambda *args, f=function: f(*args).exact())
    return expr
