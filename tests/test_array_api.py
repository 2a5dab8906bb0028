"""Every generated kernel on other array libraries, through the array API, against numpy."""

import os

import numpy as np
import pytest
from kernels import BACKENDS, namespace

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
