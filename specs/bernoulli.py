"""Bernoulli distributions in logits: KL(Bernoulli(sigmoid(logits)) || Bernoulli(sigmoid(
logits_p))) and the negative log-likelihood of data x (a VAE's binary cross-entropy)."""

import sympy as sp

import klgen

logits, logits_p, x = sp.symbols("logits logits_p x", real=True)
k = sp.Symbol("k", integer=True, nonnegative=True)
s = klgen.sigmoid


def pmf(a):
    """P(k) = p^k (1 - p)^(1 - k) on k in {0, 1}, p = sigmoid(a) and 1 - p = sigmoid(-a)."""
    return s(a) ** k * s(-a) ** (1 - k)


KL = s(logits) * (sp.log(s(logits)) - sp.log(s(logits_p))) + s(-logits) * (
    sp.log(s(-logits)) - sp.log(s(-logits_p))
)
NLL = -x * sp.log(s(logits)) - (1 - x) * sp.log(s(-logits))

KERNELS = (
    klgen.Kernel(
        name="kl_bernoulli",
        args=(logits, logits_p),
        term=KL,
        computes="KL(Bernoulli(sigmoid(logits)) || Bernoulli(sigmoid(logits_p))) per row",
        derivation=klgen.Derivation(
            title="The KL divergence of two Bernoulli distributions, in logits",
            steps=(
                (
                    sp.Sum(pmf(logits) * sp.log(pmf(logits) / pmf(logits_p)), (k, 0, 1)),
                    "the definition, E_P[log P(k)/Q(k)], with P(k) = p^k (1 - p)^(1 - k), "
                    "p = sigmoid(logits), 1 - p = sigmoid(-logits) (Q likewise)",
                ),
                (
                    s(logits) * sp.log(s(logits) / s(logits_p))
                    + s(-logits) * sp.log(s(-logits) / s(-logits_p)),
                    "the terms k = 1 and k = 0",
                ),
                (KL, "the logarithms of the ratios split"),
            ),
        ),
    ),
    klgen.Kernel(
        name="nll_bernoulli",
        args=(logits, x),
        term=NLL,
        computes="-log Bernoulli(x; sigmoid(logits)) summed over the last axis (binary "
        "cross-entropy with logits; x in [0, 1])",
        derivation=klgen.Derivation(
            title="The negative log-likelihood of a Bernoulli distribution, in logits",
            steps=(
                (
                    -sp.log(s(logits) ** x * s(-logits) ** (1 - x)),
                    "the definition, -log P(x) with P(x) = p^x (1 - p)^(1 - x), "
                    "p = sigmoid(logits) (for x in [0, 1], the binary cross-entropy)",
                ),
                (NLL, "the logarithm of the product split"),
            ),
        ),
    ),
)
