"""The encoder-backprop kernel, from the final step of the ``encoder_backprop`` derivation.

That step gives every weight's gradient as ``A X``: a left factor A (h^T for a weight, the
row of ones 1^T for a bias) times an entrywise factor X of the encoder outputs mu, logvar,
scaled by a constant. Each entrywise factor is matched, by SymPy, to a gradient of the
``kl_std_normal`` spec, so the kernel evaluates it with that (stable) generated kernel and
the left factor as a matrix product or a column sum.
"""

from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from klgen.derive import frameworks, gaussian
from klgen.derive.derivations import encoder, get, matrix_gradients
from klgen.derive.derivations.notation import to_latex
from klgen.derive.layout import wrap_latex
from klgen.derive.specs import spec_named

SPEC = "kl_std_normal"
DERIVATION = "encoder_backprop"
NAME = f"{SPEC}_encoder"
ARGS = ("h", "mu", "logvar")


@dataclass(frozen=True)
class Gradient:
    """One parameter's gradient: ``left`` applied to the spec gradient ``d<argument>``."""

    parameter: str
    left: str  # "h" (h^T @ g) or "ones" (column sum of g)
    argument: str  # the kl_std_normal argument whose gradient g is
    latex: str


def gradients() -> list[Gradient]:
    """The final step's gradients, each matched to a spec gradient (ValueError if none)."""
    spec = spec_named(SPEC)
    by_argument = dict(zip(spec.arg_names, spec.gradients, strict=True))
    found = []
    for parameter, expr in matrix_gradients(DERIVATION).items():
        coeff, factors = expr.as_coeff_mmul()
        left, entrywise = factors.args if isinstance(factors, sp.MatMul) else (None, None)
        kind = _left_kind(left)
        scalar = coeff * _scalarize(entrywise)
        matches = [a for a, g in by_argument.items() if sp.simplify(g - scalar) == 0]
        if kind is None or not matches:
            raise ValueError(f"{DERIVATION}: cannot generate the gradient of {parameter}: {expr}")
        found.append(Gradient(parameter, kind, matches[0], to_latex(expr)))
    return found


def _left_kind(left) -> str | None:
    if left == encoder.h.T:
        return "h"
    if isinstance(left, sp.OneMatrix) and left.shape[0] == 1:
        return "ones"
    return None


def _scalarize(expr):
    """One entry of an entrywise matrix expression in mu, logvar, as a scalar expression."""
    if expr == encoder.mu:
        return gaussian.mu
    if expr == encoder.logvar:
        return gaussian.logvar
    if isinstance(expr, sp.OneMatrix):
        return sp.Integer(1)
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*map(_scalarize, expr.args))
    if isinstance(expr, sp.MatMul):
        coeff, rest = expr.as_coeff_mmul()
        return coeff * sp.Mul(*map(_scalarize, rest.args))
    if isinstance(expr, sp.HadamardProduct):
        return sp.Mul(*map(_scalarize, expr.args))
    if isinstance(expr, ElementwiseApplyFunction):
        return expr.function(_scalarize(expr.expr))
    raise ValueError(f"not an entrywise expression of mu and logvar: {expr}")


def context() -> dict:
    """What templates/encoder_module.py.jinja needs."""

    found = gradients()
    symbols = {"W_mu": r"W_\mu", "b_mu": r"b_\mu", "W_lv": r"W_{lv}", "b_lv": r"b_{lv}"}
    formulas = [
        wrap_latex(rf"\frac{{\partial L}}{{\partial {symbols[g.parameter]}}} = {g.latex}")
        for g in found
    ]
    return {
        "spec": spec_named(SPEC),
        "derivation": get(DERIVATION),
        "gradients": found,
        "formulas": formulas,
    }


def render_framework(backend: str) -> str:
    """The torch or JAX twin of the kernel module (derive/frameworks.py): its one function,
    of gradients only."""
    layout = frameworks.Layout(
        inputs=": h of shape (B, n), mu and logvar of shape (B, k)",
        refused="other shapes",
        numba=False,
        outputs=tuple(f"d{g.parameter}" for g in gradients()),
    )
    return frameworks.render_module(
        backend,
        NAME,
        "the gradients of the batch-summed KL(N(mu, diag(exp(logvar))) || N(0, I)) with "
        "respect to a VAE encoder's affine heads mu = h W_mu + b_mu, logvar = h W_lv + b_lv",
        ARGS,
        DERIVATION,
        f"the derivation `{DERIVATION}` (derive/encoder_kernel.py)",
        layout=layout,
    )
