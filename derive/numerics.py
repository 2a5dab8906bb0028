"""Rewrite a KL expression into a form that is accurate and overflow-free in floating point.

The printed formula ``(mu**2 + exp(lv) - 1 - lv)/2`` loses every digit for small ``lv``
(``exp(lv) - 1`` and ``- lv`` cancel) and overflows at ``lv = 709.9`` in float64 although the
result is representable. Three rewrites fix that, each an exact identity:

1. ``exp(x) - 1 -> expm1(x)``: SymPy's own ``sympy.codegen.rewriting.expm1_opt``.
2. ``expm1(x) -> u**2 + 2*u`` with ``u = expm1(x/2)`` (beyond SymPy, by hand): the gradient
   ``expm1(lv)/2`` becomes ``u**2/2 + u``, finite wherever the result is, and the value gets
   ``u**2/2`` plus the half-size remainder ``u - x/2``.
3. ``expm1(t) - t -> Expm1MinusX(t, u)`` (beyond SymPy, by hand): a node the printer turns
   into ``_expm1_minus_x(t, u)``, which uses ``u - t`` where that is accurate and the Taylor
   series of ``e^t - 1 - t`` (coefficients from ``sympy.series``) where it is not.

:func:`stabilize` applies them and proves the result equal to its input.
"""

from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.codegen.rewriting import expm1_opt, optimize

# Kernels compute in float64 whatever the output type. Below these |t| the series replaces
# u - t = expm1(t) - t (computed in float64), whose relative error is about eps64 / |t|:
# - float64 output: u - t is within 3 ulps for |t| >= 0.5 (worst case measured against mpmath
#   over 3,000 points per octave); inside, the series (14 terms).
# - float32 output: eps64 / |t| stays below an eighth of a float32 ulp for |t| >= 2**-26;
#   2**-16 leaves a wide margin, and the series there needs only two terms.
SERIES_RADIUS = {"float64": 0.5, "float32": 2.0**-16}


class Expm1MinusX(sp.Function):
    """``e^t - 1 - t`` given ``t`` and ``u = expm1(t)``: a code generation node.

    Mathematically it is ``u - t``; it exists so the printer can emit the cancellation-free
    evaluation while common-subexpression elimination still shares ``u`` with the gradient.
    """

    nargs = 2

    def exact(self) -> sp.Expr:
        t, _ = self.args
        return sp.exp(t) - 1 - t


def stabilize(expr: sp.Expr) -> sp.Expr:
    """Return ``expr`` rewritten for floating point, checked equal to it by SymPy."""
    halved = _halve_expm1(optimize(expr, [expm1_opt]))
    # Distribute constants over sums only: expanding (mu - mu_p)**2 would add a cancellation.
    distributed = sp.expand(halved, power_exp=False, multinomial=False, log=False)
    # Pull common factors back out: mu*e - mu_p*e would round twice before it cancels.
    rewritten = sp.factor_terms(_pair_expm1_minus_x(distributed))
    if sp.simplify(as_exact(rewritten) - expr) != 0:
        raise ArithmeticError(f"numerical rewrite changed the value of {expr}: got {rewritten}")
    return rewritten


def as_exact(expr: sp.Expr) -> sp.Expr:
    """Undo the code generation nodes: plain SymPy functions only."""
    return expr.replace(Expm1MinusX, lambda t, u: Expm1MinusX(t, u).exact()).replace(
        expm1, lambda x: sp.exp(x) - 1
    )


def _halve_expm1(expr: sp.Expr) -> sp.Expr:
    """``expm1(x) -> u**2 + 2*u`` with ``u = expm1(x/2)``: no overflow while the result fits."""
    halves = {}
    for node in expr.atoms(expm1):
        u = expm1(node.args[0] / 2)
        halves[node] = u**2 + 2 * u
    return expr.xreplace(halves)


def _pair_expm1_minus_x(expr: sp.Expr) -> sp.Expr:
    """In every sum, replace ``c*expm1(t) - c*t`` by ``c*Expm1MinusX(t, expm1(t))``."""
    if not isinstance(expr, sp.Add):
        return expr.func(*map(_pair_expm1_minus_x, expr.args)) if expr.args else expr
    terms = list(expr.args)
    for term in list(terms):
        coeff, rest = term.as_coeff_Mul()
        if not isinstance(rest, expm1) or term not in terms:
            continue
        t = rest.args[0]
        partners = sp.Add.make_args(sp.expand(-coeff * t))
        if all(p in terms for p in partners):
            for p in (term, *partners):
                terms.remove(p)
            terms.append(coeff * Expm1MinusX(t, rest))
    return sp.Add(*map(_pair_expm1_minus_x, terms))


@dataclass(frozen=True)
class Series:
    """Taylor coefficients of ``e^t - 1 - t`` (from t**2 up) enough for one output type."""

    dtype: str
    radius: float
    coefficients: tuple[float, ...]


def expm1_minus_x_series(dtype: str) -> Series:
    """The shortest Taylor polynomial of ``e^t - 1 - t`` that is exact to a quarter ulp.

    The first omitted term bounds the truncation error for |t| < radius (the terms fall
    faster than geometrically); it must stay below eps/4 relative to the smallest value the
    series serves, which near t = 0 is t**2/2.
    """
    t = sp.Symbol("t")
    eps = float(np.finfo(dtype).eps)
    radius = sp.Rational(SERIES_RADIUS[dtype])
    n = 3  # the series keeps t**2 .. t**(n-1); its first omitted term is t**n / n!
    while radius**n / sp.factorial(n) >= eps / 4 * radius**2 / 2:
        n += 1
    polynomial = sp.series(sp.exp(t) - 1 - t, t, 0, n).removeO()
    coefficients = tuple(float(polynomial.coeff(t, k)) for k in range(2, n))
    return Series(dtype, float(radius), coefficients)
