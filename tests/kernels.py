"""The generated kernels of each backend, for the tests."""

import importlib
from types import SimpleNamespace

import pytest

BACKENDS = ["numpy", "numba"]


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
