"""The VAE of PyTorch's examples/vae: parameters, forward pass and backward pass, in numpy.

Encoder 784-400 (ReLU) with two heads of 20 (mu and logvar), decoder 20-400 (ReLU)-784
(sigmoid, folded into the loss). The loss of a batch is

    BCE(sum) + beta * KL(sum),   KL = KL(N(mu, diag(exp(logvar))) || prior)

where the prior is N(0, I) or, with a learned prior, N(prior.mu, diag(exp(prior.logvar))).
The BCE and the KL, values and gradients, come from the kernels klgen generates
(`generated.nll_bernoulli`, `generated.kl_*`); everything else is plain matrix calculus on
whole batches: a layer y = x W + b has dW = x^T dy, db = sum over rows of dy, dx = dy W^T.

Weights are stored (in, out), the transpose of torch.nn.Linear's, so every product is x @ W.
All parameters are views into one flat buffer (`ParamSet`), so the optimizer updates them in
a few passes over a single array instead of a loop over ten small ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from klgen.generated.kl_diag_normal import kl_diag_normal_value_and_grad
from klgen.generated.kl_std_normal import kl_std_normal_value_and_grad
from klgen.generated.nll_bernoulli import nll_bernoulli, nll_bernoulli_value_and_grad

PRIORS = ("standard", "learned")


@dataclass(frozen=True)
class Dims:
    """Layer widths: input pixels, hidden units, latent dimensions."""

    input: int = 784
    hidden: int = 400
    latent: int = 20


def param_shapes(dims: Dims, prior: str = "standard") -> dict[str, tuple[int, ...]]:
    """Name -> shape of every trainable array, in the order of the flat buffer."""
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    layers = {
        "fc1": (dims.input, dims.hidden),
        "fc21": (dims.hidden, dims.latent),  # mu head
        "fc22": (dims.hidden, dims.latent),  # logvar head
        "fc3": (dims.latent, dims.hidden),
        "fc4": (dims.hidden, dims.input),
    }
    shapes: dict[str, tuple[int, ...]] = {}
    for name, (fan_in, fan_out) in layers.items():
        shapes[f"{name}.weight"] = (fan_in, fan_out)
        shapes[f"{name}.bias"] = (fan_out,)
    if prior == "learned":
        shapes["prior.mu"] = (dims.latent,)
        shapes["prior.logvar"] = (dims.latent,)
    return shapes


class ParamSet:
    """Named arrays that are views into one flat buffer `flat` (parameters or gradients)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], dtype=np.float32, flat=None):
        sizes = [int(np.prod(shape)) for shape in shapes.values()]
        if flat is None:
            flat = np.zeros(sum(sizes), dtype=dtype)
        if flat.shape != (sum(sizes),):
            raise ValueError(f"flat buffer has shape {flat.shape}, expected ({sum(sizes)},)")
        self.shapes = dict(shapes)
        self.flat = flat
        self.arrays: dict[str, np.ndarray] = {}
        offset = 0
        for (name, shape), size in zip(shapes.items(), sizes, strict=True):
            self.arrays[name] = flat[offset : offset + size].reshape(shape)
            offset += size

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def zeros_like(self) -> ParamSet:
        """A new set of the same names, shapes and dtype, all zero (e.g. for gradients)."""
        return ParamSet(self.shapes, self.flat.dtype)

    @property
    def prior(self) -> str:
        """``learned`` if the set carries a prior mean and log-variance, else ``standard``."""
        return "learned" if "prior.mu" in self.arrays else "standard"


def init_params(dims: Dims, prior: str, rng: np.random.Generator, dtype=np.float32) -> ParamSet:
    """Parameters initialised as torch.nn.Linear does; a learned prior starts at N(0, I).

    torch.nn.Linear draws weight (kaiming_uniform with a = sqrt(5)) and bias alike from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    params = ParamSet(param_shapes(dims, prior), dtype)
    for name, array in params.arrays.items():
        if name.startswith("prior."):
            continue  # zero mean, zero log-variance
        fan_in = params.shapes[name.replace(".bias", ".weight")][0]
        bound = 1 / np.sqrt(fan_in)
        array[...] = rng.uniform(-bound, bound, size=array.shape)
    return params


class Workspace:
    """Scratch arrays kept from one step to the next, by name and shape.

    A fresh (128, 784) float32 result is 400 KB, which numpy gets from the OS and
    page-faults in again on every step; reusing the arrays (out=) made an epoch about 10%
    faster here.
    """

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self._arrays: dict[tuple, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        key = (name, shape)
        if key not in self._arrays:
            self._arrays[key] = np.empty(shape, dtype=self.dtype)
        return self._arrays[key]

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        """A read-only array of zeros of ``shape``, kept."""
        key = ("zeros", shape)
        if key not in self._arrays:
            self._arrays[key] = np.zeros(shape, dtype=self.dtype)
            self._arrays[key].flags.writeable = False
        return self._arrays[key]


def relu(h: np.ndarray, work: Workspace) -> np.ndarray:
    """max(h, 0) in place, against an array of zeros: numpy takes a number there in a
    scalar loop (20 us at 128 x 400 float32, 4.3 us against the array)."""
    return np.maximum(h, work.zeros(h.shape), out=h)


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """x @ w + b, into `out`."""
    np.matmul(x, w, out=out)
    out += b
    return out


def encode(p: ParamSet, x: np.ndarray, work: Workspace):
    """Hidden activations h1, and mu and logvar of the posterior q(z | x)."""
    n, (hidden, latent) = len(x), p.shapes["fc21.weight"]
    h1 = linear(x, p["fc1.weight"], p["fc1.bias"], work("h1", (n, hidden)))
    relu(h1, work)
    mu = linear(h1, p["fc21.weight"], p["fc21.bias"], work("mu", (n, latent)))
    logvar = linear(h1, p["fc22.weight"], p["fc22.bias"], work("logvar", (n, latent)))
    return h1, mu, logvar


def decode(p: ParamSet, z: np.ndarray, work: Workspace):
    """Hidden activations h3 and the pixel logits of p(x | z): pixel means are sigmoid(logits)."""
    n, (hidden, pixels) = len(z), p.shapes["fc4.weight"]
    h3 = linear(z, p["fc3.weight"], p["fc3.bias"], work("h3", (n, hidden)))
    relu(h3, work)
    logits = linear(h3, p["fc4.weight"], p["fc4.bias"], work("logits", (n, pixels)))
    return h3, logits


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-a)), as 0.5 + 0.5 tanh(a / 2): one transcendental, never overflows."""
    s = np.multiply(a, 0.5, out=out)
    np.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    return s


def bce_and_grad(logits: np.ndarray, x: np.ndarray, work: Workspace, grad: np.ndarray) -> float:
    """Sum of BCE(x, sigmoid(logits)) over the batch, with its gradient sigmoid(logits) - x
    written into `grad`: the generated ``nll_bernoulli`` kernel (one value per row, then
    their sum in float64; the kernel's dx = -logits goes to a scratch array unread)."""
    rows = work("bce_rows", logits.shape[:1])
    dx = work("bce_dx", logits.shape)
    nll_bernoulli_value_and_grad(logits, x, out=(rows, grad, dx))
    return float(rows.sum(dtype=np.float64))


def bce_sum(logits: np.ndarray, x: np.ndarray) -> float:
    """Sum of BCE(x, sigmoid(logits)) over the batch (the generated ``nll_bernoulli``)."""
    return float(nll_bernoulli(logits, x).sum(dtype=np.float64))


def kl_and_grads(p: ParamSet, mu: np.ndarray, logvar: np.ndarray):
    """Per-row KL(q || prior) and its gradients from the generated kernels.

    Returns (kl, dmu, dlogvar, dprior) where dprior is (dprior_mu, dprior_logvar) for a
    learned prior and None for N(0, I).
    """
    if p.prior == "standard":
        kl, (dmu, dlogvar) = kl_std_normal_value_and_grad(mu, logvar)
        return kl, dmu, dlogvar, None
    kl, (dmu, dlogvar, dmu_p, dlogvar_p) = kl_diag_normal_value_and_grad(
        mu, logvar, p["prior.mu"], p["prior.logvar"]
    )
    return kl, dmu, dlogvar, (dmu_p, dlogvar_p)


@dataclass
class Losses:
    """Sums over a batch: reconstruction BCE, KL, and the objective BCE + beta * KL."""

    bce: float
    kl: float
    beta: float

    @property
    def total(self) -> float:
        return self.bce + self.beta * self.kl


def loss_and_grad(
    p: ParamSet,
    x: np.ndarray,
    eps: np.ndarray,
    beta: float,
    grads: ParamSet,
    work: Workspace | None = None,
) -> Losses:
    """The batch loss, with its gradient for every parameter written into `grads`.

    `x` is (B, input) in [0, 1]; `eps` is (B, latent) standard normal noise for the
    reparameterisation z = mu + eps * exp(logvar / 2). `work` holds the intermediate
    arrays; pass the same one every step to reuse them.
    """
    work = work or Workspace(p.flat.dtype)
    # Forward.
    h1, mu, logvar = encode(p, x, work)
    std = np.exp(0.5 * logvar)
    z = eps * std
    z += mu
    h3, logits = decode(p, z, work)
    dlogits = work("dlogits", logits.shape)
    bce = bce_and_grad(logits, x, work, dlogits)
    kl, dmu_kl, dlogvar_kl, dprior = kl_and_grads(p, mu, logvar)

    # Backward, layer by layer: dW = input^T d(output), db = column sums, d(input) = d W^T;
    # through a ReLU, d(input) = d(output) where the output is positive, else 0.
    g = grads
    np.matmul(h3.T, dlogits, out=g["fc4.weight"])
    np.sum(dlogits, axis=0, out=g["fc4.bias"])
    dh3 = np.matmul(dlogits, p["fc4.weight"].T, out=work("dh3", h3.shape))
    dh3 *= h3 > 0
    np.matmul(z.T, dh3, out=g["fc3.weight"])
    np.sum(dh3, axis=0, out=g["fc3.bias"])
    dz = dh3 @ p["fc3.weight"].T
    # z = mu + eps * exp(logvar / 2): dz/dmu = 1, dz/dlogvar = eps * std / 2.
    dmu = dz + beta * dmu_kl
    dlogvar = dz * eps * std
    dlogvar *= 0.5
    dlogvar += beta * dlogvar_kl
    np.matmul(h1.T, dmu, out=g["fc21.weight"])
    np.sum(dmu, axis=0, out=g["fc21.bias"])
    np.matmul(h1.T, dlogvar, out=g["fc22.weight"])
    np.sum(dlogvar, axis=0, out=g["fc22.bias"])
    dh1 = np.matmul(dmu, p["fc21.weight"].T, out=work("dh1", h1.shape))
    dh1 += np.matmul(dlogvar, p["fc22.weight"].T, out=work("dh1_logvar", h1.shape))
    dh1 *= h1 > 0
    np.matmul(x.T, dh1, out=g["fc1.weight"])
    np.sum(dh1, axis=0, out=g["fc1.bias"])
    if dprior is not None:
        np.multiply(dprior[0], beta, out=g["prior.mu"])
        np.multiply(dprior[1], beta, out=g["prior.logvar"])
    return Losses(bce, float(kl.sum()), beta)


def evaluate(p: ParamSet, x: np.ndarray, eps: np.ndarray, work: Workspace | None = None):
    """BCE and KL summed over the batch, z sampled as in training (as the torch example's
    test() does)."""
    work = work or Workspace(p.flat.dtype)
    _, mu, logvar = encode(p, x, work)
    z = eps * np.exp(0.5 * logvar)
    z += mu
    _, logits = decode(p, z, work)
    kl, *_ = kl_and_grads(p, mu, logvar)
    return bce_sum(logits, x), float(kl.sum())


def reconstruct(p: ParamSet, x: np.ndarray) -> np.ndarray:
    """Pixel means decoded from the posterior mean (no sampling noise): for pictures."""
    work = Workspace(p.flat.dtype)
    _, mu, _ = encode(p, x, work)
    return sigmoid(decode(p, mu, work)[1])


def sample(p: ParamSet, eps: np.ndarray) -> np.ndarray:
    """Pixel means decoded from z = prior mean + eps * prior std (N(0, I) if standard)."""
    z = eps
    if p.prior == "learned":
        z = p["prior.mu"] + eps * np.exp(0.5 * p["prior.logvar"])
    return sigmoid(decode(p, z, Workspace(p.flat.dtype))[1])
