"""Gamma distributions in log-concentrations and log-rates: KL(Gamma(e^log_concentration,
e^log_rate) || Gamma(e^log_concentration_p, e^log_rate_p)), the rate parametrisation."""

import sympy as sp

import klgen

log_concentration, log_rate = sp.symbols("log_concentration log_rate", real=True)
log_concentration_p, log_rate_p = sp.symbols("log_concentration_p log_rate_p", real=True)
x = sp.Symbol("x", positive=True)
alpha, beta = sp.exp(log_concentration), sp.exp(log_rate)
alpha_p, beta_p = sp.exp(log_concentration_p), sp.exp(log_rate_p)


def density(concentration, rate):
    """beta^alpha x^(alpha - 1) e^(-beta x) / Gamma(alpha) on x > 0."""
    return (
        rate**concentration * x ** (concentration - 1) * sp.exp(-rate * x) / sp.gamma(concentration)
    )


def digamma(z):
    return sp.polygamma(0, z)


KL = (
    sp.loggamma(alpha_p)
    - sp.loggamma(alpha)
    + (alpha - alpha_p) * digamma(alpha)
    + alpha_p * (log_rate - log_rate_p)
    + alpha * (sp.exp(log_rate_p - log_rate) - 1)
)

KERNELS = (
    klgen.Kernel(
        name="kl_gamma",
        args=(log_concentration, log_rate, log_concentration_p, log_rate_p),
        term=KL,
        computes="KL(Gamma(e^log_concentration, e^log_rate) || Gamma(e^log_concentration_p, "
        "e^log_rate_p)) per row (concentration and rate: density b^a x^(a-1) e^(-b x) / "
        "Gamma(a))",
        derivation=klgen.Derivation(
            title="The KL divergence of two Gamma distributions, in log-concentrations and "
            "log-rates",
            steps=(
                (
                    sp.Integral(
                        density(alpha, beta)
                        * sp.log(density(alpha, beta) / density(alpha_p, beta_p)),
                        (x, 0, sp.oo),
                    ),
                    "the definition, E_P[log p(x)/q(x)], with p(x) = b^a x^(a-1) e^(-b x) / "
                    "Gamma(a), a = e^log_concentration, b = e^log_rate (q likewise)",
                ),
                (
                    sp.Integral(
                        density(alpha, beta)
                        * (
                            (alpha - alpha_p) * sp.log(x)
                            - (beta - beta_p) * x
                            + alpha * log_rate
                            - alpha_p * log_rate_p
                            - sp.loggamma(alpha)
                            + sp.loggamma(alpha_p)
                        ),
                        (x, 0, sp.oo),
                    ),
                    "log p(x)/q(x) = (a - a_p) log x - (b - b_p) x + a log b - a_p log b_p "
                    "- log Gamma(a) + log Gamma(a_p)",
                ),
                (
                    (alpha - alpha_p) * (digamma(alpha) - log_rate)
                    - (beta - beta_p) * alpha / beta
                    + alpha * log_rate
                    - alpha_p * log_rate_p
                    - sp.loggamma(alpha)
                    + sp.loggamma(alpha_p),
                    "E_P[log x] = psi(a) - log b, E_P[x] = a/b and E_P[1] = 1 (SymPy "
                    "integrates each)",
                ),
                (KL, "collected: log Gamma terms, psi(a), the rates' terms"),
            ),
        ),
    ),
)
