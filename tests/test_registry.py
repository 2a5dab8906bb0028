"""The kernels klgen ships as spec files (specs/, derive/package.py), generated into
klgen.generated: their derivations from the densities check, every output agrees with
mpmath over the sampled domain (tests/oracle.py) within the bound the README's table states,
the gradients with central differences, q = p gives exactly 0, and torch.distributions'
own formulas agree where they are accurate."""

import functools
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from kernels import BACKENDS
from oracle import Textbook, domain, exact_outputs, ulps
from peers import torch_peers

from klgen.derive.derivations import check
from klgen.derive.kernel import derivation_of
from klgen.derive.package import kernel_modules, shipped_kernels

# The elementwise kernels (one term per element, the last axis summed); kl_categorical, a
# kernel of row statistics, has tests/test_categorical.py.
KERNELS = {k.name: k for k in shipped_kernels() if not k.statistics}
# Worst float64 error over the sampled domain, in ulps (bench/registry_accuracy.py measures
# it over 1000 points: these are its results, rounded up), per output: value, then the
# gradients in argument order. Float32 results are the float64 computation rounded once:
# within half an ulp, plus what the float64 error adds.
ULPS = {
    # 2.9 / 3.1, 3.0 numpy, 3.5 / 3.5, 3.0 numba (its libm's log1p an ulp off at -0.062,
    # 1.7e-131, where E(x) ~ x^2/2 doubles it; 1.5 with numpy's); the value was 4.7 while p
    # and 1 - p entered as sigmoids near p = 1/2 (test_bernoulli_near_p_of_a_half)
    "kl_bernoulli": (4, 4, 4),
    "nll_bernoulli": (4, 4, 0),
    "nll_gaussian": (4, 4, 4, 4),
    "kl_poisson": (4, 4, 4),
    "kl_laplace": (4, 4, 4, 4, 4),
    "nll_continuous_bernoulli": (4, 4, 0),
    "kl_gamma": (8, 8, 4, 8, 4),
    # the worst of 200 points of seed 0 (its mpmath takes 3 s a point) and of the 30 here
    # (seed 11): the README says where it loses them
    "kl_beta": (8, 8, 8, 8, 8),
}
# Results below the smallest normal number come from intermediates that are subnormal
# themselves (sigmoid(-744)): they are held to an absolute error of 2^-1060 (1e-320) instead.
SUBNORMAL = 2.0**-1060
# Kernels whose second argument is data in [0, 1].
DATA_IN_UNIT_INTERVAL = ("nll_bernoulli", "nll_continuous_bernoulli")
POINTS = 150
# mpmath's loggamma and psi at the hundreds of digits a tiny float64 input needs take seconds:
# kl_gamma samples fewer points here (bench/registry_accuracy.py measures 1000).
POINTS_OF = {"kl_gamma": 50, "kl_beta": 30}


# Gradients torch computes with its trigamma, accurate to about 1e-8 relative.
TRIGAMMA_GRADIENTS = {("kl_gamma", 0), ("kl_beta", 0), ("kl_beta", 1)}


def module(name, backend):
    suffix = "" if backend == "numpy" else "_numba"
    if backend == "numba":
        pytest.importorskip("numba")
    return importlib.import_module(f"klgen.generated.{name}{suffix}")


def test_every_shipped_kernel_is_generated_and_listed():
    listed = {m.name for m in kernel_modules()}
    assert set(KERNELS) <= listed
    assert {"kl_bernoulli", "nll_bernoulli", "nll_gaussian", "kl_poisson", "kl_gamma"} <= set(
        KERNELS
    )
    for name in KERNELS:
        for backend in ("numpy", "numba"):
            functions = module(name, backend).__all__
            assert functions == [name, f"{name}_grad", f"{name}_value_and_grad"]


@pytest.mark.slow  # SymPy sums the Poisson series: seconds per kernel
@pytest.mark.parametrize("name", KERNELS)
def test_the_derivation_from_the_densities_checks(name):
    assert check(derivation_of(KERNELS[name])) >= 0


@pytest.mark.slow  # mpmath at 720 digits and more: about a minute per kernel
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", KERNELS)
def test_every_output_agrees_with_mpmath_over_the_domain(name, dtype, backend):
    points, exact = _sampled(name, dtype)
    function = getattr(module(name, backend), f"{name}_value_and_grad")
    bounds = ULPS[name] if dtype == np.float64 else tuple(0.5 + b / 2**29 for b in ULPS[name])
    arrays = [np.ascontiguousarray(points[:, i : i + 1]) for i in range(points.shape[1])]
    with np.errstate(all="ignore"):
        value, grads = function(*arrays)
    got = np.column_stack([value, *(g[:, 0] for g in grads)])
    tiny = np.finfo(dtype).smallest_normal
    for row, point in enumerate(points):
        for output, (want, scale) in enumerate(exact[row]):
            error = ulps(float(got[row, output]), want, scale, dtype)
            if abs(want) < tiny:  # a subnormal result: its absolute error
                error = min(error, error * float(np.finfo(dtype).smallest_subnormal) / SUBNORMAL)
            assert error <= bounds[output], f"output {output}: {error:.3g} ulps at {point}"


# kl_bernoulli's worst values over bench/registry_accuracy.py's points (seeds 0 and 1): p
# near 1/2, logits and logits_p within 1 of each other.
NEAR_A_HALF = [
    (0.08084094098980786, 0.036809774220045874),
    (0.08298973015086754, -0.21350851178522656),
    (0.15661253500532957, -0.07015733238105934),
    (-0.10950201730148211, -0.02127617507416653),
    (0.012433619670113895, 0.01243363958656747),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bernoulli_near_p_of_a_half(backend):
    """The value within 3 ulps where p is near 1/2 and |logits - logits_p| <= 1 (measured
    0.7 to 1.8; 4.7, 4.7, 3.7, 3.8 and 3.8 while p and 1 - p were sigmoids there, each
    rounded by exp, a sum and a quotient, which p E(log q/p) doubled)."""
    name = "kl_bernoulli"
    points = np.array(NEAR_A_HALF)
    exact = exact_outputs(Textbook.of(KERNELS[name]), points)
    function = getattr(module(name, backend), f"{name}_value_and_grad")
    value, _ = function(points[:, :1].copy(), points[:, 1:].copy())
    for got, point, outputs in zip(value, points, exact, strict=True):
        error = ulps(float(got), *outputs[0], np.float64)
        assert error <= 3, f"{error:.3g} ulps at {point}"


@functools.cache
def _sampled(name, dtype):
    """The sampled domain of one kernel and type, and mpmath's outputs there (both backends
    are checked against the same)."""
    spec = Textbook.of(KERNELS[name])
    points = domain(spec, dtype, POINTS_OF.get(name, POINTS), seed=11)
    return points, exact_outputs(spec, points)


def _hard_gamma_points():
    """kl_gamma where its terms cancel: q close to p (each argument, and all of them), the
    same mean with another concentration (log a - log b = log a_p - log b_p), huge and tiny
    concentrations, and the shift of the recurrence (concentrations just below and above
    12)."""
    rng = np.random.default_rng(3)
    rows = []
    for lc in (-50.0, -20.0, -1.0, 0.0, np.log(11.9), np.log(12.1), 3.0, 20.0, 50.0):
        lr = rng.uniform(-5, 5)
        for scale in (1e-12, 1e-6, 1e-2, 1.0):
            step = scale * rng.normal(size=4)
            rows.append([lc, lr, lc + step[2], lr + step[3]])  # q close to p
            rows.append([lc, lr, lc + step[2], lr + step[2]])  # the same mean
        rows.append([lc, lr, -lc, lr + 1.0])  # tiny against huge
    return np.array(rows)


def test_gamma_hard_points_agree_with_mpmath():
    """Where lgamma's tangent gap and the rates' terms cancel typed as they read (q close to
    p, the same mean, huge or tiny concentrations), every output of both backends stays within
    the README's bound of mpmath (float64)."""
    spec = Textbook.of(KERNELS["kl_gamma"])
    points = _hard_gamma_points()
    exact = exact_outputs(spec, points)
    arrays = [np.ascontiguousarray(points[:, i : i + 1]) for i in range(4)]
    for backend in BACKENDS:
        value, grads = module("kl_gamma", backend).kl_gamma_value_and_grad(*arrays)
        got = np.column_stack([value, *(g[:, 0] for g in grads)])
        for row, point in enumerate(points):
            for output, (want, scale) in enumerate(exact[row]):
                error = ulps(float(got[row, output]), want, scale, np.float64)
                bound = ULPS["kl_gamma"][output]
                assert error <= bound, f"{backend} output {output}: {error:.3g} ulps at {point}"


def _hard_beta_points():
    """kl_beta where its terms cancel: q close to p (each pair, and the same ratio a/b with
    another scale), one concentration far below the other (e^-5, e^-40: a + b ~ a), huge
    and tiny concentrations (log-concentrations to +-50, beside 12, the recurrence's
    shift)."""
    rng = np.random.default_rng(4)
    rows = []
    for la in (-50.0, -3.0, 0.0, np.log(11.9), 2.4, 20.0, 50.0):
        for lb in (la - 40.0, la - 5.0, la + 0.7, -la / 2):
            for scale in (1e-12, 1e-6, 1e-2, 1.0):
                step = scale * rng.normal(size=4)
                rows.append([la, lb, la + step[2], lb + step[3]])  # q close to p
                rows.append([la, lb, la + step[2], lb + step[2]])  # the same a/b
            rows.append([la, lb, -la, lb + 1.0])  # tiny against huge
    return np.array(rows)


# kl_beta's worst float64 error at those points, both backends (value, then the gradients).
BETA_HARD_ULPS = (12, 12, 12, 8, 12)


@pytest.mark.slow  # mpmath's loggamma and psi at 252 points: 12 s
def test_beta_hard_points_agree_with_mpmath():
    """Where the Beta KL's three gaps of f cancel typed as they read (one concentration far
    below the other, q close to p, huge or tiny concentrations), every output of both
    backends stays within BETA_HARD_ULPS of mpmath (float64)."""
    _assert_beta_within(_hard_beta_points(), BETA_HARD_ULPS)


def _assert_beta_within(points, bounds, outputs=range(5)):
    """kl_beta's ``outputs`` (0 the value, then the gradients) at ``points`` within ``bounds``
    ulps of mpmath (float64), both backends."""
    spec = Textbook.of(KERNELS["kl_beta"])
    exact = exact_outputs(spec, points)
    arrays = [np.ascontiguousarray(points[:, i : i + 1]) for i in range(4)]
    for backend in BACKENDS:
        value, grads = module("kl_beta", backend).kl_beta_value_and_grad(*arrays)
        got = np.column_stack([value, *(g[:, 0] for g in grads)])
        for row, point in enumerate(points):
            for output in outputs:
                want, scale = exact[row][output]
                error = ulps(float(got[row, output]), want, scale, np.float64)
                bound = bounds[output]
                assert error <= bound, f"{backend} output {output}: {error:.3g} ulps at {point}"


# Points of bench/registry_accuracy.py (seed 0) where klgen's gradient was more than 1 ulp
# worse than torch's: b dK/db where both of its forms' terms are of one size (the more
# rounded one was taken: 3.7 ulps, torch 0.7) and where the curvature x f''(x) at x = 2.6e-9
# was rounded thrice in its first term (2.9 ulps, torch 0.1).
BETA_NEAR_TORCH = np.array(
    [
        [8.45009070991521, -17.042097458007554, -521.1519483716796, 499.83972675300987],
        [-38.218181669702346, -19.769820407977278, -6.8573183991391105, -19.674648312393547],
    ]
)


@pytest.mark.slow  # mpmath's loggamma and psi near e^500: 10 s
def test_beta_where_torch_was_closer():
    """dlog_b at BETA_NEAR_TORCH within 2 ulps of mpmath on both backends (torch 0.7, 0.1)."""
    _assert_beta_within(BETA_NEAR_TORCH, (0, 2, 2, 0, 0), outputs=(2,))


def test_gamma_where_torch_was_closer():
    """dlog_concentration at a = e^-20, where x f''(x) ~ 1/x was rounded thrice in its first
    term (2.3 ulps, torch 0.3): within 1.5 ulps of mpmath on both backends."""
    spec = Textbook.of(KERNELS["kl_gamma"])
    point = np.array(
        [[-20.01708676480228, 26.115619276319833, -4.918535802027265, 26.115619276319833]]
    )
    want, scale = exact_outputs(spec, point)[0][1]
    for backend in BACKENDS:
        arrays = [np.ascontiguousarray(point[:, i : i + 1]) for i in range(4)]
        _, grads = module("kl_gamma", backend).kl_gamma_value_and_grad(*arrays)
        error = ulps(float(grads[0][0, 0]), want, scale, np.float64)
        assert error <= 1.5, f"{backend}: {error:.3g} ulps"


# q close to p with one concentration e^40 and e^32 below the other, b_p = b: the value and
# the prior's gradient are of second order there (b (a_p - a)^2 f''' and b (a_p - a) f'''),
# and the forms that are differences of first-order terms kept no digit of them (value 5.7e12
# and 3.5e11 ulps, dlog_a_p 2.4e12 and 5.4e9, before the second differences).
CLOSE_AND_APART = np.array(
    [
        [0.0, np.log(4e-18), np.log1p(1e-13), np.log(4e-18)],
        [2.0, -30.0, 2.0 + 1e-12, -30.0],
    ]
)


def test_beta_near_q_equals_p_with_concentrations_far_apart():
    """The value and dlog_a_p (and, with the pairs exchanged, dlog_b_p) within 16 ulps of
    mpmath where q is close to p and b is far below a (4 points, 3 s each in mpmath)."""
    exchanged = CLOSE_AND_APART[:, [1, 0, 3, 2]]
    points = np.vstack([CLOSE_AND_APART, exchanged])
    _assert_beta_within(points, (16,) * 5, outputs=(0, 3, 4))


# Where a logit is huge: at (600, -300, 600 + 1e-12, -300), l = 900, s_p times the Bernoulli
# KL and the sigmoids' difference underflowed as factors although the products do not
# (value 0 where it is 2.7e-155, dlog_a 0 where it is -5.3e-143, dlog_a_p 3e3 ulps); at
# (348.3, 1.68, -0.88, -636.7), l_p = 636, e^-|l_p| carried |l_p| times the rounding of l_p
# (dlog_a and dlog_a_p 196 and 197 ulps: the sampled domain's worst of those two).
LARGE_LOGITS = np.array(
    [
        [600.0, -300.0, 600.0 + 1e-12, -300.0],
        [348.2639002165132, 1.676773726652387, -0.8761295164040104, -636.7271096322343],
    ]
)


def test_beta_where_a_logit_is_huge():
    """Every output within 16 ulps of mpmath where log_a - log_b or log_a_p - log_b_p is in
    the hundreds (2 points)."""
    _assert_beta_within(LARGE_LOGITS, (16,) * 5)


# Where both concentrations are tiny: at (-518.4, -514.8, 0, -0.15) (the sampled domain's, seed
# 0) dK/db's decomposed form overflowed (delta/u^2 at u = e^-515) and the direct one took a/s
# as e^(log a - log s), whose |log s| eps put 648 ulps into dlog_b; at (-600, -610, -605,
# -600) the overflow times a weight that underflowed gave NaN in dlog_a and dlog_b (numba).
TINY_CONCENTRATIONS = np.array(
    [
        [-518.364706584421, -514.8077923139382, -7.32632781848072e-157, -0.15432221047609282],
        [-600.0, -610.0, -605.0, -600.0],
    ]
)


@pytest.mark.slow  # mpmath's psi' at hundreds of digits: 15 s
def test_beta_where_both_concentrations_are_tiny():
    """Every output within 16 ulps of mpmath where both concentrations are below e^-500 (2
    points)."""
    _assert_beta_within(TINY_CONCENTRATIONS, (16,) * 5)


def test_the_second_difference_of_the_slope_is_proved_by_sympy():
    """The closed forms of _functions._slope_second_difference, equal by SymPy: the second
    difference of l(u) = 1/u - log1p(1/u) at the shifted points (its rational part and its
    log1p(y)), and the divided differences of X^-m as products of reciprocals and complete
    homogeneous sums of them."""
    u, b, da, db = sp.symbols("u b delta_a delta_b", positive=True)
    u_p, w, w_p, ds = u + da, u + b, u + da + b + db, da + db
    below = (u_p + 1) * (w + 1)
    q = da * (u + 1) / w_p + (da / u) * (u + w + 1) + (da / u) * u_p * (ds / w_p)
    rational = ((db / w_p) * (u / w) * (u + 1) - (b / w) * q) / below / u_p
    y = ((b / w_p) * (da / u) * (u + w_p + 1) - (db / w_p) * (u + 1)) / below
    # 1/u's second difference is rational - y, and log1p(1/u)'s is -log1p(y)
    assert sp.simplify(rational - y - (1 / u_p - 1 / u - 1 / w_p + 1 / w)) == 0
    logs = (u_p + 1) * u * w_p * (w + 1) / (u_p * (u + 1) * (w_p + 1) * w)
    assert sp.simplify(logs - 1 / (1 + y)) == 0
    # _gap_difference's integrand: delta_s^2 - delta_a^2 = delta_b (2 delta_a + delta_b)
    assert sp.expand(ds**2 - da**2 - db * (2 * da + db)) == 0
    p = sp.symbols("p0:3", positive=True)
    x = [1 / pi for pi in p]
    for m in (1, 2, 5):
        pair = (x[1] ** -m - x[0] ** -m) / (x[1] - x[0])
        assert sp.simplify(pair + p[0] * p[1] * _homogeneous(p[:2], m - 1)) == 0
        triple = (pair - (x[2] ** -m - x[1] ** -m) / (x[2] - x[1])) / (x[0] - x[2])
        assert sp.simplify(triple - p[0] * p[1] * p[2] * _homogeneous(p, m - 1)) == 0


def _homogeneous(ps, degree):
    """The complete homogeneous symmetric polynomial of ``degree`` in ``ps``."""
    if len(ps) == 1:
        return ps[0] ** degree
    return sum(ps[0] ** k * _homogeneous(ps[1:], degree - k) for k in range(degree + 1))


@pytest.mark.slow  # the kernel's rewrites and their proofs, then two quadratures: 10 s
def test_a_step_checked_by_quadrature_fails_when_it_is_wrong():
    """kl_beta's E[log x] step is compared with the integral by quadrature at random points
    (SymPy does not integrate it): 1e-6 added to it fails there and at the next step."""
    import dataclasses

    from klgen.derive.derivations import results

    kernel = KERNELS["kl_beta"]
    steps = list(kernel.derivation.steps)
    expr, why = steps[1]
    steps[1] = (expr + sp.Rational(1, 10**6), why)
    derivation = dataclasses.replace(kernel.derivation, steps=steps)
    wrong = dataclasses.replace(kernel, derivation=derivation)
    failed = [(r.index, r.failures) for r in results(derivation_of(wrong)) if r.failures]
    assert [index for index, _ in failed] == [1, 2]
    assert failed[0][1] == ("quadrature at random points",)


def test_gamma_beyond_its_range_raises_nothing_and_the_backends_agree():
    """Log-concentrations where e^x is 0 or inf (beyond +-745), infinities and NaN: no
    ZeroDivisionError from the compiled helpers, and the same results on both backends (inf or
    NaN there; where both concentrations underflow, lgamma's gap is E(b - a))."""
    edge = [-800.0, -760.0, 800.0, np.inf, -np.inf, np.nan, 0.5]
    rows = np.array([[a, 0.3, b, 0.3] for a in edge for b in edge])
    arrays = [np.ascontiguousarray(rows[:, i : i + 1]) for i in range(4)]
    results = []
    for backend in BACKENDS:
        with np.errstate(all="ignore"):
            value, grads = module("kl_gamma", backend).kl_gamma_value_and_grad(*arrays)
        results.append(np.column_stack([value, *(g[:, 0] for g in grads)]))
    for other in results[1:]:  # the same NaN and inf; finite values to an ulp (libm's expm1)
        np.testing.assert_allclose(other, results[0], rtol=2e-16, equal_nan=True)
    both_underflow = rows[:, 0] == -760.0
    both_underflow &= rows[:, 2] == -800.0
    assert results[0][both_underflow, 0] == pytest.approx(np.expm1(-40.0) + 40.0)


def test_the_gamma_kl_is_found_as_two_gaps_of_one_sign():
    """The rewrites turn the Gamma KL as typed into lgamma's gap less x log x - x's
    (stirling_bregman) and e^x's gap with the differences paired as q and p name them, each
    proved equal to what it replaced."""
    from klgen.derive.functions import exp_bregman_split, stirling_bregman
    from klgen.derive.userpkg import prepare

    prepared = prepare(KERNELS["kl_gamma"])
    lc, lr, lc_p, lr_p = prepared.args
    assert prepared.rewrites == ("lgamma_bregman", "exp_bregman_split")
    assert prepared.term == stirling_bregman(lc, lc_p) + exp_bregman_split(lc_p, lc, lr_p, lr)


def test_the_stirling_coefficients_are_the_bernoulli_numbers():
    """The helpers' B_2, ..., B_20 (both backends) are SymPy's Bernoulli numbers, rounded."""
    from klgen.generated import _functions, _numba_functions

    want = [float(sp.bernoulli(2 * k)) for k in range(1, 11)]
    assert list(_functions._BERNOULLI) == want
    assert list(_numba_functions._BERNOULLI) == want


@pytest.mark.parametrize("name", KERNELS)
def test_gradients_match_central_differences(name):
    """float64, h = 1e-6 (1 + |x|) at moderate points (every argument in [-3, 3], x of
    nll_bernoulli in [0, 1]): truncation h^2 |f'''| / 6 ~ 1e-12 and rounding eps |f| / h ~
    1e-10 for O(1) values, so 1e-6 relative plus absolute leaves a margin of 10^4."""
    kernel = KERNELS[name]
    rng = np.random.default_rng(5)
    args = [rng.uniform(-3, 3, (4, 3)) for _ in kernel.args]
    if name in DATA_IN_UNIT_INTERVAL:
        args[1] = rng.uniform(0, 1, (4, 3))
    value = getattr(module(name, "numpy"), name)
    grads = getattr(module(name, "numpy"), f"{name}_grad")(*args)
    for i, (arg, grad) in enumerate(zip(args, grads, strict=True)):
        h = 1e-6 * (1 + np.abs(arg))
        central = np.empty_like(arg)
        for column in range(arg.shape[1]):  # a row's value sums its columns: one at a time
            up, down = [a.copy() for a in args], [a.copy() for a in args]
            up[i][:, column] += h[:, column]
            down[i][:, column] -= h[:, column]
            central[:, column] = (value(*up) - value(*down)) / (2 * h[:, column])
        np.testing.assert_allclose(grad, central, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [n for n in KERNELS if n.startswith("kl_")])
def test_equal_distributions_give_exactly_zero_and_zero_gradients(name, backend):
    """q = p: the divergence and its gradients are exactly 0 (not a rounding residue, not
    NaN), over the whole range of the parameter."""
    values = np.array([-1e4, -700.0, -30.0, -1.0, -1e-300, 0.0, 1e-8, 2.5, 40.0, 700.0])
    if name in ("kl_gamma", "kl_beta"):  # e^-1e4 = 0 is no concentration: they need e^a > 0
        values = values[values > -745]
    kernel = getattr(module(name, backend), f"{name}_value_and_grad")
    value, grads = kernel(*[values[:, None]] * len(KERNELS[name].args))  # (p's, then q's)
    assert np.all(value == 0), value
    for grad in grads:
        assert np.all(grad == 0), grad


@pytest.mark.parametrize("name", KERNELS)
def test_torch_agrees_at_moderate_points(name):
    """torch.distributions' (or torch.nn.functional's) own formula for the same quantity, at
    points where it does not cancel (arguments in [-3, 3] and at least 0.5 apart, x of
    nll_bernoulli in [0, 1]): the two agree to 1e-12 relative, values and gradients; but
    torch's trigamma (the gradient of its digamma, in kl_gamma's dlog_concentration) is
    accurate to about 1e-8 relative only (klgen's agrees with mpmath to 1 ulp at these
    points, test_gamma_hard_points_agree_with_mpmath), so that gradient is held to 1e-7, and
    so are kl_beta's dlog_a and dlog_b (trigamma of a, b and a + b)."""
    peer = torch_peers().get(name)
    if peer is None:
        pytest.skip("torch is not installed (CI installs torch 2.13.0)")
    kernel = KERNELS[name]
    rng = np.random.default_rng(8)
    args = [rng.uniform(-3, 3, (64, 1)) for _ in kernel.args]
    if name in DATA_IN_UNIT_INTERVAL:
        args[1] = rng.uniform(0, 1, (64, 1))
    if name.startswith("kl_"):  # q's parameters at least 0.5 from p's
        half = len(args) // 2
        for i in range(half):
            step = rng.choice([-1, 1], (64, 1)) * rng.uniform(0.5, 3, (64, 1))
            args[half + i] = args[i] + step
    ours = getattr(module(name, "numpy"), f"{name}_value_and_grad")(*args)
    theirs = peer(*args)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    for i, (mine, torch_grad) in enumerate(zip(ours[1], theirs[1], strict=True)):
        rtol = 1e-7 if (name, i) in TRIGAMMA_GRADIENTS else 1e-12
        np.testing.assert_allclose(mine, torch_grad, rtol=rtol, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", KERNELS)
def test_special_values_of_one_argument(name, backend):
    """Each argument in turn +-0, +-inf or NaN, the others moderate, beside a row without
    it: nothing raises, the other row is computed as alone, a NaN gives NaN in its row's
    value, and +-0 gives finite outputs (mpmath's values there are checked with the domain)."""
    kernel = KERNELS[name]
    function = getattr(module(name, backend), f"{name}_value_and_grad")
    k = len(kernel.args)
    base = np.full((1, k), 0.375)
    for i in range(k):
        for special in (0.0, -0.0, np.inf, -np.inf, np.nan):
            rows = np.vstack([base, base])
            rows[0, i] = special
            arrays = [np.ascontiguousarray(rows[:, j : j + 1]) for j in range(k)]
            with np.errstate(all="ignore"):
                value, grads = function(*arrays)
            clean = function(*[a[1:] for a in arrays])
            assert value[1] == clean[0][0], f"{kernel.arg_names[i]} = {special} leaked"
            if np.isnan(special):
                assert np.isnan(value[0]), f"{kernel.arg_names[i]} = NaN gave {value[0]}"
            elif special == 0:
                assert np.isfinite(value[0]) and all(np.isfinite(g[0, 0]) for g in grads)


@pytest.mark.slow  # mpmath at every point, every kernel and backend: about a minute
def test_the_shipped_kernels_pass_the_tests_a_users_kernels_get(tmp_path):
    """The pytest module `klgen generate --spec --tests` writes for a user's package,
    rendered for klgen.generated and run in a child pytest: values against mpmath,
    gradients against central differences, float32 rounded once, a NaN kept in its row,
    empty batches, out= buffers overlapping the inputs refused, for every shipped kernel
    and backend."""
    from klgen.derive.userpkg import render_tests

    generated = Path(importlib.import_module("klgen.generated").__file__).parent
    tests = tmp_path / "test_shipped.py"
    tests.write_text(render_tests(tuple(KERNELS.values()), generated, tests, BACKENDS))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-500:]
