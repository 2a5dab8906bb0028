"""The numerical primitives the kernels are built from, against mpmath at 100 digits on the
exact binary inputs: the compiled kernels' own (e^t - 1)/2, (e^t - 1 - t)/2 and
(a - b) e^x in float64 and float32 (derive/numerics.py, ExpReduction), and the numpy
kernels' careful array versions (templates/static/numeric.py); their special values; and
the proofs of their formulas."""

import importlib
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from klgen.derive import numerics

numba = pytest.importorskip("numba")
compiled = pytest.importorskip("klgen.generated._numba_exp")
numeric = importlib.import_module("klgen.generated._numeric")
runtime = importlib.import_module("klgen.generated._runtime")

HALF_EXPM1 = lambda a, b=0: mpmath.expm1(a - b) / 2  # noqa: E731
HALF_G = lambda a, b=0: (mpmath.expm1(a - b) - (a - b)) / 2  # noqa: E731
EXACT = {
    "half_expm1": HALF_EXPM1,
    "half_expm1_diff": HALF_EXPM1,
    "half_expm1_minus_x": HALF_G,
    "half_expm1_minus_x_diff": HALF_G,
    "scaled_exp": lambda a, b, x: (a - b) * mpmath.exp(x),
    "scaled_exp_square": lambda a, b, x: (a - b) ** 2 * mpmath.exp(x),
}
ARITY = {"half_expm1": 1, "half_expm1_minus_x": 1, "scaled_exp": 3, "scaled_exp_square": 3}
POWER = {"scaled_exp": 1, "scaled_exp_square": 2}
# Worst seen over these points (float64 / float32), rounded up: the bound each must keep.
MAX_ULPS = {
    "half_expm1": 2.0,
    "half_expm1_diff": 2.0,
    "half_expm1_minus_x": 2.5,
    "half_expm1_minus_x_diff": 2.5,
    "scaled_exp": 2.0,
    "scaled_exp_square": 2.5,
}
SUFFIX = {np.float64: "", np.float32: "_f32"}
TYPES = [np.float64, np.float32]


@pytest.fixture(autouse=True, scope="module")
def _precision():
    """mpmath at 100 digits for this module's tests (e^t - 1 - t at t = 1e-13 cancels 26
    digits), for them only: set globally at import it slowed every module collected later."""
    with mpmath.workdps(100):
        yield


def compiled_helper(name, dtype):
    """The numba helper ``name`` of ``dtype``, applied elementwise to arrays."""
    helper = getattr(compiled, name.removesuffix("_square") + SUFFIX[dtype])
    arity = ARITY.get(name, 2)
    power = POWER.get(name)
    if arity == 1:

        @numba.njit(fastmath={"contract"})
        def run(out, a, b, c):
            for i in range(a.size):
                out[i] = helper(a[i])
    elif arity == 2:

        @numba.njit(fastmath={"contract"})
        def run(out, a, b, c):
            for i in range(a.size):
                out[i] = helper(a[i], b[i])
    else:

        @numba.njit(fastmath={"contract"})
        def run(out, a, b, c):
            for i in range(a.size):
                out[i] = helper(a[i], b[i], c[i], power, 0)

    def apply(*args):
        args = [np.asarray(a, dtype) for a in args] + [np.zeros(1, dtype)] * (3 - len(args))
        out = np.empty_like(args[0])
        run(out, *args)
        return out

    return apply


def careful_helper(name, dtype):
    """The numpy kernels' careful version of ``name``: float64 in, rounded to dtype."""
    series = runtime.generic_series(np, np.dtype(dtype), numerics.SERIES_RADIUS["float64"])
    function = {
        "half_expm1": lambda a, b=0.0: numeric.half_expm1_generic(np, a, b),
        "half_expm1_minus_x": lambda a, b=0.0: numeric.half_expm1_minus_x_generic(np, a, b, series),
        "scaled_exp": lambda a, b, x: numeric.scaled_exp_generic(np, a, b, x, 1, 0),
        "scaled_exp_square": lambda a, b, x: numeric.scaled_exp_generic(np, a, b, x, 2, 0),
    }[name.removesuffix("_diff")]

    def apply(*args):
        with np.errstate(all="ignore"):
            return function(*(np.asarray(a, dtype).astype(np.float64) for a in args)).astype(dtype)

    return apply


IMPLEMENTATIONS = {"compiled": compiled_helper, "careful numpy": careful_helper}


def points(name, dtype):
    """Random arguments over the type's range, tiny ones, the reduction's switch points,
    the overflow band; for the differences, pairs a small or a huge distance apart."""
    rng = np.random.default_rng(7)
    info = np.finfo(dtype)
    ln2 = np.log(2)
    top = float(np.log(float(info.max)))
    low = float(np.log(float(info.smallest_subnormal)))
    t = np.concatenate(
        [
            rng.uniform(-3, 3, 1500),
            rng.uniform(low, top + 1, 500),
            rng.uniform(top - 1, top + 1, 200),  # e^t, e^t / 2 overflow here
            np.exp(rng.uniform(-40, 1, 300)) * rng.choice([-1, 1], 300),
            [k * ln2 / 2 * (1 + d) for k in range(-6, 7) for d in (-1e-6, 0.0, 1e-6)],
        ]
    ).astype(dtype)
    arity = ARITY.get(name, 2)
    if arity == 1:
        return [t]
    scale = 10.0 ** rng.uniform(-3, np.log10(float(info.max)) - 1, t.size)
    a = (rng.choice([-1, 1], t.size) * scale).astype(dtype)
    a = np.where(rng.random(t.size) < 0.5, a, rng.normal(size=t.size).astype(dtype))
    with np.errstate(over="ignore"):
        b = (a.astype(np.float64) - t).astype(dtype)  # a - b is t, rounded
    if arity == 2:
        keep = np.isfinite(b)
        return [a[keep], b[keep]]
    # (a - b) e^x: a, b anywhere, the exponent anywhere it can leave a finite product
    decades = np.log10(float(info.smallest_subnormal)), np.log10(float(info.max))
    sizes = 10.0 ** rng.uniform(*decades, t.size)
    m = (rng.choice([-1, 1], t.size) * sizes).astype(dtype)
    x = rng.uniform(-np.log(float(info.max)) * 2.2, np.log(float(info.max)) * 2.2, t.size)
    return [m, np.where(rng.random(t.size) < 0.3, -m, np.zeros_like(m)), x.astype(dtype)]


def ulps(got, exact, dtype):
    info = np.finfo(dtype)
    if abs(exact) > mpmath.mpf(float(info.max)) * (1 + 4 * float(info.eps)):  # overflows
        return 0.0 if got == np.sign(float(exact)) * np.inf else np.inf
    if not np.isfinite(got):
        return np.inf
    size = max(abs(float(exact)), float(info.smallest_subnormal))
    spacing = float(np.spacing(dtype(min(size, float(info.max)))))
    return float(abs(mpmath.mpf(float(got)) - exact) / spacing)


# The careful numpy helpers take (a, b) in one form: their one-argument names are a, 0.
CASES = [
    (name, implementation)
    for name in EXACT
    for implementation in IMPLEMENTATIONS
    if not (implementation == "careful numpy" and ARITY.get(name) == 1)
]


@pytest.mark.parametrize("dtype", TYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name, implementation", CASES)
def test_within_a_few_ulps_of_mpmath(name, dtype, implementation):
    args = points(name, dtype)
    got = IMPLEMENTATIONS[implementation](name, dtype)(*args)
    worst, where = 0.0, None
    for i, g in enumerate(got):
        exact = EXACT[name](*(mpmath.mpf(float(a[i])) for a in args))
        error = ulps(g, exact, dtype)
        if error > worst:
            worst, where = error, [float(a[i]) for a in args]
    assert worst <= MAX_ULPS[name], f"{worst} ulps at {where}"


INF, NAN = np.inf, np.nan
# (arguments, result): IEEE special values, the overflow band and overflowed differences.
EDGES = {
    "half_expm1": [
        ((NAN,), NAN),
        ((-INF,), -0.5),
        ((INF,), INF),
        ((800.0,), INF),
        ((-800.0,), -0.5),
    ],
    "half_expm1_diff": [
        ((NAN, 0.0), NAN),
        ((INF, INF), NAN),
        ((0.0, -INF), INF),
        ((0.0, INF), -0.5),
        (("max", "-max"), INF),
        (("-max", "max"), -0.5),
        ((0.0, -1419.0), INF),
    ],
    "half_expm1_minus_x": [
        ((NAN,), NAN),
        ((-INF,), INF),
        ((INF,), INF),
        ((800.0,), INF),
        ((-800.0,), 399.5),
        (("-max/2",), "max/4"),
    ],
    "half_expm1_minus_x_diff": [
        ((NAN, 0.0), NAN),
        ((INF, INF), NAN),
        ((0.0, INF), INF),
        ((-INF, 0.0), INF),
        ((0.0, -INF), INF),
        (("max", "-max"), INF),
        (("-max/2", "max/2"), "max/2"),
        ((0.0, -1419.0), INF),
        ((0.0, 800.0), 399.5),
    ],
    "scaled_exp": [
        ((0.0, 0.0, INF), 0.0),
        ((0.0, 0.0, -INF), 0.0),
        ((0.0, 0.0, NAN), NAN),
        ((INF, 0.0, -INF), NAN),
        ((INF, 0.0, 5.0), INF),
        ((-INF, 0.0, INF), -INF),
        ((1.0, 0.0, INF), INF),
        ((1.0, 0.0, -INF), 0.0),
        ((NAN, 0.0, 1.0), NAN),
        ((INF, INF, 0.0), NAN),
        (("max", "-max", -1.0), "2max/e"),
    ],
    "scaled_exp_square": [
        ((0.0, 0.0, INF), 0.0),
        ((0.0, 0.0, NAN), NAN),
        ((INF, 0.0, -INF), NAN),
        ((-INF, 0.0, 5.0), INF),
        ((1.0, 0.0, -INF), 0.0),
        (("max", "-max", -750.0), "(2max)^2/e750"),
        (("-max", "0.0", "-1420.0"), "max2/e1420"),
    ],
}


def edge_value(v, dtype):
    big = float(np.finfo(dtype).max)
    named = {"max": big, "-max": -big, "max/2": big / 2, "-max/2": -big / 2, "max/4": big / 4}
    named["2max/e"] = float(2 * mpmath.mpf(big) / mpmath.e)
    named["(2max)^2/e750"] = float((2 * mpmath.mpf(big)) ** 2 / mpmath.exp(750))
    named["max2/e1420"] = float(mpmath.mpf(big) ** 2 / mpmath.exp(1420))
    named["0.0"], named["-1420.0"] = 0.0, -1420.0
    return dtype(named[v]) if isinstance(v, str) else dtype(v)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", TYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(EDGES))
def test_special_values(name, dtype, implementation):
    function = IMPLEMENTATIONS[implementation](name, dtype)
    for args, want in EDGES[name]:
        got = function(*([edge_value(a, dtype)] for a in args))[0]
        want = edge_value(want, dtype)
        close = got == want or (np.isnan(want) and np.isnan(got))
        if not close and np.isfinite(want):
            close = abs(float(got) - float(want)) <= 2 * float(np.spacing(abs(want)))
        assert close, f"{name}{args}: {got}, want {want}"


@pytest.mark.parametrize("dtype", TYPES, ids=lambda d: d.__name__)
def test_the_overflow_band_is_finite_and_the_overflow_infinite(dtype):
    """Scan t across where e^t overflows and e^t / 2 does not: every result within 4 ulps
    while (e^t - 1)/2 is representable, +inf after (issue #12: NaN at 710.2 before)."""
    info = np.finfo(dtype)
    top = np.log(float(info.max))
    t = np.linspace(top - 0.5, top + np.log(2) + 0.5, 4001).astype(dtype)
    for implementation, make in IMPLEMENTATIONS.items():
        for name in ("half_expm1", "half_expm1_minus_x"):
            got = make(name, dtype)(t)
            errors = [
                ulps(g, EXACT[name](mpmath.mpf(float(x))), dtype)
                for x, g in zip(t, got, strict=True)
            ]
            assert max(errors) <= 4, f"{implementation} {name}: {max(errors)} ulps"


def test_the_formulas_are_proved_and_a_wrong_one_is_caught():
    numerics.check_exp_reduction()
    formulas = numerics.reduction_formulas()
    formula, exact = formulas["quarter_expm1_minus_x"]
    k, lo = sp.Symbol("k", real=True), sp.log(2) - sp.Symbol("ln2_hi", real=True)
    formulas["quarter_expm1_minus_x"] = (formula + k * lo / 2, exact)  # "+ k ln2_lo/4" for "-"
    with pytest.raises(ArithmeticError, match="quarter_expm1_minus_x"):
        numerics.check_exp_reduction(formulas)


def test_the_numpy_lowering_is_proved_to_first_order():
    numerics.check_lowering()


def test_ln2_in_three_parts():
    """_LN2_HI + _LN2_MID + _LN2_TAIL is ln 2 to 1e-36, and k * _LN2_HI, k * _LN2_MID are
    exact for |k| < 2**20 (their significands have 33 bits or fewer)."""
    with mpmath.workdps(60):
        parts = [mpmath.mpf(v) for v in (numeric._LN2_HI, numeric._LN2_MID, numeric._LN2_TAIL)]
        assert abs(sum(parts) - mpmath.log(2)) < mpmath.mpf(10) ** -36
    for part in (numeric._LN2_HI, numeric._LN2_MID):
        significand = int(abs(part) * 2.0 ** (52 - np.frexp(part)[1] + 1))
        assert (
            significand.bit_length() - (len(bin(significand)) - len(bin(significand).rstrip("0")))
            <= 33
        )


EXP_POINTS = np.concatenate(
    [
        np.random.default_rng(21).uniform(-745.0, 745.0, 600),
        np.random.default_rng(22).uniform(-1.0, 1.0, 300),
        np.random.default_rng(23).normal(scale=1e-8, size=100),
        [0.0, -745.0, 709.7, np.log(2) / 2, -np.log(2) / 2, 0.5 * 0.0625],
    ]
)


@pytest.mark.parametrize("implementation", ["numpy", "numba"])
def test_exp_split_is_twice_as_precise(implementation):
    """e^x = 2**k (1 + hi + lo) to 1e-20 relative (a float64 exp is 1e-16) over the whole
    range, the largest reductions and tiny x."""
    functions = importlib.import_module("klgen.generated._functions")
    if implementation == "numpy":
        k, hi, lo = functions.exp_split(np, EXP_POINTS)
    else:
        scalar = importlib.import_module("klgen.generated._numba_functions").exp_split
        k, hi, lo = np.array([scalar(x) for x in EXP_POINTS]).T
    with mpmath.workdps(60):
        for x, power, high, low in zip(EXP_POINTS, k, hi, lo, strict=True):
            exact = mpmath.exp(mpmath.mpf(x))
            got = mpmath.ldexp(1 + mpmath.mpf(high) + mpmath.mpf(low), int(power))
            assert abs(got / exact - 1) < 1e-20, x


@pytest.mark.parametrize("implementation", ["numpy", "numba"])
def test_product_error_is_the_rounding_of_exp_product(implementation):
    """exp_product(m, x) + product_error(m, x) = m e^x to 1e-19 relative wherever the product
    is above 2**-960 (its correction, eps of it, a normal float; m log-uniform from 1e-300 to
    1e300 of both signs, x over +-745), and 0 where the product is 0 or not finite or m is
    0, inf or NaN."""
    functions = importlib.import_module("klgen.generated._functions")
    rng = np.random.default_rng(24)
    m = np.exp(rng.uniform(-690, 690, EXP_POINTS.size)) * rng.choice([-1.0, 1.0], EXP_POINTS.size)
    x = EXP_POINTS
    if implementation == "numpy":
        with np.errstate(over="ignore", under="ignore"):
            value = functions.exp_product(m, x, np.empty_like(x))
            error = functions.product_error(m, x, np.empty_like(x))
    else:
        scalars = importlib.import_module("klgen.generated._numba_functions")
        product, product_error = scalars.exp_product, scalars.product_error
        value = np.array([product(a, b) for a, b in zip(m, x, strict=True)])
        error = np.array([product_error(a, b) for a, b in zip(m, x, strict=True)])
    checked = 0
    with mpmath.workdps(60):
        for a, b, v, e in zip(m, x, value, error, strict=True):
            if not np.isfinite(v) or v == 0:
                assert e == 0
                continue
            if abs(v) < 2.0**-960:  # the correction, eps of v, would be subnormal
                continue
            exact = mpmath.mpf(a) * mpmath.exp(mpmath.mpf(b))
            assert abs((mpmath.mpf(v) + mpmath.mpf(e)) / exact - 1) < 1e-19, (a, b)
            checked += 1
    assert checked > EXP_POINTS.size // 3
    specials = np.array([0.0, np.inf, -np.inf, np.nan, 1.0, 1.0])
    where = np.array([1.0, 1.0, 1.0, 1.0, np.nan, 800.0])
    with np.errstate(all="ignore"):
        assert np.all(functions.product_error(specials, where, np.empty(6)) == 0)


@pytest.mark.parametrize("implementation", ["numpy", "numba"])
def test_exp_product_of_a_huge_factor_does_not_overflow_before_the_product(implementation):
    """m e^x for m near the largest float and x < 0 whose reduction leaves e^r > 1 (m e^r
    alone would overflow: kl_bernoulli at logits 712, logits_p 1.3e308 gave inf)."""
    functions = importlib.import_module("klgen.generated._functions")
    m = np.array([1.7e308, -1.7e308, 1.3e308, 2.0**1001])
    x = np.array([-0.4, -0.4, -712.0, 0.3])
    if implementation == "numpy":
        got = functions.exp_product(m, x, np.empty_like(x))
    else:
        product = importlib.import_module("klgen.generated._numba_functions").exp_product
        got = np.array([product(a, b) for a, b in zip(m, x, strict=True)])
    with mpmath.workdps(40):
        for value, a, b in zip(got, m, x, strict=True):
            exact = mpmath.mpf(a) * mpmath.exp(mpmath.mpf(b))
            assert abs(mpmath.mpf(value) / exact - 1) < 4 * 2.0**-52, (a, b, value)


@pytest.mark.parametrize("implementation", ["numpy", "numba"])
def test_exp_of_difference_error_is_its_rounding(implementation):
    """exp_of_difference(m, x, y) + exp_of_difference_error(m, m_error, x, y) = (m +
    m_error) e^(x - y) to 4e-18 relative (a weight's rounding known to 3% of an ulp: the
    categorical KL's mean needs it to a few percent), x - y rounded, over +-745 and near 0,
    m log-uniform of both signs, m_error an ulp or so of m; 0 where x - y is -inf or m is 0,
    inf or NaN."""
    functions = importlib.import_module("klgen.generated._functions")
    rng = np.random.default_rng(25)
    n = EXP_POINTS.size
    m = np.exp(rng.uniform(-690, 690, n)) * rng.choice([-1.0, 1.0], n)
    m_error = m * rng.uniform(-(2.0**-52), 2.0**-52, n)
    y = rng.uniform(-3.0, 3.0, n) * 10.0 ** rng.integers(0, 3, n)
    x = EXP_POINTS + y
    if implementation == "numpy":
        with np.errstate(over="ignore", under="ignore"):  # products beyond the range
            value = functions.exp_of_difference(m, x, y, np.empty(n))
            error = functions.exp_of_difference_error(m, m_error, x, y, np.empty(n))
    else:
        scalars = importlib.import_module("klgen.generated._numba_functions")
        value = np.array([scalars.exp_of_difference(*a) for a in zip(m, x, y, strict=True)])
        args = zip(m, m_error, x, y, strict=True)
        error = np.array([scalars.exp_of_difference_error(*a) for a in args])
    checked, worst = 0, 0
    with mpmath.workdps(60):
        for a, da, b, c, v, e in zip(m, m_error, x, y, value, error, strict=True):
            if not np.isfinite(v) or abs(v) < 2.0**-960:  # 0, inf, or a subnormal correction
                continue
            exact = (mpmath.mpf(a) + mpmath.mpf(da)) * mpmath.exp(mpmath.mpf(b) - mpmath.mpf(c))
            worst = max(worst, abs((mpmath.mpf(v) + mpmath.mpf(e)) / exact - 1))
            checked += 1
    assert checked > n // 3 and worst < 4e-18  # 3.0e-18 at r = -ln(2)/2 (the tail's roundings)
    specials = np.array([1.0, 0.0, np.inf, np.nan])
    where = np.array([-np.inf, 1.0, 1.0, 1.0])
    with np.errstate(all="ignore"):
        got = functions.exp_of_difference_error(
            specials, specials * 0 + 1e-17, where, 0 * where, np.empty(4)
        )
    assert np.all(got == 0)


def test_difference_of_differences_error_is_its_rounding():
    """difference_of_differences + its error = ((a - b) - (c - e)) - f to 2^-100 of the
    differences' sizes (a float alone: 2^-53 of the result), at differences that cancel to
    a residue and at differences of every size."""
    functions = importlib.import_module("klgen.generated._functions")
    rng = np.random.default_rng(26)
    a = rng.normal(size=400) * 10.0 ** rng.integers(-3, 4, 400)
    c = a * (1 + 1e-9 * rng.normal(size=400)) + rng.choice([0.0, 871.77], 400)
    b, e = rng.normal(size=400), rng.normal(size=400)
    f = ((a - b) - (c - e)) * (1 + 1e-7 * rng.normal(size=400))
    out = np.empty(400)
    value = functions.difference_of_differences(a, b, c, e, f, out.copy())
    error = functions.difference_of_differences_error(a, b, c, e, f, out)
    assert np.any(error != 0)
    with mpmath.workdps(60):
        for args, v, err in zip(zip(a, b, c, e, f, strict=True), value, error, strict=True):
            p, q, r, s, t = map(mpmath.mpf, args)
            size = abs(p - q) + abs(r - s) + abs(t)
            assert (
                abs(mpmath.mpf(v) + mpmath.mpf(err) - ((p - q) - (r - s) - t)) <= 2.0**-100 * size
            )


def test_a_compensated_row_sum_is_the_sum_rounded_once():
    """compensated_row_sum_generic: every row within an ulp of math.fsum (the exact sum
    rounded) plus 2^-100 of the terms' sizes, rows of 1 to 9 terms that cancel to 1e-12 of
    their sizes and beyond; a plain sum is far off there; an infinite or NaN term gives the
    plain sum's result."""
    functions = importlib.import_module("klgen.generated._functions")
    rng = np.random.default_rng(27)
    for k in range(1, 10):
        terms = rng.normal(size=(200, k)) * 10.0 ** rng.integers(-5, 6, (200, k))
        terms[:, -1] -= terms.sum(axis=1) * (1 - 1e-12 * rng.normal(size=200))
        got = functions.compensated_row_sum_generic(np, terms)[:, 0]
        exact = np.array([math.fsum(row) for row in terms])
        size = np.abs(terms).sum(axis=1)
        assert np.all(np.abs(got - exact) <= np.spacing(np.abs(exact)) + 2.0**-100 * size)
    specials = np.array([[1.0, np.inf, 2.0], [np.inf, -np.inf, 0.0], [np.nan, 1.0, 1.0]])
    with np.errstate(invalid="ignore"):  # inf - inf in the two-sums, set aside
        got = functions.compensated_row_sum_generic(np, specials)[:, 0]
    assert got[0] == np.inf and np.isnan(got[1]) and np.isnan(got[2])
