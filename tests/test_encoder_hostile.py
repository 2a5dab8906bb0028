"""kl_std_normal_encoder_grad against hostile input (issue #12): argument classes, special
values of every argument in float32 and float64 (mpmath limits of the exact sums of
products) and sums whose partial sums overflow, never against the kernel itself."""

import mpmath
import numpy as np
import pytest

from klgen.generated.kl_std_normal_encoder import kl_std_normal_encoder_grad

B, N, K = 5, 4, 3
HUGE = [mpmath.mpf(10) ** 400, mpmath.mpf(10) ** 600]


def exact(h, mu, logvar):
    """(dW_mu, db_mu, dW_lv, db_lv) by mpmath (nested lists of mpf), entries of any size."""
    with mpmath.workdps(1400):
        g = [[mpmath.expm1(x) / 2 for x in row] for row in logvar]
        ones = [[mpmath.mpf(1)] for _ in h]
        return [_products(h, mu), _products(ones, mu)[0], _products(h, g), _products(ones, g)[0]]


def _products(a, g):
    return [
        [mpmath.fsum(a[b][i] * g[b][j] for b in range(len(a))) for j in range(len(g[0]))]
        for i in range(len(a[0]))
    ]


def as_mp(arrays):
    return [[[mpmath.mpf(float(x)) for x in row] for row in a] for a in arrays]


def to_float(values, dtype):
    with np.errstate(over="ignore"):
        return np.array(
            [[float(x) for x in row] if isinstance(row, list) else float(row) for row in values]
        ).astype(dtype)


def inputs(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(B, N)).astype(dtype),
        rng.normal(size=(B, K)).astype(dtype),
        rng.normal(size=(B, K)).astype(dtype),
    ]


def check(args, got, dtype=np.float64):
    want = exact(*as_mp(np.asarray(a, np.float64) for a in args))
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    for g, w in zip(got, want, strict=True):
        assert type(g) is np.ndarray and g.dtype == dtype
        np.testing.assert_allclose(g, to_float(w, np.float64), rtol=rtol, atol=1e-300)


ANSWERS = {
    "float64": lambda: (inputs(), np.float64),
    "float32": lambda: (inputs(np.float32), np.float32),
    "h float64, heads float32": lambda: ([inputs()[0], *inputs(np.float32)[1:]], np.float64),
    "h float32, heads float64": lambda: ([inputs(np.float32)[0], *inputs()[1:]], np.float64),
    "Python lists": lambda: ([a.tolist() for a in inputs()], np.float64),
    "Fortran-ordered and transposed views": lambda: (
        [np.asfortranarray(a) for a in inputs()],
        np.float64,
    ),
    "big-endian": lambda: ([a.astype(">f8") for a in inputs()], np.float64),
    "np.matrix h": lambda: ([np.matrix(inputs()[0]), *inputs()[1:]], np.float64),
    "one array as mu and logvar": lambda: ((lambda a: [a[0], a[1], a[1]])(inputs()), np.float64),
}


@pytest.mark.parametrize("case", ANSWERS)
def test_inputs_give_the_right_answer(case):
    args, dtype = ANSWERS[case]()
    check(args, kl_std_normal_encoder_grad(*args), dtype)


def test_empty_batch_and_no_features():
    grads = kl_std_normal_encoder_grad(np.zeros((0, N)), np.zeros((0, K)), np.zeros((0, K)))
    assert [g.shape for g in grads] == [(N, K), (K,), (N, K), (K,)]
    assert all(np.all(g == 0) for g in grads)
    grads = kl_std_normal_encoder_grad(np.zeros((B, 0)), *inputs()[1:])
    assert [g.shape for g in grads] == [(0, K), (K,), (0, K), (K,)]


def swap(i, value):
    args = inputs()
    args[i] = value(args[i]) if callable(value) else value
    return args


BAD = "must be a float32 or float64 array, got dtype"
ERRORS = {
    "logvar (k,) broadcast": (lambda: swap(2, lambda a: a[0]), ValueError, "logvar must be a"),
    "logvar (k,) with B == k": (
        lambda: [np.ones((K, N)), np.ones((K, K)), np.ones(K)],
        ValueError,
        "logvar must be a",
    ),
    "mu (1, k) broadcast": (
        lambda: swap(1, lambda a: a[:1]),
        ValueError,
        "h has shape (5, 4), mu (1, 3)",
    ),
    "h of another batch": (
        lambda: swap(0, lambda a: a[:4]),
        ValueError,
        "h has shape (4, 4), mu (5, 3)",
    ),
    "0-d h": (lambda: swap(0, np.float64(1.0)), ValueError, "h must have a last axis"),
    "1-d h": (lambda: swap(0, lambda a: a[0]), ValueError, "h must be a (batch, columns) matrix"),
    "3-d mu": (lambda: [inputs()[0], *(a[None] for a in inputs()[1:])], ValueError, "mu must be a"),
    "int h": (lambda: swap(0, lambda a: a.astype(int)), TypeError, f"h {BAD} int64"),
    "float16 logvar": (lambda: swap(2, lambda a: a.astype(np.float16)), TypeError, f"logvar {BAD}"),
    "complex mu": (lambda: swap(1, lambda a: a.astype(complex)), TypeError, f"mu {BAD}"),
    "None h": (lambda: swap(0, None), TypeError, f"h {BAD} object"),
    "masked h": (
        lambda: swap(0, lambda a: np.ma.masked_array(a, np.eye(B, N, dtype=bool))),
        TypeError,
        "h is a masked array",
    ),
    "masked logvar": (lambda: swap(2, np.ma.masked_array), TypeError, "logvar is a masked array"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_bad_inputs_raise_one_clear_error(case):
    build, kind, message = ERRORS[case]
    with pytest.raises(kind) as info:
        kl_std_normal_encoder_grad(*build())
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


VALUES = ["+0", "-0", "+inf", "-inf", "nan", "+max", "-max"]


def special(value, dtype):
    info = np.finfo(dtype)
    named = {"+0": 0.0, "-0": -0.0, "+max": info.max, "-max": -info.max}
    return dtype(named[value] if value in named else float(value))


def expected(args, argument, value, dtype):
    """Per output, the exact result as floats: the limit (mpmath at +-1e400 and +-1e600)
    for an infinity, NaN where a NaN enters the sum, the exact value otherwise."""
    point = as_mp(np.asarray(a, np.float64) for a in args)
    if value in ("+inf", "-inf"):
        found = []
        for huge in HUGE:
            point[argument][1][2] = huge * (-1 if value[0] == "-" else 1)
            found.append(exact(*point))
        return [_limit(a, b, dtype) for a, b in zip(*found, strict=True)]
    results = [to_float(w, dtype) for w in exact(*point)]
    if value == "nan":
        nan_rows = {0: (0, 2), 1: (0, 1), 2: (2, 3)}[argument]
        for o in nan_rows:
            if results[o].ndim == 2 and argument == 0:
                results[o][2, :] = np.nan
            else:
                results[o][..., 2] = np.nan
    return results


def _limit(a, b, dtype):
    largest = mpmath.mpf(float(np.finfo(dtype).max))
    flat_a, flat_b = np.array(a, dtype=object).ravel(), np.array(b, dtype=object).ravel()
    out = []
    for x, y in zip(flat_a, flat_b, strict=True):
        if abs(x) > largest and abs(y) > largest and mpmath.sign(x) == mpmath.sign(y):
            out.append(float(mpmath.sign(x)) * np.inf)
        elif abs(x - y) <= mpmath.mpf(10) ** -30 * max(abs(x), 1):
            out.append(float(y))
        else:
            out.append(np.nan)
    return np.array(out).reshape(np.shape(np.array(a, dtype=object))).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
def test_special_values_give_the_limits(dtype):
    """h[1, 2], mu[1, 2] or logvar[1, 2] takes each special value; mu[1, 0] is 0 so that
    an infinite h[1, 2] meets a zero factor (inf * 0: the limit is 0)."""
    wrong = []
    for argument, name in enumerate(("h", "mu", "logvar")):
        for value in VALUES:
            args = inputs(dtype)
            args[1][1, 0] = 0.0
            args[argument][1, 2] = special(value, dtype)
            with np.errstate(all="ignore"):
                got = kl_std_normal_encoder_grad(*args)
            for o, (g, w) in enumerate(
                zip(got, expected(args, argument, value, dtype), strict=True)
            ):
                ok = np.isclose(
                    g, w, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=0, equal_nan=True
                ) | (g == w)
                if not np.all(ok):
                    wrong.append(f"{name}[1, 2] = {value}: output {o} = {g}, want {w}")
    assert not wrong, "\n".join(wrong)


def test_partial_sums_that_overflow_give_the_representable_result():
    mu = np.array([[1e308], [1e308], [-1e308]])
    grads = kl_std_normal_encoder_grad(np.ones((3, 1)), mu, np.zeros((3, 1)))
    assert grads[1][0] == 1e308 and grads[0][0, 0] == 1e308
    h, mu = np.array([[1.5e154], [-1e154]]), np.array([[1.5e154], [1e154]])  # 2.25e308 - 1e308
    grads = kl_std_normal_encoder_grad(h, mu, np.zeros((2, 1)))
    want = float(mpmath.mpf(1.5e154) ** 2 - mpmath.mpf(1e154) ** 2)
    assert abs(grads[0][0, 0] - want) <= 1e-15 * want
