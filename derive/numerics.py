"""Rewrite a KL expression into a form that is accurate and overflow-free in floating point.

The printed formula ``(mu**2 + exp(lv) - 1 - lv)/2`` loses every digit for small ``lv``
(``exp(lv) - 1`` and ``- lv`` cancel) and overflows at ``lv = 709.9`` in float64 although the
result is representable; ``(mu - mu_p)**2 * exp(-lv_p)`` overflows or underflows in its
factors where the product is representable, and ``exp(lv - lv_p)`` carries the rounding of
the difference (|lv - lv_p| eps) into the result. :func:`stabilize` rewrites each expression
into nodes that printers evaluate with none of these faults, and proves the result equal to
its input:

1. ``exp(x) - 1 -> expm1(x)``: SymPy's own ``sympy.codegen.rewriting.expm1_opt``.
2. ``c*expm1(t) - c*t -> 2c * HalfExpm1MinusX(a, b)`` and ``expm1(t) -> 2 * HalfExpm1(a, b)``
   with ``t = a - b`` (``b = 0`` when t is not a difference of two arguments): the halves
   ``(e^t - 1 - t)/2`` and ``(e^t - 1)/2``, evaluated whole, stay finite while the result
   is, and a difference of two arguments is taken exactly (its rounding error is carried).
3. ``2**s (a - b)**n * exp(x) -> ScaledExp(a, b, x, n, s)`` (n = 1, 2): the product with
   the exponents of its factors (and the power of two of its coefficient) added as integers,
   so it overflows or underflows only when the product itself does (``(a - b)`` exactly 0
   gives 0 for every non-NaN x).

The numpy kernels evaluate the halves from ``t = a - b``, its exact rounding error ``lo``
(Knuth's two-sum) and ``u = expm1(t)``, shared between the value and the gradients
(:func:`lower_for_numpy`; the series of ``e^t - 1 - t`` is :class:`Expm1MinusX`); the
correction terms in ``lo`` are exact to first order, as :func:`check_lowering` proves.

The compiled (numba) kernels do not call libm, whose scalar ``exp`` and ``expm1`` stop the
loop from being vectorised: they evaluate the nodes from one argument reduction
``t = k ln 2 + r`` (:func:`exp_reduction`, its identities proved by
:func:`check_exp_reduction`), the standard libm method written out so the compiler sees
plain arithmetic.
"""

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.codegen.rewriting import expm1_opt, optimize

# Kernels compute in float64 whatever the output type. Below these |t| the series replaces
# u - t = expm1(t) - t (computed in float64), whose relative error is about eps64 / |t|:
# - float64 output: u - t is within 3 ulps for |t| >= 0.5 (worst case measured against mpmath
#   over 3,000 points per octave), within about 1.5 for |t| >= 1, where expm1(t)'s own rounding
#   is at most two-thirds of the result's; inside, the series (14 terms to 0.5, 17 to 1),
#   within an ulp. The radius is the kernel's choice (klgen.Kernel series_radius, one of
#   SERIES_RADII): 0.5 by default, which keeps the diagonal Gaussians within their 4 ulps; 1
#   where a kernel needs the tighter u - t (kl_laplace's value: 5.3 ulps at t = -0.77 with
#   0.5, where E(t) = 0.23), at a cost: with logvar ~ N(0, 1), 68% of kl_std_normal's
#   elements take the series at 1, 38% at 0.5 (its float64 value_and_grad at (16384, 512):
#   2.65x the naive formula's CPU time at 1, 1.12x at 0.5, bench/numpy_targets.py).
# - float32 output: eps64 / |t| stays below an eighth of a float32 ulp for |t| >= 2**-26;
#   2**-16 leaves a wide margin, and the series there needs only two terms (whatever the
#   kernel's float64 radius).
SERIES_RADIUS = {"float64": 0.5, "float32": 2.0**-16}
SERIES_RADII = (0.5, 1.0)
# The float64 radius of the shared careful helpers (templates/static/functions.py and
# numba_functions.py: the Bernoulli, Poisson, Gamma and Beta gaps, kl_laplace's numba twin).
HELPER_SERIES_RADIUS = 1.0


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
    """``(e^(a - b) - 1) / 2``, the difference ``a - b`` taken exactly: a code generation
    node. Finite up to where the half itself overflows (no e^(a - b) is formed first)."""

    nargs = 2

    def exact(self) -> sp.Expr:
        a, b = self.args
        return (sp.exp(a - b) - 1) / 2


class HalfExpm1MinusX(sp.Function):
    """``(e^t - 1 - t) / 2`` with ``t = a - b`` taken exactly: a code generation node."""

    nargs = 2

    def exact(self) -> sp.Expr:
        a, b = self.args
        return (sp.exp(a - b) - 1 - (a - b)) / 2


class ScaledExp(sp.Function):
    """``2**s (a - b)**n e^x`` (n = 1 or 2, s an integer) with no intermediate overflow or
    underflow, the power of the mantissa taken before the exponents are added: a code
    generation node. ``a - b`` exactly 0 gives 0 for every non-NaN x (the product is 0 for
    every finite x)."""

    nargs = 5

    def exact(self) -> sp.Expr:
        a, b, x, n, s = self.args
        return 2**s * (a - b) ** n * sp.exp(x)


class TwoSumLo(sp.Function):
    """The rounding error of ``s = fl(x + y)``: ``x + y - s`` exactly (Knuth's two-sum), 0
    where s is not finite. In exact arithmetic it is 0."""

    nargs = 3

    def exact(self) -> sp.Expr:
        x, y, s = self.args
        return x + y - s


NODES = (Expm1MinusX, HalfExpm1, HalfExpm1MinusX, ScaledExp, TwoSumLo)


def stabilize_stages(expr: sp.Expr) -> list[tuple[str, sp.Expr]]:
    """The rewrites of :func:`stabilize` one by one, as (stage, expression after it) for the
    stages "expm1", "distributed", "paired", "halves" and "scaled" (the kernels' derivations
    show each as a checked step)."""
    optimized = optimize(expr, [expm1_opt])
    # Distribute constants over sums only: expanding (mu - mu_p)**2 would add a cancellation.
    distributed = sp.expand(optimized, power_exp=False, multinomial=False, log=False)
    paired = pair_expm1_minus_x(distributed)
    halves = paired.replace(Expm1MinusX, lambda t, u: 2 * HalfExpm1MinusX(*_difference(t)))
    halves = halves.replace(expm1, lambda t: 2 * HalfExpm1(*_difference(t)))
    # Pull common factors back out: mu*e - mu_p*e would round twice before it cancels.
    rewritten = _scale_exponentials(sp.factor_terms(halves))
    return [
        ("expm1", optimized),
        ("distributed", distributed),
        ("paired", paired),
        ("halves", halves),
        ("scaled", rewritten),
    ]


def stabilize(expr: sp.Expr) -> sp.Expr:
    """Return ``expr`` rewritten into the nodes above, checked equal to it by SymPy."""
    _, rewritten = stabilize_stages(expr)[-1]
    if sp.simplify(as_exact(rewritten) - expr) != 0:
        raise ArithmeticError(f"numerical rewrite changed the value of {expr}: got {rewritten}")
    return rewritten


def as_exact(expr: sp.Expr) -> sp.Expr:
    """Undo the code generation nodes: plain SymPy functions only."""
    for node in NODES:
        expr = expr.replace(node, lambda *args, node=node: node(*args).exact())
    return expr.replace(expm1, lambda x: sp.exp(x) - 1)


def _difference(t: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(a, b) with t = a - b when t is a difference of two symbols, else (t, 0)."""
    terms = sp.Add.make_args(t)
    if len(terms) == 2:
        (c, x), (d, y) = sorted((term.as_coeff_Mul() for term in terms), key=lambda p: -p[0])
        if c == 1 and d == -1 and x.is_Symbol and y.is_Symbol:
            return x, y
    return t, sp.Integer(0)


def _scale_exponentials(expr: sp.Expr) -> sp.Expr:
    """In every product, ``c d**n exp(x) -> +-ScaledExp(a, b, x, n, s)`` for a factor d that
    is a symbol or a difference a - b of two symbols, n = 1 or 2 and c = +-2**s (any other
    c stays a factor)."""
    if not expr.args:
        return expr
    expr = expr.func(*map(_scale_exponentials, expr.args))
    if not isinstance(expr, sp.Mul):
        return expr
    exponentials = [f for f in expr.args if isinstance(f, sp.exp)]
    for factor in expr.args:
        base, power = factor.as_base_exp()
        a, b = _difference(base)
        if exponentials and (base.is_Symbol or b != 0) and power in (1, 2):
            (exponential,) = exponentials[:1]
            coefficient, _ = expr.as_coeff_Mul()
            s = sp.log(abs(coefficient), 2)
            if not s.is_Integer:
                coefficient, s = sp.sign(coefficient), 0
            scaled = _scaled_exp(a, b, exponential.args[0], power, s)
            return expr / factor / exponential / coefficient * sp.sign(coefficient) * scaled
    return expr


def _scaled_exp(a: sp.Expr, b: sp.Expr, x: sp.Expr, n, s) -> sp.Expr:
    """``ScaledExp(a, b, x, n, s)`` with a, b in canonical order (``(-1)**n ScaledExp(b,
    a, x, n, s)``), so that (mu - mu_p) e^x and (mu_p - mu) e^x share one node."""
    if b != 0 and sp.default_sort_key(b) < sp.default_sort_key(a):
        return (-1) ** n * ScaledExp(b, a, x, n, s)
    return ScaledExp(a, b, x, n, s)


def lower_for_numpy(expr: sp.Expr) -> sp.Expr:
    """The numpy kernels' form of the nodes, checked equal to ``expr`` by SymPy (exactly,
    and to first order in the two-sum errors, :func:`check_lowering`).

    A half whose argument is linear in the kernel's arguments is taken at full scale, from
    ``t = a - b``, its two-sum error ``lo`` (``t + lo = a - b`` exactly) and ``u =
    expm1(t)``, all shared by CSE: ``(e^t - 1)/2 = u/2`` and ``(e^t - 1 - t)/2 = (u -
    t)/2`` (the series near 0), plus their first-order corrections ``lo (1 + u)/2`` and
    ``lo u/2``; :func:`fast_path_bounds` keeps |t| <= EXPM1_BOUND, where e^t is finite (the
    few elements beyond, up to where the half overflows, take the careful path). That is
    fewer passes than at half scale, and the series serves |a - b| < radius rather than
    twice that. Any other argument keeps the half scale, which stays finite wherever the
    half does: ``t = a/2 - b/2``, ``(e^2t - 1)/2 = u (u/2 + 1)`` and ``(e^2t - 1 - 2t)/2 =
    u**2/2 + (u - t)``, corrections ``lo (1 + u)**2`` and ``lo u (u + 2)``.
    ``ScaledExp(a, b, x, 2, s)`` becomes ``2**s (a - b) ScaledExp(a, b, x, 1, 0)`` (within
    2.2 ulps in the fast range, where neither product overflows first, and sharing the
    gradient's product). Valid inside :func:`fast_path_bounds` of the result.
    """

    def parts(a, b):
        if _linear(a - b):
            t = a - b
            lo = TwoSumLo(a, -b, t) if b != 0 else sp.Integer(0)
            return t, lo, expm1(t), True
        t = a / 2 - b / 2
        lo = TwoSumLo(a / 2, -b / 2, t) if b != 0 else sp.Integer(0)
        return t, lo, expm1(t), False

    def half_expm1(a, b):
        t, lo, u, full = parts(a, b)
        if full:
            return u / 2 + lo * (1 + u) / 2
        return u * (u / 2 + 1) + lo * (1 + u) ** 2

    def half_expm1_minus_x(a, b):
        t, lo, u, full = parts(a, b)
        if full:
            return Expm1MinusX(t, u) / 2 + lo * u / 2
        return u**2 / 2 + Expm1MinusX(t, u) + lo * u * (u + 2)

    def scaled_exp(a, b, x, n, s):
        if n > 2:
            raise NotImplementedError(f"no numpy form for (a - b)**{n} e^x")
        return 2**s * (a - b) ** (n - 1) * ScaledExp(a, b, x, 1, 0)

    lowered = expr.replace(HalfExpm1, half_expm1).replace(HalfExpm1MinusX, half_expm1_minus_x)
    lowered = lowered.replace(ScaledExp, scaled_exp)
    if sp.simplify(as_exact(lowered) - as_exact(expr)) != 0:
        raise ArithmeticError(f"the numpy form of {expr} changed its value: {lowered}")
    return lowered


def _linear(t: sp.Expr) -> bool:
    """True when ``t`` is a sum of numbers times symbols (no constant term): the form whose
    fast range :func:`fast_path_bounds` can bound argument by argument."""
    return all(isinstance(k, sp.Symbol) for k in t.as_coefficients_dict())


# The numpy kernels' fast path is exact while these hold, elementwise, in float64: a
# full-scale expm1 argument (and so its two-sum) within +-EXPM1_BOUND (e^t and (1 + u) lo
# finite), a ScaledExp's exponent within +-SCALED_EXP_BOUND (e^x normal and finite) and its
# a, b within half the largest float (a - b finite), e^t - 1 - t at a finite t. Beyond, a
# block takes the careful path. (A half-scale t stays finite wherever its half does.)
EXPM1_BOUND = 708.0
SCALED_EXP_BOUND = 708.0
DIFFERENCE_BOUND = float(np.finfo(np.float64).max) / 2


def fast_path_bounds(exprs, args) -> dict[sp.Symbol, float]:
    """For each argument that feeds a node of ``exprs`` (lowered for numpy), the largest
    |value| for which every node is inside its fast range, in every combination: a
    constraint |sum c_i x_i| <= L holds when each |x_i| <= L / sum |c_i|."""
    bounds: dict[sp.Symbol, float] = {}

    def limit(linear: sp.Expr, bound: float) -> None:
        coefficients = linear.as_coefficients_dict()
        if not set(coefficients) <= set(args):
            raise NotImplementedError(f"no fast-path bound for the node argument {linear}")
        total = float(sum(abs(c) for c in coefficients.values()))
        largest = float(np.finfo(np.float64).max)
        for symbol in coefficients:
            bounds[symbol] = min(bounds.get(symbol, largest), bound / total)

    for expr in exprs:
        for node in expr.atoms(expm1):
            if _linear(node.args[0]):  # full scale
                limit(node.args[0], EXPM1_BOUND)
        for node in expr.atoms(Expm1MinusX):  # u - t is NaN at t = +inf
            limit(node.args[0], float(np.finfo(np.float64).max))
        for node in expr.atoms(ScaledExp):
            a, b, x, _, _ = node.args
            limit(x, SCALED_EXP_BOUND)
            for side in (a, b):
                if side != 0:
                    limit(side, DIFFERENCE_BOUND)
    return bounds


def check_lowering() -> None:
    """Prove the corrections of :func:`lower_for_numpy` right, at full scale and at half
    scale: its error in the rounding error lo of t is of second order (so below
    eps**2 t**2 relative)."""
    a, b, lo = sp.symbols("a b lo", real=True)
    for scale, (x, y) in {1: (a, b), 2: (sp.exp(a), sp.exp(b))}.items():
        for node in (HalfExpm1, HalfExpm1MinusX):
            lowered = lower_for_numpy(node(x, y)).replace(TwoSumLo, lambda *_: lo)
            t = x / scale - y / scale
            exact = node(scale * (t + lo), 0).exact()
            series = sp.series(as_exact(lowered) - exact, lo, 0, 2).removeO()
            if sp.simplify(series) != 0:
                raise ArithmeticError(f"the numpy form of {node.__name__} is wrong: {lowered}")


def pair_expm1_minus_x(expr: sp.Expr) -> sp.Expr:
    """In every sum, replace ``c*expm1(t) - c*t`` by ``c*Expm1MinusX(t, expm1(t))``."""
    if not isinstance(expr, sp.Add):
        return expr.func(*map(pair_expm1_minus_x, expr.args)) if expr.args else expr
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
    return sp.Add(*map(pair_expm1_minus_x, terms))


@dataclass(frozen=True)
class Series:
    """Taylor coefficients of ``e^t - 1 - t`` (from t**2 up) enough for one output type."""

    dtype: str
    radius: float
    coefficients: tuple[float, ...]


@functools.cache  # SymPy's series takes a tenth of a second; the derivations ask often
def expm1_minus_x_series(dtype: str, radius: float = SERIES_RADIUS["float64"]) -> Series:
    """The Taylor polynomial of ``e^t - 1 - t`` for |t| below the series radius of ``dtype``:
    ``radius`` (one of SERIES_RADII) for float64, SERIES_RADIUS["float32"] for float32."""
    if radius not in SERIES_RADII:
        raise ValueError(f"series radius must be one of {SERIES_RADII}, got {radius!r}")
    chosen = sp.Rational(radius if dtype == "float64" else SERIES_RADIUS[dtype])
    return Series(dtype, float(chosen), _taylor_coefficients(chosen, float(np.finfo(dtype).eps)))


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
    are exact); powers of two are built from their bits (``exponent_bias``). With
    ``p = e^r - 1 - r`` from ``coefficients`` (Taylor, t**2 up, as long as ``dtype``'s
    precision needs) and ``q = 2**(k-2)``, a quarter of each half is evaluated, so that it
    stays finite wherever the half does: ``expm1(t)/4 = (q - 1/4) + q (r + p)`` and
    ``(e^t - 1 - t)/4 = (((q - 1/4) - k ln2_hi/4) + (q - 1/4) r) + (q p - k ln2_lo/4)``, the
    last grouped so that its cancellation for k = +-1 happens exactly. ``(a - b) e^t`` is
    ``m 2**j (1 + r + p) 2**k`` for ``a - b = m 2**j``, scaled in three powers of two.
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
    low: float
    high: float
    scaled_limit: float
    smallest_normal: float
    coefficients: tuple[float, ...]

    @property
    def exponent_field(self) -> int:
        """The mask of the biased exponent, once shifted down by mantissa_bits."""
        return 2 * self.exponent_bias + 1

    @property
    def mantissa_mask(self) -> int:
        """The sign and mantissa bits (as a signed integer): clears the exponent."""
        return ~(self.exponent_field << self.mantissa_bits)

    @property
    def one_bits(self) -> int:
        """The bits of 1.0's exponent: OR-ed into the mantissa bits, a value in [1, 2)."""
        return self.exponent_bias << self.mantissa_bits

    @property
    def subnormal_shift(self) -> int:
        """Subnormals are scaled by 2**this, which makes every one of them normal."""
        return self.mantissa_bits + 2

    @property
    def exponent_limit(self) -> int:
        """A total exponent beyond +-this leaves a result in [0.7, 6) as 0 or inf; three
        powers of two of a third of it each stay normal."""
        return 3 * (self.exponent_bias - 1)


# Significant bits of ln2_hi: k*ln2_hi stays exact for every k the clamps allow (|k| <= 2100
# in float64, 12 bits; |k| <= 280 in float32, 9 bits).
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
        # The halves build q = 2**(k-2) in one piece: from k - 2 = minexp (below, e^t is lost
        # beside 1) to k - 2 = maxexp - 1 (the top of the range; `high` lies beyond where
        # the halves overflow, so clamping there keeps every result).
        low=float(sp.ceiling((info.minexp + 1) * ln2)),
        high=float(sp.ceiling(2 * sp.log(2 * sp.Float(float(info.max), 30))) / 2),
        # Beyond |t| = scaled_limit, (a - b) e^t is 0 or overflows for every nonzero a - b
        # (from the smallest subnormal to the largest float).
        scaled_limit=float(sp.ceiling((info.maxexp - info.minexp + info.nmant + 2) * ln2)),
        smallest_normal=float(info.smallest_normal),
        coefficients=_taylor_coefficients(
            ln2 / 2 + sp.Rational(1, 2 ** _LN2_HI_BITS[dtype]), float(info.eps)
        ),
    )


def reduction_formulas() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """name -> (the formula the compiled kernels evaluate, the function it stands for), with
    symbols k, r, ln2_hi for the reduction ``t = k (ln2_hi + ln2_lo) + r`` and m, j for
    ``a - b = m 2**j``."""
    k, r, hi, m, j = sp.symbols("k r ln2_hi m j", real=True)
    lo = sp.log(2) - hi
    t = k * (hi + lo) + r
    quarter = sp.exp((k - 2) * sp.log(2))
    quarter_m1 = quarter - sp.Rational(1, 4)
    p = sp.exp(r) - 1 - r
    power = sp.exp((j + k) * sp.log(2))
    return {
        "quarter_expm1": (quarter_m1 + quarter * (r + p), (sp.exp(t) - 1) / 4),
        "quarter_expm1_minus_x": (
            ((quarter_m1 - k * hi / 4) + quarter_m1 * r) + (quarter * p - k * lo / 4),
            (sp.exp(t) - 1 - t) / 4,
        ),
        "scaled_exp": ((m + m * (r + p)) * power, m * sp.exp(j * sp.log(2)) * sp.exp(t)),
    }


def check_exp_reduction(formulas: dict[str, tuple[sp.Expr, sp.Expr]] | None = None) -> None:
    """Prove each reconstruction formula of :class:`ExpReduction` equal to its function."""
    for name, (formula, exact) in (formulas or reduction_formulas()).items():
        if sp.simplify(sp.expand(formula - exact, power_exp=True)) != 0:
            raise ArithmeticError(f"the reduced {name} formula is not e^t's: {formula}")
