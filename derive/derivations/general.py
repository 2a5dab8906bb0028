r"""Derivation 1: KL(N(mu_0, Sigma_0) || N(mu_1, Sigma_1)) in closed form, in symbolic dimension k.

The steps are matrix expressions in MatrixSymbols of size k. They are checked for k = 1, 2, 3
with symbolic entries, each covariance written through a Cholesky factor
(Sigma = L L^T with a positive diagonal, which covers every positive-definite matrix), and
for k = 1..5 at random rational points. The expectation in the first steps is evaluated
by Gaussian moments (see notation.Expectation), the log-densities by sympy.stats, and at
k = 1 the definition is also checked by letting SymPy integrate q ln(q/p) over the line.
"""

import sympy as sp

from klgen.derive.derivations.notation import (
    Expectation,
    GaussianLogPdf,
    QuadraticForm,
    minus,
    ordered,
    scaled,
)
from klgen.derive.derivations.steps import Case, Derivation, Extra, rational, rng, step

k = sp.Symbol("k", integer=True, positive=True)
x = sp.MatrixSymbol("x", k, 1)
mu_0 = sp.MatrixSymbol("mu_0", k, 1)
mu_1 = sp.MatrixSymbol("mu_1", k, 1)
Sigma_0 = sp.MatrixSymbol("Sigma_0", k, k)
Sigma_1 = sp.MatrixSymbol("Sigma_1", k, k)


def _e(f):
    """E over x ~ q = N(mu_0, Sigma_0)."""
    return Expectation(f, x, mu_0, Sigma_0)


def _steps():
    ln, det, tr = sp.log, sp.Determinant, sp.Trace
    half = sp.Rational(1, 2)
    quad_q = QuadraticForm(minus(x, mu_0), Sigma_0.I)
    quad_p = QuadraticForm(minus(x, mu_1), Sigma_1.I)
    log_dets = ordered(ln(det(Sigma_1)), -ln(det(Sigma_0)))
    return [
        step(
            _e(ordered(GaussianLogPdf(x, mu_0, Sigma_0), -GaussianLogPdf(x, mu_1, Sigma_1))),
            "definition: KL(q || p) = E_q[ln q(x) - ln p(x)]",
        ),
        step(
            _e(
                ordered(
                    scaled(-half, ln(det(Sigma_0))),
                    scaled(-half, quad_q),
                    scaled(half, ln(det(Sigma_1))),
                    scaled(half, quad_p),
                )
            ),
            "Gaussian log-density ln N(x; m, S) = -k/2 ln 2pi - 1/2 ln det S "
            "- 1/2 (x-m)^T S^-1 (x-m); the k/2 ln 2pi terms cancel",
        ),
        step(
            ordered(scaled(half, log_dets), scaled(-half, _e(quad_q)), scaled(half, _e(quad_p))),
            "linearity of expectation; the log-determinants do not depend on x",
        ),
        step(
            ordered(
                scaled(half, log_dets),
                scaled(-half, tr(sp.MatMul(Sigma_0.I, Sigma_0, evaluate=False))),
                scaled(
                    half,
                    ordered(tr(Sigma_1.I * Sigma_0), QuadraticForm(minus(mu_0, mu_1), Sigma_1.I)),
                ),
            ),
            "E[(x-m)^T A (x-m)] = tr(A Sigma_0) + (mu_0-m)^T A (mu_0-m) for x ~ N(mu_0, Sigma_0); "
            "the second term vanishes for m = mu_0",
        ),
        step(
            scaled(
                half,
                ordered(
                    tr(Sigma_1.I * Sigma_0),
                    QuadraticForm(minus(mu_1, mu_0), Sigma_1.I),
                    -k,
                    ln(det(Sigma_1) / det(Sigma_0)),
                ),
            ),
            "tr(Sigma_0^-1 Sigma_0) = tr(I_k) = k; a quadratic form is even in its vector; "
            "ln a - ln b = ln(a/b)",
        ),
    ]


def _lower(n, prefix, values=None):
    """An n x n lower-triangular Cholesky factor: symbols (positive diagonal) or given values."""

    def entry(i, j):
        if i < j:
            return sp.S.Zero
        if values is not None:
            return values[(prefix, i, j)]
        return sp.Symbol(f"{prefix}{i + 1}{j + 1}", real=True, positive=(i == j))

    return sp.Matrix(n, n, entry)


def _vector(n, prefix, values=None):
    def entry(i, _):
        return (
            values[(prefix, i)] if values is not None else sp.Symbol(f"{prefix}{i + 1}", real=True)
        )

    return sp.Matrix(n, 1, entry)


def _random_values(n, source):
    values = {}
    for prefix in ("a", "b"):
        values.update({(prefix, i): rational(source) for i in range(n)})
    for prefix in ("l", "r"):
        for i in range(n):
            for j in range(i + 1):
                values[(prefix, i, j)] = rational(source, positive=(i == j))
    return values


def substitution(n, values=None):
    """MatrixSymbols of size k -> explicit n-dimensional matrices (symbols or values).

    Sigma^-1 and det Sigma are given from the Cholesky factor (L^-T L^-1 and the squared
    product of its diagonal) so that SymPy need not simplify a general symbolic inverse.
    """
    l0, l1 = _lower(n, "l", values), _lower(n, "r", values)
    rules = {k: sp.Integer(n), x: sp.Matrix(sp.symbols(f"x1:{n + 1}", real=True))}
    rules |= {mu_0: _vector(n, "a", values), mu_1: _vector(n, "b", values)}
    for sigma, factor in ((Sigma_0, l0), (Sigma_1, l1)):
        inverse = factor.inv()
        rules[sigma.I] = sp.ImmutableMatrix(inverse.T * inverse)
        rules[sp.Determinant(sigma)] = sp.prod(factor.diagonal()) ** 2
        rules[sigma] = sp.ImmutableMatrix(factor * factor.T)
    return {
        key: sp.ImmutableMatrix(v) if isinstance(v, sp.MatrixBase) else v
        for key, v in rules.items()
    }


def realize(expr, n, values=None):
    """The step as an explicit scalar for dimension n."""
    return (sp.sympify(expr).xreplace(substitution(n, values)).doit(),)


def _cases():
    symbolic = [
        Case(f"k={n}, symbolic entries", True, lambda e, n=n: realize(e, n)) for n in (1, 2, 3)
    ]
    numeric = []
    for n in (1, 2, 3, 4, 5):
        values = _random_values(n, rng(f"gaussian_kl-{n}"))
        numeric.append(
            Case(f"k={n}, random point", False, lambda e, n=n, v=values: realize(e, n, v))
        )
    return symbolic + numeric


def integrated_1d(derivation) -> bool:
    """At k = 1, SymPy integrates q ln(q/p) over the real line; compare with step 0."""
    t = sp.Symbol("t", real=True)
    m0, m1 = sp.symbols("a1 b1", real=True)
    s0, s1 = sp.symbols("l11 r11", positive=True)

    def pdf(m, s):
        return sp.exp(-((t - m) ** 2) / (2 * s**2)) / sp.sqrt(2 * sp.pi * s**2)

    q, p = pdf(m0, s0), pdf(m1, s1)
    log_ratio = sp.expand(sp.expand_log(sp.log(q / p), force=True))
    integral = sp.integrate(q * log_ratio, (t, -sp.oo, sp.oo), conds="none")
    (definition,) = realize(derivation.steps[0].expr, 1)
    return sp.simplify(integral - definition) == 0


DERIVATION = Derivation(
    name="gaussian_kl",
    title="KL divergence between two Gaussians",
    intro=(
        "For q = N(mu_0, Sigma_0) and p = N(mu_1, Sigma_1) in k dimensions, from the "
        "definition of the KL divergence to its closed form. Every step is checked for "
        "k = 1, 2, 3 with symbolic entries and for k up to 5 at random points."
    ),
    lhs=r"\mathrm{KL}\left(q \,\|\, p\right)",
    lhs_text="KL(q || p)",
    steps=_steps(),
    cases=_cases,
    extras=(Extra(0, "k=1: SymPy integrates q ln(q/p) over the real line", integrated_1d),),
)
