"""What the compiled (numba) kernels evaluate for the halves expm1(t)/2 and (e^t - 1 - t)/2.

kl_std_normal's and kl_diag_normal's numba twins evaluate the form their derivations reach
before the numpy lowering (the halves as nodes), each half by a scalar helper of
generated/_numba_exp.py (templates/numba_exp.py.jinja): libm's exp and expm1 are scalar
calls that stop the loops from being vectorised, so the helpers compute e^t themselves from
the reduction t = k ln 2 + r of derive/numerics.py (ExpReduction). This derivation takes the
halves from their definitions to the helpers' formulas: the reduction, the quarters that keep
every intermediate finite wherever the half is, the Taylor polynomial of e^r - 1 - r with
the float64 coefficients the code holds, and the branch below t = low.

Each step is checked like the others: r, q, P and ln2_lo replaced by what they stand for
(t - k ln 2, 2^(k-2), e^r - 1 - r, ln 2 - L_hi), it must equal the step before for every
k, symbolically and at random rational t with k = round(t / ln 2). The polynomial and the
branch stand for what they evaluate; that they do so within a quarter ulp is an extra check
against mpmath.
"""

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1

from klgen.derive import numerics
from klgen.derive.derivations.notation import ShownBase
from klgen.derive.derivations.steps import Case, Derivation, Extra, rational, rng, step

t = sp.Symbol("t", real=True)
k, r = sp.symbols("k r", real=True)
q, P = sp.Symbol("q", positive=True), sp.Symbol("P", real=True)
ln2_hi, ln2_lo = sp.symbols("L_hi L_lo", real=True)
QUARTER = sp.Rational(1, 4)
REDUCTION = numerics.exp_reduction("float64")


class TaylorP(ShownBase):
    """e^r - 1 - r as the compiled kernels evaluate it for |r| <= ln(2)/2: its Taylor
    polynomial on the float64 coefficients of derive/numerics.py, by Horner's scheme (the
    extra check bounds its error). Shown as the sum of its terms."""

    nargs = 1

    def shown(self) -> sp.Expr:
        n = sp.Symbol("n", integer=True, positive=True)
        last = len(REDUCTION.coefficients) + 1
        return sp.Sum(self.args[0] ** n / sp.factorial(n), (n, 2, last))


def _quarters(p_value) -> sp.Tuple:
    """The halves as twice their quarters (numerics.reduction_formulas), with e^r - 1 - r as
    ``p_value``."""
    lower = q - QUARTER
    half_expm1 = 2 * (lower + q * (r + p_value))
    half_expm1_minus_x = 2 * (
        sp.Add(lower - k * ln2_hi / 4, lower * r, evaluate=False) + (q * p_value - k * ln2_lo / 4)
    )
    return sp.Tuple(half_expm1, half_expm1_minus_x)


def _steps():
    quarters = _quarters(TaylorP(r))
    low = sp.Float(REDUCTION.low)
    below = sp.Piecewise((-t / 2 - sp.S.Half, t < low), (quarters[1], True))
    return [
        step(
            sp.Tuple(expm1(t) / 2, (sp.exp(t) - 1 - t) / 2),
            "the halves the numba twins of kl_std_normal and kl_diag_normal evaluate: "
            "half_expm1(t) = expm1(t)/2 (a gradient) and half_expm1_minus_x(t) = "
            "(e^t - 1 - t)/2 (the value's term)",
        ),
        step(
            sp.Tuple((2**k * sp.exp(r) - 1) / 2, (2**k * sp.exp(r) - 1 - k * sp.log(2) - r) / 2),
            "t = k ln 2 + r with k = round(t / ln 2), so |r| <= ln(2)/2 and e^t = 2^k e^r, "
            "e^r in [0.7, 1.42]; k is read from the low bits of t log2(e) + 1.5 2^52, and "
            "2^k is built from its bits: no call to libm, so the loops vectorise",
        ),
        step(
            _quarters(P),
            "with P = e^r - 1 - r and q = 2^(k-2), each half is twice its quarter, which stays "
            "finite wherever the half does (2^k alone overflows first); ln 2 = L_hi + L_lo "
            f"with L_hi = {REDUCTION.ln2_hi!r} (20 significant bits: k L_hi is exact for "
            "every k the clamps allow, Cody and Waite), and the value's quarter grouped so that "
            "its cancellation for k = +-1 is exact (Sterbenz)",
        ),
        step(
            quarters,
            f"P as its Taylor polynomial to r^{len(REDUCTION.coefficients) + 1} "
            f"({len(REDUCTION.coefficients)} terms, coefficients 1/n! rounded to float64, by "
            "Horner's scheme): its "
            "first omitted term at |r| = ln(2)/2 is below eps/4 of r^2/2, and with no "
            "difference of nearly equal terms inside the polynomial, P keeps its relative "
            "accuracy however small r is",
        ),
        step(
            sp.Tuple(quarters[0], below),
            f"below t = {REDUCTION.low:g}, where e^t is lost beside 1 (2^(k-2) would be "
            "subnormal), the value's half is -t/2 - 1/2; t is clamped to "
            f"[{REDUCTION.low:g}, {REDUCTION.high:g}] before the reduction, and above it both "
            "halves overflow to +inf as the true values do. This is what the numba helpers "
            "evaluate (generated/_numba_exp.py); the float32 twins (_f32) use the float32 "
            "constants of the same reduction, and half_expm1_diff(a, b) and "
            "half_expm1_minus_x_diff(a, b) take t = a - b with its exact two-sum error lo, "
            "adding lo expm1(t)/2 (the first-order term of the rounding of t)",
        ),
    ]


def _realized(expr, values: dict) -> tuple:
    """The step with every display symbol replaced by what it stands for, then ``values``."""
    expr = expr.replace(sp.Piecewise, lambda *pairs: pairs[-1][0])
    expr = expr.replace(TaylorP, lambda x: sp.exp(x) - 1 - x)
    expr = expr.xreplace({q: 2 ** (k - 2), P: sp.exp(r) - 1 - r, ln2_lo: sp.log(2) - ln2_hi})
    expr = expr.xreplace({r: t - k * sp.log(2)}).replace(expm1, lambda x: sp.exp(x) - 1)
    return tuple(expr.xreplace(values))


def _anchor(values: dict) -> tuple:
    """The halves as derive/numerics.py's nodes stand for them (one argument: b = 0)."""
    nodes = sp.Tuple(numerics.HalfExpm1(t, 0), numerics.HalfExpm1MinusX(t, 0))
    return tuple(numerics.as_exact(nodes).xreplace(values))


def _cases():
    cases = [Case("symbolic t and k", True, lambda e: _realized(e, {}), lambda: _anchor({}))]
    for number in range(3):
        x = rational(rng(f"numba_exp-{number}"))
        values = {t: x, k: round(float(x) / np.log(2)), ln2_hi: sp.Rational(REDUCTION.ln2_hi)}
        cases.append(
            Case(
                f"t = {x}",
                False,
                lambda e, v=values: _realized(e, v),
                lambda v=values: _anchor(v),
            )
        )
    return cases


def taylor_p_is_accurate(derivation=None) -> bool:
    """The polynomial (float64 coefficients, evaluated exactly) is within eps/4 of e^r - 1 - r,
    relatively, for 0 < |r| <= ln(2)/2 (mpmath, 50 digits, 200 points per sign)."""
    bound = mpmath.mpf(float(np.finfo(np.float64).eps)) / 4
    with mpmath.workdps(50):
        for x in np.geomspace(1e-12, float(np.log(2) / 2), 200):
            for value in (mpmath.mpf(float(x)), -mpmath.mpf(float(x))):
                poly = sum(
                    mpmath.mpf(c) * value ** (n + 2) for n, c in enumerate(REDUCTION.coefficients)
                )
                exact = mpmath.expm1(value) - value
                if abs(poly - exact) > bound * abs(exact):
                    return False
    return True


def below_is_accurate(derivation=None) -> bool:
    """Below t = low, the dropped e^t/2 is under eps/4 of the kept |t/2 + 1/2| (mpmath): so
    the branch is the correctly rounded half wherever it is taken."""
    low = mpmath.mpf(REDUCTION.low)
    eps = mpmath.mpf(float(np.finfo(np.float64).eps))
    return mpmath.exp(low) / 2 < eps / 4 * abs(low / 2 + mpmath.mpf(1) / 2)


NUMBA_EXP = Derivation(
    name="numba_exp",
    title="What the numba kernels evaluate for the halves: expm1(t)/2 and (e^t - 1 - t)/2",
    intro=(
        "The compiled twins of kl_std_normal and kl_diag_normal evaluate the halves of their "
        "derivations' node form with scalar helpers that compute e^t themselves (libm's "
        "scalar calls would stop vectorisation): from the definitions to those helpers' "
        "formulas."
    ),
    lhs=r"\begin{pmatrix} \operatorname{half\_expm1}(t) \\ "
    r"\operatorname{half\_expm1\_minus\_x}(t) \end{pmatrix}",
    lhs_text="(half_expm1(t), half_expm1_minus_x(t))",
    steps=_steps(),
    cases=_cases,
    anchor="the halves' nodes of derive/numerics.py (half_expm1, half_expm1_minus_x)",
    extras=(
        Extra(-2, "the polynomial is within eps/4 of e^r - 1 - r (mpmath)", taylor_p_is_accurate),
        Extra(-1, "below t = low the dropped e^t/2 is under eps/4 (mpmath)", below_is_accurate),
    ),
)
