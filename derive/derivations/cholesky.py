r"""Derivation 6: the full-covariance KL and its gradients through Cholesky factors.

With Sigma_0 = L_0 L_0^T and Sigma_1 = L_1 L_1^T (L lower-triangular with a positive
diagonal, as torch.distributions parametrizes them), derivation 1's closed form becomes
Frobenius norms of triangular solves and sums of logs of the diagonals: no inverse and no
determinant is ever formed. The named quantities (``WHERE``) are

    M = L_1^-1 L_0 (lower-triangular, diagonal e^t),  z = L_1^-1 (mu_1 - mu_0),
    t = ln diag L_0 - ln diag L_1,  N = M below its diagonal,

and the last step gives the KL as a sum of non-negative terms (e^{2t} - 1 - 2t >= 0, squares)
together with the gradients with respect to mu_0, L_0, mu_1, L_1 (lower-triangular).

Each step is realized along a line through a point, theta + s dtheta with lower-triangular
directions dL, as the pair (KL, dKL/ds at s = 0): a step for KL gives both, a step for the
differential dKL the second, the gradient step KL and sum_X <G_X, dX>_F. That is checked for
k = 1, 2 with symbolic entries and directions (so every gradient entry is checked) and for
k = 1..4 at random rational points; an extra check compares the final gradients entry by
entry with SymPy's partial derivatives (and zeros above the diagonal).
"""

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.pretty.stringpict import prettyForm

from klgen.derive.derivations import general
from klgen.derive.derivations.notation import Frobenius, QuadraticForm, ordered, scaled
from klgen.derive.derivations.steps import Case, Derivation, Extra, rational, rng, step

k = general.k
mu_0, mu_1 = general.mu_0, general.mu_1
L_0, L_1 = sp.MatrixSymbol("L_0", k, k), sp.MatrixSymbol("L_1", k, k)
M, N = sp.MatrixSymbol("M", k, k), sp.MatrixSymbol("N", k, k)
z, t = sp.MatrixSymbol("z", k, 1), sp.MatrixSymbol("t", k, 1)
PARAMETERS = {"mu_0": mu_0, "L_0": L_0, "mu_1": mu_1, "L_1": L_1}
D = {p: sp.MatrixSymbol("d" + p.name, *p.shape) for p in PARAMETERS.values()}
ones = sp.OneMatrix(k, 1)
s = sp.Symbol("s", real=True)
half = sp.Rational(1, 2)


class _Operator(sp.MatrixExpr):
    """A named matrix operator of one argument, shown as \\operatorname{name}(A)."""

    latex_name = ""

    def __new__(cls, arg):
        return sp.MatrixExpr.__new__(cls, arg)

    @property
    def arg(self):
        return self.args[0]

    def doit(self, **hints):
        inner = self.arg.doit(**hints)
        if isinstance(inner, sp.MatrixBase) or (
            isinstance(inner, sp.MatrixExpr) and all(sp.sympify(n).is_Integer for n in inner.shape)
        ):
            return self.explicit(sp.ImmutableMatrix(inner.as_explicit()))
        return self.func(inner)

    def _latex(self, printer):
        return rf"\operatorname{{{self.latex_name}}}\left({printer._print(self.arg)}\right)"

    def _pretty(self, printer):
        inner = prettyForm(*printer._print(self.arg).parens())
        return prettyForm(*prettyForm(self.text_name).right(inner))

    def _sympystr(self, printer):
        return f"{self.text_name}({printer._print(self.arg)})"


class Tril(_Operator):
    """The lower triangle of a square matrix, diagonal included: where a gradient lives."""

    latex_name = text_name = "tril"

    @property
    def shape(self):
        return self.arg.shape

    def explicit(self, m):
        return m.lower_triangular()


class StrictLower(_Operator):
    """The part of a square matrix strictly below its diagonal."""

    latex_name = r"tril_{-1}"
    text_name = "tril₋₁"

    @property
    def shape(self):
        return self.arg.shape

    def explicit(self, m):
        return m.lower_triangular(-1)


class Diagonal(_Operator):
    """The diagonal of a square matrix as a column vector."""

    latex_name = text_name = "diag"

    @property
    def shape(self):
        return (self.arg.shape[0], 1)

    def explicit(self, m):
        return sp.ImmutableMatrix(m.diagonal()).T


class DiagonalMatrix(_Operator):
    """The square matrix with the column vector v on its diagonal."""

    latex_name = text_name = "Diag"

    @property
    def shape(self):
        return (self.arg.shape[0], self.arg.shape[0])

    def explicit(self, v):
        return sp.ImmutableMatrix(sp.diag(*v))


def apply(function, m):
    """``function`` applied to every entry of the matrix expression m (exp, log, sinh)."""
    return ElementwiseApplyFunction(function, m)


def _add(*terms):
    return sp.MatAdd(*terms, evaluate=False)


def _mul(*factors):
    return sp.MatMul(*factors, evaluate=False)


def _inv(m):
    return sp.Inverse(m)


def _inv_t(m):
    """m^{-T}: the inverse of the transpose (a back substitution with m^T)."""
    return sp.Inverse(m.T)


WHERE = {
    M: _mul(_inv(L_1), L_0),
    z: _mul(_inv(L_1), _add(mu_1, -mu_0)),
    t: _add(apply(sp.log, Diagonal(L_0)), -apply(sp.log, Diagonal(L_1))),
    N: StrictLower(M),
}


def _kl_terms():
    """The last form of the KL: 1/2 (<1_k, e^{2t} - 1_k - 2t>_F + <N, N>_F + <z, z>_F)."""
    excess = _add(apply(sp.exp, 2 * t), -ones, -2 * t)
    return scaled(half, ordered(Frobenius(ones, excess), Frobenius(N, N), Frobenius(z, z)))


def _value_steps():
    sigma_0, sigma_1 = _mul(L_0, L_0.T), _mul(L_1, L_1.T)
    diff = _add(mu_1, -mu_0)
    m_full, z_full = _mul(_inv(L_1), L_0), _mul(_inv(L_1), diff)
    log_diag = _add(apply(sp.log, Diagonal(L_1)), -apply(sp.log, Diagonal(L_0)))
    return [
        step(
            scaled(
                half,
                ordered(
                    sp.Trace(_mul(_inv(sigma_1), sigma_0)),
                    QuadraticForm(diff, _inv(sigma_1)),
                    -k,
                    sp.log(sp.Determinant(sigma_1) / sp.Determinant(sigma_0)),
                ),
            ),
            "substitute Sigma_0 = L_0 L_0^T and Sigma_1 = L_1 L_1^T in gaussian_kl's result",
        ),
        step(
            scaled(
                half,
                ordered(
                    Frobenius(m_full, m_full),
                    Frobenius(z_full, z_full),
                    -k,
                    2 * Frobenius(ones, log_diag),
                ),
            ),
            "(L L^T)^-1 = L^-T L^-1 and tr(A^T A) = <A, A>_F (cyclic trace), so the trace is "
            "||L_1^-1 L_0||_F^2 and the quadratic form ||L_1^-1 (mu_1 - mu_0)||^2; "
            "det(L L^T) = (det L)^2 = (product of diag L)^2, so the log-ratio is "
            "2 sum(ln diag L_1 - ln diag L_0)",
        ),
        step(
            scaled(
                half,
                ordered(Frobenius(M, M), Frobenius(z, z), -k, -2 * Frobenius(ones, t)),
            ),
            "name M = L_1^-1 L_0, z = L_1^-1 (mu_1 - mu_0) and t = ln diag L_0 - ln diag L_1 "
            "(triangular solves and logs of diagonals, no inverse or determinant)",
        ),
        step(
            _kl_terms(),
            "M is lower-triangular with diagonal L_0,ii / L_1,ii = e^t, so with N its part "
            "below the diagonal <M, M>_F = <N, N>_F + <1_k, e^{2t}>_F; and k = <1_k, 1_k>_F. "
            "Every term is >= 0 and each is exactly 0 when q = p",
        ),
    ]


def _gradient_steps():
    dl0, dl1, dm0, dm1 = D[L_0], D[L_1], D[mu_0], D[mu_1]
    back = _inv_t(L_1)
    m_mt = _mul(M, M.T)
    z_zt = _mul(z, z.T)
    identity = sp.Identity(k)
    e_t = DiagonalMatrix(apply(sp.exp, t))
    g = _add(N, DiagonalMatrix(2 * apply(sp.sinh, t)))
    stable_l1 = _add(
        _mul(N, N.T),
        _mul(N, e_t),
        _mul(e_t, N.T),
        DiagonalMatrix(_add(apply(sp.exp, 2 * t), -ones)),
        z_zt,
    )
    gradient_lhs = (
        r"\begin{pmatrix} \mathrm{KL} \\ \partial \mathrm{KL} / \partial \mu_{0} \\ "
        r"\partial \mathrm{KL} / \partial L_{0} \\ \partial \mathrm{KL} / \partial \mu_{1} \\ "
        r"\partial \mathrm{KL} / \partial L_{1} \end{pmatrix}",
        "(KL, dKL/dmu_0, dKL/dL_0, dKL/dmu_1, dKL/dL_1)",
    )
    return [
        step(
            ordered(
                Frobenius(M, _mul(_inv(L_1), _add(dl0, -_mul(dl1, M)))),
                Frobenius(z, _mul(_inv(L_1), _add(dm1, -dm0, -_mul(dl1, z)))),
                -Frobenius(_inv_t(L_0), dl0),
                Frobenius(_inv_t(L_1), dl1),
            ),
            "differentiate the third form: d<A, A>_F = 2 <A, dA>_F, d(L^-1) = -L^-1 dL L^-1, "
            "and d sum ln diag L = d ln det L = tr(L^-1 dL) = <L^-T, dL>_F",
            lhs=(r"\mathrm{d}\mathrm{KL}", "dKL"),
        ),
        step(
            ordered(
                Frobenius(_add(_mul(back, M), -_inv_t(L_0)), dl0),
                Frobenius(_mul(back, z), dm1),
                Frobenius(-_mul(back, z), dm0),
                Frobenius(-_mul(back, _add(m_mt, z_zt, -identity)), dl1),
            ),
            "<A, B C>_F = <B^T A, C>_F (cyclic trace); collect the terms of each differential",
        ),
        step(
            sp.Tuple(
                _kl_terms(),
                -_mul(back, z),
                Tril(_add(_mul(back, M), -_inv_t(L_0))),
                _mul(back, z),
                -Tril(_mul(back, _add(m_mt, z_zt, -identity))),
            ),
            "read off the gradients: dKL = sum_X <G_X, dX>_F gives dKL/dX = G_X, and for a "
            "lower-triangular X only the lower triangle tril(G_X) is free; with the KL from "
            "the fourth step",
            lhs=gradient_lhs,
        ),
        step(
            sp.Tuple(
                _kl_terms(),
                -_mul(back, z),
                Tril(_mul(back, g)),
                _mul(back, z),
                -Tril(_mul(back, stable_l1)),
            ),
            "for upper-triangular U, tril(U Y) uses only the lower triangle of Y; "
            "L_1^-T M - L_0^-T = L_1^-T (M - M^-T), whose lower triangle is "
            "N + Diag(e^t - e^-t); and M M^T - I = (N + Diag(e^t))(N + Diag(e^t))^T - I. "
            "Every gradient is exactly 0 when q = p",
        ),
        step(
            sp.Tuple(
                _kl_terms(),
                -_mul(back, z),
                Tril(_mul(back, g)),
                _mul(back, z),
                -Tril(_add(_mul(Tril(_mul(back, g)), M.T), _mul(back, z, z.T))),
            ),
            "with G = N + Diag(2 sinh t) = M - Diag(e^-t): M M^T - I = G M^T + Diag(e^-t) N^T, "
            "and L_1^-T Diag(e^-t) N^T is strictly upper-triangular (upper times strictly "
            "upper), so tril drops it; tril(X M^T) = tril(tril(X) M^T) for lower-triangular M. "
            "So dKL/dL_1 reuses dKL/dL_0's solve L_1^-T G and z's, and no other: one back "
            "substitution of k + 1 columns instead of 2k + 1. Still exactly 0 when q = p "
            "(G = 0, z = 0), and G keeps its relative accuracy near q = p",
        ),
    ]


def _lower(n, name, values):
    def entry(i, j):
        if i < j:
            return sp.S.Zero
        if values is not None:
            return values[(name, i, j)]
        return sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True, positive=(i == j and "d" not in name))

    return sp.ImmutableMatrix(n, n, entry)


def _column(n, name, values):
    def entry(i, _):
        return values[(name, i)] if values is not None else sp.Symbol(f"{name}_{i + 1}", real=True)

    return sp.ImmutableMatrix(n, 1, entry)


def _explicit(n, values):
    """Every parameter and direction as an explicit n-dimensional matrix."""
    made = {}
    for p in PARAMETERS.values():
        for m in (p, D[p]):
            tag = m.name.replace("_", "")
            made[m] = _lower(n, tag, values) if p.shape[1] != 1 else _column(n, tag, values)
    return made


def _random_values(n, source):
    values = {}
    for m in _explicit(n, None).values():
        for entry in m:
            if entry != 0:
                values[_key(entry)] = rational(source, positive=entry.is_positive is True)
    return values


def _key(entry):
    """('L0', i, j) or ('mu0', i) from an entry symbol's name, as _lower and _column make."""
    name, _, index = entry.name.partition("_")
    return (name, *(int(c) - 1 for c in index))


def _moved(n, values):
    """The parameters along the line theta + s dtheta, the directions, and k = n.

    Inverses and determinants of the factors are given to first order in s,
    (L + s dL)^-1 = L^-1 - s L^-1 dL L^-1 + O(s^2): a realization is only ever read at
    s = 0 and differentiated once there, and polynomials in s keep SymPy fast.
    """
    made = _explicit(n, values)
    rules = {k: sp.Integer(n), ones: sp.ImmutableMatrix.ones(n, 1)}
    rules[sp.Identity(k)] = sp.ImmutableMatrix.eye(n)
    for p in PARAMETERS.values():
        rules[p] = sp.ImmutableMatrix(made[p] + s * made[D[p]])
        rules[D[p]] = made[D[p]]
    for factor in (L_0, L_1):
        inverse = made[factor].inv()
        first = sp.ImmutableMatrix(inverse - s * inverse * made[D[factor]] * inverse)
        sigma = _mul(factor, factor.T)
        rules[_inv(factor)] = first
        rules[_inv_t(factor)] = first.T
        rules[_inv(sigma)] = sp.ImmutableMatrix(first.T * first)
        rules[sp.Determinant(sigma)] = sp.prod(rules[factor].diagonal()) ** 2
    return rules


def _realized(expr, rules):
    """expr with the named quantities (WHERE) and then the parameters made explicit."""
    for name, definition in reversed(list(WHERE.items())):
        expr = expr.xreplace({name: definition})
    return sp.sympify(expr).xreplace(rules).doit()


def _as_scalar(value):
    return value[0, 0] if isinstance(value, sp.MatrixBase) else value


def realize(expr, n, values=None):
    """(KL, dKL/ds) at s = 0 for a step for KL; (None, dKL) for a differential; the gradient
    step as (KL, sum_X <G_X, dX>_F)."""
    rules = _moved(n, values)
    if isinstance(expr, sp.Tuple):
        value, *grads = expr
        pairs = zip(grads, PARAMETERS.values(), strict=True)
        pairing = sp.Add(*(Frobenius(g, D[p]) for g, p in pairs))
        return (_at_zero(_realized(value, rules)), _at_zero(_realized(pairing, rules)))
    concrete = _as_scalar(_realized(expr, rules))
    if any(expr.has(d) for d in D.values()):
        return (None, _at_zero(concrete))
    return (_at_zero(concrete), _at_zero(sp.diff(concrete, s)))


def _at_zero(value):
    return sp.expand_log(_as_scalar(value).subs(s, 0).rewrite(sp.exp), force=True)


def anchor(n, values=None):
    """gaussian_kl's closed form with Sigma = L L^T, along the same line."""
    rules = _moved(n, values)
    cholesky = {general.k: sp.Integer(n), general.mu_0: rules[mu_0], general.mu_1: rules[mu_1]}
    for sigma, factor in ((general.Sigma_0, L_0), (general.Sigma_1, L_1)):
        cholesky[sigma.I] = rules[_inv(_mul(factor, factor.T))]
        cholesky[sp.Determinant(sigma)] = rules[sp.Determinant(_mul(factor, factor.T))]
        cholesky[sigma] = sp.ImmutableMatrix(rules[factor] * rules[factor].T)
    kl = _as_scalar(general.DERIVATION.final.xreplace(cholesky).doit())
    return (_at_zero(kl), _at_zero(sp.diff(kl, s)))


def _cases():
    cases = [
        Case(f"k={n}, symbolic entries", True, lambda e, n=n: realize(e, n), lambda n=n: anchor(n))
        for n in (1, 2)
    ]
    for n in (1, 2, 3, 4):
        values = _random_values(n, rng(f"mvn_cholesky-{n}"))
        cases.append(
            Case(
                f"k={n}, random point",
                False,
                lambda e, n=n, v=values: realize(e, n, v),
                lambda n=n, v=values: anchor(n, v),
            )
        )
    return cases


def partial_derivatives_agree(derivation, n=3) -> bool:
    """At a random point in k = n, each final gradient equals SymPy's partial derivatives of
    the realized KL with respect to the entries of its parameter (0 above the diagonal)."""
    values = _random_values(n, rng(f"mvn_cholesky-partials-{n}"))
    made = _explicit(n, None)
    point = {e: values[_key(e)] for e in _entries(made)}
    kl_value, *grads = derivation.final
    symbolic = {k: sp.Integer(n)} | {p: made[p] for p in PARAMETERS.values()}
    kl = _as_scalar(_realized(kl_value, symbolic))
    numeric = {k: sp.Integer(n)} | {p: made[p].xreplace(point) for p in PARAMETERS.values()}
    for grad, p in zip(grads, PARAMETERS.values(), strict=True):
        got = sp.ImmutableMatrix(_realized(grad, numeric))
        for index, entry in enumerate(made[p]):
            want = 0 if entry == 0 else sp.diff(kl, entry).xreplace(point)
            if abs(sp.N(got[index] - want, 30)) > sp.Float("1e-20"):
                return False
    return True


def _entries(made):
    return [e for p in PARAMETERS.values() for e in made[p] if e != 0]


DERIVATION = Derivation(
    name="mvn_cholesky",
    title="Full covariance through Cholesky factors, and the gradients",
    intro=(
        "q = N(mu_0, L_0 L_0^T) and p = N(mu_1, L_1 L_1^T) with L_0, L_1 lower-triangular "
        "with a positive diagonal: gaussian_kl's closed form as triangular solves and logs "
        "of diagonals, then its gradients with respect to mu_0, L_0, mu_1 and L_1 "
        "(lower-triangular). Checked along a line theta + s dtheta: the KL and its "
        "derivative in s, for k = 1, 2 with symbolic entries and k up to 4 at random points."
    ),
    lhs=r"\mathrm{KL}\left(q \,\|\, p\right)",
    lhs_text="KL(q || p)",
    steps=_value_steps() + _gradient_steps(),
    cases=_cases,
    anchor="the closed form of gaussian_kl with Sigma_0 = L_0 L_0^T, Sigma_1 = L_1 L_1^T",
    extras=(
        Extra(
            8,
            "k=3: the gradients equal SymPy's partial derivatives entry by entry",
            partial_derivatives_agree,
        ),
    ),
)
