"""Derivation 5: backpropagation of the summed KL into a linear encoder, in matrix form.

With a batch h (B x n) of encoder features, mu = h W_mu + 1_B b_mu and
logvar = h W_lv + 1_B b_lv (B x k; 1_B is a column of B ones), the KL summed over the
batch is written as a Frobenius product with the all-ones matrix 1_(Bxk), differentiated
with the Hadamard product rules, and its gradients read off the Frobenius (trace) form:
dL = sum_X <G_X, dX>_F means dL/dX = G_X.

Each step is realized for concrete (B, n, k) as a pair (value, differential along a
direction): a step for L gives both, a step for dL the differential, the gradients
sum_X <G_X, dX>_F. The differential of L and of mu, logvar is SymPy's derivative along the
direction, so the rules the derivation applies by hand are checked, not assumed.
"""

import sympy as sp

from klgen.derive import gaussian
from klgen.derive.derivations import diagonal, general
from klgen.derive.derivations.notation import Frobenius, elementwise_exp, ordered, scaled
from klgen.derive.derivations.steps import Case, Derivation, rational, rng, step

B = sp.Symbol("B", integer=True, positive=True)
n = sp.Symbol("n", integer=True, positive=True)
k = general.k
h = sp.MatrixSymbol("h", B, n)
W_mu, W_lv = sp.MatrixSymbol("W_mu", n, k), sp.MatrixSymbol("W_lv", n, k)
b_mu, b_lv = sp.MatrixSymbol("b_mu", 1, k), sp.MatrixSymbol("b_lv", 1, k)
mu, logvar = sp.MatrixSymbol("mu", B, k), sp.MatrixSymbol("logvar", B, k)
PARAMETERS = {"W_mu": W_mu, "b_mu": b_mu, "W_lv": W_lv, "b_lv": b_lv}
D = {m: sp.MatrixSymbol("d" + m.name, *m.shape) for m in (mu, logvar, *PARAMETERS.values())}
ones, J = sp.OneMatrix(B, 1), sp.OneMatrix(B, k)
half = sp.Rational(1, 2)
t = sp.Symbol("t", real=True)


def _hadamard(a, b):
    return sp.HadamardProduct(a, b, evaluate=False)


def _mul(a, b):
    """a b kept as written (SymPy would distribute a constant factor of b over its sum)."""
    return sp.MatMul(a, b, evaluate=False)


def _grad_logvar(*left):
    """left dL/dlogvar, dL/dlogvar = 1/2 (exp(logvar) - 1) being std_normal_grad's result."""
    excess = sp.MatAdd(elementwise_exp(logvar), -J, evaluate=False)
    return sp.MatMul(half, *left, excess, evaluate=False)


def _steps():
    g_lv = _grad_logvar()
    affine_mu = sp.MatAdd(h * D[W_mu], ones * D[b_mu], evaluate=False)
    affine_lv = sp.MatAdd(h * D[W_lv], ones * D[b_lv], evaluate=False)
    return [
        step(
            scaled(
                -half,
                Frobenius(
                    J,
                    sp.MatAdd(
                        J, logvar, -_hadamard(mu, mu), -elementwise_exp(logvar), evaluate=False
                    ),
                ),
            ),
            "sum std_normal's per-dimension KL over rows b and latent dims j: "
            "sum_bj A_bj = <1_(Bxk), A>_F",
        ),
        step(
            scaled(
                -half,
                Frobenius(
                    J,
                    sp.MatAdd(
                        D[logvar],
                        -2 * _hadamard(mu, D[mu]),
                        -_hadamard(elementwise_exp(logvar), D[logvar]),
                        evaluate=False,
                    ),
                ),
            ),
            "take the differential: d(mu o mu) = 2 mu o dmu and d exp(logvar) = "
            "exp(logvar) o dlogvar (elementwise chain rule); d1_(Bxk) = 0",
            lhs=(r"\mathrm{d}L", "dL"),
        ),
        step(
            ordered(Frobenius(mu, D[mu]), Frobenius(g_lv, D[logvar])),
            "<1_(Bxk), A o B>_F = <A, B>_F; so dL/dmu = mu and dL/dlogvar = 1/2 (exp(logvar) - 1), "
            "as in std_normal_grad",
        ),
        step(
            ordered(Frobenius(mu, affine_mu), Frobenius(g_lv, affine_lv)),
            "differentiate the encoder: dmu = h dW_mu + 1_B db_mu and dlogvar = "
            "h dW_lv + 1_B db_lv (the input h is held fixed)",
        ),
        step(
            ordered(
                Frobenius(_mul(h.T, mu), D[W_mu]),
                Frobenius(_mul(ones.T, mu), D[b_mu]),
                Frobenius(_grad_logvar(h.T), D[W_lv]),
                Frobenius(_grad_logvar(ones.T), D[b_lv]),
            ),
            "<A, B C>_F = tr(A^T B C) = <B^T A, C>_F (cyclic trace), and linearity",
        ),
        step(
            sp.Tuple(_mul(h.T, mu), _mul(ones.T, mu), _grad_logvar(h.T), _grad_logvar(ones.T)),
            "read off the gradients: dL = sum over X of <G_X, dX>_F means dL/dX = G_X",
            lhs=(
                r"\begin{pmatrix} \partial L / \partial W_{\mu} \\ \partial L / \partial b_{\mu} "
                r"\\ \partial L / \partial W_{\mathrm{lv}} \\ \partial L / \partial b_{\mathrm{lv}}"
                r" \end{pmatrix}",
                "(dL/dW_mu, dL/db_mu, dL/dW_lv, dL/db_lv)",
            ),
        ),
    ]


def _matrix(shape, name, values):
    rows, cols = shape
    if values is not None:
        return sp.ImmutableMatrix(rows, cols, lambda r, c: values[(name, r, c)])
    return sp.ImmutableMatrix(rows, cols, lambda r, c: sp.Symbol(f"{name}_{r}{c}", real=True))


def _shapes(sizes):
    nb, nh, nk = sizes
    shapes = {h: (nb, nh), W_mu: (nh, nk), W_lv: (nh, nk), b_mu: (1, nk), b_lv: (1, nk)}
    shapes |= {D[p]: shapes[p] for p in PARAMETERS.values()}
    return shapes


def _random_values(sizes, source):
    return {
        (m.name, r, c): rational(source)
        for m, (rows, cols) in _shapes(sizes).items()
        for r in range(rows)
        for c in range(cols)
    }


def _substitution(sizes, values):
    """Symbols -> explicit matrices along the line theta + t dtheta; mu, logvar by the encoder."""
    nb, nh, nk = sizes
    rules = {B: sp.Integer(nb), n: sp.Integer(nh), k: sp.Integer(nk)}
    rules |= {m: _matrix(shape, m.name, values) for m, shape in _shapes(sizes).items()}
    one = sp.ImmutableMatrix.ones(nb, 1)
    for out, w, b in ((mu, W_mu, b_mu), (logvar, W_lv, b_lv)):
        moved = rules[h] * (rules[w] + t * rules[D[w]]) + one * (rules[b] + t * rules[D[b]])
        rules[out] = sp.ImmutableMatrix(moved)
        rules[D[out]] = sp.ImmutableMatrix(moved.diff(t).subs(t, 0))
    return rules


def realize(expr, sizes, values=None):
    """(L, dL) for a step for L, (None, dL) for a step for dL or for the gradients."""
    rules = _substitution(sizes, values)
    if isinstance(expr, sp.Tuple):
        pairs = zip(expr, PARAMETERS.values(), strict=True)
        expr = sp.Add(*(Frobenius(g, D[p]) for g, p in pairs))
    concrete = sp.sympify(expr).xreplace(rules).doit()
    if any(expr.has(d) for d in D.values()):
        return (None, concrete.subs(t, 0))
    return (concrete.subs(t, 0), sp.diff(concrete, t).subs(t, 0))


def summed_std_normal(sizes, values=None):
    """std_normal's per-dimension term summed over every entry of mu, logvar: what L is."""
    rules = _substitution(sizes, values)
    term = diagonal.summand(diagonal.STD_NORMAL.final)
    total = sum(
        (
            term.subs({gaussian.mu: m, gaussian.logvar: v})
            for m, v in zip(rules[mu], rules[logvar], strict=True)
        ),
        sp.S.Zero,
    )
    return (total.subs(t, 0), sp.diff(total, t).subs(t, 0))


def _cases():
    symbolic = [(1, 1, 1), (2, 1, 2), (2, 2, 3)]
    numeric = [(1, 1, 1), (3, 2, 2), (4, 3, 5)]
    cases = [
        Case(
            f"B,n,k={s}, symbolic entries",
            True,
            lambda e, s=s: realize(e, s),
            lambda s=s: summed_std_normal(s),
        )
        for s in symbolic
    ]
    for s in numeric:
        values = _random_values(s, rng(f"encoder_backprop-{s}"))
        cases.append(
            Case(
                f"B,n,k={s}, random point",
                False,
                lambda e, s=s, v=values: realize(e, s, v),
                lambda s=s, v=values: summed_std_normal(s, v),
            )
        )
    return cases


def matrix_gradients(derivation):
    """The final step as {"W_mu": ..., "b_mu": ..., "W_lv": ..., "b_lv": ...}.

    Matrix expressions in this module's MatrixSymbols h (B x n), mu and logvar (B x k,
    the encoder's outputs), and OneMatrix; a kernel evaluates them from h, mu, logvar.
    """
    return dict(zip(PARAMETERS, derivation.final, strict=True))


DERIVATION = Derivation(
    name="encoder_backprop",
    title="Backpropagation of the KL into the encoder",
    intro=(
        "The encoder's last layer is affine: mu = h W_mu + 1_B b_mu and logvar = h W_lv + "
        "1_B b_lv for a batch h of B feature rows (1_B is a column of B ones, 1_B^T a row, "
        "1_(Bxk) the B x k matrix of ones; exp, squares and the "
        "Hadamard product o act entrywise). The KL summed over the batch, L, is differentiated "
        "with the Hadamard and Frobenius product rules and the gradients of the weights and "
        "biases are read off the Frobenius form."
    ),
    lhs="L",
    lhs_text="L",
    steps=_steps(),
    cases=_cases,
    anchor="std_normal's per-dimension term summed over all B x k entries",
)
