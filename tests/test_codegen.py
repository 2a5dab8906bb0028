"""The pipeline: spec expressions, numeric rewrites, rendering, and the staleness check."""

import ast
import importlib
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from klgen.derive import files, gaussian, numerics
from klgen.derive.cli import main
from klgen.derive.codegen import kernel_modules, render_all, render_module
from klgen.derive.files import check, default_directory, generate
from klgen.derive.gaussian import logvar, mu
from klgen.derive.seal import HASH_PLACEHOLDER, HASH_PREFIX, recorded_hash, seal
from klgen.derive.specs import SPECS, spec_named

ROOT = Path(__file__).resolve().parent.parent


def test_std_normal_term_is_the_familiar_vae_formula():
    familiar = -sp.Rational(1, 2) * (1 + logvar - mu**2 - sp.exp(logvar))
    assert sp.simplify(spec_named("kl_std_normal").term - familiar) == 0


@pytest.mark.parametrize("k", [2, 3])
def test_diagonal_kl_is_the_sum_of_its_one_dimensional_terms(k):
    mus, lvs, mps, lps = (sp.symbols(f"{n}0:{k}", real=True) for n in ("m", "l", "mp", "lp"))
    general = gaussian.kl_closed_form(
        sp.Matrix(mus),
        sp.diag(*[sp.exp(v) for v in lvs]),
        sp.Matrix(mps),
        sp.diag(*[sp.exp(v) for v in lps]),
    )
    term = gaussian.diag_normal_term()
    summed = sum(
        term.subs({gaussian.mu: a, logvar: b, gaussian.mu_p: c, gaussian.logvar_p: d})
        for a, b, c, d in zip(mus, lvs, mps, lps, strict=True)
    )
    assert sp.simplify(sp.expand_log(general - summed, force=True)) == 0


def test_stabilize_proves_its_rewrite_and_removes_the_cancellation():
    term = spec_named("kl_std_normal").term
    stable = numerics.stabilize(term)
    assert stable.atoms(numerics.HalfExpm1MinusX) and not stable.atoms(sp.exp)
    assert sp.simplify(numerics.as_exact(stable) - term) == 0


def test_stabilize_takes_differences_exactly_and_scales_products():
    """The diag-normal spec: each expm1(lv - lvp) and e^t - 1 - t becomes one half node
    taking the difference exactly, and (mu - mu_p)**n exp(-lvp) one ScaledExp (the 1/2 of
    the value in its exponent), with no exp left to overflow on its own."""
    spec = spec_named("kl_diag_normal")
    mu, lv, mu_p, lvp = spec.args
    stable = [numerics.stabilize(e) for e in (spec.term, *spec.gradients)]
    nodes = set().union(*(e.atoms(sp.Function) for e in stable))
    assert nodes == {
        numerics.HalfExpm1(lv, lvp),
        numerics.HalfExpm1MinusX(lv, lvp),
        numerics.ScaledExp(mu, mu_p, -lvp, 1, 0),
        numerics.ScaledExp(mu, mu_p, -lvp, 2, -1),
    }
    for exact, rewritten in zip((spec.term, *spec.gradients), stable, strict=True):
        assert sp.simplify(numerics.as_exact(rewritten) - exact) == 0


def test_numpy_lowering_and_its_fast_range():
    spec = spec_named("kl_diag_normal")
    mu, lv, mu_p, lvp = spec.args
    lowered = [numerics.lower_for_numpy(numerics.stabilize(e)) for e in (spec.term,)]
    assert lowered[0].atoms(numerics.TwoSumLo) and lowered[0].atoms(numerics.Expm1MinusX)
    bounds = numerics.fast_path_bounds(lowered, spec.args)
    assert bounds[lv] == bounds[lvp] == numerics.EXPM1_BOUND / 2
    assert bounds[mu] == bounds[mu_p] == numerics.DIFFERENCE_BOUND


def test_a_wrong_lowering_is_caught(monkeypatch):
    """check_lowering has teeth: a correction term with the wrong sign is refused."""
    original = numerics.lower_for_numpy

    def wrong(expr):
        return original(expr).replace(numerics.TwoSumLo, lambda *args: -numerics.TwoSumLo(*args))

    monkeypatch.setattr(numerics, "lower_for_numpy", wrong)
    with pytest.raises(ArithmeticError, match="numpy form"):
        numerics.check_lowering()


def test_series_is_long_enough_for_each_type():
    import numpy as np

    for dtype, radius in itertools.product(("float32", "float64"), numerics.SERIES_RADII):
        series = numerics.expm1_minus_x_series(dtype, radius)
        t = sp.Rational(series.radius)
        exact = sp.exp(t) - 1 - t
        # The float coefficients summed exactly: the truncation (and the coefficients'
        # rounding), not the rounding of a float sum, which at t = 1 is an ulp by itself.
        approx = sum(sp.Rational(c) * t ** (k + 2) for k, c in enumerate(series.coefficients))
        assert float(abs(approx - exact)) <= np.finfo(dtype).eps / 4 * float(exact)


def test_committed_generated_package_is_up_to_date():
    assert check(default_directory()) == []


@pytest.fixture(scope="module")
def rendered():
    """render_all() once for the tests below (about 1.5 s each time); the test above
    renders for itself."""
    return render_all()


@pytest.fixture
def cached_render(monkeypatch, rendered):
    monkeypatch.setattr(files, "render_all", lambda: dict(rendered))


def test_check_fails_after_a_hand_edit_and_names_the_file(tmp_path, cached_render):
    generate(tmp_path)
    assert check(tmp_path) == []
    path = tmp_path / "kl_std_normal.py"
    path.write_text(path.read_text().replace("np.expm1(", "np.exp("))
    problems = check(tmp_path)
    assert [p.name for p in problems] == ["kl_std_normal.py"]
    assert "edited by hand" in problems[0].reason
    assert "-    np.expm1(logvar, out=expm1_logvar)" in problems[0].diff


def test_check_reports_stale_and_missing_files(tmp_path, cached_render, rendered):
    generate(tmp_path)
    (tmp_path / "_runtime.py").unlink()
    # As if generated by an earlier version of the templates: sealed, but different.
    text = rendered["kl_diag_normal.py"]
    (hash_line,) = [line for line in text.splitlines() if line.startswith(HASH_PREFIX)]
    older = text.replace(hash_line, HASH_PLACEHOLDER).replace("np.expm1(", "np.exp2(")
    (tmp_path / "kl_diag_normal.py").write_text(seal(older))
    reasons = {p.name: p.reason for p in check(tmp_path)}
    assert reasons["_runtime.py"] == "missing"
    assert reasons["kl_diag_normal.py"].startswith("stale")


def test_generate_writes_only_what_changed(tmp_path, cached_render, rendered):
    assert sorted(generate(tmp_path)) == sorted(rendered)
    assert generate(tmp_path) == []
    assert not list(tmp_path.glob("*.tmp"))


def test_generated_modules_import_without_sympy(tmp_path):
    """As klgen.generated, and as a copy of the folder on its own (relative imports only)."""
    shutil.copytree(default_directory(), tmp_path / "kernels")
    blocked = "import sys; sys.modules['sympy'] = None; sys.modules['jinja2'] = None\n"
    for package in ("klgen.generated", "kernels"):
        use = f"from {package}.kl_std_normal import kl_std_normal as kl\n"
        code = f"{blocked}{use}print(kl([0.0] * 3, [0.0] * 3))"
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "0.0"


def test_the_package_binds_no_function_over_a_module():
    """``import klgen.generated.kl_std_normal as m`` gives the module (the package used to
    import the function kl_std_normal over it)."""
    package = importlib.import_module("klgen.generated")
    for module in kernel_modules():
        imported = importlib.import_module(f"klgen.generated.{module.name}")
        assert getattr(package, module.name) is imported
        assert all(callable(getattr(imported, f)) for f in module.functions)


def test_cli_list_names_every_spec_and_function(capsys):
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    for module in kernel_modules():
        assert f"    {module.name}: " in listing
        for function in module.functions:
            assert f"        {function}\n" in listing
    assert {m.name for m in kernel_modules()} >= {spec.name for spec in SPECS}


@pytest.mark.parametrize("command", [("check",), ("format", "--check")], ids=" ".join)
def test_ruff_is_clean(command):
    """Lint- and formatter-clean, the generated files included."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, str(ROOT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _derive_imports() -> dict[str, set[str]]:
    """Each module under derive/ -> the derive and vae modules it imports (anywhere in it,
    inside functions too; derive uses absolute imports only)."""
    imported = {}
    for path in (ROOT / "derive").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(("klgen", *(parts[:-1] if parts[-1] == "__init__" else parts)))
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{name}: a relative import"
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        imported[name] = found
    return {
        name: {m for m in found if (m in imported and m != name) or m.startswith("klgen.vae")}
        for name, found in imported.items()
    }


def test_derive_has_no_import_cycles_and_only_the_cli_reaches_the_trainer():
    graph = _derive_imports()
    assert {n for n, found in graph.items() if any(m.startswith("klgen.vae") for m in found)} == {
        "klgen.derive.cli"
    }
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        path.append(name)
        for target in graph.get(name, ()):
            if target.startswith("klgen.derive") and not name.startswith(target + "."):
                visit(target)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_a_changed_numba_helper_module_changes_every_compiled_module(rendered):
    """numba caches a module's loops by that module's file alone: each compiled module names
    the seal of the helper module it inlines, so a new helper module recompiles them."""
    helpers = rendered["_numba_exp.py"]
    changed = seal(helpers.replace(recorded_hash(helpers), "{hash}").replace("2.0", "2.00"))
    for spec in SPECS:
        assert recorded_hash(helpers) in rendered[f"{spec.name}_numba.py"]
        assert render_module(spec, "numba", changed) != rendered[f"{spec.name}_numba.py"]
