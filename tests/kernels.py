"""The generated kernels of each backend, for the tests."""

import functools
import importlib
from types import SimpleNamespace

import pytest

BACKENDS = ["numpy", "numba"]
# Arguments that are data in [0, 1] (the others take any real number).
UNIT_INTERVAL = {("nll_bernoulli", "x"), ("nll_continuous_bernoulli", "x")}
SPECIALS = [0.0, -0.0, float("inf"), float("-inf"), float("nan")]


@functools.cache
def spec_of() -> dict:
    """Every elementwise kernel's spec by name: the diagonal Gaussians and the shipped ones."""
    from klgen.derive.package import shipped_kernels
    from klgen.derive.specs import SPECS

    return {s.name: s for s in SPECS} | {k.name: k for k in shipped_kernels()}


def arg_names(name):
    return tuple(a.name for a in spec_of()[name].args)


def kernels(name, backend):
    """(value, grad, value_and_grad) of the generated module ``name`` for ``backend``."""
    if backend == "numba":
        pytest.importorskip("numba", reason="numba (optional backend) is not installed")
    module = importlib.import_module(
        f"klgen.generated.{name}" + ("_numba" if backend == "numba" else "")
    )
    return tuple(getattr(module, name + suffix) for suffix in ("", "_grad", "_value_and_grad"))


def namespace(backend):
    """All generated functions of ``backend`` by name: ns.kl_std_normal_grad, ..."""
    functions = {}
    for name in ("kl_std_normal", "kl_diag_normal"):
        suffixes = ("", "_grad", "_value_and_grad")
        for suffix, f in zip(suffixes, kernels(name, backend), strict=True):
            functions[name + suffix] = f
    return SimpleNamespace(**functions)
