"""The torch and JAX twins of kl_mvn_cholesky (``klgen.generated.kl_mvn_cholesky_torch``,
``_jax``): gradcheck and check_grads in float64 with broadcast batch axes; values and
gradients equal to the numpy kernel's (float32 too: JAX with x64 off gives the numpy float32
kernel's results bit for bit, which are within an ulp of mpmath); torch.compile(fullgraph=True)
with no warning; jit, vmap and grad; half precision rounded once; IEEE special values as the
numpy kernel gives them; bad input refused by name."""

import functools
import logging
import os
import warnings

import numpy as np
import pytest
from test_mvn_cholesky import exact_kl, factor, problem

from klgen.generated import kl_mvn_cholesky as host

NAMES = ("m0", "L0", "m1", "L1")
SUFFIXES = ("", "_grad", "_value_and_grad")

try:
    import jax
    import jax.numpy as jnp
    import torch
    from jax.test_util import check_grads
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs torch and jax: these tests must run there
    pytest.skip("torch or jax is not installed", allow_module_level=True)

from klgen.generated import kl_mvn_cholesky_jax as jax_twin  # noqa: E402
from klgen.generated import kl_mvn_cholesky_torch as torch_twin  # noqa: E402


def broadcast_problem(k=3, seed=0):
    """m0, L0 with a batch of (2, 3); m1 of batch (3,); L1 one factor for every entry."""
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(2, 3, k)),
        factor(rng, (2, 3), k),
        rng.normal(size=(3, k)),
        factor(rng, (), k),
    ]


@functools.cache
def generic_kernel():
    """The torch operators running the array-API functions on the CPU too, as they run on
    every other device (CUDA cannot be tested here)."""
    from klgen.generated._cholesky import _check_shapes
    from klgen.generated._torch_ops import TorchKernel

    return TorchKernel(
        "klgen_test_generic", "kl_mvn_cholesky", NAMES, host, False, (1, 2, 1, 2), _check_shapes
    )


def torch_functions(path):
    if path == "generic":
        kernel = generic_kernel()
        return kernel.value, kernel.grad, kernel.value_and_grad
    return tuple(getattr(torch_twin, "kl_mvn_cholesky" + s) for s in SUFFIXES)


def jax_functions():
    return tuple(getattr(jax_twin, "kl_mvn_cholesky" + s) for s in SUFFIXES)


def same(got, want):
    """Equal entry for entry, NaN where the other is NaN, and of the same shape."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


# --- torch ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["cpu", "generic"])
def test_torch_gradcheck_in_float64_with_broadcast_batches(path):
    """Finite differences of every entry, upper triangles included (their gradient is 0:
    the kernel reads lower triangles only)."""
    args = [torch.tensor(a).requires_grad_() for a in broadcast_problem()]
    assert torch.autograd.gradcheck(torch_functions(path)[0], args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=str)
@pytest.mark.parametrize("path", ["cpu", "generic"])
def test_torch_values_and_gradients_are_the_numpy_kernels(path, dtype):
    """Bit for bit on the CPU (the numpy kernel on the same memory); within 4 ulps on the
    array-API path (torch's own matrix products and sums)."""
    args = [a.astype(dtype) for a in problem(4, shape=(5,), seed=3)]
    want_value, want_grads = host.kl_mvn_cholesky_value_and_grad(*args)
    tensors = [torch.tensor(a).requires_grad_() for a in args]
    value_of, grad_of, value_and_grad_of = torch_functions(path)
    value = value_of(*tensors)
    value.sum().backward()
    results = [
        (value, want_value),
        *zip(grad_of(*tensors), want_grads, strict=True),
        *zip([t.grad for t in tensors], want_grads, strict=True),
        (value_and_grad_of(*tensors)[0], want_value),
    ]
    for got, want in results:
        assert got.dtype == torch.from_numpy(want).dtype
        got = got.detach().numpy()
        if path == "cpu":
            same(got, want)
        else:
            scale = np.spacing(np.abs(want).max()).astype(np.float64)
            assert np.abs(got.astype(np.float64) - want).max() <= 4 * scale


def test_torch_broadcast_gradients_are_summed_as_numpy_sums_them():
    args = broadcast_problem(seed=1)
    want = host.kl_mvn_cholesky_grad(*args)
    tensors = [torch.tensor(a).requires_grad_() for a in args]
    torch_twin.kl_mvn_cholesky(*tensors).sum().backward()
    for t, g in zip(tensors, want, strict=True):
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("batch", [(2, 1), pytest.param((), marks=pytest.mark.slow), (3,)], ids=str)
def test_torch_operators_pass_opcheck(batch):
    """torch.library.opcheck: schema, autograd registration, fake kernels (shapes, types and
    strides: compiled code asserts them) against the real ones, with dynamic shapes."""
    args = [torch.tensor(a) for a in problem(3, shape=batch, seed=11)]
    ops = torch.ops.klgen_generated
    torch.library.opcheck(ops.kl_mvn_cholesky.default, args)
    torch.library.opcheck(ops.kl_mvn_cholesky_fused.default, [a.requires_grad_() for a in args])


@pytest.mark.slow  # 20 s: compiling with inductor
def test_torch_compiled_fullgraph_with_no_warning(caplog):
    """One graph (fullgraph=True raises on a break), no warning while compiling or running,
    and the compiled value and gradients equal the eager ones."""
    with warnings.catch_warnings():  # torch's own deprecation warnings, importing inductor
        warnings.simplefilter("ignore", DeprecationWarning)
        import torch._inductor.compile_fx  # noqa: F401

    eager = [torch.tensor(a, dtype=torch.float32).requires_grad_() for a in broadcast_problem()]
    compiled_args = [a.detach().clone().requires_grad_() for a in eager]

    def loss(*args):
        return torch_twin.kl_mvn_cholesky(*args).mean() * 3.0

    torch._dynamo.reset()
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = torch.compile(loss, fullgraph=True)
        got = compiled(*compiled_args)
        got.backward()
        # Another batch size: compiled again with dynamic shapes, the gradients' strides
        # asserted against the fake kernels'.
        other = [torch.tensor(a, dtype=torch.float32) for a in problem(3, shape=(5,), seed=8)]
        compiled(*(a.requires_grad_() for a in other)).backward()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    want = loss(*eager)
    want.backward()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=2e-7)
    for a, b in zip(compiled_args, eager, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_torch_half_precision_is_the_float64_result_rounded_once(dtype):
    half = [torch.tensor(a).to(dtype) for a in problem(3, shape=(4,), seed=5)]
    want_value, want_grads = host.kl_mvn_cholesky_value_and_grad(
        *[h.double().numpy() for h in half]
    )
    value, grads = torch_twin.kl_mvn_cholesky_value_and_grad(*half)
    assert value.dtype == dtype and all(g.dtype == dtype for g in grads)
    assert torch.equal(value, torch.from_numpy(want_value).to(dtype))
    for got, want in zip(grads, want_grads, strict=True):
        assert torch.equal(got, torch.from_numpy(want).to(dtype))
    # The backward: float64 gradients times the cotangent (1), rounded once.
    leaves = [h.clone().requires_grad_() for h in half]
    torch_twin.kl_mvn_cholesky(*leaves).sum().backward()
    for leaf, want in zip(leaves, want_grads, strict=True):
        assert torch.equal(leaf.grad, torch.from_numpy(want).to(dtype))


def special_problems():
    """(what, arguments) with a NaN or an infinity in one entry of a batch of two."""
    cases = []
    for which, index, value in [
        (0, (0, 1), np.nan),
        (0, (0, 1), np.inf),
        (1, (1, 2, 0), np.nan),
        (1, (0, 1, 1), np.inf),
        (2, (1, 0), -np.inf),
        (3, (0, 2, 1), np.inf),
        (3, (0, 0, 2), np.nan),  # above the diagonal: not read
    ]:
        args = list(problem(3, shape=(2,), seed=7))
        args[which] = args[which].copy()
        args[which][index] = value
        what = f"{NAMES[which]}{list(index)}={value}"
        cases.append(pytest.param(what, args, id=what))
    return cases


@pytest.mark.parametrize(("what", "args"), special_problems())
def test_special_values_are_the_numpy_kernels(what, args):
    want_value, want_grads = host.kl_mvn_cholesky_value_and_grad(*args)
    assert not np.isfinite(want_value).all() or "L1[0, 0, 2]" in what
    value, grads = torch_twin.kl_mvn_cholesky_value_and_grad(*[torch.tensor(a) for a in args])
    same(value, want_value)
    for got, want in zip(grads, want_grads, strict=True):
        same(got, want)
    with _x64():
        value, grads = jax_twin.kl_mvn_cholesky_value_and_grad(*[jnp.asarray(a) for a in args])
    same(value, want_value)
    for got, want in zip(grads, want_grads, strict=True):
        same(got, want)


def bad_inputs(array):
    """(description, arguments, error type, words the message must contain), from ``array``
    (the library's conversion of a numpy array)."""
    good = dict(zip(NAMES, problem(3, shape=(2,), seed=9), strict=True))

    def changed(**new):
        return [array(new.get(n, good[n])) for n in NAMES]

    negative = good["L0"] * np.where(np.eye(3), -1.0, 1.0)
    return [
        ("k", changed(m1=good["m1"][:, :2]), ValueError, ["m1", "k = 2"]),
        ("square", changed(L1=good["L1"][..., :2]), ValueError, ["L1", "square"]),
        ("matrix", changed(L0=good["L0"][0, 0]), ValueError, ["L0", "(..., k, k)"]),
        ("scalar", changed(m0=np.float64(1.0)), ValueError, ["m0"]),
        ("batch", changed(m0=np.zeros((3, 3))), ValueError, ["m0", "L0", "(3, 3)"]),
        ("diagonal", changed(L0=negative), ValueError, ["L0", "positive diagonal"]),
        ("int", changed(m0=good["m0"].astype(np.int32)), TypeError, ["m0", "int32"]),
        ("complex", changed(L1=good["L1"].astype(np.complex64)), TypeError, ["L1", "complex64"]),
    ]


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_bad_input_is_refused_by_name(library):
    module, array = {
        "torch": (torch_twin, lambda a: torch.tensor(np.asarray(a))),
        "jax": (jax_twin, lambda a: jnp.asarray(a)),
    }[library]
    for suffix in SUFFIXES:
        function = getattr(module, "kl_mvn_cholesky" + suffix)
        for what, args, error, words in bad_inputs(array):
            with pytest.raises(error) as raised:
                function(*args)
            assert all(w in str(raised.value) for w in words), (what, str(raised.value))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_jax_under_jit_a_bad_diagonal_raises_the_kernels_message_wrapped(caplog):
    """Traced, the values cannot be checked before the callback: its ValueError reaches the
    caller as JAX's runtime error, with the kernel's message."""
    args = [jnp.asarray(a) for a in problem(3, shape=(2,), seed=9)]
    args[3] = args[3].at[1, 2, 2].set(0.0)
    with pytest.raises(Exception, match=r"L1 must have a positive diagonal"):
        jax.jit(jax_twin.kl_mvn_cholesky)(*args).block_until_ready()


def test_torch_tensors_on_two_devices_are_refused():
    args = [torch.tensor(a) for a in problem(3, seed=9)]
    with pytest.raises(ValueError, match="L1 is on meta and m0 on cpu"):
        torch_twin.kl_mvn_cholesky(*args[:3], args[3].to("meta"))


# --- JAX --------------------------------------------------------------------------------------


def _x64():
    """x64 on for a block: jax.enable_x64 (newer jax), else jax.experimental.enable_x64."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64()
    from jax.experimental import enable_x64

    return enable_x64()


def test_jax_check_grads_in_float64_with_broadcast_batches():
    """Reverse mode (the custom_vjp rule) against JAX's finite differences (eps 1e-4:
    truncation ~1e-8 relative, rounding ~1e-12, within check_grads' float64 tolerance)."""
    with _x64():
        args = [jnp.asarray(a) for a in broadcast_problem(seed=2)]
        check_grads(jax_twin.kl_mvn_cholesky, args, order=1, modes=["rev"], eps=1e-4)


def test_jax_float32_with_x64_off_is_the_numpy_float32_kernel():
    """float32 in, float32 out, bit for bit the numpy kernel's (float64 inside, rounded
    once), also under jit and through grad; and within an ulp of mpmath's KL."""
    args = [a.astype(np.float32) for a in problem(4, shape=(6,), seed=4)]
    assert not jax.config.jax_enable_x64
    want_value, want_grads = host.kl_mvn_cholesky_value_and_grad(*args)
    value, grads = jax_twin.kl_mvn_cholesky_value_and_grad(*args)
    same(value, want_value)
    assert value.dtype == jnp.float32
    same(jax.jit(jax_twin.kl_mvn_cholesky)(*args), want_value)
    through = jax.grad(lambda *a: jax_twin.kl_mvn_cholesky(*a).sum(), argnums=(0, 1, 2, 3))
    for got, got_grad, want in zip(grads, through(*args), want_grads, strict=True):
        same(got, want)
        same(got_grad, want)
    exact = [exact_kl(*(np.float64(a[i]) for a in args)) for i in range(6)]
    ulps = np.abs(np.asarray(value, np.float64) - exact) / np.spacing(np.float32(exact))
    assert ulps.max() <= 1.0


def test_jax_jit_vmap_and_grad_agree_with_the_plain_calls():
    args = [jnp.asarray(a, jnp.float32) for a in broadcast_problem(seed=3)]
    argnums = (0, 1, 2, 3)

    def loss(*a):
        return (jax_twin.kl_mvn_cholesky(*a) ** 2).mean()

    want_value = jax_twin.kl_mvn_cholesky(*args)
    np.testing.assert_array_equal(jax.jit(jax_twin.kl_mvn_cholesky)(*args), want_value)
    batched = jax.vmap(jax_twin.kl_mvn_cholesky, in_axes=(0, 0, None, None))
    np.testing.assert_array_equal(batched(*args), want_value)
    eager = jax.grad(loss, argnums)(*args)
    compiled = jax.jit(jax.grad(loss, argnums))(*args)
    per_example = jax.vmap(jax.grad(loss, argnums), in_axes=(0, 0, None, None))(*args)
    for e, c, p, a in zip(eager, compiled, per_example, args, strict=True):
        np.testing.assert_allclose(e, c, rtol=1e-6)
        assert e.shape == a.shape and e.dtype == jnp.float32
        assert p.shape[0] == 2  # one gradient per example
    # Each example's gradient of its own loss sums, over the examples, to the whole's (the
    # mean over 6 entries, 3 per example): d/dm1 is summed over the batch by both.
    np.testing.assert_allclose(per_example[2].sum(axis=0) / 2, eager[2], rtol=1e-5)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16], ids=lambda d: d.__name__)
def test_jax_half_precision_is_the_float64_result_rounded_once(dtype):
    half = [jnp.asarray(a, dtype) for a in problem(3, shape=(4,), seed=6)]
    value, grads = jax_twin.kl_mvn_cholesky_value_and_grad(*half)
    want_value, want_grads = host.kl_mvn_cholesky_value_and_grad(
        *[np.asarray(h, np.float64) for h in half]
    )
    assert value.dtype == dtype and all(g.dtype == dtype for g in grads)
    np.testing.assert_array_equal(value, want_value.astype(dtype))
    for got, want in zip(grads, want_grads, strict=True):
        np.testing.assert_array_equal(got, want.astype(dtype))
