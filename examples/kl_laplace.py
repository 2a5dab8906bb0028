"""KL(Laplace(loc, b) || Laplace(loc_p, b_p)) with b = e^log_scale: a klgen spec file."""

import sympy as sp

import klgen

loc, log_scale, loc_p, log_scale_p = sp.symbols("loc log_scale loc_p log_scale_p", real=True)
b, b_p = sp.symbols("b b_p", positive=True)
distance = sp.Abs(loc - loc_p)

# The closed form in the scales (e.g. Gil, Alajaji and Linder 2011), then b = e^log_scale.
in_scales = sp.log(b_p / b) + (b * sp.exp(-distance / b) + distance) / b_p - 1
term = in_scales.subs({b: sp.exp(log_scale), b_p: sp.exp(log_scale_p)})

KERNELS = [
    klgen.Kernel(
        name="kl_laplace",
        args=(loc, log_scale, loc_p, log_scale_p),
        term=term,
        computes="KL(Laplace(loc, e^log_scale) || Laplace(loc_p, e^log_scale_p)) per row",
        derivation=klgen.Derivation(
            title="The KL divergence of two Laplace distributions, in log-scales",
            steps=[
                (
                    in_scales.subs({b: sp.exp(log_scale), b_p: sp.exp(log_scale_p)}),
                    "the closed form in the scales b = e^log_scale, b_p = e^log_scale_p",
                ),
                (
                    log_scale_p
                    - log_scale
                    + sp.exp(log_scale - log_scale_p - distance * sp.exp(-log_scale))
                    + distance * sp.exp(-log_scale_p)
                    - 1,
                    "log(b_p / b) = log_scale_p - log_scale; the exponentials combined",
                ),
            ],
        ),
    )
]
