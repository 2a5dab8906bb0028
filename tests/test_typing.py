"""Type hints of the generated kernels (the package ships py.typed): every public function of
klgen.generated and of a user package has them, they resolve, and mypy checks the README's
calls against them."""

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest

import klgen.generated

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "kl_laplace.py"

# The README's calls, and misuses that the hints must catch: with --warn-unused-ignores an
# ignore that mypy does not need (a hint too loose to see the mistake) is itself an error.
USAGE = """
import numpy as np

import klgen
from klgen.generated.kl_diag_normal import kl_diag_normal_value_and_grad
from klgen.generated.kl_mvn_cholesky import kl_mvn_cholesky
from klgen.generated.kl_std_normal import kl_std_normal, kl_std_normal_value_and_grad
from klgen.generated.kl_std_normal_encoder import kl_std_normal_encoder_grad
from laplace.kl_laplace import kl_laplace_grad

mu = np.random.randn(128, 20).astype(np.float32)
logvar = np.random.randn(128, 20).astype(np.float32)
kl: np.ndarray = kl_std_normal(mu, logvar)
kl, (dmu, dlogvar) = kl_std_normal_value_and_grad(mu, logvar)
loss = float(kl.sum())
kl, grads = kl_std_normal_value_and_grad(mu, logvar, out=(kl, dmu, dlogvar))
kl, (dmu, dlv, dmu_p, dlv_p) = kl_diag_normal_value_and_grad(mu, logvar, [0.0], [0.0])
dw_mu, db_mu, dw_lv, db_lv = kl_std_normal_encoder_grad(mu, mu, logvar)
eye = np.eye(3)
kl = kl_mvn_cholesky(np.zeros(3), eye, np.zeros(3), eye)
dloc, dscale, dloc_p, dscale_p = kl_laplace_grad(mu, logvar, 0.0, 0.0)

kl_std_normal(mu)  # type: ignore[call-arg]
kl_std_normal(mu, logvar, out=None)  # type: ignore[call-arg]
kl_std_normal(mu, {"logvar": 1})  # type: ignore[arg-type]
text: str = kl_std_normal(mu, logvar)  # type: ignore[assignment]
dmu, dlogvar, extra = kl_std_normal_value_and_grad(mu, logvar)  # type: ignore[misc]
klgen.Kernel(name=1, args=(), term=0, computes="")  # type: ignore[arg-type]
"""


@pytest.fixture(scope="module")
def laplace(tmp_path_factory):
    """The README's worked example generated (numpy and numba) into a package ``laplace``."""
    from klgen.derive.kernel import load_spec
    from klgen.derive.userpkg import render_package

    folder = tmp_path_factory.mktemp("user")
    package = folder / "laplace"
    package.mkdir()
    files = render_package(load_spec(EXAMPLE), backends=("numpy", "numba"))
    for name, text in files.items():
        (package / name).write_text(text)
    return package


def public_functions(module):
    return [getattr(module, name) for name in module.__all__]


def runtime_functions(module):
    """The public functions a static runtime module defines (they have no ``__all__``)."""
    functions = inspect.getmembers(module, inspect.isfunction)
    return [f for name, f in functions if f.__module__ == module.__name__ and name[0] != "_"]


def generated_modules():
    names = pkgutil.iter_modules(klgen.generated.__path__)
    return [f"klgen.generated.{m.name}" for m in names if not m.name.startswith("_")]


def assert_fully_hinted(function):
    hints = typing.get_type_hints(function)  # raises if a hint does not resolve
    parameters = inspect.signature(function).parameters
    missing = [p for p in parameters if p not in hints] + ["return"] * ("return" not in hints)
    assert not missing, f"{function.__module__}.{function.__name__}: no hint for {missing}"


@pytest.mark.parametrize("name", generated_modules())
def test_every_public_kernel_is_hinted(name):
    if name.endswith("_torch") and not os.environ.get("CI"):  # CI installs torch
        pytest.importorskip("torch", reason="torch (an optional extra) is not installed")
    module = importlib.import_module(name)
    assert module.__all__
    for function in public_functions(module):
        assert_fully_hinted(function)


@pytest.mark.parametrize("name", ["_runtime", "_numeric"])
def test_the_runtime_is_hinted(name):
    module = importlib.import_module(f"klgen.generated.{name}")
    assert runtime_functions(module)
    for function in runtime_functions(module):
        assert_fully_hinted(function)


def test_a_user_package_is_hinted(laplace):
    sys.path.insert(0, str(laplace.parent))
    try:
        for backend in ("", "_numba"):
            module = importlib.import_module(f"laplace.kl_laplace{backend}")
            for function in public_functions(module):
                assert_fully_hinted(function)
        for name in ("_runtime", "_numeric", "_functions"):
            for function in runtime_functions(importlib.import_module(f"laplace.{name}")):
                assert_fully_hinted(function)
    finally:
        sys.path.remove(str(laplace.parent))
        for name in [m for m in sys.modules if m.split(".")[0] == "laplace"]:
            del sys.modules[name]


def test_mypy_checks_the_readme_calls(laplace, tmp_path):
    """mypy reads klgen from a folder on MYPYPATH (an editable install's import hook is
    invisible to it) and reports only the usage file's errors, as for an installed package."""
    (tmp_path / "klgen").symlink_to(ROOT, target_is_directory=True)
    (tmp_path / "laplace").symlink_to(laplace, target_is_directory=True)
    usage = tmp_path / "usage.py"
    usage.write_text(textwrap.dedent(USAGE))
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent", "--warn-unused-ignores"]
    command += ["--cache-dir", os.devnull, "--python-version", "3.10", str(usage)]
    env = {**os.environ, "MYPYPATH": str(tmp_path)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
