"""The generated kernels against SymPy, finite differences, and on bad input."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from kernels import BACKENDS, kernels, namespace

from klgen.derive.specs import SPECS

SHAPES = [(5,), (4, 3), (2, 3, 4), (1, 1)]


def random_inputs(spec, shape, rng, dtype=np.float64):
    """Means in N(0, 1), log-variances in U(-3, 3): the range a VAE's encoder produces."""
    return [
        (rng.normal(size=shape) if name.startswith("mu") else rng.uniform(-3, 3, shape)).astype(
            dtype
        )
        for name in spec.arg_names
    ]


def sympy_oracle(spec):
    """The spec's term and gradients as plain numpy functions (the unoptimised expressions)."""
    term = sp.lambdify(spec.args, spec.term, "numpy")
    grads = [sp.lambdify(spec.args, g, "numpy") for g in spec.gradients]
    return term, grads


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_sympy_lambdify(backend, spec, shape):
    rng = np.random.default_rng(1)
    args = random_inputs(spec, shape, rng)
    value, grad, value_and_grad = kernels(spec.name, backend)
    term, grads = sympy_oracle(spec)
    expected_kl = np.sum(term(*args), axis=-1)
    expected_grads = [np.broadcast_to(g(*args), shape) for g in grads]
    # Inputs are moderate, so the naive oracle is accurate to a few ulps of the largest term.
    np.testing.assert_allclose(value(*args), expected_kl, rtol=1e-12, atol=1e-14)
    for got, want in zip(grad(*args), expected_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    kl, fused = value_and_grad(*args)
    # The fused kernel groups some sums differently (shared subexpressions); where terms
    # partly cancel that differs by a few ulps of the largest term. Both matched SymPy above.
    np.testing.assert_allclose(kl, value(*args), rtol=1e-13, atol=1e-15)
    for a, b in zip(fused, grad(*args), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def central_difference(f, args, i, h=1e-5):
    """d sum(f(args)) / d args[i], element by element, by central differences."""
    x = args[i]
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = [a.copy() for a in args], [a.copy() for a in args]
        plus[i][index] += h
        minus[i][index] -= h
        out[index] = (np.sum(f(*plus)) - np.sum(f(*minus))) / (2 * h)
    return out


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_match_central_differences(backend, spec, shape):
    rng = np.random.default_rng(2)
    args = random_inputs(spec, shape, rng)
    value, grad, _ = kernels(spec.name, backend)
    # h = 1e-5: truncation error h**2/6 * |f'''| <= 1e-10 * e**3 / 6 ~ 4e-10, rounding error
    # eps * |sum f| / h ~ 1e-16 * 100 / 1e-5 = 1e-9; 1e-7 leaves margin for both.
    for i, analytic in enumerate(grad(*args)):
        numeric = central_difference(value, args, i)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_broadcast_prior_gradients_are_summed_over_the_batch(backend):
    k = namespace(backend)
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(6, 4)), rng.uniform(-2, 2, (6, 4))
    mu_p, logvar_p = rng.normal(size=4), rng.uniform(-1, 1, 4)
    grads = k.kl_diag_normal_grad(mu, logvar, mu_p, logvar_p)
    full = k.kl_diag_normal_grad(mu, logvar, *np.broadcast_arrays(mu_p, logvar_p, mu)[:2])
    assert [g.shape for g in grads] == [(6, 4), (6, 4), (4,), (4,)]
    np.testing.assert_allclose(grads[2], full[2].sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(grads[3], full[3].sum(axis=0), rtol=1e-13)
    for i in (2, 3):
        numeric = central_difference(k.kl_diag_normal, [mu, logvar, mu_p, logvar_p], i)
        np.testing.assert_allclose(grads[i], numeric, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_gradients_of_broadcast_priors_are_summed_before_they_are_rounded(backend):
    """A prior broadcast over 4096 rows: its float32 gradient is the rows' gradients summed
    in float64 and rounded once. Bound: half an ulp of the result plus the rows' own
    roundings, c 2^-24 sum |g_i| (c = 1 for numpy's float64 rows rounded once, 4 for numba's
    float32 loops, within 2 ulps each). Summed in float32: 18.6 and 48.9 of those units (24
    and 29 ulps)."""
    k = namespace(backend)
    rng = np.random.default_rng(5)
    mu, logvar = rng.normal(size=(4096, 8)), rng.uniform(-2, 2, (4096, 8))
    mu_p, logvar_p = rng.normal(size=8), rng.uniform(-1, 1, 8)
    args = [a.astype(np.float32) for a in (mu, logvar, mu_p, logvar_p)]
    got = k.kl_diag_normal_grad(*args)
    wide = [a.astype(np.float64) for a in args]
    exact = k.kl_diag_normal_grad(*wide)
    rows = k.kl_diag_normal_grad(*np.broadcast_arrays(*wide))
    c = 1 if backend == "numpy" else 4
    for i in (2, 3):
        assert got[i].dtype == np.float32 and got[i].shape == (8,)
        ulp = np.spacing(np.abs(exact[i]).astype(np.float32)).astype(np.float64)
        bound = 0.5 * ulp + c * 2.0**-24 * np.abs(rows[i]).sum(axis=0)
        assert np.all(np.abs(got[i] - exact[i]) <= bound)


@pytest.mark.parametrize("backend", BACKENDS)
def test_std_normal_is_diag_normal_with_zero_prior_on_blocks_of_rows(backend):
    k = namespace(backend)
    rng = np.random.default_rng(4)
    # More rows than one block holds, so the row-block loop runs several times.
    mu, logvar = rng.normal(size=(3000, 20)), rng.uniform(-3, 3, (3000, 20))
    zero = np.zeros(20)
    np.testing.assert_allclose(
        k.kl_std_normal(mu, logvar), k.kl_diag_normal(mu, logvar, zero, zero)
    )
    naive = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)
    np.testing.assert_allclose(k.kl_std_normal(mu, logvar), naive, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_buffers_are_filled_and_returned(backend):
    k = namespace(backend)
    rng = np.random.default_rng(5)
    mu, logvar = rng.normal(size=(7, 3)).astype(np.float32), np.zeros((7, 3), np.float32)
    out = (np.empty(7, np.float32), np.empty((7, 3), np.float32), np.empty((7, 3), np.float32))
    kl, (dmu, dlogvar) = k.kl_std_normal_value_and_grad(mu, logvar, out=out)
    assert kl is out[0] and dmu is out[1] and dlogvar is out[2]
    np.testing.assert_array_equal(kl, k.kl_std_normal(mu, logvar))
    np.testing.assert_array_equal(dlogvar, k.kl_std_normal_grad(mu, logvar)[1])


def read_only(array):
    array.flags.writeable = False
    return array


@pytest.mark.parametrize(
    "out, message",
    [
        ((np.empty(7), np.empty((7, 3))), "tuple of 3"),
        ((np.empty(6), np.empty((7, 3)), np.empty((7, 3))), r"out\[0\].*shape \(7,\)"),
        ((np.empty(7), np.empty((7, 3), np.float32), np.empty((7, 3))), r"out\[1\].*float64"),
        ((np.empty(7), np.empty((3, 7)).T, np.empty((7, 3))), "C-contiguous"),
        ((np.empty(7), np.empty((7, 3)), read_only(np.empty((7, 3)))), "writeable"),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_out_buffers_are_refused(backend, out, message):
    k = namespace(backend)
    with pytest.raises(ValueError, match=message):
        k.kl_std_normal_value_and_grad(np.zeros((7, 3)), np.zeros((7, 3)), out=out)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_overlapping_an_input_is_refused(backend):
    k = namespace(backend)
    mu, logvar = np.zeros((7, 3)), np.zeros((7, 3))
    with pytest.raises(ValueError, match="overlaps the input mu"):
        k.kl_std_normal_value_and_grad(mu, logvar, out=(np.empty(7), mu, np.empty((7, 3))))


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex128, object, np.float16])
@pytest.mark.parametrize("backend", BACKENDS)
def test_non_float_inputs_raise_type_error_naming_the_argument(backend, dtype):
    k = namespace(backend)
    good = np.zeros((2, 3))
    bad = np.zeros((2, 3), dtype=dtype)
    with pytest.raises(TypeError, match="logvar must be a float32 or float64 array"):
        k.kl_std_normal(good, bad)
    with pytest.raises(TypeError, match="mu_p must be"):
        k.kl_diag_normal_grad(good, good, bad, good)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shape_mismatch_names_both_arguments_and_shapes(backend):
    k = namespace(backend)
    with pytest.raises(ValueError, match=r"mu has shape \(2, 3\), logvar has shape \(2, 4\)"):
        k.kl_std_normal_grad(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"mu has shape \(5,\), logvar_p has shape \(4,\)"):
        k.kl_diag_normal(np.zeros(5), np.zeros(5), np.zeros(5), np.zeros(4))


@pytest.mark.parametrize("backend", BACKENDS)
def test_scalar_input_needs_a_latent_axis(backend):
    k = namespace(backend)
    with pytest.raises(ValueError, match="mu must have a last axis"):
        k.kl_std_normal(0.5, [0.1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_lists_floats_empty_batches_and_nan_rows(backend):
    k = namespace(backend)
    assert k.kl_std_normal([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert k.kl_std_normal(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)
    kl, (dmu, dlogvar) = k.kl_std_normal_value_and_grad(np.zeros((0, 4)), np.zeros((0, 4)))
    assert kl.shape == (0,) and dmu.shape == dlogvar.shape == (0, 4)
    for dtype in (np.float32, np.float64):  # no latent dimensions: every row's KL is 0
        empty = np.zeros((3, 0), dtype)
        kl, (dmu, dlogvar) = k.kl_std_normal_value_and_grad(empty, empty)
        assert kl.tolist() == [0.0] * 3 and kl.dtype == dtype and dmu.shape == (3, 0)
    mu = np.zeros((3, 2))
    mu[1, 0] = np.nan
    kl = k.kl_std_normal(mu, np.zeros((3, 2)))
    assert np.isnan(kl[1]) and np.all(kl[[0, 2]] == 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_float_types_promote_like_numpy(backend):
    k = namespace(backend)
    kl = k.kl_std_normal(np.zeros(3, np.float32), np.zeros(3, np.float64))
    assert kl.dtype == np.float64


finite = dict(allow_nan=False, allow_infinity=False)
rows = st.tuples(st.integers(1, 5), st.integers(1, 6))


@st.composite
def gaussian_pairs(draw, dtype=np.float64):
    shape = draw(rows)
    mus = arrays(dtype, shape, elements=st.floats(-50, 50, width=64, **finite))
    logvars = arrays(dtype, shape, elements=st.floats(-30, 30, width=64, **finite))
    return draw(mus), draw(logvars), draw(mus), draw(logvars)


@settings(max_examples=200, deadline=None)
@given(gaussian_pairs())
@pytest.mark.parametrize("backend", BACKENDS)
def test_kl_is_never_negative(backend, args):
    k = namespace(backend)
    mu, logvar, mu_p, logvar_p = args
    assert np.all(k.kl_std_normal(mu, logvar) >= 0)
    assert np.all(k.kl_diag_normal(mu, logvar, mu_p, logvar_p) >= 0)


@settings(max_examples=200, deadline=None)
@given(gaussian_pairs())
@pytest.mark.parametrize("backend", BACKENDS)
def test_kl_is_exactly_zero_when_q_equals_p(backend, args):
    k = namespace(backend)
    mu, logvar, _, _ = args
    assert np.all(k.kl_diag_normal(mu, logvar, mu, logvar) == 0)
    grads = k.kl_diag_normal_grad(mu, logvar, mu, logvar)
    assert all(np.all(g == 0) for g in grads)
    assert np.all(k.kl_std_normal(np.zeros_like(mu), np.zeros_like(logvar)) == 0)


@settings(max_examples=200, deadline=None)
@given(gaussian_pairs())
@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_is_close_to_float64(backend, args):
    k = namespace(backend)
    args32 = [a.astype(np.float32) for a in args]
    args64 = [a.astype(np.float64) for a in args32]  # the same inputs, exactly
    eps = np.finfo(np.float32).eps
    std32, std64 = k.kl_std_normal(*args32[:2]), k.kl_std_normal(*args64[:2])
    assert std32.dtype == np.float32
    # A row sums at most 6 terms, each within a few float32 ulps.
    np.testing.assert_allclose(std32, std64, rtol=16 * eps, atol=1e-30)
    diag32, diag64 = k.kl_diag_normal(*args32), k.kl_diag_normal(*args64)
    # exp(logvar - logvar_p) has condition number |logvar - logvar_p|: rounding the float32
    # difference costs that many ulps more, in any float32 evaluation.
    spread = np.max(np.abs(args64[1] - args64[3]), axis=-1)
    assert np.all(np.abs(diag32 - diag64) <= 16 * eps * (1 + spread) * diag64 + 1e-30)


@settings(max_examples=100, deadline=None)
@given(gaussian_pairs())
@pytest.mark.parametrize("backend", BACKENDS)
def test_diag_normal_with_standard_prior_equals_std_normal(backend, args):
    k = namespace(backend)
    mu, logvar, _, _ = args
    zero = np.zeros(mu.shape[-1])
    np.testing.assert_allclose(
        k.kl_diag_normal(mu, logvar, zero, zero), k.kl_std_normal(mu, logvar), rtol=1e-14, atol=0
    )


@pytest.mark.parametrize("backend", ["numba"])
def test_threaded_rows_give_the_same_results(backend, monkeypatch):
    """Large inputs are split over the shared thread pool (threshold lowered to hit it).
    The compiled kernels only: the numpy blocks run on one thread (a second one waits for
    the GIL between their ufunc calls; test_numpy_blocks_use_one_thread)."""
    import klgen.generated._runtime as runtime

    k = namespace(backend)
    rng = np.random.default_rng(6)
    args = [rng.normal(size=(900, 20)), rng.uniform(-3, 3, (900, 20)), rng.normal(size=20)]
    args.append(rng.uniform(-1, 1, 20))
    whole = k.kl_diag_normal_value_and_grad(*args)
    calls, submit = [], ThreadPoolExecutor.submit

    def counted(*a):
        calls.append(1)
        return submit(*a)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    monkeypatch.setattr(runtime, "THREADED_ELEMENTS", 1)
    monkeypatch.setattr(runtime, "NUM_THREADS", 2)
    threaded = k.kl_diag_normal_value_and_grad(*args)
    assert len(calls) == 2
    np.testing.assert_array_equal(threaded[0], whole[0])
    for got, want in zip(threaded[1], whole[1], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


def test_numpy_blocks_use_one_thread(monkeypatch):
    """However large the input and however many threads are allowed, the numpy kernels
    submit nothing to the pool, and their blocks give the results of one block (to the last
    bit with today's numpy; numpy 2.0.0's ufunc loops round a short last block's entries an
    ulp apart at most, so 1 ulp is the bound)."""
    import klgen.generated._runtime as runtime

    k = namespace("numpy")
    rng = np.random.default_rng(6)
    args = [rng.normal(size=(900, 20)), rng.uniform(-3, 3, (900, 20)), rng.normal(size=20)]
    args.append(rng.uniform(-1, 1, 20))
    whole = k.kl_diag_normal_value_and_grad(*args)
    calls, submit = [], ThreadPoolExecutor.submit

    def counted(*a):
        calls.append(1)
        return submit(*a)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    monkeypatch.setattr(runtime, "THREADED_ELEMENTS", 1)
    monkeypatch.setattr(runtime, "NUM_THREADS", 2)
    monkeypatch.setattr(runtime, "BLOCK_ELEMENTS", 20 * 7)  # 7 rows a block, the last short
    blocked = k.kl_diag_normal_value_and_grad(*args)
    assert not calls
    for got, want in zip([blocked[0], *blocked[1]], [whole[0], *whole[1]], strict=True):
        np.testing.assert_array_max_ulp(got, want, maxulp=1)


def test_numpy_work_arrays_are_per_thread():
    """The numpy blocks keep their work array between calls, one per thread: float32
    calls of different shapes from two threads at once give what each gives alone, and a
    result is never a view of the work array (a later call leaves it as it was)."""
    k = namespace("numpy")
    rng = np.random.default_rng(7)
    cases = [
        [rng.normal(size=(rows, 64)).astype(np.float32) for _ in range(4)] for rows in (300, 700)
    ]
    alone = [k.kl_diag_normal_value_and_grad(*args) for args in cases]
    kept = [np.copy(alone[0][0]), *(np.copy(g) for g in alone[0][1])]
    with ThreadPoolExecutor(2) as pool:
        for _ in range(20):
            together = list(pool.map(lambda a: k.kl_diag_normal_value_and_grad(*a), cases))
            for got, want in zip(together, alone, strict=True):
                np.testing.assert_array_equal(got[0], want[0])
                for g, w in zip(got[1], want[1], strict=True):
                    np.testing.assert_array_equal(g, w)
    for got, want in zip([alone[0][0], *alone[0][1]], kept, strict=True):
        np.testing.assert_array_equal(got, want)
