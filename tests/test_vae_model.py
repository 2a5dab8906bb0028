"""The model's analytic gradients, the stable BCE, initialisation and Adam."""

import numpy as np
import pytest

from klgen.vae import model
from klgen.vae.optim import Adam

TINY = model.Dims(input=12, hidden=6, latent=3)


def tiny_problem(prior, batch=5, seed=0):
    """A float64 model with random parameters (prior too), inputs and noise."""
    rng = np.random.default_rng(seed)
    params = model.init_params(TINY, prior, rng, dtype=np.float64)
    params.flat[...] = rng.normal(0, 0.7, params.flat.shape)  # break the zero-init prior
    x = rng.uniform(0, 1, (batch, TINY.input))
    eps = rng.standard_normal((batch, TINY.latent))
    return params, x, eps


@pytest.mark.parametrize("prior", model.PRIORS)
def test_gradients_match_central_differences(prior):
    """Every parameter's gradient against (L(p + h) - L(p - h)) / 2h, float64.

    With h = 1e-6 the truncation error is ~h^2 |L'''| ~ 1e-11 and the rounding error
    ~1e-16 |L| / h ~ 1e-9 (L ~ 50 nats here), so 1e-6 absolute plus 1e-5 relative is 100x
    above the noise yet far below any real mistake (a dropped factor of 1/2 or beta, a
    missing ReLU mask, a wrong transpose each give errors of order 0.01 to 1).
    """
    params, x, eps = tiny_problem(prior)
    beta = 0.7  # not 1, so a missing beta shows
    grads = params.zeros_like()
    model.loss_and_grad(params, x, eps, beta, grads)
    scratch = params.zeros_like()

    def loss_at(flat):
        params.flat[...] = flat
        return model.loss_and_grad(params, x, eps, beta, scratch).total

    theta = params.flat.copy()
    h = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = h
        numeric[i] = (loss_at(theta + step) - loss_at(theta - step)) / (2 * h)
    numeric = model.ParamSet(params.shapes, flat=numeric)
    for name in params.shapes:  # one parameter at a time, so a failure names it
        np.testing.assert_allclose(
            grads[name],
            numeric[name],
            rtol=1e-5,
            atol=1e-6,
            err_msg=f"gradient of {name} ({prior} prior)",
        )
        assert np.abs(numeric[name]).max() > 1e-3  # every parameter matters to the loss


def test_losses_come_from_generated_kernels():
    assert model.kl_std_normal_value_and_grad.__module__ == "klgen.generated.kl_std_normal"
    assert model.kl_diag_normal_value_and_grad.__module__ == "klgen.generated.kl_diag_normal"
    assert model.nll_bernoulli_value_and_grad.__module__ == "klgen.generated.nll_bernoulli"
    assert model.nll_bernoulli.__module__ == "klgen.generated.nll_bernoulli"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_stable_and_exact(dtype):
    """The trainer's BCE sum and its gradient sigmoid(l) - x, against logaddexp in float64,
    with and without the gradient, at logits from -1e4 to 1e4."""
    logits = np.array([[-1e4, -100, -20, -1, 0, 1e-3, 1, 20, 100, 1e4]], dtype=dtype)
    x = np.linspace(0, 1, logits.size, dtype=dtype)[None]
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        grad = np.empty_like(logits)
        bce = model.bce_and_grad(logits, x, model.Workspace(dtype), grad)
        assert model.bce_sum(logits, x) == bce
    l64, x64 = logits.astype(np.float64), x.astype(np.float64)
    expected = (np.logaddexp(0, l64) - x64 * l64).sum()
    # One row: the kernel's float64 sum of non-negative terms, rounded once to the dtype
    # (within 4 ulps of the exact value, the README's bound); the reference is float64.
    np.testing.assert_allclose(bce, expected, rtol=4 * np.finfo(dtype).eps, atol=0)
    sig = np.exp(-np.logaddexp(0, -l64))
    np.testing.assert_allclose(grad, sig - x64, atol=1e-7)


def test_init_like_torch_linear():
    rng = np.random.default_rng(0)
    params = model.init_params(model.Dims(), "learned", rng)
    assert params.flat.dtype == np.float32
    for name, shape in params.shapes.items():
        array = params[name]
        assert array.shape == shape
        if name.startswith("prior."):
            assert not array.any()
            continue
        bound = 1 / np.sqrt(params.shapes[name.replace(".bias", ".weight")][0])
        assert np.abs(array).max() <= bound
        if array.ndim == 2:  # >= 8000 draws: U(-bound, bound) has mean 0, std bound/sqrt(3)
            assert np.abs(array).max() > 0.99 * bound
            assert abs(array.mean()) < 0.04 * bound  # 6 standard errors
            assert abs(array.std() * np.sqrt(3) / bound - 1) < 0.05
    # Every array is a view into the flat buffer the optimizer updates.
    assert all(np.shares_memory(a, params.flat) for a in params.arrays.values())


def test_adam_matches_textbook():
    rng = np.random.default_rng(1)
    p0 = rng.normal(size=50)
    grads = [rng.normal(size=50) for _ in range(4)]
    adam = Adam(50, np.float64, lr=0.01)
    p = p0.copy()
    for g in grads:
        adam.step(p, g)
    q, m, v = p0.copy(), np.zeros(50), np.zeros(50)
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        q -= 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(p, q, rtol=1e-12)
    assert adam.t == 4


def test_float32_stays_float32():
    params, x, eps = tiny_problem("learned")
    p32 = model.ParamSet(params.shapes, flat=params.flat.astype(np.float32))
    x32, eps32 = x.astype(np.float32), eps.astype(np.float32)
    grads = p32.zeros_like()
    losses = model.loss_and_grad(p32, x32, eps32, 1.0, grads)
    assert grads.flat.dtype == np.float32 and np.isfinite(losses.total)
    assert model.sample(p32, eps32).dtype == np.float32
    assert model.reconstruct(p32, x32).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_in_chunks_is_bit_identical_to_one_pass(dtype):
    """The chunked step (several chunks and a ragged last one) gives the same bits as one
    pass over the whole buffers, over steps whose gradients span many magnitudes."""
    rng = np.random.default_rng(2)
    size = 3 * 1000 + 17
    p0 = rng.normal(size=size).astype(dtype)
    grads = [(rng.normal(size=size) * 10.0 ** rng.integers(-8, 4, size)).astype(dtype)]
    grads += [rng.normal(size=size).astype(dtype) for _ in range(4)]
    chunked, whole = Adam(size, dtype, chunk=1000), Adam(size, dtype, chunk=size)
    p, q = p0.copy(), p0.copy()
    for g in grads:
        chunked.step(p, g)
        whole.step(q, g)
    assert p.dtype == dtype and not np.array_equal(p, p0)
    np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(chunked.m, whole.m)
    np.testing.assert_array_equal(chunked.v, whole.v)
