"""The torch and JAX twins of the encoder's gradients (``klgen.generated.
kl_std_normal_encoder_torch``, ``_jax``): the numpy kernel's results bit for bit (float32
with JAX's x64 off too), which agree with autograd through the heads; torch.compile
(fullgraph=True) with no warning; jit and vmap; half precision rounded once; special values
as the numpy kernel gives them; bad input refused by name; results not differentiable."""

import logging
import os
import warnings

import numpy as np
import pytest

from klgen.generated import kl_std_normal_encoder as host

try:
    import jax
    import jax.numpy as jnp
    import torch
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs torch and jax: these tests must run there
    pytest.skip("torch or jax is not installed", allow_module_level=True)

from klgen.generated.kl_std_normal_encoder_jax import (  # noqa: E402
    kl_std_normal_encoder_grad as jax_grad,
)
from klgen.generated.kl_std_normal_encoder_torch import (  # noqa: E402
    kl_std_normal_encoder_grad as torch_grad,
)
from klgen.generated.kl_std_normal_torch import kl_std_normal  # noqa: E402


def inputs(batch=6, n=5, k=3, seed=0):
    """h (batch, n), mu and logvar (batch, k), float64."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, n)), rng.normal(size=(batch, k)), rng.normal(size=(batch, k))


def same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=str)
def test_torch_results_are_the_numpy_kernels(dtype):
    arrays = [a.astype(dtype) for a in inputs()]
    for got, want in zip(
        torch_grad(*map(torch.tensor, arrays)),
        host.kl_std_normal_encoder_grad(*arrays),
        strict=True,
    ):
        same(got.numpy(), want)


def test_torch_results_agree_with_autograd_through_the_heads():
    """An independent route: torch's matrix products and autograd of the twin's KL (whose
    own gradient is tested in test_torch_backend) through mu = h W + b."""
    rng = np.random.default_rng(1)
    h = torch.tensor(rng.normal(size=(7, 4)))
    params = [torch.tensor(rng.normal(size=s)).requires_grad_() for s in ((4, 3), 3, (4, 3), 3)]
    mu, logvar = h @ params[0] + params[1], h @ params[2] + params[3]
    kl_std_normal(mu, logvar).sum().backward()
    for got, param in zip(torch_grad(h, mu, logvar), params, strict=True):
        np.testing.assert_allclose(got.numpy(), param.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_torch_results_are_not_differentiable_and_types_promote():
    h, mu, logvar = (torch.tensor(a).requires_grad_() for a in inputs())
    results = torch_grad(h.float(), mu, logvar)
    assert all(not r.requires_grad and r.dtype == torch.float64 for r in results)


def test_torch_operator_passes_opcheck():
    """torch.library.opcheck: schema, fake kernel against the real one, dynamic shapes."""
    args = [torch.tensor(a) for a in inputs()]
    torch.library.opcheck(torch.ops.klgen_generated.kl_std_normal_encoder_grad.default, args)


@pytest.mark.slow  # 10 s: compiling with inductor
def test_torch_compiled_fullgraph_with_no_warning(caplog):
    with warnings.catch_warnings():  # torch's own deprecation warnings, importing inductor
        warnings.simplefilter("ignore", DeprecationWarning)
        import torch._inductor.compile_fx  # noqa: F401

    args = [torch.tensor(a, dtype=torch.float32) for a in inputs()]

    def step(h, mu, logvar):
        return [2.0 * g for g in torch_grad(h, mu, logvar)]

    torch._dynamo.reset()
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = torch.compile(step, fullgraph=True)(*args)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    for g, w in zip(got, step(*args), strict=True):
        assert torch.equal(g, w)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("library", ["torch", "jax"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_is_the_float64_result_rounded_once(library, dtype):
    arrays = [3 * a for a in inputs(seed=2)]
    if library == "torch":
        half = [torch.tensor(a).to(getattr(torch, dtype)) for a in arrays]
        wide = [h.double().numpy() for h in half]
        got = [r.float().numpy() for r in torch_grad(*half)]
        assert all(r.dtype == getattr(torch, dtype) for r in torch_grad(*half))
    else:
        half = [jnp.asarray(a, getattr(jnp, dtype)) for a in arrays]
        wide = [np.asarray(h, np.float64) for h in half]
        got = [np.asarray(r.astype(jnp.float32)) for r in jax_grad(*half)]
    for g, w in zip(got, host.kl_std_normal_encoder_grad(*wide), strict=True):
        rounded = torch.tensor(w).to(getattr(torch, dtype)).float().numpy()
        np.testing.assert_array_equal(g, rounded)


def test_special_values_are_the_numpy_kernels():
    h, mu, logvar = inputs(seed=3)
    h[0, 1], mu[2, 0], logvar[3, 2], logvar[4, 1] = np.nan, np.inf, -np.inf, 800.0
    want = host.kl_std_normal_encoder_grad(h, mu, logvar)
    assert not all(np.isfinite(w).all() for w in want)
    for got, w in zip(torch_grad(*map(torch.tensor, (h, mu, logvar))), want, strict=True):
        same(got.numpy(), w)
    arrays = [a.astype(np.float32) for a in (h, mu, logvar)]
    want32 = host.kl_std_normal_encoder_grad(*arrays)
    for got, w in zip(jax_grad(*arrays), want32, strict=True):
        same(got, w)


def bad_inputs(array):
    h, mu, logvar = inputs()
    return [
        ("vector", [array(h[0]), array(mu), array(logvar)], ValueError, ["h", "(5,)"]),
        ("batch", [array(h[:4]), array(mu), array(logvar)], ValueError, ["h", "(4, 5)"]),
        ("latent", [array(h), array(mu), array(logvar[:, :2])], ValueError, ["logvar", "(6, 2)"]),
        ("int", [array(h), array(mu.astype(np.int32)), array(logvar)], TypeError, ["mu", "int32"]),
    ]


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_bad_input_is_refused_by_name(library):
    function, array = {
        "torch": (torch_grad, lambda a: torch.tensor(a)),
        "jax": (jax_grad, jnp.asarray),
    }[library]
    for what, args, error, words in bad_inputs(array):
        with pytest.raises(error) as raised:
            function(*args)
        assert all(w in str(raised.value) for w in words), (what, str(raised.value))
    if library == "torch":
        args = [torch.tensor(a) for a in inputs()]
        with pytest.raises(ValueError, match="logvar is on meta and h on cpu"):
            torch_grad(*args[:2], args[2].to("meta"))


def test_jax_float32_with_x64_off_is_the_numpy_float32_kernel_under_jit_and_vmap():
    assert not jax.config.jax_enable_x64
    arrays = [a.astype(np.float32) for a in inputs(seed=4)]
    want = host.kl_std_normal_encoder_grad(*arrays)
    for got, w in zip(jax.jit(jax_grad)(*arrays), want, strict=True):
        same(got, w)
    stacked = [np.stack([a, 2 * a]) for a in arrays]
    per_example = jax.vmap(jax_grad)(*stacked)
    for i in range(2):
        each = host.kl_std_normal_encoder_grad(*(s[i] for s in stacked))
        for got, w in zip(per_example, each, strict=True):
            same(got[i], w)


def test_jax_grad_of_it_raises():
    arrays = [a.astype(np.float32) for a in inputs()]
    with pytest.raises(ValueError, match="(?i)pure_callback|jvp|differentiat"):
        jax.grad(lambda h: jax_grad(h, *arrays[1:])[0].sum())(arrays[0])


def test_every_shipped_kernel_module_has_a_torch_and_a_jax_twin():
    """The elementwise kernels, kl_categorical, kl_mvn_cholesky and the encoder's gradients:
    each twin exports the functions of its numpy module."""
    import importlib

    from klgen.derive.package import kernel_modules

    for module in kernel_modules():
        for backend in ("torch", "jax"):
            twin = importlib.import_module(f"klgen.generated.{module.name}_{backend}")
            assert twin.__all__ == list(module.functions), (module.name, backend)
