"""The Gaussian likelihood with a learned variance: -log N(x; mu, e^logvar)."""

import sympy as sp

import klgen

x, mu, logvar = sp.symbols("x mu logvar", real=True)
variance = sp.exp(logvar)
NLL = (sp.log(2 * sp.pi) + logvar + (x - mu) ** 2 * sp.exp(-logvar)) / 2

KERNELS = (
    klgen.Kernel(
        name="nll_gaussian",
        args=(x, mu, logvar),
        term=NLL,
        computes="-log N(x; mu, e^logvar) summed over the last axis",
        derivation=klgen.Derivation(
            title="The negative log-likelihood of a Gaussian, in log-variance",
            steps=(
                (
                    -sp.log(
                        sp.exp(-((x - mu) ** 2) / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)
                    ),
                    "the definition, -log of the density N(x; mu, sigma^2), sigma^2 = e^logvar",
                ),
                (NLL, "the logarithm of the product split; 1/sigma^2 = e^-logvar"),
            ),
        ),
    ),
)
