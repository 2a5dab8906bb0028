"""The compiled kernels' own e^t, expm1(t) / 2 and (e^t - 1 - t) / 2, in float64 and float32
(derive/numerics.py, ExpReduction), against mpmath at 100 digits, and the proof of their
formulas."""

import mpmath
import numpy as np
import pytest
import sympy as sp

from derive import numerics

numba = pytest.importorskip("numba")
compiled = pytest.importorskip("generated.kl_std_normal_numba")

mpmath.mp.dps = 100  # e^t - 1 - t at t = 1e-13 cancels 26 digits
EXACT = {
    "_exp": mpmath.exp,
    "_half_expm1": lambda t: mpmath.expm1(t) / 2,
    "_half_expm1_minus_x": lambda t: (mpmath.exp(t) - 1 - t) / 2,
}
SUFFIX = {np.float64: "", np.float32: "_f32"}
# Worst seen over these points, float64 / float32: exp 0.90 / 0.83, expm1/2 1.58 / 0.94,
# (e^t-1-t)/2 2.01 / 1.47 ulps (all near |r| = ln(2)/2, where the reduction switches k).
MAX_ULPS = {"_exp": 1.0, "_half_expm1": 2.0, "_half_expm1_minus_x": 2.5}
TYPES = [np.float64, np.float32]


def evaluate(name, t):
    helper = getattr(compiled, name + SUFFIX[t.dtype.type])

    @numba.njit(fastmath={"contract"})
    def run(t, out):
        for i in range(t.shape[0]):
            out[i] = helper(t[i])

    out = np.empty_like(t)
    run(t, out)
    return out


def points(dtype):
    """Random points over the type's range, tiny ones, and the reduction's switch points."""
    rng = np.random.default_rng(7)
    ln2 = np.log(2)
    low, high = {np.float64: (-745.0, 709.7), np.float32: (-103.0, 88.7)}[dtype]
    t = np.concatenate(
        [
            rng.uniform(-3, 3, 2000),
            rng.uniform(low, high, 600),
            np.exp(rng.uniform(-40, 1, 300)),
            -np.exp(rng.uniform(-40, 1, 300)),
            [k * ln2 / 2 * (1 + d) for k in range(-6, 7) for d in (-1e-6, 0.0, 1e-6)],
            [high, low, high + 0.6],
        ]
    )
    return t.astype(dtype)


@pytest.mark.parametrize("dtype", TYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(EXACT))
def test_within_a_few_ulps_of_mpmath(name, dtype):
    t = points(dtype)
    got = evaluate(name, t)
    info = np.finfo(dtype)
    worst = 0.0
    for x, g in zip(t, got, strict=True):
        exact = EXACT[name](mpmath.mpf(float(x)))
        if abs(exact) > info.max:  # beyond the type: must overflow, not wrap around
            assert g == np.inf
            continue
        if abs(exact) < info.tiny:  # subnormal results: absolute check
            assert abs(float(g) - float(exact)) <= 2 * float(info.smallest_subnormal)
            continue
        spacing = float(np.spacing(dtype(abs(float(exact)))))
        worst = max(worst, abs(float(mpmath.mpf(float(g)) - exact)) / spacing)
    assert worst <= MAX_ULPS[name]


@pytest.mark.parametrize("dtype", TYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(EXACT))
def test_edges_nan_infinity_and_beyond_the_clamp(name, dtype):
    big = {np.float64: 1e300, np.float32: 1e30}[dtype]
    t = np.array([np.nan, -np.inf, 800.0, -800.0, -big], dtype)
    got = evaluate(name, t)
    assert np.isnan(got[0])
    want = {
        "_exp": [0.0, np.inf, 0.0, 0.0],
        "_half_expm1": [-0.5, np.inf, -0.5, -0.5],
        "_half_expm1_minus_x": [np.inf, np.inf, 399.5, big / 2],
    }[name]
    np.testing.assert_array_equal(got[1:], np.array(want, dtype))


def test_the_formulas_are_proved_and_a_wrong_one_is_caught():
    numerics.check_exp_reduction()
    formulas = numerics.reduction_formulas()
    formula, exact = formulas["half_expm1_minus_x"]
    k, lo = sp.Symbol("k", real=True), sp.log(2) - sp.Symbol("ln2_hi", real=True)
    formulas["half_expm1_minus_x"] = (formula + k * lo, exact)  # "+ k ln2_lo/2" for "-"
    with pytest.raises(ArithmeticError, match="half_expm1_minus_x"):
        numerics.check_exp_reduction(formulas)
