"""Edge cases of a spec: an unused argument, a constant or linear term, a Piecewise without
an otherwise branch (NaN there), a log-sum-exp of a product."""

import sympy as sp

import klgen

x, y = sp.symbols("x y", real=True)
KERNELS = [
    klgen.Kernel(name="ident", args=(x, y), term=x, computes="x summed (y unused)"),
    klgen.Kernel(name="const", args=(x,), term=sp.Integer(3), computes="3 per element"),
    klgen.Kernel(name="lin", args=(x, y), term=2 * x - y / 3, computes="linear"),
    klgen.Kernel(name="pw", args=(x,), term=sp.Piecewise((x, x > 0)), computes="partial piecewise"),
    klgen.Kernel(name="lse1", args=(x, y), term=x * y, reduce="logsumexp", computes="lse of x y"),
]
