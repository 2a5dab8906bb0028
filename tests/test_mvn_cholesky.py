"""The full-covariance kernel kl_mvn_cholesky: its derivation, gradients, special cases,
input checks and array namespaces (numpy, array-api-strict, torch)."""

import dataclasses
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klgen.derive.derivations import ALL, DerivationError, check
from klgen.derive.derivations.cholesky import partial_derivatives_agree
from klgen.generated.kl_diag_normal import kl_diag_normal_value_and_grad
from klgen.generated.kl_mvn_cholesky import (
    kl_mvn_cholesky,
    kl_mvn_cholesky_grad,
    kl_mvn_cholesky_value_and_grad,
)

ROOT = Path(__file__).resolve().parent.parent


def factor(rng, shape, k, scale=0.3):
    """Random Cholesky factors: N(0, scale^2) below the diagonal, e^N(0, scale^2) on it."""
    below = np.tril(rng.normal(scale=scale, size=(*shape, k, k)), -1)
    return below + np.exp(rng.normal(scale=scale, size=(*shape, k)))[..., None] * np.eye(k)


def problem(k, shape=(3,), seed=0):
    rng = np.random.default_rng(seed)
    m0, m1 = rng.normal(size=(*shape, k)), rng.normal(size=(*shape, k))
    return m0, factor(rng, shape, k), m1, factor(rng, shape, k)


def reference(m0, L0, m1, L1):
    """The textbook closed form with explicit covariance matrices, in float64."""
    s0, s1 = L0 @ np.swapaxes(L0, -1, -2), L1 @ np.swapaxes(L1, -1, -2)
    d = (m1 - m0)[..., None]
    s1_inv = np.linalg.inv(s1)
    trace = np.trace(s1_inv @ s0, axis1=-2, axis2=-1)
    maha = (np.swapaxes(d, -1, -2) @ s1_inv @ d)[..., 0, 0]
    logdet = np.linalg.slogdet(s1)[1] - np.linalg.slogdet(s0)[1]
    return 0.5 * (trace + maha - m0.shape[-1] + logdet)


def exact_kl(m0, L0, m1, L1):
    """One KL in 50-digit arithmetic (mpmath), from the covariance matrices."""
    with mpmath.workdps(50):
        l0, l1 = mpmath.matrix(L0.tolist()), mpmath.matrix(L1.tolist())
        s0, s1 = l0 * l0.T, l1 * l1.T
        d = mpmath.matrix((m1 - m0).tolist())
        s1_inv = mpmath.inverse(s1)
        trace = sum((s1_inv * s0)[i, i] for i in range(len(m0)))
        maha = (d.T * s1_inv * d)[0, 0]
        log_ratio = mpmath.log(mpmath.det(s1)) - mpmath.log(mpmath.det(s0))
        return float((trace + maha - len(m0) + log_ratio) / 2)


@pytest.mark.slow  # 3 s
def test_derivation_catches_a_wrong_gradient():
    """(That the true derivation passes is test_derivations' test_every_step_passes_its_checks.)"""
    derivation = ALL["mvn_cholesky"]
    steps = list(derivation.steps)
    kl, dm0, dl0, dm1, dl1 = steps[-1].expr
    wrong = dataclasses.replace(steps[-1], expr=type(steps[-1].expr)(kl, dm0, 2 * dl0, dm1, dl1))
    broken = dataclasses.replace(derivation, steps=[*steps[:-1], wrong])
    with pytest.raises(DerivationError, match="mvn_cholesky', step 8"):
        check(broken)
    assert not partial_derivatives_agree(broken, n=2)


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_value_matches_the_textbook_closed_form(k):
    args = problem(k, shape=(4, 2), seed=k)
    np.testing.assert_allclose(kl_mvn_cholesky(*args), reference(*args), rtol=1e-10)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_every_gradient_matches_central_differences(k):
    """h = 1e-5: truncation ~h^2 |f'''| ~ 1e-10 and rounding ~eps |KL| / h ~ 1e-10, so 1e-7
    leaves margin yet catches any wrong term (gradient entries are O(0.1..10))."""
    args = problem(k, shape=(2,), seed=10 + k)
    grads = kl_mvn_cholesky_grad(*args)
    h = 1e-5
    for which, (arg, grad) in enumerate(zip(args, grads, strict=True)):
        want = np.zeros_like(arg)
        for index in np.ndindex(arg.shape):
            if arg.ndim == 3 and index[-1] > index[-2]:
                continue  # above the diagonal: not a parameter, gradient must be 0
            up, down = [a.copy() for a in args], [a.copy() for a in args]
            up[which][index] += h
            down[which][index] -= h
            want[index] = (kl_mvn_cholesky(*up).sum() - kl_mvn_cholesky(*down).sum()) / (2 * h)
        np.testing.assert_allclose(grad, want, rtol=1e-7, atol=1e-7, err_msg=f"argument {which}")
        if arg.ndim == 3:
            assert np.all(np.triu(grad, 1) == 0)


def test_diagonal_factors_give_kl_diag_normal():
    rng = np.random.default_rng(3)
    mu, mu_p = rng.normal(size=(2, 6, 5))
    logvar, logvar_p = rng.normal(size=(2, 6, 5))
    L0 = np.exp(logvar / 2)[..., None] * np.eye(5)
    L1 = np.exp(logvar_p / 2)[..., None] * np.eye(5)
    kl, (dm0, dL0, dm1, dL1) = kl_mvn_cholesky_value_and_grad(mu, L0, mu_p, L1)
    want, (dmu, dlv, dmu_p, dlv_p) = kl_diag_normal_value_and_grad(mu, logvar, mu_p, logvar_p)
    np.testing.assert_allclose(kl, want, rtol=1e-12)
    np.testing.assert_allclose(dm0, dmu, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dm1, dmu_p, rtol=1e-12, atol=1e-15)
    # logvar = 2 ln L_jj, so dKL/dlogvar = dKL/dL_jj * L_jj / 2
    diagonal = np.diagonal
    np.testing.assert_allclose(diagonal(dL0, 0, -2, -1) * diagonal(L0, 0, -2, -1) / 2, dlv)
    np.testing.assert_allclose(diagonal(dL1, 0, -2, -1) * diagonal(L1, 0, -2, -1) / 2, dlv_p)
    # Off the diagonal only the mean term moves: -(S1^-1 (m1 - m0)) (L1^-1 (m1 - m0))^T.
    assert np.all(np.tril(dL0, -1) == 0)
    z = (mu_p - mu) / diagonal(L1, 0, -2, -1)
    np.testing.assert_allclose(np.tril(dL1, -1), -np.tril(dm1[..., :, None] * z[..., None, :], -1))


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 3.0))
def test_q_equal_to_p_gives_exactly_zero_and_zero_gradients(k, seed, scale):
    rng = np.random.default_rng(seed)
    m, L = rng.normal(size=(2, k)), factor(rng, (2,), k, scale)
    for dtype in (np.float32, np.float64):
        args = (m.astype(dtype), L.astype(dtype))
        kl, grads = kl_mvn_cholesky_value_and_grad(args[0], args[1], args[0], args[1])
        assert kl.dtype == dtype and np.all(kl == 0)
        assert all(np.all(g == 0) for g in grads)


@pytest.mark.parametrize("delta", [2.0**-20, 2.0**-40])
def test_nearly_equal_distributions_keep_their_digits(delta):
    """p's factor is c = 1 + delta times q's (exact in binary): KL = k/2 (c^-2 - 1 + 2 ln c)
    ~ k delta^2, far below the rounding of the terms the textbook formula subtracts."""
    k, c = 4, 1.0 + delta
    L0 = np.eye(k) + np.tril(np.full((k, k), 0.25), -1)
    kl = kl_mvn_cholesky(np.zeros(k), L0, np.zeros(k), c * L0)
    with mpmath.workdps(50):
        cm = mpmath.mpf(c)
        want = float(k * (cm**-2 - 1 + 2 * mpmath.log(cm)) / 2)
    assert kl > 0
    np.testing.assert_allclose(kl, want, rtol=1e-12)


def test_a_batch_mixing_near_and_far_factors_gives_each_entry_its_own_result():
    """Entries with L0 close to L1 (solved as I + L1^-1 (L0 - L1)) among entries far from
    it (L0 solved as it is): each result is the entry's alone, bit for bit; the KL is the
    exact one (mpmath; about 1e-18 for the near ones); the gradients match central
    differences (h, tolerance: test_every_gradient_matches_central_differences), also in
    M's diagonal, which only they read; and the inputs are not written (the kernel reuses
    its own arrays)."""
    m0, L0, m1, L1 = problem(5, shape=(6,), seed=7)
    L0[::2] = L1[::2] * (1 + 2.0**-30)
    m0[::2] = m1[::2]
    L0[1::2] /= 8  # max |L0 - L1| > max |L0|: far
    args = (m0, L0, m1, L1)
    copies = [a.copy() for a in args]
    kl, grads = kl_mvn_cholesky_value_and_grad(*args)
    for a, copy in zip(args, copies, strict=True):
        assert np.array_equal(a, copy)
    for i in range(6):
        alone, alone_grads = kl_mvn_cholesky_value_and_grad(*(a[i : i + 1] for a in args))
        assert kl[i] == alone[0]
        for g, want in zip(grads, alone_grads, strict=True):
            assert np.array_equal(g[i : i + 1], want)
    exact = [exact_kl(*(a[i] for a in args)) for i in range(6)]
    np.testing.assert_allclose(kl, exact, rtol=1e-12)
    h = 1e-5
    for which, grad in enumerate(grads):
        want = np.zeros_like(grad)
        for index in np.ndindex(grad.shape[1:]):
            if len(index) == 2 and index[1] > index[0]:
                continue  # above the diagonal: not a parameter
            up, down = [a.copy() for a in args], [a.copy() for a in args]
            up[which][(slice(None), *index)] += h
            down[which][(slice(None), *index)] -= h
            difference = kl_mvn_cholesky(*up) - kl_mvn_cholesky(*down)
            want[(slice(None), *index)] = difference / (2 * h)
        np.testing.assert_allclose(grad, want, rtol=1e-7, atol=1e-7, err_msg=f"argument {which}")


def test_badly_conditioned_factor_gives_a_finite_result():
    k = 6
    rng = np.random.default_rng(4)
    L1 = np.tril(rng.normal(scale=0.1, size=(k, k)), -1) + np.diag(np.logspace(0, -8, k))
    assert np.linalg.cond(L1) > 1e8 / 2
    m0, m1, L0 = rng.normal(size=k), rng.normal(size=k), factor(rng, (), k)
    kl, grads = kl_mvn_cholesky_value_and_grad(m0, L0, m1, L1)
    assert np.isfinite(kl) and kl > 0
    assert all(np.all(np.isfinite(g)) for g in grads)
    np.testing.assert_allclose(kl, exact_kl(m0, L0, m1, L1), rtol=1e-9)


def test_float32_stays_float32_and_agrees_with_float64():
    args = problem(7, seed=5)
    kl64, grads64 = kl_mvn_cholesky_value_and_grad(*args)
    kl32, grads32 = kl_mvn_cholesky_value_and_grad(*(a.astype(np.float32) for a in args))
    assert kl32.dtype == np.float32 and all(g.dtype == np.float32 for g in grads32)
    np.testing.assert_allclose(kl32, kl64, rtol=1e-5)
    for g32, g64 in zip(grads32, grads64, strict=True):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


def test_broadcast_arguments_get_summed_gradients():
    m0, L0, m1, L1 = problem(3, shape=(5,), seed=6)
    prior_m, prior_L = m1[0], L1[0]
    kl, (dm0, dL0, dm1, dL1) = kl_mvn_cholesky_value_and_grad(m0, L0, prior_m, prior_L)
    full = kl_mvn_cholesky_value_and_grad(
        m0, L0, np.broadcast_to(prior_m, m0.shape), np.broadcast_to(prior_L, L0.shape)
    )
    assert kl.shape == (5,) and dm1.shape == (3,) and dL1.shape == (3, 3)
    np.testing.assert_allclose(kl, full[0])
    np.testing.assert_allclose(dm1, full[1][2].sum(axis=0))
    np.testing.assert_allclose(dL1, full[1][3].sum(axis=0))
    np.testing.assert_array_equal(dL0, full[1][1])


def test_large_numpy_batches_are_sliced_over_threads_with_the_same_results(monkeypatch):
    """Slices of the batch, in threads, give each entry exactly what one call gives, and a
    broadcast prior still gets its summed gradient (thresholds lowered to hit the path)."""
    import importlib

    module = importlib.import_module("klgen.generated.kl_mvn_cholesky")
    static = importlib.import_module("klgen.generated._cholesky")  # the slicing is done there
    m0, L0, m1, L1 = problem(5, shape=(7,), seed=14)
    prior = (m1[0], L1[0])
    whole = [kl_mvn_cholesky_value_and_grad(m0, L0, *p) for p in ((m1, L1), prior)]
    runtime = importlib.import_module("klgen.generated._runtime")
    calls, submit = [], ThreadPoolExecutor.submit

    def counted(*args):
        calls.append(1)
        return submit(*args)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    for name, value in (("_SLICED_ENTRIES", 1), ("_SLICE_ENTRIES", 50)):
        monkeypatch.setattr(static, name, value)
    monkeypatch.setattr(runtime, "NUM_THREADS", 2)  # the package's shared pool
    for want, p in zip(whole, ((m1, L1), prior), strict=True):
        kl, grads = kl_mvn_cholesky_value_and_grad(m0, L0, *p)
        np.testing.assert_array_equal(kl, want[0])
        for got, expected in zip(grads, want[1], strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(kl_mvn_cholesky(m0, L0, m1, L1), whole[0][0])
    assert len(calls) == 3 * 4  # 7 * 25 entries in slices of 50: 4 slices, 3 calls
    monkeypatch.setattr(runtime, "NUM_THREADS", 1)  # one thread: the slices in turn
    sliced = []
    routine = module._value_and_grad
    monkeypatch.setattr(module, "_value_and_grad", lambda *a: sliced.append(1) or routine(*a))
    kl, grads = kl_mvn_cholesky_value_and_grad(m0, L0, m1, L1)
    np.testing.assert_array_equal(kl, whole[0][0])
    assert len(sliced) == 4 and len(calls) == 12


def _blas_threads(controller):
    return [pool["num_threads"] for pool in controller.select(user_api="blas").info()]


def test_sliced_batches_hold_blas_to_one_thread_and_restore_it(monkeypatch):
    """Inside a sliced call numpy's BLAS runs on one thread (klgen's slices are the
    parallelism); afterwards its thread count is what it was, also when calls overlap (the
    last one out restores it), and without threadpoolctl nothing is changed."""
    import importlib

    import threadpoolctl

    module = importlib.import_module("klgen.generated.kl_mvn_cholesky")
    static = importlib.import_module("klgen.generated._cholesky")
    runtime = importlib.import_module("klgen.generated._runtime")
    controller = threadpoolctl.ThreadpoolController()
    assert _blas_threads(controller), "numpy's BLAS is not found: the test would prove nothing"
    for name, value in (("_SLICED_ENTRIES", 1), ("_SLICE_ENTRIES", 50)):
        monkeypatch.setattr(static, name, value)
    seen = []
    routine = module._value_and_grad
    monkeypatch.setattr(
        module, "_value_and_grad", lambda *a: seen.append(_blas_threads(controller)) or routine(*a)
    )
    m0, L0, m1, L1 = problem(5, shape=(7,), seed=14)
    with controller.limit(limits=2, user_api="blas"):
        kl_mvn_cholesky_value_and_grad(m0, L0, m1, L1)
        assert len(seen) == 4 and all(set(threads) == {1} for threads in seen)
        assert set(_blas_threads(controller)) == {2}
        first, second = runtime.one_blas_thread(), runtime.one_blas_thread()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert set(_blas_threads(controller)) == {1}  # the second caller is still inside
        second.__exit__(None, None, None)
        assert set(_blas_threads(controller)) == {2}
        monkeypatch.setattr(runtime, "_blas_controller", lambda: None)
        with runtime.one_blas_thread():
            assert set(_blas_threads(controller)) == {2}


def test_only_the_lower_triangles_are_read():
    m0, L0, m1, L1 = problem(4, seed=7)
    upper = np.triu(np.full((4, 4), 9.0), 1)
    np.testing.assert_array_equal(
        kl_mvn_cholesky(m0, L0 + upper, m1, L1 + upper), kl_mvn_cholesky(m0, L0, m1, L1)
    )


def test_out_is_written_in_place():
    args = problem(3, seed=8)
    want_kl, want_grads = kl_mvn_cholesky_value_and_grad(*args)
    out = (np.empty(3), *(np.empty_like(a) for a in args))
    kl, grads = kl_mvn_cholesky_value_and_grad(*args, out=out)
    assert kl is out[0] and all(g is o for g, o in zip(grads, out[1:], strict=True))
    np.testing.assert_array_equal(kl, want_kl)
    with pytest.raises(ValueError, match=r"out\[2\] \(dL0\) must have shape"):
        kl_mvn_cholesky_value_and_grad(*args, out=(out[0], out[1], np.empty(3), out[3], out[4]))


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            lambda a: {**a, "L0": a["L0"] * np.where(np.eye(3), -1.0, 1.0)},
            ValueError,
            "L0 must have a positive diagonal",
        ),
        (
            lambda a: {**a, "L1": a["L1"] - np.eye(3) * a["L1"]},
            ValueError,
            "L1 must have a positive diagonal",
        ),
        (lambda a: {**a, "L1": a["L1"][..., :2]}, ValueError, "L1 must be square"),
        (lambda a: {**a, "L0": a["L0"][0, 0]}, ValueError, "L0 must have shape"),
        (lambda a: {**a, "m1": a["m1"][..., :2]}, ValueError, "m1 has k = 2"),
        (lambda a: {**a, "m0": a["m0"][:2]}, ValueError, "batch shapes do not broadcast"),
        (lambda a: {**a, "m0": a["m0"].astype(int)}, TypeError, "m0 must be a float32 or float64"),
        (lambda a: {**a, "L1": a["L1"].astype(np.complex128)}, TypeError, "L1 must be a float32"),
    ],
)
def test_bad_input_is_named(change, error, message):
    args = dict(zip(("m0", "L0", "m1", "L1"), problem(3, seed=9), strict=True))
    for function in (kl_mvn_cholesky, kl_mvn_cholesky_grad, kl_mvn_cholesky_value_and_grad):
        with pytest.raises(error, match=message):
            function(**change(args))


def test_generated_code_forms_no_inverse_or_determinant():
    """Neither the generated routines nor the static code around them (_cholesky.py)."""
    source = (ROOT / "generated" / "kl_mvn_cholesky.py").read_text()
    static = (ROOT / "generated" / "_cholesky.py").read_text()
    for code in (source[source.index("def _value(") :], static):
        for forbidden in ("inv(", "det(", "linalg.solve", "pinv"):
            assert forbidden not in code


def _compare_with_numpy(xp, to_numpy, args):
    kl, grads = kl_mvn_cholesky_value_and_grad(*(xp.asarray(a) for a in args))
    want_kl, want_grads = kl_mvn_cholesky_value_and_grad(*args)
    np.testing.assert_allclose(to_numpy(kl), want_kl, rtol=1e-13)
    for got, want in zip(grads, want_grads, strict=True):
        np.testing.assert_allclose(to_numpy(got), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        to_numpy(kl_mvn_cholesky(*(xp.asarray(a) for a in args))), want_kl, rtol=1e-13
    )


def test_array_api_strict_arrays():
    xp = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
    pytest.importorskip("array_api_compat", reason="array-api-compat is not installed")
    _compare_with_numpy(xp, lambda a: np.asarray(a), problem(5, shape=(2, 3), seed=11))
    f32 = kl_mvn_cholesky(*(xp.asarray(a.astype(np.float32)) for a in problem(3)))
    assert f32.dtype == xp.float32


def test_other_arrays_are_never_written_into(monkeypatch):
    """JAX arrays are immutable: the array-API path must build every block functionally.
    array-api-strict arrays allow item assignment, so it is forbidden here; numpy stays on
    its own (in-place) path, which this leaves alone."""
    xp = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
    pytest.importorskip("array_api_compat", reason="array-api-compat is not installed")
    written = []

    def forbidden(self, key, value):
        written.append(key)
        raise TypeError("item assignment into an immutable array")

    monkeypatch.setattr(type(xp.asarray(0.0)), "__setitem__", forbidden)
    args = problem(6, shape=(3,), seed=13)
    args[1][..., 0, 5] = 9.0  # above the diagonal: must not be read
    _compare_with_numpy(xp, lambda a: np.asarray(a), args)
    kl_mvn_cholesky_grad(*(xp.asarray(a) for a in args))
    assert written == []


def test_torch_tensors():
    torch = pytest.importorskip(
        "torch", reason="torch is not installed (pip install torch==2.13.0)"
    )
    pytest.importorskip("array_api_compat", reason="array-api-compat is not installed")
    _compare_with_numpy(torch, lambda a: a.numpy(), problem(5, shape=(4,), seed=12))


@pytest.mark.parametrize("k", [1, 2, 5, 16])
def test_agrees_with_torch_distributions(k):
    torch = pytest.importorskip(
        "torch", reason="torch is not installed (pip install torch==2.13.0)"
    )
    from torch.distributions import MultivariateNormal, kl_divergence

    args = problem(k, shape=(6,), seed=20 + k)
    leaves = [torch.from_numpy(a.copy()).requires_grad_() for a in args]
    kl = kl_divergence(
        MultivariateNormal(leaves[0], scale_tril=leaves[1]),
        MultivariateNormal(leaves[2], scale_tril=leaves[3]),
    )
    kl.sum().backward()
    ours, grads = kl_mvn_cholesky_value_and_grad(*args)
    np.testing.assert_allclose(ours, kl.detach().numpy(), rtol=1e-10)
    for got, leaf in zip(grads, leaves, strict=True):
        want = leaf.grad.numpy()
        np.testing.assert_allclose(
            got, np.tril(want) if want.ndim == 3 else want, rtol=1e-9, atol=1e-12
        )


def _run_blocked(code):
    """Run code with array_api_compat made unimportable; return the completed process."""
    prelude = "import sys; sys.modules['array_api_compat'] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True
    )


def test_numpy_inputs_need_no_array_api_compat():
    done = _run_blocked(
        "import numpy as np\nfrom klgen.generated.kl_mvn_cholesky import kl_mvn_cholesky\n"
        "print(kl_mvn_cholesky(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1.0"


def test_other_arrays_without_array_api_compat_name_the_package():
    pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
    done = _run_blocked(
        "import array_api_strict as xp\n"
        "from klgen.generated.kl_mvn_cholesky import kl_mvn_cholesky\n"
        "kl_mvn_cholesky(xp.zeros(2), xp.eye(2), xp.ones(2), xp.eye(2))"
    )
    assert done.returncode == 1
    assert "ImportError" in done.stderr and "pip install array-api-compat" in done.stderr
    assert "kl_mvn_cholesky needs the package array-api-compat" in done.stderr
