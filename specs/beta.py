"""Beta distributions in log-concentrations: KL(Beta(e^log_a, e^log_b) || Beta(e^log_a_p,
e^log_b_p)), the density x^(a-1) (1-x)^(b-1) / B(a, b) on 0 < x < 1."""

import sympy as sp

import klgen

log_a, log_b, log_a_p, log_b_p = sp.symbols("log_a log_b log_a_p log_b_p", real=True)
x = sp.Symbol("x", positive=True)
a, b, a_p, b_p = sp.exp(log_a), sp.exp(log_b), sp.exp(log_a_p), sp.exp(log_b_p)


def density(a, b):
    """x^(a-1) (1-x)^(b-1) Gamma(a + b) / (Gamma(a) Gamma(b)) on 0 < x < 1."""
    return x ** (a - 1) * (1 - x) ** (b - 1) * sp.gamma(a + b) / (sp.gamma(a) * sp.gamma(b))


def digamma(z):
    return sp.polygamma(0, z)


def log_beta(a, b):
    """log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)."""
    return sp.loggamma(a) + sp.loggamma(b) - sp.loggamma(a + b)


KL = (
    log_beta(a_p, b_p)
    - log_beta(a, b)
    + (a - a_p) * digamma(a)
    + (b - b_p) * digamma(b)
    + (a_p + b_p - a - b) * digamma(a + b)
)

KERNELS = (
    klgen.Kernel(
        name="kl_beta",
        args=(log_a, log_b, log_a_p, log_b_p),
        term=KL,
        computes="KL(Beta(e^log_a, e^log_b) || Beta(e^log_a_p, e^log_b_p)) per row (density "
        "x^(a-1) (1-x)^(b-1) / B(a, b) on 0 < x < 1)",
        derivation=klgen.Derivation(
            title="The KL divergence of two Beta distributions, in log-concentrations",
            steps=(
                (
                    sp.Integral(
                        density(a, b) * sp.log(density(a, b) / density(a_p, b_p)), (x, 0, 1)
                    ),
                    "the definition, E_P[log p(x)/q(x)], with p(x) = x^(a-1) (1-x)^(b-1) / "
                    "B(a, b), B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b), a = e^log_a, "
                    "b = e^log_b (q likewise)",
                ),
                (
                    (a - a_p) * (digamma(a) - digamma(a + b))
                    + (b - b_p) * (digamma(b) - digamma(a + b))
                    - log_beta(a, b)
                    + log_beta(a_p, b_p),
                    "log p(x)/q(x) = (a - a_p) log x + (b - b_p) log(1 - x) - log B(a, b) + "
                    "log B(a_p, b_p), and E_P[log x] = psi(a) - psi(a + b), E_P[log(1 - x)] = "
                    "psi(b) - psi(a + b) (SymPy does not integrate these: checked by "
                    "quadrature at random points)",
                ),
                (KL, "collected: the log B terms, psi(a), psi(b), psi(a + b)"),
            ),
            by_quadrature=(0,),
        ),
    ),
)
