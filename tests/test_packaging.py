"""One import name, ``klgen``: what a wheel installs, and what works without the extras.

A wheel must put nothing but ``klgen`` at the top level (PyPI has packages called derive, vae
and templates, and a user's own ``generated/`` would shadow the kernels); without the
``derive`` extra, ``--help``, ``--version`` and ``check`` (by the seals) work, every other
command names the extra it needs, and ``generate`` never writes into site-packages.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from klgen.derive import files
from klgen.derive.cli import main

ROOT = Path(__file__).resolve().parent.parent


def klgen(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse's --help and --version
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def sealed_copy(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    shutil.copytree(files.default_directory(), package, ignore=shutil.ignore_patterns("__py*"))
    return package


def test_version_names_the_package_version(capsys):
    import klgen as package

    assert klgen(capsys, "--version") == (0, f"klgen {package.__version__}\n", "")


def test_seals_pass_on_the_committed_package_and_name_a_hand_edit(tmp_path):
    package = sealed_copy(tmp_path)
    assert files.check_seals(package) == []
    edited = package / "kl_std_normal.py"
    edited.write_text(edited.read_text().replace("np.expm1(", "np.exp2(", 1))
    (package / "mine.py").write_text("print('a user module')\n")
    problems = {p.name: p for p in files.check_seals(package)}
    assert problems.keys() == {"kl_std_normal.py", "mine.py"}
    assert "edited by hand" in problems["kl_std_normal.py"].reason
    assert problems["mine.py"].foreign


def test_check_without_the_derive_extra_checks_the_seals(tmp_path, capsys, monkeypatch):
    package = sealed_copy(tmp_path)
    real = __import__("importlib").util.find_spec
    missing = {"sympy", "jinja2", "latex2mathml"}
    monkeypatch.setattr(
        "importlib.util.find_spec", lambda name, *a: None if name in missing else real(name, *a)
    )
    monkeypatch.setattr(files, "render_all", lambda: pytest.fail("rendered without sympy"))
    code, out, err = klgen(capsys, "check", "--dir", package)
    assert (code, err) == (0, "")
    assert "seal matches" in out and "klgen[derive]" in out
    (package / "kl_diag_normal.py").write_text('"""\nklgen-hash: 0000000000000000\n"""\n')
    code, out, err = klgen(capsys, "check", "--dir", package)
    assert code == 1 and "kl_diag_normal.py: edited by hand" in err


def test_an_installed_klgen_asks_for_out_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(files, "is_checkout", lambda: False)
    monkeypatch.setattr(files, "render_all", lambda: pytest.fail("rendered before refusing"))
    before = {p: p.stat().st_mtime_ns for p in files.default_directory().glob("*.py")}
    code, out, err = klgen(capsys, "generate")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "not a checkout" in err and "--out DIR" in err
    assert {p: p.stat().st_mtime_ns for p in files.default_directory().glob("*.py")} == before


def test_the_checkout_is_recognised():
    assert files.is_checkout()
    assert files.default_directory() == ROOT / "generated"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("klgen-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_installs_only_the_import_name_klgen(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"klgen"}
    for part in ("klgen/__init__.py", "klgen/py.typed", "klgen/derive/cli.py"):
        assert part in names
    assert "klgen/generated/kl_std_normal.py" in names
    assert "klgen/templates/kernel_module.py.jinja" in names
    # What `klgen generate --spec` copies and renders into a user's package.
    for part in ("templates/static/runtime.py", "templates/constants.py.jinja"):
        assert f"klgen/{part}" in names
    assert any(n.startswith("klgen/vae/data/mnist/") for n in names)
    assert not any(n.startswith(("klgen/tests/", "klgen/bench/")) for n in names)
    license = [n for n in names if n.endswith("LICENSE")]
    assert license, names


@pytest.mark.slow
def test_a_wheel_without_extras(wheel, tmp_path):
    """pip install klgen (numpy only): the commands that need no extra work, the rest say
    which extra; the kernels import; generate will not write into site-packages."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", wheel], check=True, capture_output=True, timeout=300
    )

    def run(*argv):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(
            [venv / "bin" / "klgen", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.returncode, done.stdout, done.stderr

    import klgen as package

    assert run("--version") == (0, f"klgen {package.__version__}\n", "")
    code, out, err = run("--help")
    assert code == 0 and "generate" in out and err == ""
    code, out, err = run("check")
    assert code == 0 and "seal matches" in out, err
    for command in (["list"], ["latex", "std_normal"], ["generate", "--out", tmp_path / "o"]):
        code, out, err = run(*command)
        assert code == 1 and err.count("\n") == 1 and "pip install 'klgen[derive]'" in err
    code, out, err = run("train", "--epochs", "1")
    assert code == 1 and err.count("\n") == 1 and "pip install 'klgen[train]'" in err
    code, out, err = run("generate")
    assert code == 1 and "not a checkout" in err and "--out DIR" in err
    assert not (tmp_path / "o").exists()
    done = subprocess.run(
        [
            python,
            "-c",
            "from klgen.generated.kl_std_normal import kl_std_normal\n"
            "print(kl_std_normal([0.], [0.]))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == "0.0\n", done.stderr
