"""Every generated kernel on Dask arrays chunked along the batch: lazy, one task per chunk,
equal to the same kernel on whole arrays (the array-API path, array-api-strict) and to
numpy's within the float64 formulas' regrouping."""

import importlib

import numpy as np
import pytest
from kernels import BACKENDS

from klgen.derive.package import kernel_modules

da = pytest.importorskip("dask.array", reason="dask is not installed (the test extra has it)")
xps = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
dask = pytest.importorskip("dask")

# The kernels of rows (the last axis reduced, leading axes kept): every one but the
# full-covariance KL, whose rows are matrices, and the encoder gradient.
ELEMENTWISE = [m.name for m in kernel_modules() if m.name not in ("kl_mvn_cholesky",)]
ELEMENTWISE.remove("kl_std_normal_encoder")  # its weight gradients sum over the batch
SUFFIXES = ("", "_grad", "_value_and_grad")
ROWS, LATENT, CHUNK = 30, 6, 8  # chunks of 8, 8, 8 and 6 rows
# kl_gamma's and kl_beta's lgamma and psi are hundreds of array operations (a recurrence to
# 12, Stirling's series): Dask builds and schedules their graph for a minute here, so they run
# with the slow.
SLOW = {"kl_gamma", "kl_beta", "kl_categorical", "kl_laplace"}  # 2-3 s a case: CI's slow run
# kl_dirichlet's statistics and Stirling helpers on Dask: 60,880 tasks for a value of 4 chunks.
SLOW.add("kl_dirichlet")


def _marked(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


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


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", _marked(ELEMENTWISE))
def test_a_kernel_on_dask_arrays_is_lazy_and_equal_to_the_whole_array_result(name, backend):
    for f in functions(name, backend):
        args = arguments(f)
        chunked = [da.from_array(a, chunks=(CHUNK, LATENT)) for a in args]
        lazy = flatten(f(*chunked))
        assert all(isinstance(x, da.Array) for x in lazy), f.__name__
        assert all(x.chunks[0] == (8, 8, 8, 6) for x in lazy), f.__name__
        # Without Dask's graph optimisation, which is what takes the time of the slow kernels'
        # cases (kl_dirichlet's value: 60,880 tasks, 8 s to build, 6 s to compute, 136 s to
        # optimise): the results are the same tasks' either way.
        got = dask.compute(*lazy, scheduler="sync", optimize_graph=False)
        whole = flatten(f(*(xps.asarray(a) for a in args)))
        for g, w in zip(got, whole, strict=True):
            assert np.asarray(w).tobytes() == g.tobytes(), f.__name__  # the same formulas
        for g, n in zip(got, flatten(f(*args)), strict=True):
            np.testing.assert_allclose(g, n, rtol=1e-13, atol=1e-15, err_msg=f.__name__)


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


@pytest.mark.parametrize("name", _marked(LOCALITY))
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
