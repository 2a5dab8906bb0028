"""Derivations 2-4: diagonal Gaussians in the log-variance parametrization, as VAEs use them.

The steps are sums over the latent dimension j = 1..k of IndexedBase entries. Each is checked
for k = 1, 2, 3 with symbolic entries and for k up to 5 at random rational points. The first
step of each is checked against the result it starts from: derivation 1's closed form with
diagonal covariances substituted, then that result with the prior set to N(0, I), then the
partial derivatives of that.
"""

import sympy as sp

from klgen.derive import gaussian
from klgen.derive.derivations import general
from klgen.derive.derivations.notation import ordered, scaled
from klgen.derive.derivations.steps import Case, Derivation, rational, rng, step

k = general.k
j = sp.Symbol("j", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
mu = sp.IndexedBase("mu", real=True)
logvar = sp.IndexedBase("logvar", real=True)
mu_p = sp.IndexedBase("mu_p", real=True)
logvar_p = sp.IndexedBase("logvar_p", real=True)
BASES = {mu: gaussian.mu, logvar: gaussian.logvar, mu_p: gaussian.mu_p, logvar_p: gaussian.logvar_p}
half = sp.Rational(1, 2)


def _sum(term):
    return sp.Sum(term, (j, 1, k))


def scalar_form(expr):
    """An expression in one dimension's entries (mu[j], ...) in derive.gaussian's Symbols."""
    return expr.replace(lambda e: isinstance(e, sp.Indexed), lambda e: BASES[e.base])


def summand(expr):
    """The per-dimension term of c * Sum(term, (j, 1, k)), c * term, in gaussian's Symbols."""
    coeff, total = expr.as_coeff_Mul()
    if not isinstance(total, sp.Sum):
        raise ValueError(f"not a sum over latent dimensions: {expr}")
    return scalar_form(coeff * total.function)


def _diag_steps():
    diff = ordered(mu_p[j], -mu[j])
    return [
        step(
            scaled(
                half,
                ordered(
                    _sum(sp.exp(logvar[j]) / sp.exp(logvar_p[j])),
                    _sum(diff**2 / sp.exp(logvar_p[j])),
                    -k,
                    sp.log(
                        sp.Product(sp.exp(logvar_p[j]), (j, 1, k))
                        / sp.Product(sp.exp(logvar[j]), (j, 1, k))
                    ),
                ),
            ),
            "substitute Sigma_0 = diag(exp(logvar)), Sigma_1 = diag(exp(logvar_p)): the inverse "
            "of a diagonal matrix inverts its entries, so the trace and the quadratic form "
            "become sums over j, and a determinant is the product of the diagonal",
        ),
        step(
            scaled(
                half,
                ordered(
                    _sum(sp.exp(ordered(logvar[j], -logvar_p[j]))),
                    _sum(diff**2 * sp.exp(-logvar_p[j])),
                    -k,
                    _sum(ordered(logvar_p[j], -logvar[j])),
                ),
            ),
            "e^a / e^b = e^(a-b); ln of a product is the sum of the lns, and ln e^a = a",
        ),
        step(
            _sum(
                scaled(
                    half,
                    ordered(
                        sp.exp(ordered(logvar[j], -logvar_p[j])),
                        ordered(mu[j], -mu_p[j]) ** 2 * sp.exp(-logvar_p[j]),
                        -1,
                        logvar_p[j],
                        -logvar[j],
                    ),
                )
            ),
            "k = sum over j of 1; one sum: the KL of a diagonal Gaussian is a sum of 1-D KLs",
        ),
    ]


def _std_steps():
    return [
        step(
            _sum(scaled(half, ordered(sp.exp(logvar[j]), mu[j] ** 2, -1, -logvar[j]))),
            "the prior N(0, I): set mu_p = 0 and logvar_p = 0 (Sigma_1 = I)",
        ),
        step(
            scaled(-half, _sum(ordered(1, logvar[j], -(mu[j] ** 2), -sp.exp(logvar[j])))),
            "take out the factor -1/2: the form of Kingma & Welling (2014), appendix B",
        ),
    ]


def _grad_steps(kl):
    term = scaled(-half, ordered(1, logvar[i], -(mu[i] ** 2), -sp.exp(logvar[i])))
    return [
        step(
            sp.Matrix([sp.Derivative(kl, mu[i]), sp.Derivative(kl, logvar[i])]),
            "definition: the partial derivatives of the KL in latent dimension i",
        ),
        step(
            sp.Matrix([sp.Derivative(term, mu[i]), sp.Derivative(term, logvar[i])]),
            "only the i-th term of the sum depends on mu_i and logvar_i",
        ),
        step(
            sp.Matrix([mu[i], scaled(half, ordered(sp.exp(logvar[i]), -1))]),
            "d/dx x^2 = 2x and d/dx e^x = e^x",
        ),
    ]


def _values(n, source):
    """Random rational values for every entry that dimension n uses."""
    return {base[m]: rational(source) for base in BASES for m in range(1, n + 1)}


def _realize(expr, n, values):
    """The step for k = n as a tuple of scalars; a gradient is realized for each i = 1..n."""
    expr = sp.sympify(expr)
    indices = range(1, n + 1) if expr.has(i) else [None]
    out = []
    for index in indices:
        rules = {k: sp.Integer(n)} | ({i: sp.Integer(index)} if index else {})
        concrete = expr.xreplace(rules).doit()
        if values:
            concrete = concrete.xreplace(values)
        out.extend(concrete if isinstance(concrete, sp.MatrixBase) else [concrete])
    return tuple(out)


def _cases(name, anchor=None):
    """Symbolic cases k = 1, 2, 3 and numeric cases k = 1..5, with step 0's anchor if any."""
    cases = []
    for n, values in [(n, None) for n in (1, 2, 3)] + [
        (n, _values(n, rng(f"{name}-{n}"))) for n in (1, 2, 3, 4, 5)
    ]:
        label = f"k={n}, " + ("symbolic entries" if values is None else "random point")
        cases.append(
            Case(
                label,
                values is None,
                lambda e, n=n, v=values: _realize(e, n, v),
                None if anchor is None else lambda n=n, v=values: _realize(anchor(n), n, v),
            )
        )
    return cases


def _diagonal_closed_form(n):
    """Derivation 1's result for dimension n with both covariances diagonal."""
    rows = range(1, n + 1)
    rules = {
        general.k: sp.Integer(n),
        general.mu_0: sp.ImmutableMatrix([mu[m] for m in rows]),
        general.mu_1: sp.ImmutableMatrix([mu_p[m] for m in rows]),
        general.Sigma_0: sp.ImmutableMatrix(sp.diag(*[sp.exp(logvar[m]) for m in rows])),
        general.Sigma_1: sp.ImmutableMatrix(sp.diag(*[sp.exp(logvar_p[m]) for m in rows])),
    }
    return general.DERIVATION.final.xreplace(rules)


DIAG_NORMAL = Derivation(
    name="diag_normal",
    title="Diagonal Gaussians, log-variance parametrization (learned prior)",
    intro=(
        "q = N(mu, diag(exp(logvar))) and a learned prior p = N(mu_p, diag(exp(logvar_p))): "
        "the general closed form with diagonal covariances, written per latent dimension."
    ),
    lhs=r"\mathrm{KL}\left(q \,\|\, p\right)",
    lhs_text="KL(q || p)",
    steps=_diag_steps(),
    cases=lambda: _cases("diag_normal", _diagonal_closed_form),
    anchor="the closed form of gaussian_kl with Sigma_0, Sigma_1 diagonal",
)


def _std_prior(n):
    return DIAG_NORMAL.final.xreplace({mu_p[j]: 0, logvar_p[j]: 0})


STD_NORMAL = Derivation(
    name="std_normal",
    title="Diagonal Gaussian against the standard normal prior N(0, I)",
    intro=(
        "The VAE's KL term: q = N(mu, diag(exp(logvar))) against p = N(0, I), the previous "
        "result with mu_p = 0 and logvar_p = 0."
    ),
    lhs=r"\mathrm{KL}\left(q \,\|\, \mathcal{N}(0, I)\right)",
    lhs_text="KL(q || N(0, I))",
    steps=_std_steps(),
    cases=lambda: _cases("std_normal", _std_prior),
    anchor="the result of diag_normal with mu_p = 0, logvar_p = 0",
)

STD_NORMAL_GRAD = Derivation(
    name="std_normal_grad",
    title="Gradients of the standard-normal KL with respect to mu and logvar",
    intro=(
        "What backpropagation needs from the KL term: its partial derivatives in each latent "
        "dimension i. Checked against SymPy's own differentiation of the summed KL."
    ),
    lhs=(
        r"\begin{pmatrix} \partial \mathrm{KL} / \partial \mu_{i} \\ "
        r"\partial \mathrm{KL} / \partial \mathrm{logvar}_{i} \end{pmatrix}"
    ),
    lhs_text="(dKL/dmu_i, dKL/dlogvar_i)",
    steps=_grad_steps(STD_NORMAL.final),
    cases=lambda: _cases("std_normal_grad"),
)


def gradient_terms(derivation):
    """The final gradient step as {"mu": ..., "logvar": ...} in derive.gaussian's Symbols."""
    d_mu, d_logvar = derivation.final
    return {"mu": scalar_form(d_mu), "logvar": scalar_form(d_logvar)}
