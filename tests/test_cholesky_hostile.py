"""kl_mvn_cholesky against hostile input (issue #12): every argument class, every out=
class, the special values of every argument in float32 and float64, and the accuracy
bound of the docstring, all against mpmath (triangular solves at high precision on the
exact binary inputs), never against the kernel itself."""

import math

import mpmath
import numpy as np
import pytest

from klgen.generated.kl_mvn_cholesky import (
    kl_mvn_cholesky,
    kl_mvn_cholesky_grad,
    kl_mvn_cholesky_value_and_grad,
)

NAMES = ("m0", "L0", "m1", "L1")
FUNCTIONS = {"value": kl_mvn_cholesky, "grad": kl_mvn_cholesky_grad}
FUNCTIONS["value_and_grad"] = kl_mvn_cholesky_value_and_grad
DEPENDS = {"dm0": "m L1", "dL0": "L0 L1", "dm1": "m L1", "dL1": "m L0 L1"}


def exact(m0, L0, m1, L1, dps=60):
    """(KL, dm0, dL0, dm1, dL1, scale) of one entry by mpmath, from the lower triangles:
    KL = 1/2 (|M|^2 - k - 2 ln det M + |z|^2), M = L1^-1 L0, z = L1^-1 (m1 - m0); the
    textbook gradients S1^-1 d, tril(S1^-1 L0 - L0^-T), tril(L1^-T - S1^-1 (S0 + d d^T)
    S1^-1 L1); scale = |N| |M| + |z|^2 + sum(M_ii^2 - 1 - 2 ln M_ii) (the docstring's s)."""
    k = len(m0)
    with mpmath.workdps(dps):
        l0, l1 = (_lower(L, k) for L in (L0, L1))
        d = mpmath.matrix([mpmath.mpf(a) - mpmath.mpf(b) for a, b in zip(m1, m0, strict=True)])
        M, z = _solve(l1, l0), _solve(l1, d)
        strict = mpmath.mpf(0)
        for i in range(k):
            strict += sum(M[i, j] ** 2 for j in range(i))
        diag = sum(M[i, i] ** 2 - 1 - 2 * mpmath.log(M[i, i]) for i in range(k))
        zz = sum(z[i] ** 2 for i in range(k))
        l1_inv, l0_inv = _solve(l1, mpmath.eye(k)), _solve(l0, mpmath.eye(k))
        s1_inv = l1_inv.T * l1_inv
        dm1 = s1_inv * d
        dl0 = s1_inv * l0 - l0_inv.T
        dl1 = l1_inv.T - s1_inv * (l0 * l0.T + d * d.T) * s1_inv * l1
        frob = mpmath.sqrt(sum(M[i, j] ** 2 for i in range(k) for j in range(k)))
        scale = mpmath.sqrt(strict) * frob + zz + diag
        return (strict + diag + zz) / 2, -dm1, _tril(dl0, k), dm1, _tril(dl1, k), scale


def _lower(L, k):
    return mpmath.matrix(
        [[mpmath.mpf(L[i][j]) if j <= i else 0 for j in range(k)] for i in range(k)]
    )


def _tril(a, k):
    return [[a[i, j] if j <= i else mpmath.mpf(0) for j in range(k)] for i in range(k)]


def _solve(l1, rhs):
    """l1^-1 rhs by forward substitution (exact zeros stay exact)."""
    k = l1.rows
    x = mpmath.matrix(k, rhs.cols) if k else rhs
    for c in range(rhs.cols):
        for i in range(k):
            x[i, c] = (rhs[i, c] - sum(l1[i, j] * x[j, c] for j in range(i))) / l1[i, i]
    return x


def as_float(values, dtype):
    """mpmath values (nested lists, or an mpmath vector) as an array of ``dtype``, +-inf
    beyond its largest float."""
    if isinstance(values, mpmath.matrix):
        values = [values[i] for i in range(values.rows)]
    with np.errstate(over="ignore"):
        return np.array(values, dtype=np.float64).astype(dtype)


def factor(rng, k, scale=0.3, shape=()):
    below = np.tril(rng.normal(scale=scale, size=(*shape, k, k)), -1)
    return below + np.exp(rng.normal(scale=scale, size=(*shape, k)))[..., None] * np.eye(k)


def problem(seed=0, shape=(4,), k=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    args = [rng.normal(size=(*shape, k)), factor(rng, k, shape=shape)]
    args += [rng.normal(size=(*shape, k)), factor(rng, k, shape=shape)]
    return [a.astype(dtype) for a in args]


def expected(args):
    """The exact results of every batch entry (after broadcasting), as float64 arrays,
    the gradients summed back to the shapes of their arguments."""
    arrays = [np.asarray(a, dtype=np.float64) for a in args]
    batch = np.broadcast_shapes(arrays[0].shape[:-1], arrays[1].shape[:-2])
    batch = np.broadcast_shapes(batch, arrays[2].shape[:-1], arrays[3].shape[:-2])
    k = arrays[0].shape[-1]
    full = [np.broadcast_to(a, (*batch, *a.shape[-(1 + (i % 2)) :])) for i, a in enumerate(arrays)]
    kl = np.empty(batch)
    grads = [np.empty(f.shape) for f in full]
    for index in np.ndindex(batch):
        results = exact(*(f[index].tolist() for f in full))
        kl[index] = float(results[0])
        for g, r in zip(grads, results[1:5], strict=True):
            g[index] = as_float(r, np.float64).reshape((k, k) if g.ndim > len(batch) + 1 else k)
    return kl, [_unbroadcast(g, a.shape) for g, a in zip(grads, arrays, strict=True)]


def _unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def check(args, kl=None, grads=None, rtol=1e-11):
    want_kl, want_grads = expected(args)
    dtype = np.result_type(*(np.asarray(a).dtype for a in args))
    if dtype == np.float32:
        rtol = 1e-5
    if kl is not None:
        assert type(kl) is np.ndarray and kl.dtype == dtype and kl.shape == want_kl.shape
        np.testing.assert_allclose(kl, want_kl, rtol=rtol, atol=rtol)
    for got, want in zip(grads, want_grads, strict=True) if grads is not None else ():
        assert type(got) is np.ndarray and got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def read_only(a):
    a.flags.writeable = False
    return a


def replaced(i, value, seed=0):
    args = problem(seed)
    args[i] = value(args[i]) if callable(value) else value
    return args


# Inputs that must give the right answer: name -> arguments.
ANSWERS = {
    "float64": lambda: problem(),
    "float32": lambda: problem(dtype=np.float32),
    "float32 and float64 mixed": lambda: replaced(0, lambda a: a.astype(np.float32)),
    "one entry, no batch axis": lambda: problem(shape=()),
    "many batch axes": lambda: problem(shape=(2, 1, 3)),
    "broadcast prior (k,) and (k, k)": lambda: (
        replaced(3, lambda a: a[0], 1)[:2] + [problem(1)[2][0], problem(1)[3][0]]
    ),
    "empty batch": lambda: problem(shape=(0,)),
    "empty batch, broadcast prior": lambda: problem(shape=(0,))[:2] + problem(shape=())[2:],
    "k = 1": lambda: problem(k=1),
    "Python lists": lambda: [a.tolist() for a in problem()],
    "read-only inputs": lambda: [read_only(a) for a in problem()],
    "non-contiguous (transposed views)": lambda: [
        np.asfortranarray(a) if a.ndim == 2 else np.swapaxes(np.swapaxes(a, 0, 2).copy(), 0, 2)
        for a in problem()
    ],
    "big-endian float64": lambda: replaced(3, lambda a: a.astype(">f8")),
    "big-endian float32": lambda: [a.astype(">f4") for a in problem()],
    "np.matrix mean": lambda: [np.matrix(problem(shape=())[0])] + problem(shape=(1,))[1:],
    "one array as both factors": lambda: (lambda a: [a[0], a[1], a[2], a[1]])(problem()),
    "overlapping views of one buffer as means": lambda: (
        lambda buf: [buf[:4], problem()[1], buf[1:5], problem()[3]]
    )(np.random.default_rng(5).normal(size=(5, 3))),
    "upper triangles holding NaN, inf and huge values (ignored)": lambda: [
        a + np.triu(np.full(a.shape[-2:], v), 1) if a.ndim == 3 else a
        for a, v in zip(problem(), (0, np.nan, 0, 1e308), strict=True)
    ],
}

BAD = "must be a float32 or float64 array, got dtype"
# Inputs that must be refused: name -> (arguments, error, start of the message).
ERRORS = {
    **{
        f"dtype {np.dtype(d).name}": (
            lambda d=d: replaced(1, lambda a: a.astype(d)),
            TypeError,
            f"L0 {BAD} {np.dtype(d)}",
        )
        for d in (np.float16, np.int64, np.bool_, np.complex128, object, np.longdouble)
    },
    "str": (lambda: replaced(0, "abc"), TypeError, f"m0 {BAD} <U3"),
    "None": (lambda: replaced(2, None), TypeError, f"m1 {BAD} object"),
    "ragged list": (lambda: replaced(0, [[1.0], [1.0, 2.0]]), ValueError, "m0 is not an array"),
    "masked mean": (
        lambda: replaced(0, lambda a: np.ma.masked_array(a, np.eye(4, 3, dtype=bool))),
        TypeError,
        "m0 is a masked array, whose mask the kernels would ignore",
    ),
    "masked factor without a mask": (
        lambda: replaced(3, np.ma.masked_array),
        TypeError,
        "L1 is a masked array",
    ),
    "0-d mean": (lambda: replaced(0, np.float64(1.0)), ValueError, "m0 must have a last axis"),
    "vector factor": (lambda: replaced(1, lambda a: a[0, 0]), ValueError, "L0 must have shape"),
    "non-square factor": (lambda: replaced(3, lambda a: a[..., :2]), ValueError, "L1 must be"),
    "k differs": (lambda: replaced(2, lambda a: a[..., :2]), ValueError, "shapes do not match"),
    "batches differ": (
        lambda: replaced(0, lambda a: a[:2]),
        ValueError,
        "batch shapes do not broadcast",
    ),
    "zero on a diagonal": (
        lambda: replaced(1, lambda a: a * np.where(np.eye(3) * (np.arange(3) == 1), 0.0, 1.0)),
        ValueError,
        "L0 must have a positive diagonal (a Cholesky factor): L0[0, 1, 1] = 0.0",
    ),
    "-0 on a diagonal": (
        lambda: replaced(3, lambda a: np.where(np.eye(3, dtype=bool), -0.0, a)),
        ValueError,
        "L1 must have a positive diagonal (a Cholesky factor): L1[0, 0, 0] = -0.0",
    ),
    "a negative diagonal": (
        lambda: replaced(3, lambda a: a * np.where(np.eye(3), -1.0, 1.0)),
        ValueError,
        "L1 must have a positive diagonal (a Cholesky factor): L1[0, 0, 0] = -",
    ),
    "-inf on a diagonal": (
        lambda: replaced(1, lambda a: np.where(np.eye(3, dtype=bool), -np.inf, a)),
        ValueError,
        "L0 must have a positive diagonal (a Cholesky factor): L0[0, 0, 0] = -inf",
    ),
}


def results_of(name, got):
    return (got, None) if name == "value" else (None, got) if name == "grad" else got


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("case", ANSWERS)
def test_inputs_give_the_right_answer(case, function):
    args = ANSWERS[case]()
    kl, grads = results_of(function, FUNCTIONS[function](*args))
    check(args, kl, grads)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("case", ERRORS)
def test_bad_inputs_raise_one_clear_error(case, function):
    build, kind, message = ERRORS[case]
    with pytest.raises(kind) as info:
        FUNCTIONS[function](*build())
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def fresh_outs(dtype=np.float64):
    """(kl, dm0, dL0, dm1, dL1) for problem(), filled with 7.0 so that any write shows."""
    return [np.full(4, 7.0, dtype), *(np.full(a.shape, 7.0, dtype) for a in problem())]


def with_out(i, value):
    out = fresh_outs()
    out[i] = value(out) if callable(value) else value
    return problem(), out


def gradient_inside_input(i, j):
    args, out = problem(), fresh_outs()
    out[i] = args[j]
    return args, out


OUT_ANSWERS = {
    "tuple": lambda: (problem(), tuple(fresh_outs())),
    "list": lambda: (problem(), fresh_outs()),
    "float32": lambda: (problem(dtype=np.float32), tuple(fresh_outs(np.float32))),
    "disjoint slices of one buffer": lambda: (
        problem(),
        (lambda b: [b[:4], b[4:16].reshape(4, 3), b[16:52].reshape(4, 3, 3)])(np.zeros(100))
        + (lambda b: [b[:12].reshape(4, 3), b[12:48].reshape(4, 3, 3)])(np.zeros(48)),
    ),
    "empty batch": lambda: (
        problem(shape=(0,)),
        [np.empty(0), np.empty((0, 3)), np.empty((0, 3, 3)), np.empty((0, 3)), np.empty((0, 3, 3))],
    ),
}

OUT_ERRORS = {
    "one short": (lambda: (problem(), fresh_outs()[:-1]), ValueError, "out must be a tuple of 5"),
    "one array": (lambda: (problem(), np.empty(4)), ValueError, "out must be a tuple of 5"),
    "None entry": (lambda: with_out(3, None), TypeError, "out[3] (dm1) must be a numpy array"),
    "list entry": (
        lambda: with_out(1, np.zeros((4, 3)).tolist()),
        TypeError,
        "out[1] (dm0) must be a numpy array, got list",
    ),
    "masked entry": (
        lambda: with_out(2, lambda o: np.ma.masked_array(o[2], False)),
        TypeError,
        "out[2] (dL0) is a masked array",
    ),
    "wrong shape last": (
        lambda: with_out(4, np.empty((2, 2))),
        ValueError,
        "out[4] (dL1) must have shape (4, 3, 3) and dtype float64",
    ),
    "wrong shape in the middle": (
        lambda: with_out(3, np.empty((4, 4))),
        ValueError,
        "out[3] (dm1) must have shape (4, 3)",
    ),
    "wrong dtype": (
        lambda: with_out(0, np.empty(4, np.float32)),
        ValueError,
        "out[0] (the KL) must have shape (4,) and dtype float64",
    ),
    "read-only": (
        lambda: with_out(2, lambda o: read_only(o[2])),
        ValueError,
        "out[2] (dL0) must be a writeable C-contiguous array",
    ),
    "non-contiguous": (
        lambda: with_out(1, np.empty((4, 6))[:, ::2]),
        ValueError,
        "out[1] (dm0) must be a writeable C-contiguous array",
    ),
    "dm0 and dm1 one buffer": (
        lambda: with_out(3, lambda o: o[1]),
        ValueError,
        "out[1] (dm0) and out[3] (dm1) overlap",
    ),
    "dL0 and dL1 one buffer": (
        lambda: with_out(4, lambda o: o[2]),
        ValueError,
        "out[2] (dL0) and out[4] (dL1) overlap",
    ),
    "KL inside dL0": (
        lambda: with_out(0, lambda o: o[2].reshape(-1)[:4]),
        ValueError,
        "out[0] (the KL) and out[2] (dL0) overlap",
    ),
    "dm0 is the input m0": (
        lambda: gradient_inside_input(1, 0),
        ValueError,
        "out[1] (dm0) overlaps the input m0",
    ),
    "dL1 is the input L1": (
        lambda: gradient_inside_input(4, 3),
        ValueError,
        "out[4] (dL1) overlaps the input L1",
    ),
}


@pytest.mark.parametrize("case", OUT_ANSWERS)
def test_out_buffers_are_written_and_returned(case):
    args, out = OUT_ANSWERS[case]()
    kl, grads = kl_mvn_cholesky_value_and_grad(*args, out=out)
    assert kl is out[0] and all(g is o for g, o in zip(grads, out[1:], strict=True))
    check(args, kl, list(grads))


@pytest.mark.parametrize("case", OUT_ERRORS)
def test_bad_out_buffers_are_refused_before_any_write(case):
    build, kind, message = OUT_ERRORS[case]
    args, out = build()
    before = [np.array(o) if isinstance(o, np.ndarray) else None for o in out]
    with pytest.raises(kind) as info:
        kl_mvn_cholesky_value_and_grad(*args, out=out)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert all(b is None or np.array_equal(o, b) for o, b in zip(out, before, strict=False))


# --- special values -------------------------------------------------------------------------

BASE = (
    [0.5, -0.3, 0.2],
    [[1.2, 0, 0], [0.3, 0.8, 0], [-0.4, 0.0, 1.5]],
    [-0.1, 0.4, 0.0],
    [[0.9, 0, 0], [-0.2, 1.1, 0], [0.5, 0.0, 0.7]],
)
# Entries that take each special value: two of each mean, a zero and a nonzero entry below
# each factor's diagonal and two diagonal entries.
POSITIONS = {
    0: [(0,), (2,)],
    1: [(1, 0), (2, 1), (0, 0), (2, 2)],
    2: [(0,), (1,)],
    3: [(1, 0), (2, 1), (0, 0), (1, 1)],
}
VALUES = ["+0", "-0", "+inf", "-inf", "nan", "+max", "-max"]
HUGE = [mpmath.mpf(10) ** 350, mpmath.mpf(10) ** 700]


def special_input(value, dtype):
    info = np.finfo(dtype)
    named = {"+0": 0.0, "-0": -0.0, "+max": info.max, "-max": -info.max}
    return dtype(named[value] if value in named else float(value))


def limit_kl(argument, index, value, dtype):
    """The KL's expected value: the limit of the exact KL (mpmath at +-1e350 and +-1e700:
    +inf when both are beyond the largest float or the second is 1.5 times the first, as
    a logarithm grows, the value when they agree, else NaN) for
    an infinity, NaN for a NaN, the exact value (+inf beyond the largest float) else."""
    point = [np.array(b, dtype=dtype).astype(np.float64).tolist() for b in BASE]
    largest = mpmath.mpf(float(np.finfo(dtype).max))
    if value == "nan":
        return ("nan",)
    if value.endswith("inf"):
        sign = -1 if value[0] == "-" else 1
        found = []
        for huge in HUGE:
            _set(point[argument], index, sign * huge)
            found.append(exact(*point, dps=1600)[0])
        a, b = found
        if (a > largest and b > largest) or b >= 1.5 * a > 0:  # beyond, or growing (ln)
            return ("inf",)
        return ("finite", b) if abs(a - b) <= 1e-30 * abs(b) else ("nan",)
    _set(point[argument], index, float(special_input(value, dtype)))
    kl = exact(*point)[0]
    return ("inf",) if kl > largest else ("finite", kl)


def _set(nested, index, value):
    for i in index[:-1]:
        nested = nested[i]
    nested[index[-1]] = value


def special_cases():
    return [
        (argument, index, value)
        for argument, positions in POSITIONS.items()
        for index in positions
        for value in VALUES
        if not (len(index) == 2 and index[0] == index[1] and value in ("+0", "-0", "-inf", "-max"))
    ]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the documented results come quietly
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
def test_special_values_give_the_documented_results(dtype):
    """KL: the mpmath limit (NaN for NaN); gradients depending on a NaN or infinite
    argument NaN (0 above the diagonals), the others exactly as without it (within the
    accuracy bound of mpmath's value at the base point); finite special values (+-0,
    +-max off the diagonals) the exact KL (+inf beyond the largest float), and for +-0
    the exact gradients (those of +-max cancel between terms near max^2, beyond any
    float's resolution)."""
    base = [np.array(b, dtype) for b in BASE]
    clean = exact(*[b.astype(np.float64).tolist() for b in base])
    wrong = []
    for argument, index, value in special_cases():
        args = [b.copy() for b in base]
        args[argument][index] = special_input(value, dtype)
        with np.errstate(all="ignore"):
            kl, grads = kl_mvn_cholesky_value_and_grad(*args)
        want = limit_kl(argument, index, value, dtype)
        label = f"{NAMES[argument]}{list(index)} = {value}"
        if not _kl_matches(kl, want, dtype):
            wrong.append(f"{label}: KL = {kl}, want {want}")
        for name, got, clean_grad in zip(DEPENDS, grads, clean[1:5], strict=True):
            wrong += _gradient_problems(label, name, got, argument, value, clean_grad, args)
    assert not wrong, "\n".join(wrong)


def _kl_matches(kl, want, dtype):
    if want[0] == "nan":
        return bool(np.isnan(kl))
    if want[0] == "inf":
        return kl == np.inf
    return np.isclose(float(kl), float(want[1]), rtol=1e-5 if dtype == np.float32 else 1e-12)


def _gradient_problems(label, name, got, argument, value, clean_grad, args):
    problems = []
    if got.ndim == 2 and np.any(np.triu(got, 1) != 0):
        problems.append(f"{label}: {name} nonzero above the diagonal")
    key = "m" if NAMES[argument].startswith("m") else NAMES[argument]
    if value in ("nan", "+inf", "-inf") and key in DEPENDS[name].split():
        lower = np.tril(np.ones(got.shape, bool)) if got.ndim == 2 else np.ones(got.shape, bool)
        if not np.all(np.isnan(got[lower])):
            problems.append(f"{label}: {name} = {got}, want NaN")
        return problems
    if value.endswith("max"):  # gradient entries cancel between terms near max^2
        return problems
    if value in ("nan", "+inf", "-inf"):
        want = as_float(clean_grad, np.float64)
    else:
        point = [a.astype(np.float64).tolist() for a in args]
        want = as_float(exact(*point)[1 + list(DEPENDS).index(name)], np.float64)
    rtol = 1e-5 if got.dtype == np.float32 else 1e-11
    if not np.allclose(got, want.astype(got.dtype), rtol=rtol, atol=rtol, equal_nan=True):
        problems.append(f"{label}: {name} = {got}, want {want}")
    return problems


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the documented results come quietly
def test_scaling_every_argument_leaves_the_kl_unchanged():
    """KL(s m0, s L0, s m1, s L1) = KL(m0, L0, m1, L1) for s from subnormal to huge."""
    args = problem(3)
    want, _ = expected(args)
    for s in (2.0**-1040, 1e-300, 1e-160, 1e160, 1e300):
        kl, grads = kl_mvn_cholesky_value_and_grad(*(a * s for a in args))
        np.testing.assert_allclose(kl, want, rtol=1e-9, err_msg=f"scale {s}")
        assert all(np.all(np.isfinite(g) | (s < 1e-300)) for g in grads)


# KLs between half the largest float and the largest, where one term's double would overflow:
# z^2 (|m1 - m0| > 2^512 over L1) and e^2t (L0 / L1 > e^354.9 on a diagonal), k = 1 and 2.
NEAR_THE_TOP = {
    "z^2 over the largest float": ([0.0], [[1.0]], [1.6e154], [[1.0]]),
    "e^2t over the largest float": ([0.0], [[math.exp(355.0)]], [0.0], [[1.0]]),
    "both, k = 2": ([0.0, 0.0], [[1.0, 0.0], [0.0, math.exp(354.8)]], [1e154, 0.0], np.eye(2)),
}


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("case", NEAR_THE_TOP)
def test_a_kl_below_the_largest_float_is_finite_though_a_term_doubled_is_not(case):
    m0, L0, m1, L1 = (np.array(a, np.float64) for a in NEAR_THE_TOP[case])
    want = exact(m0.tolist(), L0.tolist(), m1.tolist(), L1.tolist())[0]
    assert np.finfo(np.float64).max / 2 < want < np.finfo(np.float64).max
    for kl in (kl_mvn_cholesky(m0, L0, m1, L1), kl_mvn_cholesky_value_and_grad(m0, L0, m1, L1)[0]):
        assert abs(mpmath.mpf(float(kl)) - want) <= 4 * np.spacing(float(want)), (kl, want)


# --- accuracy ---------------------------------------------------------------------------------

BOUND = 16  # the docstring's: |error| <= 16 k kappa 2^-52 s + half an ulp of the result type


def skeel(L):
    """Skeel's condition number || |L^-1| |L| ||_inf of a lower-triangular L (float64)."""
    L = np.tril(L.astype(np.float64))
    return float(np.max(np.abs(np.linalg.inv(L)) @ np.abs(L) @ np.ones(len(L))))


def accuracy_cases(seed, n):
    """n (m0, L0, m1, L1) points: k from 1 to 8, factors with condition numbers up to
    1e10, a third with q and p unrelated, a third with L0 = L1 (1 + tiny noise), a third
    with L0 = L1 and m0 near m1."""
    rng = np.random.default_rng(seed)
    for trial in range(n):
        k = int(rng.integers(1, 9))
        spread = np.log(10 ** rng.uniform(0, 10))

        def factor(k=k, spread=spread):
            below = np.tril(rng.normal(size=(k, k)), -1) * rng.choice([0.1, 1.0, 3.0])
            return below + np.diag(np.exp(rng.uniform(-spread, spread, k)))

        L1, m1 = factor(), rng.normal(size=k)
        if trial % 3 == 0:
            yield rng.normal(size=k), factor(), m1, L1
        elif trial % 3 == 1:
            noise = 10 ** rng.uniform(-14, -6) * rng.normal(size=(k, k))
            yield m1 * (1 + 1e-12 * rng.normal(size=k)), L1 * (1 + noise), m1, L1
        else:
            yield m1 + 10 ** rng.uniform(-12, 0) * rng.normal(size=k), L1.copy(), m1, L1


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the documented results come quietly
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
def test_the_kl_is_within_the_stated_bound(dtype):
    worst = 0.0
    for point in accuracy_cases(seed=7, n=90):
        args = [a.astype(dtype) for a in point]
        kl = kl_mvn_cholesky(*args)
        value, *_, scale = exact(*(a.astype(np.float64).tolist() for a in args))
        if value > np.finfo(dtype).max:
            assert kl == np.inf
            continue
        k = len(point[0])
        allowed = BOUND * k * skeel(args[3]) * 2.0**-52 * scale
        allowed += float(np.finfo(dtype).eps) / 2 * value
        error = abs(mpmath.mpf(float(kl)) - value)
        worst = max(worst, float(error / allowed) if allowed else float(error) * np.inf)
    assert worst <= 1, f"worst error {worst} times the bound"


def test_q_close_to_p_keeps_its_digits():
    """L0 = L1 (1 + 1e-12 noise): KL ~ 1e-24, from N ~ 1e-12; within 1e-13 relative."""
    rng = np.random.default_rng(2)
    for _ in range(10):
        L1 = factor(rng, 5)
        L0 = L1 * (1 + 1e-12 * rng.normal(size=(5, 5)))
        m = rng.normal(size=5)
        kl = kl_mvn_cholesky(m, L0, m, L1)
        want = exact(m.tolist(), L0.tolist(), m.tolist(), L1.tolist())[0]
        assert abs(kl - want) <= 1e-13 * want, (kl, want)
