"""The encoder-backprop kernel generated from the encoder_backprop derivation."""

import numpy as np
import pytest

from klgen.derive.encoder_kernel import gradients
from klgen.generated.kl_std_normal import kl_std_normal
from klgen.generated.kl_std_normal_encoder import kl_std_normal_encoder_grad


def summed_kl(h, W_mu, b_mu, W_lv, b_lv):
    return kl_std_normal(h @ W_mu + b_mu, h @ W_lv + b_lv).sum()


def test_every_gradient_of_the_derivation_is_matched_to_a_kernel_gradient():
    assert [(g.parameter, g.left, g.argument) for g in gradients()] == [
        ("W_mu", "h", "mu"),
        ("b_mu", "ones", "mu"),
        ("W_lv", "h", "logvar"),
        ("b_lv", "ones", "logvar"),
    ]


def test_gradients_match_central_differences_through_the_heads():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(6, 5))
    params = [
        rng.normal(size=(5, 3)),
        rng.normal(size=3),
        rng.normal(size=(5, 3)),
        rng.normal(size=3),
    ]
    params[2] *= 0.3  # keep logvar moderate
    mu, logvar = h @ params[0] + params[1], h @ params[2] + params[3]
    analytic = kl_std_normal_encoder_grad(h, mu, logvar)
    step = 1e-6
    # Central differences: truncation ~ step**2 * |f'''| and rounding ~ eps * |f| / step, both
    # far below 1e-6 for these O(10) values.
    for p, grad in zip(params, analytic, strict=True):
        assert grad.shape == p.shape
        numeric = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + step
            up = summed_kl(h, *params)
            p[index] = saved - step
            down = summed_kl(h, *params)
            p[index] = saved
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)


def test_float32_stays_float32_and_bad_shapes_are_named():
    h = np.ones((4, 2), np.float32)
    z = np.zeros((4, 3), np.float32)
    assert all(g.dtype == np.float32 for g in kl_std_normal_encoder_grad(h, z, z))
    with pytest.raises(ValueError, match=r"h has shape \(4, 2\), mu \(5, 3\) and logvar \(5, 3\)"):
        kl_std_normal_encoder_grad(h, np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="h must be a"):
        kl_std_normal_encoder_grad(np.ones(4), z, z)
    with pytest.raises(TypeError, match="h must be a float32 or float64 array"):
        kl_std_normal_encoder_grad(np.ones((4, 2), int), z, z)
