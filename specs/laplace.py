"""Laplace distributions in log-scales: KL(Laplace(loc, e^log_scale) || Laplace(loc_p,
e^log_scale_p))."""

import sympy as sp

import klgen

loc, log_scale, loc_p, log_scale_p = sp.symbols("loc log_scale loc_p log_scale_p", real=True)
b, b_p = sp.exp(log_scale), sp.exp(log_scale_p)
t = sp.Symbol("t", real=True)
distance = sp.Abs(loc - loc_p)


def mean_absolute_deviation(about):
    """E|X - about| for X ~ Laplace(loc, b): with X = loc + b t (t standard Laplace, density
    e^-|t| / 2) and D = |loc - about| / b (the law is symmetric about loc, so only the
    distance counts), b times the integral of |t + D| e^-|t| / 2 split where t + D and t
    change sign."""
    d = sp.Abs(loc - about) / b
    return b * (
        sp.Integral(-(t + d) * sp.exp(t) / 2, (t, -sp.oo, -d))
        + sp.Integral((t + d) * sp.exp(t) / 2, (t, -d, 0))
        + sp.Integral((t + d) * sp.exp(-t) / 2, (t, 0, sp.oo))
    )


KL = log_scale_p - log_scale + sp.exp(-distance * sp.exp(-log_scale) + log_scale - log_scale_p)
KL += distance * sp.exp(-log_scale_p) - 1

KERNELS = (
    klgen.Kernel(
        name="kl_laplace",
        args=(loc, log_scale, loc_p, log_scale_p),
        term=KL,
        computes="KL(Laplace(loc, e^log_scale) || Laplace(loc_p, e^log_scale_p)) per row",
        # e^t - 1 - t by its series up to |t| = 1: with 0.5 the value is 5.3 ulps off at
        # t = -0.77, where E(t) = 0.23 (derive/numerics.py).
        series_radius=1.0,
        derivation=klgen.Derivation(
            title="The KL divergence of two Laplace distributions, in log-scales",
            steps=(
                (
                    sp.log(b_p / b)
                    - mean_absolute_deviation(loc) / b
                    + mean_absolute_deviation(loc_p) / b_p,
                    "the definition, E_P[log p(X)/q(X)], with the densities p(x) = "
                    "e^(-|x - loc|/b) / (2 b), b = e^log_scale (q likewise): log p(x)/q(x) "
                    "= log(b_p/b) - |x - loc|/b + |x - loc_p|/b_p, and each E|X - c| as "
                    "the integral over the standardised t = (X - loc)/b",
                ),
                (
                    sp.log(b_p / b) - 1 + (distance + b * sp.exp(-distance / b)) / b_p,
                    "the integrals evaluated: E|X - loc| = b, E|X - loc_p| = |loc - loc_p| "
                    "+ b e^(-|loc - loc_p|/b)",
                ),
                (KL, "log(b_p/b) = log_scale_p - log_scale; b e^(...) / b_p as one exponential"),
            ),
        ),
    ),
)
