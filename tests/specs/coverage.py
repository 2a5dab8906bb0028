"""Kernels that exercise every function and construct the emitters cover."""

import sympy as sp

import klgen

x, y = sp.symbols("x y", real=True)

KERNELS = (
    klgen.Kernel(
        name="elementary",
        args=(x, y),
        term=sp.log(1 + x**2)
        + sp.sqrt(x**2 + y**2 + 1)
        + (sp.exp(y) - 1) / (1 + x**2)
        + x**3 / 7
        + 2**x
        + sp.log(2 * sp.pi) * y
        + sp.log(x)
        + sp.tanh(y),
        computes="logs, roots, powers, exponentials and a transcendental constant",
    ),
    klgen.Kernel(
        name="kinks",
        args=(x, y),
        term=sp.Abs(x - y)
        + sp.Max(x, 0) * y**2
        + sp.Min(x, y) ** 2
        + sp.sign(x) * x * y**2
        + sp.Piecewise((x**2, x > 1), (sp.exp(x - 1), True)),
        # Every term non-negative: no cancellation of the sum to blur the measurement.
        computes="absolute values, signs, Max/Min and a piecewise function",
    ),
    klgen.Kernel(
        name="stable_functions",
        args=(x, y),
        term=klgen.sigmoid(x) * y
        + klgen.softplus(x - y)
        + klgen.logaddexp(x, 2 * y)
        + klgen.xlogy(x**2, 1 + y**2)
        + sp.log(1 + sp.exp(y))
        + sp.exp(x)
        - 1
        - x,
        computes="sigmoid, softplus, logaddexp, xlogy and the rewrites into them",
    ),
)
