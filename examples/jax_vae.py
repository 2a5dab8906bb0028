"""PyTorch's examples/vae model in JAX on the shipped MNIST subset, with klgen's JAX KL.

    python examples/jax_vae.py [--kl klgen|formula] [--epochs 5]

``--kl formula`` uses the usual -0.5 * sum(1 + lv - mu^2 - e^lv) instead, for comparison:
the test losses agree (tests/test_jax_vae.py). jax and numpy alone: Adam is written out.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from klgen.generated.kl_std_normal_jax import kl_std_normal
from klgen.vae.data import load_mnist

SIZES = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]  # fc1, fc21, fc22, fc3, fc4


def init(key):
    """torch.nn.Linear's initialisation: uniform within 1/sqrt(fan_in)."""
    params = []
    for layer_key, (n, m) in zip(jax.random.split(key, len(SIZES)), SIZES, strict=True):
        w_key, b_key = jax.random.split(layer_key)
        bound = 1 / np.sqrt(n)
        params.append(
            (
                jax.random.uniform(w_key, (n, m), minval=-bound, maxval=bound),
                jax.random.uniform(b_key, (m,), minval=-bound, maxval=bound),
            )
        )
    return params


def loss(params, x, key, which):
    """BCE(sum) + KL(sum) of a batch: the negative ELBO."""
    (w1, b1), (w21, b21), (w22, b22), (w3, b3), (w4, b4) = params
    h = jax.nn.relu(x @ w1 + b1)
    mu, logvar = h @ w21 + b21, h @ w22 + b22
    z = mu + jax.random.normal(key, mu.shape) * jnp.exp(0.5 * logvar)
    logits = jax.nn.relu(z @ w3 + b3) @ w4 + b4
    bce = jnp.sum(jax.nn.softplus(logits) - x * logits)
    if which == "klgen":
        return bce + kl_std_normal(mu, logvar).sum()
    return bce - 0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar))


def train(which="klgen", epochs=5, batch_size=128, seed=1):
    """Adam(1e-3); returns the test loss per image after the last epoch."""
    data = load_mnist()
    key = jax.random.key(seed)
    params = init(key)
    moments = jax.tree.map(jnp.zeros_like, (params, params))

    @jax.jit
    def step(params, moments, t, x, key):
        grads = jax.grad(loss)(params, x, key, which)
        m, v = moments
        m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)

        def update(p, m, v):
            return p - 1e-3 * (m / (1 - 0.9**t)) / (jnp.sqrt(v / (1 - 0.999**t)) + 1e-8)

        return jax.tree.map(update, params, m, v), (m, v)

    test_loss = jax.jit(lambda params, x, key: loss(params, x, key, which))
    rng, t = np.random.default_rng(seed), 0
    for epoch in range(epochs):
        order = rng.permutation(len(data.train_images))
        for start in range(0, len(order), batch_size):
            t, key = t + 1, jax.random.fold_in(key, t)
            x = data.train_images[order[start : start + batch_size]]
            params, moments = step(params, moments, t, x, key)
        chunks = np.split(data.test_images, 10)
        total = sum(float(test_loss(params, x, jax.random.key(i))) for i, x in enumerate(chunks))
        test = total / len(data.test_images)
        print(f"epoch {epoch + 1}: test loss {test:.2f} per image ({which} KL)")
    return test


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--kl", choices=("klgen", "formula"), default="klgen")
    parser.add_argument("--epochs", type=int, default=5)
    arguments = parser.parse_args()
    train(arguments.kl, arguments.epochs)
