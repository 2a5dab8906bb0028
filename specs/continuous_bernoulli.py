"""The continuous Bernoulli likelihood in logits: -log CB(x; sigmoid(logits)) for x in [0, 1]
(Loaiza-Ganem and Cunningham 2019), the reconstruction term of a VAE on pixel intensities."""

import sympy as sp

import klgen

logits, x = sp.symbols("logits x", real=True)
lam = klgen.sigmoid(logits)
e = sp.exp(logits)


def normaliser(z):
    """C(lam) = 2 atanh(1 - 2 lam) / (1 - 2 lam), with z = 1 - 2 lam: 1 / the integral of
    lam^x (1 - lam)^(1 - x) over [0, 1]."""
    return 2 * sp.atanh(z) / z


NLL = sp.log((e - 1) / logits) - x * logits

KERNELS = (
    klgen.Kernel(
        name="nll_continuous_bernoulli",
        args=(logits, x),
        term=NLL,
        computes="-log ContinuousBernoulli(x; sigmoid(logits)) summed over the last axis "
        "(x in [0, 1])",
        derivation=klgen.Derivation(
            title="The negative log-likelihood of a continuous Bernoulli distribution, in logits",
            steps=(
                (
                    -sp.log(normaliser(1 - 2 * lam) * lam**x * (1 - lam) ** (1 - x)),
                    "the definition, -log p(x) with p(x) = C(lam) lam^x (1 - lam)^(1 - x) on "
                    "[0, 1], C(lam) = 2 atanh(1 - 2 lam) / (1 - 2 lam), lam = sigmoid(logits)",
                ),
                (
                    -sp.log(
                        sp.log((1 + (1 - 2 * lam)) / (1 - (1 - 2 * lam)))
                        / (1 - 2 * lam)
                        * lam**x
                        * (1 - lam) ** (1 - x)
                    ),
                    "atanh(z) = log((1 + z) / (1 - z)) / 2",
                ),
                (
                    -sp.log(logits * (e + 1) / (e - 1))
                    + x * sp.log(1 + 1 / e)
                    + (1 - x) * sp.log(1 + e),
                    "with lam = e^a / (1 + e^a): (1 - lam) / lam = e^-a, 1 - 2 lam = (1 - e^a) / "
                    "(1 + e^a), so C = a (e^a + 1) / (e^a - 1); -log lam = log(1 + e^-a)",
                ),
                (NLL, "log(1 + e^-a) = log(1 + e^a) - a, and the (e^a + 1) cancel"),
            ),
        ),
    ),
)
