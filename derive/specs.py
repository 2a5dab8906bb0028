"""Kernel specs: what each generated module computes, as SymPy expressions.

Each spec's term is the final step of a checked derivation (``klgen latex NAME``), so what is
shown is what is generated.

A spec is separable over the latent dimensions (the last array axis): its KL is the sum over
that axis of one per-dimension ``term`` in scalar symbols named like the array arguments, so
the gradient of the summed KL with respect to an argument's element is the derivative of its
own term.
"""

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from klgen.derive.derivations import elementwise_term
from klgen.derive.gaussian import logvar, logvar_p, mu, mu_p
from klgen.derive.numerics import SERIES_RADIUS


@dataclass(frozen=True)
class KernelSpec:
    """One generated module: ``name``, ``name_grad`` and ``name_value_and_grad``."""

    name: str
    divergence: str
    args: tuple[sp.Symbol, ...]
    term: sp.Expr
    derivation: str
    # The |t| below which float64 outputs sum the series of e^t - 1 - t (derive/numerics.py):
    # 0.5 keeps these within their bounds, and is cheaper than 1 with logvar near 0.
    series_radius: float = SERIES_RADIUS["float64"]

    @cached_property
    def gradients(self) -> tuple[sp.Expr, ...]:
        """d(term)/d(arg) for every argument, by ``sympy.diff``."""
        return tuple(sp.diff(self.term, arg) for arg in self.args)

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(arg.name for arg in self.args)


SPECS = (
    KernelSpec(
        name="kl_std_normal",
        divergence="KL(N(mu, diag(exp(logvar))) || N(0, I))",
        args=(mu, logvar),
        term=elementwise_term("std_normal"),
        derivation="std_normal",
    ),
    KernelSpec(
        name="kl_diag_normal",
        divergence="KL(N(mu, diag(exp(logvar))) || N(mu_p, diag(exp(logvar_p))))",
        args=(mu, logvar, mu_p, logvar_p),
        term=elementwise_term("diag_normal"),
        derivation="diag_normal",
    ),
)


def spec_named(name: str) -> KernelSpec:
    """The spec called ``name``; a ``KeyError`` lists the valid names."""
    for spec in SPECS:
        if spec.name == name:
            return spec
    raise KeyError(f"no kernel spec {name!r}; the specs are {', '.join(s.name for s in SPECS)}")
