"""Every generated kernel on other array libraries, through the array API, against numpy."""

import importlib
import inspect
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from kernels import BACKENDS, namespace

from klgen.derive.kernel import load_spec
from klgen.derive.userpkg import render_package

ROOT = Path(__file__).resolve().parent.parent

xps = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")

try:
    import torch
except ImportError:
    torch = None
    if os.environ.get("CI"):
        raise  # CI installs torch: the torch comparisons must run there


def libraries():
    """(name, to_array, to_numpy) for each library to run the kernels on."""
    found = [("array-api-strict", xps.asarray, np.asarray)]
    if torch is not None:
        found.append(("torch", torch.from_numpy, lambda t: t.numpy()))
    return found


LIBRARIES = libraries()
ids = [name for name, _, _ in LIBRARIES]


def inputs(shape_mu, shape_prior, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=shape_mu).astype(dtype),
        rng.uniform(-3, 3, shape_mu).astype(dtype),
        rng.normal(size=shape_prior).astype(dtype),
        rng.uniform(-1, 1, shape_prior).astype(dtype),
    ]


def test_torch_comparisons_run_or_say_why():
    if torch is None:
        pytest.skip("torch is not installed: torch comparisons skipped (CI installs it)")
    assert "torch" in ids


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("library", LIBRARIES, ids=ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("shapes", [((4, 3), (4, 3)), ((2, 5, 3), (3,)), ((6,), (6,))], ids=str)
def test_every_kernel_matches_numpy(backend, library, dtype, shapes):
    _, to_array, to_numpy = library
    k = namespace(backend)
    args = inputs(*shapes, dtype)
    foreign = [to_array(a) for a in args]
    cases = [
        (k.kl_std_normal, 2),
        (k.kl_std_normal_grad, 2),
        (k.kl_std_normal_value_and_grad, 2),
        (k.kl_diag_normal, 4),
        (k.kl_diag_normal_grad, 4),
        (k.kl_diag_normal_value_and_grad, 4),
    ]
    for f, n in cases:
        if n == 2 and shapes[0] != shapes[1]:
            continue
        want, got = f(*args[:n]), f(*foreign[:n])
        for w, g in zip(flatten(want), flatten(got), strict=True):
            assert type(g) is type(foreign[0]), f.__name__
            g = to_numpy(g)
            assert g.dtype == dtype and g.shape == w.shape, f.__name__
            # Same float64 formulas, grouped differently (blocks, fused multiply-adds): a few
            # float64 ulps apart, which may flip the final rounding to float32 by one ulp.
            # The numba backend computes float32 in float32: each within 4 ulps of the exact
            # value (test_accuracy), so within 8 of each other.
            rtol = 1e-13 if dtype == np.float64 else 2 * np.finfo(np.float32).eps
            if backend == "numba" and dtype == np.float32:
                rtol = 8 * np.finfo(np.float32).eps
            np.testing.assert_allclose(g, w, rtol=rtol, atol=0)


def flatten(result):
    if isinstance(result, tuple):
        return [x for part in result for x in flatten(part)]
    return [result]


@pytest.mark.parametrize("library", LIBRARIES, ids=ids)
def test_stable_where_the_naive_formula_is_not(library):
    _, to_array, to_numpy = library
    k = namespace("numpy")
    for lv in (1e-8, -1e-12, 709.9):
        mu, logvar = np.full((1, 1), 0.5), np.full((1, 1), lv)
        want = k.kl_std_normal_value_and_grad(mu, logvar)
        got = k.kl_std_normal_value_and_grad(to_array(mu), to_array(logvar))
        assert np.isfinite(to_numpy(got[0])).all()
        for w, g in zip(flatten(want), flatten(got), strict=True):
            np.testing.assert_allclose(to_numpy(g), w, rtol=4e-16, atol=0)


def test_bad_input_on_the_array_api_path_names_the_argument():
    k = namespace("numpy")
    good = xps.zeros((2, 3), dtype=xps.float64)
    with pytest.raises(TypeError, match="logvar must be a float32 or float64 array"):
        k.kl_std_normal(good, xps.zeros((2, 3), dtype=xps.int64))
    with pytest.raises(ValueError, match=r"mu has shape \(2, 3\), logvar has shape \(2, 4\)"):
        k.kl_std_normal_grad(good, xps.zeros((2, 4), dtype=xps.float64))
    with pytest.raises(TypeError, match="out= is for numpy arrays"):
        k.kl_std_normal_value_and_grad(good, good, out=(np.empty(2),))


def test_array_api_path_never_assigns_into_an_array(monkeypatch):
    """Immutable arrays (JAX) must work: the generic path builds results, never writes."""

    def forbidden(self, key, value):
        raise TypeError("item assignment into an immutable array")

    monkeypatch.setattr(type(xps.asarray(0.0)), "__setitem__", forbidden)
    k = namespace("numpy")
    mu, logvar, mu_p, logvar_p = (xps.asarray(a) for a in inputs((3, 4), (4,), np.float64))
    small = xps.asarray(np.full((3, 4), 1e-9))  # the series branch too
    for f, args in [
        (k.kl_std_normal_value_and_grad, (mu, small)),
        (k.kl_std_normal, (mu, logvar)),
        (k.kl_diag_normal_value_and_grad, (mu, logvar, mu_p, logvar_p)),
        (k.kl_diag_normal_grad, (mu, small, mu_p, logvar_p)),
    ]:
        f(*args)


# Users' kernels (klgen generate --spec): the array-API lines, printed from the same
# intermediate form as the numpy blocks, against those blocks. The kernels of every emitted
# function (specs/coverage.py) take half a minute to generate: they run with the slow tests.
SPECS = Path(__file__).resolve().parent / "specs"
SPEC_FILES = [SPECS / "edges.py", SPECS / "others.py", ROOT / "examples" / "kl_laplace.py"]
SPEC_FILES += [ROOT / "specs" / "gamma.py"]  # the Stirling helpers' array-API twins
USER_KERNELS = [
    pytest.param(path, k.name, id=k.name) for path in SPEC_FILES for k in load_spec(path)
]
USER_KERNELS += [
    pytest.param(SPECS / "coverage.py", k.name, id=k.name, marks=pytest.mark.slow)
    for k in load_spec(SPECS / "coverage.py")
]


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    """``user_module(spec path, kernel name)``: that kernel's numpy module, its spec file
    generated (once) into a package of its own and imported."""
    folder = tmp_path_factory.mktemp("users")
    packages = {}

    def module(path: Path, name: str):
        if path not in packages:
            packages[path] = f"spec_{len(packages)}"
            (folder / packages[path]).mkdir()
            for file, text in render_package(load_spec(path)).items():
                (folder / packages[path] / file).write_text(text)
        sys.path.insert(0, str(folder))
        try:
            return importlib.import_module(f"{packages[path]}.{name}")
        finally:
            sys.path.remove(str(folder))

    return module


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("library, to_array, to_numpy", LIBRARIES, ids=ids)
@pytest.mark.parametrize("path, name", USER_KERNELS)
def test_a_users_kernel_on_another_library_matches_numpy(
    user_module, path, name, library, to_array, to_numpy, dtype
):
    """Same formulas, float64 inside, results in the inputs' type; the last argument
    broadcast along the batch (its gradient summed back); NaN where numpy has NaN."""
    module = user_module(path, name)
    rng = np.random.default_rng(3)
    count = len(inspect.signature(getattr(module, name)).parameters)
    shapes = [(4, 6)] * (count - 1) + [(1, 6)]
    arrays = [rng.uniform(-2.0, 2.0, shape).astype(dtype) for shape in shapes]
    functions = (name, f"{name}_grad", f"{name}_value_and_grad")
    with np.errstate(all="ignore"):
        expected = [getattr(module, f)(*arrays) for f in functions]
    with np.errstate(all="ignore"):  # array-api-strict computes with numpy
        got = [getattr(module, f)(*[to_array(a) for a in arrays]) for f in functions]
    flat_expected = [expected[0], *expected[1], expected[2][0], *expected[2][1]]
    flat_got = [got[0], *got[1], got[2][0], *got[2][1]]
    # float64: the same operations in the same order, up to the helpers' own forms (a few
    # ulps); float32: both round the same float64 result once, but a few-ulp float64
    # difference can cross a float32 rounding boundary (one float32 ulp).
    rtol = 1e-13 if dtype == np.float64 else 2 * float(np.finfo(np.float32).eps)
    for want, have in zip(flat_expected, flat_got, strict=True):
        have = to_numpy(have)
        assert have.dtype == want.dtype and have.shape == want.shape
        np.testing.assert_allclose(have, want, rtol=rtol, atol=1e-300, equal_nan=True)


def test_out_is_refused_on_another_library(user_module):
    module = user_module(ROOT / "examples" / "kl_laplace.py", "kl_laplace")
    arrays = [xps.asarray(np.ones((2, 3))) for _ in range(4)]
    with pytest.raises(TypeError, match="out= is for numpy arrays"):
        module.kl_laplace_value_and_grad(*arrays, out=(np.empty(2),) + (np.empty((2, 3)),) * 4)
