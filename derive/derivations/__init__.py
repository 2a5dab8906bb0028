"""The derivations klgen shows and checks, by name, and the results the kernels are built from.

``ALL`` maps each name to its Derivation, in reading order. The kernel specs take their
expressions from the final steps through ``elementwise_term``, ``elementwise_gradients``
and ``matrix_gradients``, so what ``klgen latex`` shows is what is generated.
"""

import time

from klgen.derive.derivations import (
    cholesky,
    compiled,
    diagonal,
    encoder,
    entrywise,
    evaluated,
    general,
)
from klgen.derive.derivations.steps import (
    Derivation,
    DerivationError,
    Step,
    StepResult,
    check,
    results,
)

ALL: dict[str, Derivation] = {
    d.name: d
    for d in (
        general.DERIVATION,
        diagonal.DIAG_NORMAL,
        diagonal.STD_NORMAL,
        diagonal.STD_NORMAL_GRAD,
        evaluated.STD_NORMAL,
        evaluated.DIAG_NORMAL,
        compiled.NUMBA_EXP,
        encoder.DERIVATION,
        evaluated.ENCODER,
        cholesky.DERIVATION,
        evaluated.CHOLESKY,
        entrywise.DERIVATION,
    )
}

__all__ = [
    "ALL",
    "Derivation",
    "DerivationError",
    "Step",
    "StepResult",
    "check",
    "check_all",
    "elementwise_gradients",
    "elementwise_term",
    "get",
    "matrix_gradients",
    "results",
]


def get(name: str) -> Derivation:
    """The derivation called ``name``; KeyError listing the valid names otherwise."""
    try:
        return ALL[name]
    except KeyError:
        raise KeyError(f"unknown derivation {name!r}; valid names: {', '.join(ALL)}") from None


def elementwise_term(name: str):
    """The per-latent-dimension summand of a KL derivation's final step (diag_normal, std_normal).

    An expression in derive.gaussian's Symbols mu, logvar (and mu_p, logvar_p).
    """
    return diagonal.summand(get(name).final)


def elementwise_gradients(name: str) -> dict:
    """{"mu": ..., "logvar": ...}: a gradient derivation's final step, per latent dimension."""
    return diagonal.gradient_terms(get(name))


def matrix_gradients(name: str) -> dict:
    """{"W_mu", "b_mu", "W_lv", "b_lv"} -> matrix expressions from encoder_backprop's final step.

    In derive.derivations.encoder's MatrixSymbols h, mu and logvar (see matrix_gradients there).
    """
    return encoder.matrix_gradients(get(name))


def check_all() -> dict[str, float]:
    """Check every derivation (stopping at the first failing step); seconds per derivation."""
    timings = {}
    for name, derivation in ALL.items():
        start = time.perf_counter()
        check(derivation)
        timings[name] = time.perf_counter() - start
    return timings
