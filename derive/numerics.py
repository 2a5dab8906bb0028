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

The compiled (numba) kernels do not call libm, whose scalar ``exp`` and ``expm1`` stop the
loop from being vectorised: they evaluate ``exp``, ``expm1`` and ``e^t - 1 - t`` from one
argument reduction ``t = k ln 2 + r`` (:func:`exp_reduction`, its identities proved by
:func:`check_exp_reduction`), the standard libm method written out so the compiler sees
plain arithmetic.
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


class HalfExpm1(sp.Function):
    """``expm1(t) / 2`` as one code generation node: the compiled kernels evaluate it with
    2**(k-1) for 2**k (:class:`ExpReduction`), so that it stays finite up to where the half
    itself overflows, with no halving of t (whose square would double the rounding error)."""

    nargs = 1

    def exact(self) -> sp.Expr:
        return (sp.exp(self.args[0]) - 1) / 2


class HalfExpm1MinusX(sp.Function):
    """``(e^t - 1 - t) / 2`` as one code generation node, evaluated as :class:`HalfExpm1`."""

    nargs = 1

    def exact(self) -> sp.Expr:
        t = self.args[0]
        return (sp.exp(t) - 1 - t) / 2


def stabilize(expr: sp.Expr, halves: bool = False) -> sp.Expr:
    """Return ``expr`` rewritten for floating point, checked equal to it by SymPy.

    ``expm1(t)`` becomes ``u**2 + 2u`` with ``u = expm1(t/2)`` (no overflow while the result
    is finite) for the numpy kernels; with ``halves``, for the compiled kernels, each
    ``expm1(t)`` and ``e^t - 1 - t`` becomes twice its half (:class:`HalfExpm1`,
    :class:`HalfExpm1MinusX`, which they evaluate whole), and the spec's coefficients of 1/2
    cancel the 2: no rounded expm1(t/2) is squared.
    """
    optimized = optimize(expr, [expm1_opt])
    if not halves:
        optimized = _halve_expm1(optimized)
    # Distribute constants over sums only: expanding (mu - mu_p)**2 would add a cancellation.
    distributed = sp.expand(optimized, power_exp=False, multinomial=False, log=False)
    paired = _pair_expm1_minus_x(distributed)
    if halves:
        paired = paired.replace(Expm1MinusX, lambda t, u: 2 * HalfExpm1MinusX(t))
        paired = paired.replace(expm1, lambda t: 2 * HalfExpm1(t))
    # Pull common factors back out: mu*e - mu_p*e would round twice before it cancels.
    rewritten = sp.factor_terms(paired)
    if sp.simplify(as_exact(rewritten) - expr) != 0:
        raise ArithmeticError(f"numerical rewrite changed the value of {expr}: got {rewritten}")
    return rewritten


def as_exact(expr: sp.Expr) -> sp.Expr:
    """Undo the code generation nodes: plain SymPy functions only."""
    for node in (Expm1MinusX, HalfExpm1MinusX, HalfExpm1):
        expr = expr.replace(node, lambda *args, node=node: node(*args).exact())
    return expr.replace(expm1, lambda x: sp.exp(x) - 1)


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
    """The Taylor polynomial of ``e^t - 1 - t`` for |t| below the type's series radius."""
    radius = sp.Rational(SERIES_RADIUS[dtype])
    return Series(dtype, float(radius), _taylor_coefficients(radius, float(np.finfo(dtype).eps)))


def _taylor_coefficients(radius: sp.Rational, eps: float) -> tuple[float, ...]:
    """The shortest Taylor polynomial of ``e^t - 1 - t`` exact to a quarter ulp for |t| < radius.

    The first omitted term bounds the truncation error (the terms fall faster than
    geometrically); it must stay below eps/4 relative to the smallest value the series
    serves, which near t = 0 is t**2/2. Returns the coefficients of t**2, t**3, ...
    """
    t = sp.Symbol("t")
    n = 3  # the series keeps t**2 .. t**(n-1); its first omitted term is t**n / n!
    while radius**n / sp.factorial(n) >= eps / 4 * radius**2 / 2:
        n += 1
    polynomial = sp.series(sp.exp(t) - 1 - t, t, 0, n).removeO()
    return tuple(float(polynomial.coeff(t, k)) for k in range(2, n))


@dataclass(frozen=True)
class ExpReduction:
    """Constants of the argument reduction ``t = k ln 2 + r``, ``|r| <= ln(2)/2``, in ``dtype``.

    ``k = round(t / ln 2)`` is read from the low bits of ``t * log2_e + rounder`` (adding
    1.5 * 2**mantissa_bits rounds to an integer); ``r = (t - k*ln2_hi) - k*ln2_lo`` (Cody and
    Waite: ``ln2_hi`` has so few significant bits that ``k*ln2_hi`` and the first subtraction
    are exact); ``2**k`` is built from its bits (``exponent_bias``), for e^t in two halves,
    each within the exponent range. With ``p = e^r - 1 - r`` from ``coefficients`` (Taylor,
    t**2 up, as long as ``dtype``'s precision needs) and ``h = 2**(k-1)``:
    ``e^t = 2**k (1 + r + p)``, ``expm1(t) / 2 = (h - 1/2) + h (r + p)`` and
    ``(e^t - 1 - t) / 2 = (((h - 1/2) - k ln2_hi/2) + (h - 1/2) r) + (h p - k ln2_lo/2)``,
    the last grouped so that its cancellation for k = +-1 happens exactly.
    """

    dtype: str
    int_type: str
    mantissa_bits: int
    exponent_bias: int
    log2_e: float
    ln2_hi: float
    ln2_lo: float
    rounder: float
    rounder_bits: int
    limit: float
    low: float
    high: float
    coefficients: tuple[float, ...]


# Significant bits of ln2_hi: k*ln2_hi stays exact for every k the clamps allow (|k| <= 1075
# in float64, 11 bits; |k| <= 150 in float32, 8 bits).
_LN2_HI_BITS = {"float64": 20, "float32": 12}


def exp_reduction(dtype: str = "float64") -> ExpReduction:
    """The reduction constants for ``dtype``, each computed by SymPy at 30 digits then rounded."""
    info = np.finfo(dtype)
    int_type = {"float64": "int64", "float32": "int32"}[dtype]
    ln2 = sp.log(2)
    ln2_hi = sp.floor(ln2 * 2 ** _LN2_HI_BITS[dtype]) / 2 ** _LN2_HI_BITS[dtype]
    rounder = 1.5 * 2.0**info.nmant
    return ExpReduction(
        dtype=dtype,
        int_type=int_type,
        mantissa_bits=info.nmant,
        exponent_bias=info.maxexp - 1,
        log2_e=float(1 / ln2),
        ln2_hi=float(ln2_hi),
        ln2_lo=float((ln2 - ln2_hi).evalf(30)),
        rounder=rounder,
        rounder_bits=int(np.array(rounder, dtype).view(int_type)),
        # Beyond |t| = limit (746 in float64), e^t is 0 (below half the smallest subnormal)
        # or overflows: t is clamped there (so 2**k stays buildable), and e^t - 1 - t adds
        # back what the clamp took.
        limit=float(sp.ceiling((info.nmant + 1 - info.minexp) * ln2)),
        # The halves build h = 2**(k-1) in one piece: from k - 1 = minexp (below, e^t is lost
        # beside 1) to k - 1 = maxexp (inf, which `high` reaches only beyond twice the
        # type's largest number, where the halves overflow too).
        low=float(sp.ceiling((info.minexp + 1) * ln2)),
        high=float(sp.ceiling(2 * sp.log(2 * sp.Float(float(info.max), 30))) / 2),
        coefficients=_taylor_coefficients(
            ln2 / 2 + sp.Rational(1, 2 ** _LN2_HI_BITS[dtype]), float(info.eps)
        ),
    )


def reduction_formulas() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """name -> (the formula the compiled kernels evaluate, the function it stands for), with
    symbols k, r, ln2_hi for the reduction ``t = k (ln2_hi + ln2_lo) + r``."""
    k, r, hi = sp.symbols("k r ln2_hi", real=True)
    lo = sp.log(2) - hi
    t = k * (hi + lo) + r
    scale = sp.exp(k * sp.log(2))
    half = sp.exp((k - 1) * sp.log(2))
    half_m1 = half - sp.Rational(1, 2)
    p = sp.exp(r) - 1 - r
    return {
        "exp": (scale * (1 + r + p), sp.exp(t)),
        "half_expm1": (half_m1 + half * (r + p), (sp.exp(t) - 1) / 2),
        "half_expm1_minus_x": (
            ((half_m1 - k * hi / 2) + half_m1 * r) + (half * p - k * lo / 2),
            (sp.exp(t) - 1 - t) / 2,
        ),
    }


def check_exp_reduction(formulas: dict[str, tuple[sp.Expr, sp.Expr]] | None = None) -> None:
    """Prove each reconstruction formula of :class:`ExpReduction` equal to its function."""
    for name, (formula, exact) in (formulas or reduction_formulas()).items():
        if sp.simplify(sp.expand(formula - exact, power_exp=True)) != 0:
            raise ArithmeticError(f"the reduced {name} formula is not e^t's: {formula}")
