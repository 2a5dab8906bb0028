"""Kernels from a user's spec file (derive/kernel.py -> derive/userpkg.py): the README's
worked example exactly as written, kernels from other corners, every emitted function, and
every way a spec can be wrong (one line naming the problem, nothing written).

The generated packages carry their own pytest module (``--tests``); the slow tests here run
those in a child pytest, so what a user's CI runs is what is tested.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import klgen
from klgen.derive.cli import main
from klgen.derive.kernel import SpecError, derivation_of, load_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(__file__).resolve().parent / "specs"
EXAMPLE = ROOT / "examples" / "kl_laplace.py"


def klgen_cli(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def tree(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def write_spec(folder: Path, body: str) -> Path:
    path = folder / "spec.py"
    path.write_text(
        "import sympy as sp\nimport klgen\nx, y = sp.symbols('x y', real=True)\n" + body
    )
    return path


def test_the_readme_example_is_the_example_file():
    """The README shows examples/kl_laplace.py exactly; the slow test below runs that file."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Your own kernels") :]
    (block,) = re.findall(r"```python\n(.*?)```", section[: section.index("\n## ", 5)], re.S)
    assert block == EXAMPLE.read_text()


def run_generated_tests(tmp_path, spec, *deselect, backends="numpy,numba"):
    package, tests = tmp_path / "pkg", tmp_path / "test_pkg.py"
    assert (
        main(
            [
                "generate",
                "--spec",
                str(spec),
                "--out",
                str(package),
                "--backend",
                backends,
                "--tests",
                str(tests),
            ]
        )
        == 0
    )
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    for test in deselect:
        args += ["--deselect", f"{tests.name}::{test}"]
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return package


@pytest.mark.slow
def test_the_worked_example_passes_its_generated_tests(tmp_path, capsys):
    package = run_generated_tests(tmp_path, EXAMPLE)
    assert (
        main(["check", "--spec", str(EXAMPLE), "--dir", str(package), "--backend", "numpy,numba"])
        == 0
    )
    code, out, err = klgen_cli(capsys, "latex", "--spec", EXAMPLE, "kl_laplace")
    assert code == 0, err
    # the given steps, the term, then its rewrites and gradients: every step after the first
    steps = derivation_of(load_spec(EXAMPLE)[0]).steps
    assert out.count("[passed]") == len(steps) - 1 > 2 and "[failed]" not in out
    assert out.count("[definition]") == 1


@pytest.mark.slow
def test_kernels_from_other_corners_pass_their_generated_tests(tmp_path):
    """A Bernoulli KL in logits (typed from the textbook, which cancels where the logits
    nearly agree: test_bernoulli.py measures it there), a Gaussian NLL with learned variance,
    a log-sum-exp."""
    run_generated_tests(tmp_path, SPECS / "others.py")


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["coverage.py", "edges.py"])
def test_every_emitted_function_passes_its_generated_tests(tmp_path, spec):
    run_generated_tests(tmp_path, SPECS / spec)


@pytest.mark.slow
def test_a_copy_of_the_gamma_spec_passes_its_generated_tests(tmp_path):
    """The shipped Gamma KL as a user's spec: its generated tests print psi and loggamma for
    mpmath (SymPy's printer has no polygamma)."""
    run_generated_tests(tmp_path, ROOT / "specs" / "gamma.py")


def _import_one(tmp_path, kernel):
    """Generate one kernel's numpy module into tmp_path and import it."""
    import importlib

    from klgen.derive.userpkg import render_package

    package = tmp_path / f"pkg_{kernel.name}"
    package.mkdir()
    for name, text in render_package((kernel,)).items():
        (package / name).write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(f"{package.name}.{kernel.name}")
    finally:
        sys.path.remove(str(tmp_path))


def test_the_package_binds_no_function_over_its_module(tmp_path):
    """``import pkg.NAME as m`` gives the module NAME, not its function NAME."""
    kernel = klgen.Kernel(name="halved", args=(x := sp.Symbol("x"),), term=x / 2, computes="x/2")
    module = _import_one(tmp_path, kernel)
    assert sys.modules[module.__package__].halved is module


def test_a_kernel_is_checked_broadcast_and_typed_like_the_builtins(tmp_path):
    kernel = klgen.Kernel(
        name="scaled_square",
        args=sp.symbols("a b", real=True),
        term=sp.Symbol("a", real=True) ** 2 * sp.exp(sp.Symbol("b", real=True)),
        computes="sum of a^2 e^b",
    )
    module = _import_one(tmp_path, kernel)
    a, b = np.arange(6.0).reshape(2, 3), np.array([0.0, 1.0, -1.0])
    value, (da, db) = module.scaled_square_value_and_grad(a, b)
    np.testing.assert_allclose(value, (a**2 * np.exp(b)).sum(-1), rtol=1e-15)
    np.testing.assert_allclose(da, 2 * a * np.exp(b), rtol=1e-15)
    assert db.shape == (3,)  # summed over the axis b was broadcast along
    np.testing.assert_allclose(db, (a**2 * np.exp(b)).sum(0), rtol=1e-15)
    assert module.scaled_square(a.astype(np.float32), b.astype(np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match="b must be a float32 or float64"):
        module.scaled_square(a, np.arange(3))
    with pytest.raises(ValueError, match=r"b has shape \(4,\)"):
        module.scaled_square(a, np.zeros(4))
    out = (np.empty(2), np.empty((2, 3)), np.empty(3))
    assert module.scaled_square_value_and_grad(a, b, out=out)[0] is out[0]
    np.testing.assert_array_equal(out[0], value)


def test_a_log_sum_exp_reduces_the_last_axis(tmp_path):
    logits = sp.Symbol("logits", real=True)
    kernel = klgen.Kernel(
        name="lse", args=(logits,), term=logits, computes="lse", reduce="logsumexp"
    )
    module = _import_one(tmp_path, kernel)
    x = np.array([[1000.0, 1000.0], [-1000.0, -1001.0]])
    value, (dx,) = module.lse_value_and_grad(x)
    np.testing.assert_allclose(value, [1000 + np.log(2), -1000 + np.log1p(np.exp(-1))], rtol=1e-15)
    np.testing.assert_allclose(dx, [[0.5, 0.5], [1 / (1 + np.exp(-1)), 1 / (1 + np.e)]], rtol=1e-15)


_X, _Y = sp.symbols("x y", real=True)
LOGS_OF_EXPONENTIALS = {
    "softplus_of_difference": sp.log(1 + sp.exp(_X - _Y)) + _X**2 / 2,
    "softplus_scaled": sp.log(1 + 2 * sp.exp(_X)) + _Y,
    "softplus_divided": sp.log(1 + sp.exp(_X) / 3) + _Y,
    "log_exp_plus_constant": sp.log(sp.exp(_X) + 3) + _Y,
    "log_two_exponentials": sp.log(sp.exp(_X) + 2 * sp.exp(_Y)),
}


@pytest.mark.parametrize("name", LOGS_OF_EXPONENTIALS)
def test_logs_of_sums_of_exponentials_stay_finite_and_exact(tmp_path, name):
    """log(1 + e^(x - y)) and its kin: SymPy's log1p_opt splits e^(x - y) into e^x e^-y and
    c e^x keeps its c, which once hid them from the softplus and logaddexp rules (the value
    overflowed at x = 800 and the sigmoid was lost from the gradient)."""
    import mpmath

    term = LOGS_OF_EXPONENTIALS[name]
    kernel = klgen.Kernel(name=name, args=(_X, _Y), term=term, computes=name)
    module = _import_one(tmp_path, kernel)
    points = np.array([[800.0, 0.3], [-800.0, 0.3], [30.0, -2.0], [0.5, 0.25], [0.3, 800.0]])
    value, (dx, dy) = getattr(module, name + "_value_and_grad")(points[:, :1], points[:, 1:])
    exact = [sp.lambdify((_X, _Y), e, "mpmath") for e in (term, term.diff(_X), term.diff(_Y))]
    with mpmath.workdps(50):
        for row, (a, b) in enumerate(points):
            want = [float(f(mpmath.mpf(a), mpmath.mpf(b))) for f in exact]
            got = [value[row], dx[row, 0], dy[row, 0]]
            np.testing.assert_allclose(got, want, rtol=4e-15, atol=1e-300, err_msg=str((a, b)))


@pytest.mark.parametrize(
    "body, problem",
    [
        ("", "defines no KERNELS"),
        ("KERNELS = 3\n", "KERNELS must be a non-empty list"),
        ("KERNELS = [3]\n", "not a klgen.Kernel"),
        ("KERNELS = [klgen.Kernel(name='a-b', args=(x,), term=x, computes='c')]\n", "identifier"),
        (
            "KERNELS = [klgen.Kernel(name='k', args=(x,), term=x + y, computes='c')]\n",
            "term uses y",
        ),
        ("KERNELS = [klgen.Kernel(name='k', args=(x, x), term=x, computes='c')]\n", "repeats"),
        ("KERNELS = [klgen.Kernel(name='k', args=(x,), term=x, computes='')]\n", "computes must"),
        (
            "KERNELS = [klgen.Kernel(name='k', args=(x,), term=x, computes='c', reduce='max')]\n",
            "reduce must",
        ),
        ("KERNELS = [klgen.Kernel(name='k', args=(x,), term='x', computes='c')]\n", "not a SymPy"),
        (
            "k = klgen.Kernel(name='k', args=(x,), term=x, computes='c')\nKERNELS = [k, k]\n",
            "two kernels are named k",
        ),
        (
            "o = sp.Symbol('out')\n"
            "KERNELS = [klgen.Kernel(name='k', args=(o,), term=o, computes='c')]\n",
            "reserved",
        ),
        ("1 / 0\n", "raised ZeroDivisionError: division by zero (line 4)"),
        ("def broken(:\n", "line 4"),
        (
            "KERNELS = [klgen.Kernel(name='k', args=(x,), term=sp.erf(x), computes='c')]\n",
            "kernel 'k': no numpy evaluation of erf(x)",
        ),
    ],
)
def test_a_bad_spec_is_one_line_and_writes_nothing(tmp_path, capsys, body, problem):
    spec = write_spec(tmp_path, body)
    before = tree(tmp_path)
    code, out, err = klgen_cli(capsys, "generate", "--spec", spec, "--out", tmp_path / "pkg")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and problem in err and str(spec) in err, err
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    "argv, problem",
    [
        (["generate", "--spec", "{spec}"], "--spec needs --out DIR"),
        (["check", "--spec", "{spec}"], "--spec needs --dir DIR"),
        (["generate", "--tests", "t.py", "--out", "{tmp}/o"], "are for kernels of a --spec"),
        (["generate", "--spec", "{tmp}/missing.py", "--out", "{tmp}/o"], "missing.py"),
    ],
)
def test_spec_options_misused_are_one_line(tmp_path, capsys, argv, problem):
    spec = write_spec(
        tmp_path, "KERNELS = [klgen.Kernel(name='k', args=(x,), term=x, computes='c')]\n"
    )
    argv = [a.format(spec=spec, tmp=tmp_path) for a in argv]
    code, out, err = klgen_cli(capsys, *argv)
    assert code == 1 and err.count("\n") == 1 and problem in err, err


def test_an_unknown_backend_is_a_usage_error(tmp_path, capsys):
    code, _, err = klgen_cli(
        capsys, "generate", "--spec", "s.py", "--out", "o", "--backend", "cuda"
    )
    assert code == 2 and "the backends are numpy, numba, torch and jax" in err


def test_tests_never_overwrite_a_users_file(tmp_path, capsys):
    spec = write_spec(
        tmp_path, "KERNELS = [klgen.Kernel(name='k', args=(x,), term=x * x, computes='c')]\n"
    )
    mine = tmp_path / "test_mine.py"
    mine.write_text("def test_mine(): pass\n")
    code, _, err = klgen_cli(
        capsys, "generate", "--spec", spec, "--out", tmp_path / "pkg", "--tests", mine
    )
    assert code == 1 and "klgen did not write it" in err
    assert mine.read_text() == "def test_mine(): pass\n"


def test_rewrites_are_kept_only_when_proved():
    from klgen.derive import rewrites

    x = sp.Symbol("x", real=True)
    term, applied = rewrites.apply(sp.log(1 / (1 + sp.exp(-x))))
    assert term == -klgen.softplus(-x) and "log_sigmoid" in applied
    lying = rewrites.Rule("lie", "x -> x + 1", lambda e: e + 1)
    assert rewrites.apply(x, (lying,)) == (x, ())


def test_temporaries_are_named_from_the_math():
    from klgen.derive import ir

    x, y = sp.symbols("x y", real=True)
    routine = ir.build((x, y), {"terms": sp.exp(x - y) * (x - y) + sp.log(x - y)})
    names = {s.lhs.name for s in routine.statements}
    assert {"x_minus_y", "exp_x_minus_y", "log_x_minus_y"} <= names
    assert not any(re.fullmatch(r"[a-z]\d+", n) for n in names)


def test_spec_errors_are_value_errors_naming_the_kernel():
    with pytest.raises(SpecError, match="kernel 'k': args is empty"):
        klgen.Kernel(name="k", args=(), term=sp.Integer(1), computes="c")


def test_a_series_radius_without_a_derived_series_is_refused():
    x = sp.Symbol("x", real=True)
    with pytest.raises(SpecError, match="kernel 'k': series_radius must be one of 0.5, 1.0"):
        klgen.Kernel(name="k", args=(x,), term=sp.exp(x), computes="c", series_radius=0.7)


def test_the_series_radius_is_the_kernels_own():
    """A kernel's numpy module sums the series of e^t - 1 - t to its own radius: 1 for
    kl_laplace (its value needs it), the default 0.5 for the Gaussians (cheaper)."""
    from klgen.generated import kl_laplace, kl_std_normal, nll_gaussian

    assert (kl_laplace._SERIES_RADIUS, nll_gaussian._SERIES_RADIUS) == (1.0, 0.5)
    assert kl_std_normal._SERIES_RADIUS == 0.5


def test_a_users_package_and_tests_are_lint_and_formatter_clean(tmp_path, capsys):
    """Whatever ruff configuration the user's folder has, the files read as kept code."""
    package, tests = tmp_path / "pkg", tmp_path / "test_pkg.py"
    argv = ["generate", "--spec", EXAMPLE, "--out", package, "--backend", "numpy,numba"]
    code, _, err = klgen_cli(capsys, *argv, "--tests", tests)
    assert code == 0, err
    for command in (["check", "--select", "E,F,W,I,B,UP"], ["format", "--check"]):
        args = [sys.executable, "-m", "ruff", *command, "--isolated", "--line-length", "100"]
        done = subprocess.run([*args, package, tests], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_compiled_module_names_the_seals_of_the_helpers_it_inlines():
    """numba caches a module's loops by that file alone: a changed helper module or series
    must change the compiled module's text, so that its cache is rebuilt."""
    from klgen.derive.seal import recorded_hash
    from klgen.derive.userpkg import prepare, render_module, render_package

    (kernel,) = load_spec(EXAMPLE)
    files = render_package((kernel,), ("numpy", "numba"))
    compiled = files[f"{kernel.name}_numba.py"]
    for helper in ("_numba_functions.py", "_constants.py"):
        assert f"{helper} sealed {recorded_hash(files[helper])}" in compiled
    against = {
        "_numba_functions.py": files["_numba_functions.py"],
        "_constants.py": "klgen-hash: 0",
    }
    assert render_module(prepare(kernel), "numba", against) != compiled
