"""Poisson distributions in log-rates: KL(Poisson(e^log_rate) || Poisson(e^log_rate_p))."""

import sympy as sp

import klgen

log_rate, log_rate_p = sp.symbols("log_rate log_rate_p", real=True)
k = sp.Symbol("k", integer=True, nonnegative=True)
rate, rate_p = sp.exp(log_rate), sp.exp(log_rate_p)


def pmf(lam):
    """P(k) = lam^k e^-lam / k! on k = 0, 1, 2, ..."""
    return lam**k * sp.exp(-lam) / sp.factorial(k)


KL = rate * (log_rate - log_rate_p) - rate + rate_p

KERNELS = (
    klgen.Kernel(
        name="kl_poisson",
        args=(log_rate, log_rate_p),
        term=KL,
        computes="KL(Poisson(e^log_rate) || Poisson(e^log_rate_p)) per row",
        derivation=klgen.Derivation(
            title="The KL divergence of two Poisson distributions, in log-rates",
            steps=(
                (
                    sp.Sum(pmf(rate) * sp.log(pmf(rate) / pmf(rate_p)), (k, 0, sp.oo)),
                    "the definition, E_P[log P(k)/Q(k)], with P(k) = lam^k e^-lam / k!, "
                    "lam = e^log_rate (Q likewise)",
                ),
                (
                    sp.Sum(
                        pmf(rate) * (k * (log_rate - log_rate_p) - rate + rate_p), (k, 0, sp.oo)
                    ),
                    "log P(k)/Q(k) = k log(lam/lam_p) - lam + lam_p: the k! cancel",
                ),
                (KL, "E_P[k] = lam and E_P[1] = 1"),
            ),
        ),
    ),
)
