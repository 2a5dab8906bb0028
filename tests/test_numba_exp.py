"""The compiled kernels' own e^t, expm1(t) and e^t - 1 - t (derive/numerics.py, ExpReduction)
against mpmath at 100 digits, and the proof of their formulas."""

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
    "_expm1": mpmath.expm1,
    "_expm1_minus_x": lambda t: mpmath.exp(t) - 1 - t,
}
# Worst seen over these points: 0.9 (exp), 1.5 (expm1), 2.0 (e^t - 1 - t) ulps.
MAX_ULPS = {"_exp": 1.0, "_expm1": 2.0, "_expm1_minus_x": 3.0}


def evaluate(name, t):
    helper = getattr(compiled, name)

    @numba.njit(fastmath={"contract"})
    def run(t, out):
        for i in range(t.shape[0]):
            out[i] = helper(t[i])

    out = np.empty_like(t)
    run(t, out)
    return out


def points():
    rng = np.random.default_rng(7)
    ln2 = np.log(2)
    return np.concatenate(
        [
            rng.uniform(-3, 3, 2000),
            rng.uniform(-745, 709, 300),
            np.exp(rng.uniform(-40, 1, 300)),
            -np.exp(rng.uniform(-40, 1, 300)),
            [k * ln2 / 2 + d for k in range(-6, 7) for d in (-1e-12, 0.0, 1e-12)],
            [709.0, 709.7, -708.0, -744.0, -745.1],
        ]
    )


@pytest.mark.parametrize("name", list(EXACT))
def test_within_a_few_ulps_of_mpmath(name):
    t = points()
    if name != "_exp":
        t = t[t < 709.4]  # documented range: the kernels apply these to halved arguments
    got = evaluate(name, t)
    worst = 0.0
    for x, g in zip(t, got, strict=True):
        exact = EXACT[name](mpmath.mpf(float(x)))
        if abs(exact) < np.finfo(np.float64).tiny:  # subnormal results: absolute check
            assert abs(g - float(exact)) <= 2 * np.finfo(np.float64).smallest_subnormal
            continue
        worst = max(worst, abs(float(mpmath.mpf(float(g)) - exact)) / np.spacing(abs(float(exact))))
    assert worst <= MAX_ULPS[name]


@pytest.mark.parametrize("name", list(EXACT))
def test_edges_nan_infinity_and_beyond_the_clamp(name):
    t = np.array([np.nan, -np.inf, 800.0, -800.0, -1e300])
    got = evaluate(name, t)
    assert np.isnan(got[0])
    want = {
        "_exp": [0.0, np.inf, 0.0, 0.0],
        "_expm1": [-1.0, np.inf, -1.0, -1.0],
        "_expm1_minus_x": [np.inf, np.inf, 799.0, 1e300],
    }[name]
    np.testing.assert_array_equal(got[1:], want)


def test_the_formulas_are_proved_and_a_wrong_one_is_caught():
    numerics.check_exp_reduction()
    formulas = numerics.reduction_formulas()
    formula, exact = formulas["expm1_minus_x"]
    k, lo = sp.Symbol("k", real=True), sp.log(2) - sp.Symbol("ln2_hi", real=True)
    formulas["expm1_minus_x"] = (formula + 2 * k * lo, exact)  # "+ k ln2_lo" for "- k ln2_lo"
    with pytest.raises(ArithmeticError, match="expm1_minus_x"):
        numerics.check_exp_reduction(formulas)
