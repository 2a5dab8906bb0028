"""Every generated kernel on Dask arrays chunked along the batch: lazy, one call of the
kernel's own numpy-array function per chunk (a graph of a few tasks per chunk), each result
equal to that function's on the whole arrays bit for bit; gradients of broadcast inputs
summed by Dask before they are rounded; bad inputs refused when the call is made."""

import importlib

import numpy as np
import pytest
from kernels import BACKENDS

from klgen.derive.package import kernel_modules

da = pytest.importorskip("dask.array", reason="dask is not installed (the test extra has it)")
dask = pytest.importorskip("dask")

# The kernels of rows (the last axis reduced, leading axes kept): every one but the
# full-covariance KL, whose rows are matrices, and the encoder gradient.
ELEMENTWISE = [m.name for m in kernel_modules() if m.name not in ("kl_mvn_cholesky",)]
ELEMENTWISE.remove("kl_std_normal_encoder")  # its weight gradients sum over the batch
SUFFIXES = ("", "_grad", "_value_and_grad")
ROWS, LATENT, CHUNK = 30, 6, 8  # chunks of 8, 8, 8 and 6 rows


def functions(name, backend):
    if backend == "numba":
        pytest.importorskip("numba", reason="numba (optional backend) is not installed")
    module = importlib.import_module(
        f"klgen.generated.{name}" + ("_numba" if backend == "numba" else "")
    )
    return [getattr(module, name + suffix) for suffix in SUFFIXES]


def arguments(f, seed=0):
    """One array per argument, in (0.05, 1): inside every kernel's domain (data in [0, 1])."""
    count = f.__code__.co_argcount
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.05, 1.0, (ROWS, LATENT)) for _ in range(count)]


def flatten(result):
    if isinstance(result, tuple):
        return [x for part in result for x in flatten(part)]
    return [result]


def graph_size(arrays):
    """The number of tasks in the graph of ``arrays`` together."""
    return len(dict(dask.array.core.HighLevelGraph.merge(*(a.dask for a in arrays))))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_a_kernel_on_dask_arrays_is_lazy_and_its_numpy_result_chunk_by_chunk(name, backend):
    for f in functions(name, backend):
        args = arguments(f)
        chunked = [da.from_array(a, chunks=(CHUNK, LATENT)) for a in args]
        lazy = flatten(f(*chunked))
        assert all(isinstance(x, da.Array) for x in lazy), f.__name__
        assert all(x.chunks[0] == (8, 8, 8, 6) for x in lazy), f.__name__
        # A few tasks per chunk of each input and output (kl_dirichlet's value was 60,880
        # tasks through the array-API formulas, and 136 s in Dask's graph optimisation).
        assert graph_size(lazy) <= 4 * 4 * (len(args) + len(lazy)), f.__name__
        got = dask.compute(*lazy, scheduler="sync")
        for g, n in zip(got, flatten(f(*args)), strict=True):
            assert g.dtype == n.dtype and g.tobytes() == n.tobytes(), f.__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_of_broadcast_inputs_are_summed_in_float64_then_rounded(backend, dtype):
    """mu (30, 6) in chunks, logvar (6,) broadcast over the rows: its gradient is the sum of
    30 rows, which Dask sums in float64 and rounds once (within half an ulp and a float64
    sum's rounding of the exact sum); the value is the kernel's on the whole arrays (numba's
    float32 loops compute in float32: there, its float64 value rounded once)."""
    (value, grad, value_and_grad) = functions("kl_diag_normal", backend)
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(ROWS, LATENT)), rng.normal(size=LATENT)
    mu_p, logvar_p = rng.normal(size=(1, LATENT)), rng.normal(size=(ROWS, 1))
    args = [a.astype(dtype) for a in (mu, logvar, mu_p, logvar_p)]
    chunked = [da.from_array(a, chunks=(CHUNK,) * (a.ndim - 1) + (-1,)) for a in args]
    got_value, got_grads = dask.compute(value_and_grad(*chunked), scheduler="sync")[0]
    value, _ = value_and_grad(*args)
    exact_value, exact = value_and_grad(*(a.astype(np.float64) for a in args))  # float64 sums
    if backend == "numpy" or dtype == np.float64:
        assert got_value.tobytes() == value.tobytes()
    else:  # numba's float32 loops were given the float64 inputs: its float64 value, rounded
        assert got_value.tobytes() == exact_value.astype(dtype).tobytes()
    alone = dask.compute(grad(*chunked), scheduler="sync")[0]
    for got, alone_got, want, arg in zip(got_grads, alone, exact, args, strict=True):
        assert got.shape == alone_got.shape == arg.shape and got.dtype == alone_got.dtype == dtype
        ulp = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
        tolerance = 0.5 if dtype == np.float32 else 64  # float64: the sums' own rounding
        assert np.all(np.abs(got - want) <= tolerance * ulp)
        assert np.all(np.abs(alone_got - want) <= tolerance * ulp)


@pytest.mark.parametrize("name", ["kl_std_normal", "kl_dirichlet", "kl_gamma"])
def test_bad_dask_inputs_are_refused_at_the_call_naming_the_argument(name):
    (value, _, value_and_grad) = functions(name, "numpy")
    args = [da.from_array(a, chunks=(CHUNK, LATENT)) for a in arguments(value)]
    names = value.__code__.co_varnames[: len(args)]
    with pytest.raises(TypeError, match=f"{names[1]} must be a float32 or float64 array"):
        value(args[0], *(a.astype(np.int64) for a in args[1:]))
    with pytest.raises(ValueError, match=names[0]):
        value(args[0][:, :5], *args[1:])  # shapes that do not broadcast
    unknown = args[0][args[0][:, 0] > 0.5]  # rows of unknown count
    with pytest.raises(ValueError, match=f"{names[0]} has chunks of unknown size"):
        value_and_grad(unknown, *args[1:])
    with pytest.raises(TypeError, match="out= is for numpy arrays"):
        value_and_grad(*args, out=())


class _Recorder:
    """Dask inputs that note which of their chunks were computed."""

    def __init__(self):
        self.computed = set()

    def chunked(self, label, array):
        def record(block, block_info=None):
            self.computed.add((label, block_info[0]["chunk-location"][0]))
            return block

        source = da.from_array(array, chunks=(CHUNK, LATENT))
        return source.map_blocks(record, dtype=array.dtype)


LOCALITY = ["kl_std_normal", "kl_diag_normal", "kl_laplace", "kl_gamma"]


@pytest.mark.parametrize("name", LOCALITY)
def test_one_output_chunk_computes_only_the_matching_input_chunks(name):
    (_, _, value_and_grad) = functions(name, "numpy")
    recorder = _Recorder()
    args = arguments(value_and_grad)
    lazy = value_and_grad(*(recorder.chunked(i, a) for i, a in enumerate(args)))
    assert recorder.computed == set()  # nothing before it is asked for
    value = lazy[0].blocks[2].compute(scheduler="sync")
    assert recorder.computed == {(i, 2) for i in range(len(args))}
    np.testing.assert_array_equal(value, lazy[0].compute(scheduler="sync")[16:24])


def test_kl_mvn_cholesky_on_dask_arrays_is_lazy_and_equal_to_numpy():
    from klgen.generated.kl_mvn_cholesky import kl_mvn_cholesky_value_and_grad

    rng = np.random.default_rng(1)
    k = 3
    factors = [np.tril(rng.normal(size=(ROWS, k, k)), -1) * 0.3 + np.eye(k) for _ in range(2)]
    args = [rng.normal(size=(ROWS, k)), factors[0], rng.normal(size=(ROWS, k)), factors[1]]
    chunked = [da.from_array(a, chunks=(CHUNK,) + a.shape[1:]) for a in args]
    lazy = flatten(kl_mvn_cholesky_value_and_grad(*chunked))
    assert all(isinstance(x, da.Array) and x.chunks[0] == (8, 8, 8, 6) for x in lazy)
    got = dask.compute(*lazy, scheduler="sync")
    for g, n in zip(got, flatten(kl_mvn_cholesky_value_and_grad(*args)), strict=True):
        np.testing.assert_allclose(g, n, rtol=1e-13, atol=1e-15)


def test_dask_and_numpy_inputs_together_are_refused_naming_both():
    from klgen.generated.kl_std_normal import kl_std_normal

    mu = da.zeros((4, 3), chunks=(2, 3))
    with pytest.raises(TypeError, match=r"mu \(dask Array\) and logvar \(numpy ndarray\)"):
        kl_std_normal(mu, np.zeros((4, 3)))
