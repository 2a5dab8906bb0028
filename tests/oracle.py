"""mpmath as the oracle of the elementwise kernels: exact values, errors in ulps, and the
sampled domain of every argument.

The exact values come from the spec's own term and gradients (the textbook expressions
SymPy derived, before any numerical rewrite), evaluated by mpmath on the exact binary
inputs, at a precision doubled until the sum of the textbook terms is resolved. Errors are
counted in ulps of the output's type: of the exact value, or, for an output that is a sum
of terms of both signs (a gradient that changes sign), of the sum of those terms' sizes
(DESIGN.md: near a zero of the function the bound is 4 eps times the terms' size). The
terms are those of the stabilized expression the kernels evaluate, each evaluated exactly.
"""

import functools
from dataclasses import dataclass
from functools import cached_property

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.rewriting import log1p_opt, optimize

from klgen.derive.numerics import as_exact, stabilize
from klgen.derive.rewrites import exact
from klgen.derive.specs import KernelSpec
from klgen.derive.userpkg import prepare

DPS = 60
MAX_DPS = 4000
TEXTBOOK_DPS = 720
TINY = mpmath.mpf(10) ** -400  # below every float type's smallest number
# Textbook terms that cannot lose their information inside themselves at DPS digits (no
# log(1 + e^-x), no e^x of a far exponent added to 1): they start at DPS (twice a tiny
# input's exponent still added). kl_gamma's psi and loggamma take seconds at 720 digits.
TEXTBOOK_DPS_OF = {"kl_gamma": DPS, "kl_beta": DPS}


@dataclass(frozen=True)
class Oracle:
    """Exact (value, *gradients) of one spec's element, and the terms they cancel between."""

    spec: KernelSpec

    @cached_property
    def _functions(self):
        """Per output: the textbook expression's terms (summed to the exact value) and the
        stabilized expression's terms (for the scale), as mpmath functions."""

        def functions(expr):
            return [sp.lambdify(self.spec.args, t, "mpmath") for t in sp.Add.make_args(expr)]

        exprs = (self.spec.term, *self.spec.gradients)
        textbook = [functions(e) for e in exprs]
        if isinstance(self.spec, Textbook):  # its rewrites' forms are whole terms
            terms = [sp.Add.make_args(e) for e in self.spec.rewritten]
            stable = [[sp.lambdify(self.spec.args, exact(t), "mpmath") for t in e] for e in terms]
        else:
            stable = [
                functions(as_exact(sp.expand(stabilize(e), multinomial=False))) for e in exprs
            ]
        return textbook, stable

    def outputs(self, point):
        """(exact, scale) per output at one point (a tuple of Python floats): scale is the
        sum of the magnitudes of the stabilized terms, never less than |exact|."""
        x = [mpmath.mpf(v) for v in point]
        start = DPS
        if isinstance(self.spec, Textbook):
            # A textbook term can lose all its information inside itself below some precision
            # (log(1 + e^-706) is 0 at 300 digits, log sigmoid(a) - log sigmoid(b) at a, b =
            # 1e-122 at 120): two evaluations then agree on 0. Start beyond every float64
            # exponent, twice over (e^-745 squared), and beyond twice a tiny input's exponent.
            tiny = max((-int(mpmath.floor(mpmath.log10(abs(v)))) for v in x if v), default=0)
            floor = TEXTBOOK_DPS_OF.get(self.spec.name, TEXTBOOK_DPS)
            start = min(max(floor, DPS + 2 * tiny), MAX_DPS)
        results = []
        for textbook, stable in zip(*self._functions, strict=True):
            value = exact_sum(textbook, x, start)
            scale = abs(value)
            if len(stable) > 1:
                scale = sum(abs(exact_sum([t], x)) for t in stable)
            results.append((value, max(scale, abs(value))))
        return results


def exact_sum(terms, x, start=DPS):
    """sum(t(*x) for t in terms) by mpmath, the precision doubled from ``start`` digits until the
    sum is resolved: two evaluations agree to 30 digits, and the sum is not lost below the
    precision of its largest term (textbook forms cancel: e^x - 1 - x at x = 1e-300 loses
    600 digits) or what could be lost is below 1e-400 (zero for every float type). A term
    that divides by a difference rounded to 0 is evaluated at more digits too."""
    dps, previous = start, None
    while dps <= MAX_DPS:
        with mpmath.workdps(dps):
            try:
                parts = [t(*x) for t in terms]
            except ZeroDivisionError:  # e^x - 1 rounded to 0 in (e^x - 1)/x: more digits
                previous, dps = None, dps * 2
                continue
            value = mpmath.fsum(parts)
            resolution = max(abs(p) for p in parts) * mpmath.mpf(10) ** (30 - dps)
        agrees = previous is not None and abs(value - previous) <= max(abs(value) * 1e-30, TINY)
        if agrees and (abs(value) > resolution or resolution < TINY):
            return value
        previous, dps = value, dps * 2
    raise ArithmeticError(f"no convergence at {x}: {previous} vs {value}")


def ulps(got: float, exact, scale, dtype) -> float:
    """|got - exact| in ulps of ``dtype`` at max(|exact|, scale) (subnormal spacing below).

    Exact values beyond the type's largest finite number must come back as infinities of
    their sign; within 4 ulps of that boundary either rounding is accepted.
    """
    info = np.finfo(dtype)
    big = mpmath.mpf(float(info.max))
    if abs(exact) > big * (1 + 4 * mpmath.mpf(float(info.eps))):
        return 0.0 if got == np.sign(float(exact)) * np.inf else np.inf
    if not np.isfinite(got):
        near = abs(exact) > big * (1 - 4 * mpmath.mpf(float(info.eps)))
        return 0.0 if near and got == np.sign(float(exact)) * np.inf else np.inf
    size = min(float(max(abs(exact), scale)), float(info.max))
    with np.errstate(over="ignore"):  # the spacing at the largest float is beyond it
        spacing = float(np.spacing(dtype(size)))
    return float(abs(mpmath.mpf(float(got)) - exact) / spacing)


# --- the sampled domain ---------------------------------------------------------------------


def log_uniform(rng, n, dtype, signed=True):
    """n values with log10|x| uniform over the type's whole range (subnormals included)."""
    info = np.finfo(dtype)
    low = np.log10(float(info.smallest_subnormal))
    magnitude = 10.0 ** rng.uniform(low, np.log10(float(info.max)), n)
    magnitude = np.minimum(magnitude, float(info.max))
    sign = rng.choice([-1.0, 1.0], n) if signed else 1.0
    return (sign * magnitude).astype(dtype)


def exp_boundaries(dtype):
    """Arguments where e^x, e^x / 2, e^x / 4 or the halves overflow or underflow."""
    info = np.finfo(dtype)
    top, tiny = np.log(float(info.max)), np.log(float(info.smallest_normal))
    sub = np.log(float(info.smallest_subnormal))
    return [top, top + np.log(2), top + np.log(4), 2 * top, tiny, sub, 2 * tiny, 2 * sub]


def domain(spec: KernelSpec, dtype, n: int, seed: int = 0) -> np.ndarray:
    """(n, len(args)) points: every argument log-uniform over the whole range, moderate
    values, pairs of arguments a small or huge distance apart, arguments beside each
    exponential's overflow and underflow boundaries (as values and as differences), and
    near-equal prior and posterior."""
    rng = np.random.default_rng(seed)
    k = len(spec.args)
    quarter = n // 4
    wide = log_uniform(rng, n * k, dtype).reshape(n, k)
    moderate = rng.normal(scale=rng.choice([0.1, 1.0, 5.0, 30.0], (n, 1)), size=(n, k))
    points = np.where(rng.random((n, k)) < 0.5, wide, moderate.astype(dtype))
    edges = np.array(exp_boundaries(dtype))
    for row in range(n):
        kind = row % 4
        i, j = rng.choice(k, 2, replace=False) if k > 1 else (0, 0)
        if kind == 1 and k > 1:  # a difference log-uniform over the range
            gap = log_uniform(rng, 1, np.float64)[0]
            with np.errstate(over="ignore"):
                points[row, j] = dtype(float(points[row, i]) + gap)
        elif kind == 2:  # beside an exponential's boundary, as a value or a difference
            edge = rng.choice(edges) * rng.choice([-1.0, 1.0]) + rng.uniform(-2, 2)
            if k > 1 and rng.random() < 0.5:
                points[row, j] = dtype(float(points[row, i]) - edge)
            else:
                points[row, i] = dtype(edge)
        elif kind == 3 and k > 1 and row < 3 * quarter:  # q close to p
            points[row, j] = dtype(float(points[row, i]) * (1 + rng.normal() * 1e-6))
    for i, arg in enumerate(spec.args):
        if (spec.name, arg.name) in BOUNDED:
            low, high = BOUNDED[spec.name, arg.name]
            inside = rng.uniform(low, high, n)
            points[:, i] = np.where(rng.random(n) < 0.1, rng.choice([low, high], n), inside)
        if arg.name in EXPONENTS:
            beyond = np.abs(points[:, i]) > EXPONENTS[arg.name]
            points[beyond, i] = rng.uniform(-1, 1, np.count_nonzero(beyond)) * EXPONENTS[arg.name]
    with np.errstate(over="ignore", invalid="ignore"):
        points = points.astype(dtype)
    return points[np.all(np.isfinite(points), axis=1)]


# Arguments whose whole range is an interval: (kernel, argument) -> (low, high), sampled
# uniformly with the end points (a tenth of the points).
BOUNDED = {  # data: a probability, an intensity
    ("nll_bernoulli", "x"): (0.0, 1.0),
    ("nll_continuous_bernoulli", "x"): (0.0, 1.0),
}
# Arguments that are exponents (a log-rate, a log-variance): their whole range is where the
# exponential is neither 0 nor inf, with its overflow and underflow edges (|x| <= 745 in
# float64); values beyond it are drawn uniformly from it again.
EXPONENTS = {
    name: 750.0 for name in ("log_rate", "log_rate_p", "logvar", "log_scale", "log_scale_p")
}
# kl_gamma's log-concentrations: within +-700 (concentrations from 1e-304 to 1e304; e^x is
# 0 below -745 and inf above 709).
EXPONENTS |= {"log_concentration": 700.0, "log_concentration_p": 700.0}
# kl_beta's likewise.
EXPONENTS |= {name: 700.0 for name in ("log_a", "log_b", "log_a_p", "log_b_p")}


@dataclass(frozen=True)
class Textbook:
    """A shipped kernel (specs/) as the oracle reads it: its term in plain SymPy functions
    (klgen's by their definitions) and that term's own derivatives, before any rewrite; and
    the rewritten outputs the kernel evaluates, whose terms (each a whole rewrite's form,
    evaluated exactly) give the scale of an output that changes sign."""

    name: str
    args: tuple[sp.Symbol, ...]
    term: sp.Expr
    rewritten: tuple[sp.Expr, ...]

    @classmethod
    def of(cls, kernel) -> "Textbook":
        prepared = prepare(kernel)
        term = exact(kernel.term.xreplace(dict(zip(kernel.args, prepared.args, strict=True))))
        # log(1 + x) as mpmath's log1p (the same function): at 60 digits log(1 + e^-706) is 0.
        term = optimize(term, [log1p_opt])
        rewritten = (prepared.term, *prepared.gradients)
        return cls(kernel.name, prepared.args, term, rewritten)

    @cached_property
    def gradients(self) -> tuple[sp.Expr, ...]:
        return tuple(sp.diff(self.term, a) for a in self.args)


@functools.cache
def oracle_of(spec: KernelSpec) -> Oracle:
    """One Oracle per spec (building one lambdifies every expression)."""
    return Oracle(spec)


def exact_outputs(spec, points):
    """The oracle's outputs at every row of ``points``."""
    oracle = oracle_of(spec)
    return [oracle.outputs(tuple(map(float, point))) for point in points]


def errors(spec, kernel, points, dtype, exact=None) -> np.ndarray:
    """(points, outputs) errors in ulps of ``kernel`` (a value_and_grad function), one element
    per row; ``exact`` is ``exact_outputs(spec, points)`` when already computed."""
    exact = exact_outputs(spec, points) if exact is None else exact
    arrays = [np.ascontiguousarray(points[:, i : i + 1]) for i in range(points.shape[1])]
    with np.errstate(all="ignore"):
        kl, grads = kernel(*arrays)
    got = np.column_stack([kl, *(g[:, 0] for g in grads)])
    return np.array(
        [
            [ulps(float(got[row, o]), value, scale, dtype) for o, (value, scale) in enumerate(e)]
            for row, e in enumerate(exact)
        ]
    ).reshape(got.shape)


def worst_errors(spec, kernel, points, dtype, exact=None):
    """Per output: (worst ulps, the point where it happened), of ``kernel`` (a
    value_and_grad function) over ``points``, one element per row; ``exact`` is
    ``exact_outputs(spec, points)`` when already computed."""
    table = errors(spec, kernel, points, dtype, exact)
    worst = [(0.0, None)] * table.shape[1]
    for row, point in enumerate(points):
        for o, error in enumerate(table[row]):
            if error > worst[o][0]:
                worst[o] = (error, tuple(map(float, point)))
    return worst
