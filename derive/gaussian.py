"""The Gaussian KL divergence in closed form, and its specialisations by substitution.

The general closed form is written once, for explicit SymPy matrices; the diagonal and
standard-normal cases used by VAEs are obtained from it by substituting their covariances,
never typed again.
"""

import sympy as sp

mu, logvar, mu_p, logvar_p = sp.symbols("mu logvar mu_p logvar_p", real=True)


def kl_closed_form(m0: sp.Matrix, s0: sp.Matrix, m1: sp.Matrix, s1: sp.Matrix) -> sp.Expr:
    r"""KL(N(m0, S0) || N(m1, S1)) for explicit k-dimensional SymPy matrices.

    $\frac12\left[\operatorname{tr}(S_1^{-1}S_0) + (m_1-m_0)^T S_1^{-1}(m_1-m_0) - k
    + \ln\frac{\det S_1}{\det S_0}\right]$
    """
    k = m0.shape[0]
    s1_inv = s1.inv()
    diff = m1 - m0
    mahalanobis = (diff.T * s1_inv * diff)[0, 0]
    return ((s1_inv * s0).trace() + mahalanobis - k + sp.log(s1.det() / s0.det())) / 2


def diag_normal_term() -> sp.Expr:
    """One latent dimension of KL(N(mu, exp(logvar)) || N(mu_p, exp(logvar_p))).

    A diagonal Gaussian is a product of independent 1-D Gaussians, so its KL is the sum of
    the 1-D KLs: the general closed form at k = 1 with S = exp(logvar).
    """
    one_d = kl_closed_form(
        sp.Matrix([mu]),
        sp.Matrix([[sp.exp(logvar)]]),
        sp.Matrix([mu_p]),
        sp.Matrix([[sp.exp(logvar_p)]]),
    )
    return sp.powsimp(sp.expand_log(one_d, force=True))


def std_normal_term() -> sp.Expr:
    """One latent dimension of KL(N(mu, exp(logvar)) || N(0, 1)): the prior set to N(0, 1)."""
    return diag_normal_term().subs({mu_p: 0, logvar_p: 0})
