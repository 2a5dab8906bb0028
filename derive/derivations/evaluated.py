"""The kernels' derivations: what each generated kernel evaluates, past the textbook form.

diag_normal, std_normal, encoder_backprop and mvn_cholesky end at the closed forms a reader
knows; the generated kernels do not evaluate those formulas but their floating-point
rewrites. kl_std_normal and kl_diag_normal continue from one latent dimension's term and its
derivatives (what the kernels compute per element) through every rewrite of
derive/numerics.py, each a step with its reason, to the expressions the numpy kernels
evaluate: the last step is exactly ``lower_for_numpy(stabilize(...))`` of the kernel spec's
expressions, with the series that evaluates e^t - 1 - t near 0 written out.
kl_std_normal_encoder puts kl_std_normal's evaluated gradient into the encoder's, and
kl_mvn_cholesky takes mvn_cholesky's result through derive/matrix_rewrites.py rule by rule.
The rewrites are made by the functions code generation calls, so what is shown is what runs.

Each step is checked like the others: its nodes replaced by their exact definitions, it
must equal the step before, symbolically and at random rational points. The series step is
exact as a node (it stands for e^t - 1 - t); that the series evaluates it to a quarter of an
ulp below its radius is an extra check, against mpmath.
"""

import functools
from collections.abc import Sequence

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from klgen.derive import gaussian, numerics
from klgen.derive.derivations import cholesky, diagonal, encoder
from klgen.derive.derivations.notation import ShownBase, to_latex
from klgen.derive.derivations.steps import Case, Derivation, Extra, rational, rng, step

STAGE_WHY = {
    "expm1": (
        "e^x - 1 -> expm1(x) (SymPy's expm1_opt): near x = 0 e^x rounds to within eps of 1 "
        "and subtracting 1 keeps only that rounding (at logvar = 1e-8 no digit is right); "
        "expm1 computes the difference itself"
    ),
    "distributed": (
        "constants distributed over the sums, not into (mu - mu_p)^2 (expanding it would add "
        "a cancellation)"
    ),
    "paired": (
        "expm1(t) - t still cancels where |t| is small (both are about t): the pair becomes "
        "one node, expm1_minus_x(t, u) = e^t - 1 - t from t and u = expm1(t), evaluated "
        "without the cancellation (last step)"
    ),
    "halves": (
        "c (e^t - 1 - t) and c expm1(t) become halves, half_expm1_minus_x(a, b) = "
        "(e^(a-b) - 1 - (a-b))/2 and half_expm1(a, b) = (e^(a-b) - 1)/2: evaluated whole, "
        "a half stays finite wherever it is representable (e^logvar overflows from "
        "logvar = 709.78 in float64, the half only from 710.47), and a - b is taken exactly"
    ),
    "scaled": (
        "c (a - b)^n e^x becomes one node, scaled_exp(a, b, x, n, s) = 2^s (a - b)^n e^x for "
        "c = 2^s: the exponents of the factors are added as integers, so it overflows or "
        "underflows only where the product itself does"
    ),
}
LOWERED_WHY = (
    "(the numba twins evaluate the step before this one, each half by a scalar helper "
    "that computes e^t itself: klgen latex numba_exp) the numpy kernels' form "
    "(lower_for_numpy): with t = a - b and u = expm1(t), (e^t - 1)/2 = u/2 and "
    "(e^t - 1 - t)/2 = (e^t - 1 - t)/2 from u: one expm1 per element, shared by the value "
    "and the gradients, in few passes; the elements where e^t would overflow before the "
    "half does (|t| > 708) take the careful path, which evaluates the halves at t/2"
)
TWO_SUM_WHY = (
    "; two_sum_lo(x, y, s), the rounding error of s = fl(x + y) (Knuth's two-sum; 0 in "
    "exact arithmetic), corrects to first order for the rounding of t"
)
SCALED_WHY = (
    "; scaled_exp(a, b, x, 2, s) = 2^s (a - b) scaled_exp(a, b, x, 1, 0) shares the "
    "gradient's product"
)


class SeriesExpm1MinusX(ShownBase):
    """``expm1_minus_x(t, u)`` as a kernel of float64 series radius ``radius`` evaluates it:
    u - t for |t| at or above the radius, the Taylor polynomial of e^t - 1 - t below.
    ShownBase as that piecewise form; its value is e^t - 1 - t (the extra check bounds the
    series' error)."""

    nargs = 3

    def shown(self) -> sp.Piecewise:
        """The piecewise form of the node, with the float64 series written out."""
        t, u, radius = self.args
        series = numerics.expm1_minus_x_series("float64", float(radius))
        n = sp.Symbol("n", integer=True, positive=True)
        last = len(series.coefficients) + 1
        taylor = sp.Sum(t**n / sp.factorial(n), (n, 2, last))
        return sp.Piecewise((taylor, sp.Abs(t) < radius), (u - t, True), evaluate=False)


def with_series(expr: sp.Expr, radius: float) -> sp.Expr:
    """``expr`` with each expm1_minus_x node shown as the series of float64 radius
    ``radius`` evaluates it."""
    shown = sp.nsimplify(radius)
    return expr.replace(numerics.Expm1MinusX, lambda t, u: SeriesExpm1MinusX(t, u, shown))


def without_series(expr: sp.Expr) -> sp.Expr:
    """:func:`with_series` undone: the expm1_minus_x nodes back."""
    return expr.replace(SeriesExpm1MinusX, lambda t, u, _: numerics.Expm1MinusX(t, u))


def series_why(radius: float = numerics.SERIES_RADIUS["float64"]) -> str:
    """Why the series step: what expm1_minus_x evaluates at the float64 radius ``radius``
    (the kernel's series_radius) and for float32 outputs."""
    wide = numerics.expm1_minus_x_series("float64", radius)
    narrow = numerics.expm1_minus_x_series("float32")
    return (
        f"expm1_minus_x(t, u) is u - t for |t| >= {wide.radius} and, below, the Taylor series "
        f"of e^t - 1 - t to t^{len(wide.coefficients) + 1}/{len(wide.coefficients) + 1}! "
        f"({len(wide.coefficients)} terms, coefficients 1/n! rounded to float64): near 0 "
        "u - t keeps a relative error of about eps/|t| (the cancelled digits), the series "
        "none; its first omitted term at the radius is below eps/4 of t^2/2. For float32 "
        f"outputs the radius is 2^{int(np.log2(narrow.radius))} ({len(narrow.coefficients)} "
        "terms): beyond it u - t in float64 is far inside a float32 ulp. This is what the "
        "generated code evaluates"
    )


def outputs(term: sp.Expr, args) -> tuple[sp.Expr, ...]:
    """The per-element term and its derivative by each argument, in the order the kernel
    spec lists its arguments: the expressions code generation starts from."""
    return (term, *(sp.diff(term, arg) for arg in args))


def _steps(term, args):
    start = sp.Tuple(*outputs(term, args))
    per_output = [numerics.stabilize_stages(e) for e in start]
    steps = [
        step(
            start,
            "one latent dimension's term of the closed form and its partial derivatives "
            "(sympy.diff): the kernel evaluates these per element, then sums the term over "
            "the last axis in float64 (np.vecdot for the c x^2 terms, np.sum for the rest) "
            "and rounds once to the output type",
        )
    ]
    shown = start
    for number, (stage, _) in enumerate(per_output[0]):
        current = sp.Tuple(*(stages[number][1] for stages in per_output))
        if current != shown:  # a rewrite that changes nothing here is not a step
            steps.append(step(current, STAGE_WHY[stage]))
            shown = current
    lowered = sp.Tuple(*(numerics.lower_for_numpy(e) for e in shown))
    why = LOWERED_WHY + (TWO_SUM_WHY if lowered.has(numerics.TwoSumLo) else "")
    why += SCALED_WHY if lowered.has(numerics.ScaledExp) else ""
    steps.append(step(lowered, why))
    steps.append(step(with_series(lowered, numerics.SERIES_RADIUS["float64"]), series_why()))
    return steps


def exact(expr):
    """``expr`` with every evaluation node replaced by its definition."""
    return numerics.as_exact(without_series(expr))


def _cases(name, args, anchor):
    """Symbolic arguments, and three random rational points (evaluated at 30 digits)."""
    cases = [Case("symbolic arguments", True, lambda e: tuple(exact(e)), anchor)]
    for number in range(3):
        source = rng(f"{name}-{number}")
        values = {a: rational(source) for a in args}
        cases.append(
            Case(
                f"random point {number + 1}",
                False,
                lambda e, v=values: tuple(exact(e).xreplace(v)),
                lambda v=values: tuple(sp.Tuple(*anchor()).xreplace(v)),
            )
        )
    return cases


def series_is_accurate(derivation=None) -> bool:
    """The series the kernels evaluate (float coefficients, in exact arithmetic) is within a
    quarter of an ulp of e^t - 1 - t, relatively, for |t| below its radius: checked with
    mpmath at 50 digits at 200 points per sign up to the radius, for float32 and float64 at
    each radius a kernel may choose."""
    kinds = [("float32", numerics.SERIES_RADIUS["float64"])]
    kinds += [("float64", radius) for radius in numerics.SERIES_RADII]
    with mpmath.workdps(50):
        for dtype, radius in kinds:
            series = numerics.expm1_minus_x_series(dtype, radius)
            bound = mpmath.mpf(float(np.finfo(dtype).eps)) / 4
            points = np.geomspace(series.radius * 1e-6, series.radius, 200)
            for t in (mpmath.mpf(float(p)) * sign for p in points for sign in (1, -1)):
                value = sum(mpmath.mpf(c) * t ** (k + 2) for k, c in enumerate(series.coefficients))
                exact_value = mpmath.expm1(t) - t
                if abs(value - exact_value) > bound * abs(exact_value):
                    return False
    return True


class _Steps(Sequence):
    """The steps, made on first use: the rewrites and their proofs take SymPy a second, which
    ``klgen latex`` of any other derivation (and importing the registry) need not wait for."""

    def __init__(self, make):
        self._make = make

    @functools.cached_property
    def _steps(self):
        return tuple(self._make())

    def __getitem__(self, index):
        return self._steps[index]

    def __len__(self):
        return len(self._steps)


def _derivation(name, closed_form, args, title):
    term = diagonal.summand(closed_form.final)
    steps = _Steps(lambda: _steps(term, args))
    names = ", ".join(f"dl/d{a.name}" for a in args)
    parts = [r"\ell", *(rf"\partial \ell / \partial {to_latex(a)}" for a in args)]
    return Derivation(
        name=name,
        title=title,
        intro=(
            f"What {name} evaluates: {closed_form.name}'s closed form, per latent dimension "
            "and with its gradients, rewritten for floating point step by step "
            "(derive/numerics.py) until it is the expression the generated numpy code "
            "computes."
        ),
        lhs=r"\begin{pmatrix} " + r" \\ ".join(parts) + r" \end{pmatrix}",
        lhs_text=f"(l, {names})",
        steps=steps,
        cases=lambda: _cases(name, args, lambda: outputs(term, args)),
        anchor=f"the per-dimension term of {closed_form.name}'s result and its derivatives",
        parts=tuple(parts),
        extras=(
            Extra(
                -1,
                "the series is within eps/4 of e^t - 1 - t below its radius (mpmath)",
                series_is_accurate,
            ),
        ),
    )


STD_NORMAL = _derivation(
    "kl_std_normal",
    diagonal.STD_NORMAL,
    (gaussian.mu, gaussian.logvar),
    "What kl_std_normal evaluates: the standard-normal KL for floating point",
)
DIAG_NORMAL = _derivation(
    "kl_diag_normal",
    diagonal.DIAG_NORMAL,
    (gaussian.mu, gaussian.logvar, gaussian.mu_p, gaussian.logvar_p),
    "What kl_diag_normal evaluates: the diagonal-Gaussian KL for floating point",
)


def _encoder_steps():
    """encoder_backprop's gradients, then with the entrywise factor of the logvar head as
    kl_std_normal evaluates its logvar gradient."""
    # expm1 of 1 logvar: a bare matrix symbol replaced by an explicit 1 x 1 matrix would
    # have expm1 applied to the matrix itself (SymPy's ElementwiseApplyFunction)
    one_logvar = sp.MatMul(sp.S.One, encoder.logvar, evaluate=False)
    factor = sp.MatMul(sp.S.Half, elementwise_expm1(one_logvar), evaluate=False)
    given = encoder.DERIVATION.final
    h_t, ones_t = encoder.h.T, encoder.ones.T
    evaluated = sp.Tuple(
        given[0],
        given[1],
        sp.MatMul(h_t, factor, evaluate=False),
        sp.MatMul(ones_t, factor, evaluate=False),
    )
    return [
        step(
            given,
            "encoder_backprop's result: the gradients of the summed KL in the encoder's "
            "weights and biases",
        ),
        step(
            evaluated,
            "the entrywise factors are kl_std_normal_grad's outputs, dL/dmu = mu and "
            "dL/dlogvar = 1/2 (exp(logvar) - 1) evaluated as kl_std_normal's last step does: "
            "expm1(logvar)/2 (no cancellation near logvar = 0; rows with a logvar beyond 708, "
            "where e^logvar would overflow before the half does, take its careful path, "
            "which halves the argument). h^T and 1_B^T are then applied as sums of products in "
            "float64, each column scaled by a power of two first so that no partial sum "
            "overflows, and rounded once (templates/static: sum_of_products). This is what "
            "kl_std_normal_encoder_grad evaluates",
        ),
    ]


def elementwise_expm1(m):
    """expm1 applied to each entry of the matrix expression m."""
    return ElementwiseApplyFunction(expm1, m)


def _plain(value):
    """A realization with expm1 written as e^x - 1, which the checker's simplification sees."""
    if value is None:
        return None
    return value.replace(expm1, lambda x: sp.exp(x) - 1)


def _encoder_cases():
    """encoder_backprop's cases (fewer: the step only swaps one entrywise factor)."""
    anchor = encoder.DERIVATION.final
    cases = []
    for sizes, numeric in (((1, 1, 1), False), ((2, 1, 2), False), ((3, 2, 2), True)):
        values = encoder._random_values(sizes, rng(f"kl_std_normal_encoder-{sizes}"))
        values = values if numeric else None
        realize = lambda e, s=sizes, v=values: tuple(  # noqa: E731
            _plain(x) for x in encoder.realize(e, s, v)
        )
        cases.append(
            Case(
                f"B,n,k={sizes}, " + ("random point" if numeric else "symbolic entries"),
                not numeric,
                realize,
                lambda r=realize: r(anchor),
            )
        )
    return cases


ENCODER = Derivation(
    name="kl_std_normal_encoder",
    title="What kl_std_normal_encoder_grad evaluates: the encoder's gradients for floating point",
    intro=(
        "encoder_backprop's gradients with their entrywise factors as the generated kernel "
        "computes them: from kl_std_normal_grad, whose evaluated form kl_std_normal derives."
    ),
    lhs=encoder.DERIVATION.steps[-1].lhs,
    lhs_text=encoder.DERIVATION.steps[-1].lhs_text,
    steps=_Steps(_encoder_steps),
    cases=_encoder_cases,
    anchor="encoder_backprop's result",
)


def _cholesky_steps():
    """mvn_cholesky's result and t's definition, then each matrix rewrite the kernel's
    statements go through (derive/matrix_rewrites.py), rule by rule."""
    from klgen.derive.matrix_rewrites import RULES, rewrite

    start = sp.Tuple(*cholesky.DERIVATION.final, cholesky.WHERE[cholesky.t])
    steps = [
        step(
            start,
            "mvn_cholesky's result, with t = ln diag L_0 - ln diag L_1 (M, z and N are "
            "products and solves, which no rewrite changes)",
        )
    ]
    current = start
    for rule in RULES:
        rewritten = sp.Tuple(*(rewrite(e, (rule,)) for e in current))
        if rewritten != current:
            steps.append(step(rewritten, CHOLESKY_WHY[rule.name]))
            current = rewritten
    return steps


CHOLESKY_WHY = {
    "half_inside_frobenius": (
        "1/2 (<A, B>_F + ...) -> <A/2, B>_F + ...: the half taken inside each inner product, "
        "before anything can overflow (each term of the KL is non-negative, so it stays "
        "finite while the KL does)"
    ),
    "log_ratio": (
        "ln a - ln b -> log_ratio(a, b), entry by entry: log1p((a - b)/b) where "
        "|a - b| < b/2 (there a - b is exact), ln a - ln b elsewhere, so t keeps its "
        "relative accuracy when q is near p (templates/static/cholesky.py: _log_ratio; its "
        "branches: klgen latex mvn_entrywise)"
    ),
    "half_expm1_minus_x": (
        "(e^x - 1 - x)/2 -> half_expm1_minus_x(x), entry by entry: expm1_minus_x(x)/2 (the "
        "Taylor series below |x| = 0.5, expm1(x) - x above: no cancellation near x = 0), and "
        "for x > 700, where e^x overflows first, (e^(x/2)/2) e^(x/2) - (1 + x)/2: finite while "
        "the half is (_half_expm1_minus_x). This, with t as log_ratio, is what kl_mvn_cholesky "
        "evaluates, M and z by triangular substitution (the nodes' branches: klgen latex "
        "mvn_entrywise)"
    ),
    "expm1_minus_x": "e^x - 1 - x -> expm1_minus_x(x), entry by entry: no cancellation",
    "expm1": "e^x - 1 -> expm1(x), entry by entry: exact near x = 0",
}


def matrix_exact(expr):
    """``expr`` with derive/matrix_rewrites.py's entrywise nodes written as the matrix
    expressions they stand for, which mvn_cholesky's cases realize."""
    from klgen.derive import matrix_rewrites as mr

    def ones(x):
        return sp.OneMatrix(*x.shape)

    def half(x):
        return sp.MatMul(sp.S.Half, x, evaluate=False)

    forms = {
        mr.EntrywiseLogRatio: lambda a, b: sp.MatAdd(
            cholesky.apply(sp.log, a), -cholesky.apply(sp.log, b)
        ),
        mr.EntrywiseExpm1: lambda x: sp.MatAdd(cholesky.apply(sp.exp, x), -ones(x)),
        mr.EntrywiseExpm1MinusX: lambda x: sp.MatAdd(cholesky.apply(sp.exp, x), -ones(x), -x),
        mr.EntrywiseHalfExpm1MinusX: lambda x: half(
            sp.MatAdd(cholesky.apply(sp.exp, x), -ones(x), -x)
        ),
    }
    for node, form in forms.items():
        expr = expr.replace(node, form)
    return expr


def _cholesky_realize(expr, n, values):
    """(KL, dKL) as mvn_cholesky realizes its result, and t's entries at s = 0."""
    kl, *grads, t = matrix_exact(expr)
    pair = cholesky.realize(sp.Tuple(kl, *grads), n, values)
    rules = cholesky._moved(n, values)
    entries = sp.ImmutableMatrix(cholesky._realized(t, rules))
    return (*pair, *(cholesky._at_zero(e) for e in entries))


def _cholesky_cases():
    anchor = sp.Tuple(*cholesky.DERIVATION.final, cholesky.WHERE[cholesky.t])
    cases = []
    for n, numeric in ((1, False), (2, True), (3, True)):
        values = cholesky._random_values(n, rng(f"kl_mvn_cholesky-{n}")) if numeric else None
        realize = lambda e, n=n, v=values: _cholesky_realize(e, n, v)  # noqa: E731
        label = f"k={n}, " + ("random point" if numeric else "symbolic entries")
        cases.append(Case(label, not numeric, realize, lambda r=realize: r(anchor)))
    return cases


CHOLESKY_PARTS = (
    r"\mathrm{KL}",
    *(
        rf"\partial \mathrm{{KL}} / \partial {p}"
        for p in (r"\mu_{0}", "L_{0}", r"\mu_{1}", "L_{1}")
    ),
    "t",
)
CHOLESKY = Derivation(
    name="kl_mvn_cholesky",
    title="What kl_mvn_cholesky evaluates: the full-covariance KL for floating point",
    intro=(
        "mvn_cholesky's KL and gradients, and t, through the matrix rewrites the kernel's "
        "statements go through (derive/matrix_rewrites.py), each proved entry by entry."
    ),
    lhs=r"\begin{pmatrix} " + r" \\ ".join(CHOLESKY_PARTS) + r" \end{pmatrix}",
    lhs_text="(KL, dKL/dmu_0, dKL/dL_0, dKL/dmu_1, dKL/dL_1, t)",
    steps=_Steps(_cholesky_steps),
    cases=_cholesky_cases,
    anchor="mvn_cholesky's result and t's definition",
    parts=CHOLESKY_PARTS,
)
