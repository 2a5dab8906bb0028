"""The Bernoulli KL in logits typed from the textbook (tests/specs/others.py), generated from
its spec file: its values and gradients against mpmath where the textbook form cancels
(logits that nearly agree, logits up to 1e4), exact zeros at equal logits, and the limits
at infinite logits, on every backend; and the two rewrites that make it exact."""

import importlib
import math
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

import klgen
from klgen.derive import rewrites
from klgen.derive.functions import sigmoid_difference, softplus_bregman
from klgen.derive.kernel import load_spec
from klgen.derive.userpkg import render_package

SPECS = Path(__file__).resolve().parent / "specs"

# Worst measured over the point sets below: 2.7 ulps (value, every backend), 3.5 and 2.7
# (gradients, numpy; numba and the array API 3.7 and 2.7); 3.25 on the value over
# bench/registry_accuracy.py's 2000 points of seeds 0 to 3 (4.6 before x_p = d + x_1 was
# carried with its roundings: p E(x_p) doubles a log ratio's relative rounding, E(x) ~
# x^2/2, and x_p and x_1 were each rounded on their own; now an error of x_1 moves the
# value by p expm1(x_p) + (1 - p) expm1(x_1) = 0 times itself). 4.3 here before (logits
# 0.474, logits_p -1.53).
ULPS = 4
# Results below the smallest normal float64 are computed from subnormal sigmoids: they keep
# about 1e-320 absolute accuracy (measured 1.2e-320), not a few ulps.
SUBNORMAL = 2.0**-1060
BACKENDS = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.slow),
    pytest.param("array-api", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    """backend -> the generated kl_bernoulli module of that backend."""
    (kernel,) = [k for k in load_spec(SPECS / "others.py") if k.name == "kl_bernoulli"]
    folder = tmp_path_factory.mktemp("bernoulli")
    package = folder / "pkg_bernoulli"
    package.mkdir()
    for name, text in render_package((kernel,), ("numpy", "numba")).items():
        (package / name).write_text(text)
    sys.path.insert(0, str(folder))
    try:
        numpy_module = importlib.import_module("pkg_bernoulli.kl_bernoulli")
        numba_module = importlib.import_module("pkg_bernoulli.kl_bernoulli_numba")
    finally:
        sys.path.remove(str(folder))
    return {"numpy": numpy_module, "numba": numba_module}


def value_and_grad(modules, backend, a, b):
    """(values, dlogits, dlogits_p) as float64 numpy arrays, one element per row."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[:, None]
    if backend == "array-api":
        xps = pytest.importorskip("array_api_strict")
        value, grads = modules["numpy"].kl_bernoulli_value_and_grad(xps.asarray(a), xps.asarray(b))
        value, grads = np.asarray(value), [np.asarray(g) for g in grads]
    else:
        if backend == "numba":
            pytest.importorskip("numba")
        value, grads = modules[backend].kl_bernoulli_value_and_grad(a, b)
    return value, grads[0][:, 0], grads[1][:, 0]


def exact(a: float, b: float) -> tuple:
    """The textbook KL p log(p/q) + (1-p) log((1-p)/(1-q)), p = sigmoid(a), q = sigmoid(b),
    and its textbook derivatives, in mpmath at 120 digits, log sigmoid(x) taken as
    -log1p(e^-x) so that logits up to 1e4 need no thousands of digits."""
    with mpmath.workdps(120):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        s = lambda t: 1 / (1 + mpmath.exp(-t))  # noqa: E731
        log_s = lambda t: -mpmath.log1p(mpmath.exp(-t))  # noqa: E731
        kl = s(a) * (log_s(a) - log_s(b)) + s(-a) * (log_s(-a) - log_s(-b))
        # sigmoid(b) - sigmoid(a) over one denominator: no 1 - 1 at large logits.
        difference = (mpmath.exp(-a) - mpmath.exp(-b)) / (
            (1 + mpmath.exp(-a)) * (1 + mpmath.exp(-b))
        )
        return kl, -s(a) * s(-a) * (b - a), difference


def ulps(got: float, want) -> float:
    """|got - want| in ulps of want, the subnormal allowance taken off first."""
    error = max(float(abs(mpmath.mpf(float(got)) - want)) - SUBNORMAL, 0.0)
    return error / math.ulp(float(want)) if want != 0 else error / math.ulp(0.0)


def point_sets():
    rng = np.random.default_rng(2026)
    n = 150
    a = rng.uniform(-30, 30, n)
    spread = [np.sign(rng.normal(size=n)) * 10 ** rng.uniform(-10, 4, n) for _ in "ab"]
    return {
        "uniform 3": (rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)),
        "uniform 40": (rng.uniform(-40, 40, n), rng.uniform(-40, 40, n)),
        "uniform 1e4": (rng.uniform(-1e4, 1e4, n), rng.uniform(-1e4, 1e4, n)),
        "relative 1e-3": (a, a * (1 + 1e-3 * rng.normal(size=n))),
        "absolute 1e-9": (a, a + 1e-9 * rng.normal(size=n)),
        "spread 1e-10 to 1e4": tuple(spread),
        "the textbook's worst": ([0.4601982975177119], [0.45814840797990364]),
    }


POINTS = point_sets()
OUTPUTS = ("value", "dlogits", "dlogits_p")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("points", POINTS)
def test_values_and_gradients_match_mpmath(modules, backend, points):
    a, b = POINTS[points]
    got = value_and_grad(modules, backend, a, b)
    for x, y, *outputs in zip(a, b, *got, strict=True):
        for name, g, want in zip(OUTPUTS, outputs, exact(x, y), strict=True):
            assert ulps(g, want) <= ULPS, f"{name} at logits {x!r}, logits_p {y!r}: {g!r}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_equal_logits_give_exact_zeros(modules, backend):
    logits = np.array([-1e4, -700.0, -30.0, -1.0, -0.0, 0.0, 1e-300, 2.5, 40.0, 1e4])
    for output in value_and_grad(modules, backend, logits, logits):
        assert np.all(output == 0), output


@pytest.mark.parametrize("backend", BACKENDS)
def test_infinite_logits_give_the_limits_and_nan_stays_nan(modules, backend):
    inf, nan = math.inf, math.nan
    cases = {  # (logits, logits_p) -> KL: p = 0 gives softplus(logits_p); q in {0, 1}, inf
        (0.0, inf): inf,
        (0.0, -inf): inf,
        (-inf, 2.0): math.log1p(math.exp(2.0)),
        (inf, 2.0): math.log1p(math.exp(-2.0)),
        (-inf, -inf): 0.0,
        (inf, inf): 0.0,
        (-inf, inf): inf,
        (3.0, nan): nan,
        (nan, inf): nan,
        (-inf, nan): nan,
    }
    a, b = zip(*cases, strict=True)
    value, _, _ = value_and_grad(modules, backend, a, b)
    np.testing.assert_allclose(value, list(cases.values()), rtol=1e-15)


@pytest.mark.parametrize("helper", ["softplus_bregman", "sigmoid_difference"])
def test_chunked_numpy_helpers_agree_with_their_generic_forms(helper):
    """The numpy helpers run in chunks of _CHUNK elements, softplus_bregman's rare elements
    (beyond 700, infinite, NaN) on their own subset: over several chunks and a partial one,
    and into an out that is not C-contiguous, they give the generic forms' values."""
    from klgen.generated import _functions

    rng = np.random.default_rng(5)
    shape = (3, _functions._CHUNK + 1234)
    a, b = rng.normal(0, 5, shape), rng.normal(0, 5, shape)
    rare = rng.random(shape) < 0.01
    a[rare] = rng.choice([1e4, -800.0, np.inf, -np.inf, np.nan], rare.sum())
    b[:, ::97] = a[:, ::97] + rng.choice([-900.0, 1e-9, 750.0], b[:, ::97].shape)
    with np.errstate(all="ignore"):  # the cases not taken overflow, as in the kernels' blocks
        generic = getattr(_functions, helper + "_generic")(np, a, b)
        chunked = getattr(_functions, helper)(a, b, np.empty(shape))
        strided = getattr(_functions, helper)(a, b, np.empty(shape[::-1]).T)
    np.testing.assert_array_equal(chunked, generic)
    np.testing.assert_array_equal(strided, generic)


def test_the_textbook_form_is_rewritten_into_the_tangent_gap():
    a, b = sp.symbols("a b", real=True)
    s = klgen.sigmoid
    term = s(a) * (sp.log(s(a)) - sp.log(s(b))) + s(-a) * (sp.log(s(-a)) - sp.log(s(-b)))
    rewritten, applied = rewrites.apply(term)
    assert rewritten == softplus_bregman(a, b)
    assert applied == ("log_sigmoid", "softplus_bregman")
    gap = 3 * (klgen.softplus(b) - klgen.softplus(a) - s(a) * (b - a)) + a
    assert rewrites.apply(gap)[0] == 3 * softplus_bregman(a, b) + a
    assert rewrites.apply(klgen.softplus(b) - klgen.softplus(a))[0] == (
        klgen.softplus(b) - klgen.softplus(a)
    )


def test_differences_of_sigmoids_are_rewritten_and_others_are_not():
    x, y = sp.symbols("x y", real=True)
    s = klgen.sigmoid
    assert rewrites.apply(2 * s(x) - 2 * s(y) + x)[0] == 2 * sigmoid_difference(x, y) + x
    assert rewrites.apply(s(x) + s(y))[0] == s(x) + s(y)
    assert rewrites.apply(2 * s(x) - s(y))[0] == 2 * s(x) - s(y)
    assert sp.diff(sigmoid_difference(x, y), y) == -s(y) * s(-y)
