"""derive/gencache.py: the files ``klgen generate`` rendered for klgen's own package, kept
between runs under the digest of the code and library versions that make them.

A stand-in render (two sealed modules, counted) takes the place of klgen's 15 s one, except
in the slow end-to-end test, which runs the real command in fresh processes.
"""

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import klgen
from klgen.derive import diskcache, files, gencache
from klgen.derive.cli import main
from klgen.derive.seal import HASH_PLACEHOLDER, seal

ROOT = Path(klgen.__file__).resolve().parent


def _module(value: str) -> str:
    return seal(f'"""A stand-in module.\n\n{HASH_PLACEHOLDER}\n"""\n\nVALUE = {value!r}\n')


class Render:
    """files.render_all's stand-in: what it makes now, and how often it was called."""

    def __init__(self):
        self.calls = 0
        self.files = {"a.py": _module("a"), "b.py": _module("b")}

    def __call__(self):
        self.calls += 1
        return dict(self.files)


@pytest.fixture
def render(tmp_path, monkeypatch):
    """The stand-in render, a cache folder of this test's own, and no digest remembered."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    stand_in = Render()
    monkeypatch.setattr(files, "render_all", stand_in)
    diskcache.code_digest.cache_clear()
    yield stand_in
    diskcache.code_digest.cache_clear()


def _kept(tmp_path) -> list[Path]:
    folder = tmp_path / "xdg" / "klgen" / "generated"
    return sorted(folder.iterdir()) if folder.exists() else []


def _generate(capsys, out, *options):
    code = main(["generate", "--out", str(out), *map(str, options)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    return stdout


def _tree(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def _new_process():
    """What a new process would compute again: the digest of the code."""
    diskcache.code_digest.cache_clear()


def test_the_files_are_kept_and_written_again_without_rendering(render, tmp_path, capsys):
    _generate(capsys, tmp_path / "one")
    assert render.calls == 1 and len(_kept(tmp_path)) == 1
    _new_process()
    out = _generate(capsys, tmp_path / "two")
    assert render.calls == 1  # from the cache
    assert _tree(tmp_path / "two") == _tree(tmp_path / "one") == render.files
    assert out.count("wrote ") == 2
    assert _generate(capsys, tmp_path / "two") == f"{tmp_path / 'two'}: up to date\n"
    assert render.calls == 1


def test_rerender_renders_even_with_the_files_kept(render, tmp_path, capsys):
    _generate(capsys, tmp_path / "pkg")
    render.files["a.py"] = _module("changed")  # as if something outside the key changed
    assert _generate(capsys, tmp_path / "pkg") == f"{tmp_path / 'pkg'}: up to date\n"
    assert _generate(capsys, tmp_path / "pkg", "--rerender") == f"wrote {tmp_path / 'pkg/a.py'}\n"
    assert render.calls == 2 and _tree(tmp_path / "pkg") == render.files
    assert _generate(capsys, tmp_path / "pkg") == f"{tmp_path / 'pkg'}: up to date\n"
    assert render.calls == 2  # what --rerender made was kept in place of the old files


def _copy_sources(tmp_path, monkeypatch) -> Path:
    """A copy of klgen's covered folders, standing in for klgen's own."""
    package = tmp_path / "klgen"
    for folder in diskcache.SOURCES:
        shutil.copytree(ROOT / folder, package / folder, ignore=shutil.ignore_patterns("*.pyc"))
    monkeypatch.setattr(klgen, "__file__", str(package / "__init__.py"))
    return package


@pytest.mark.parametrize(
    "source",
    [
        "derive/rewrites.py",
        "derive/derivations/steps.py",
        "specs/gamma.py",
        "templates/kernel_module.py.jinja",
        "templates/static/numeric.py",
    ],
)
def test_editing_a_source_file_renders_again(render, tmp_path, capsys, monkeypatch, source):
    package = _copy_sources(tmp_path, monkeypatch)
    _generate(capsys, tmp_path / "pkg")
    path = package / source
    path.write_text(path.read_text() + "\n# an edit\n")
    render.files["a.py"] = _module("after the edit")
    _new_process()
    assert _generate(capsys, tmp_path / "pkg") == f"wrote {tmp_path / 'pkg/a.py'}\n"
    assert render.calls == 2


def test_a_new_source_file_renders_again(render, tmp_path, capsys, monkeypatch):
    package = _copy_sources(tmp_path, monkeypatch)
    _generate(capsys, tmp_path / "pkg")
    (package / "templates" / "new_module.py.jinja").write_text("{{ header }}\n")
    _new_process()
    _generate(capsys, tmp_path / "pkg")
    assert render.calls == 2


def test_a_dangling_link_among_the_sources_is_no_error(render, tmp_path, capsys, monkeypatch):
    """As an editor's lock file (.#name.py, a link to nowhere) is while a file is edited."""
    package = _copy_sources(tmp_path, monkeypatch)
    (package / "derive" / ".#rewrites.py").symlink_to(tmp_path / "nowhere")
    _generate(capsys, tmp_path / "pkg")
    _new_process()
    _generate(capsys, tmp_path / "pkg")
    assert render.calls == 1


@pytest.mark.parametrize("library", diskcache.LIBRARIES)
def test_another_library_version_renders_again(render, tmp_path, capsys, monkeypatch, library):
    _generate(capsys, tmp_path / "pkg")
    real = metadata.version

    def version(name):
        return "999.0" if name == library else real(name)

    monkeypatch.setattr(diskcache.metadata, "version", version)
    _new_process()
    _generate(capsys, tmp_path / "pkg")
    assert render.calls == 2


@pytest.mark.parametrize(
    ("owner", "name", "value"),
    [(klgen, "__version__", "999.0"), (sys, "version", "3.99.0 (another Python)")],
)
def test_another_klgen_or_python_version_renders_again(
    render, tmp_path, capsys, monkeypatch, owner, name, value
):
    _generate(capsys, tmp_path / "pkg")
    monkeypatch.setattr(owner, name, value)
    _new_process()
    _generate(capsys, tmp_path / "pkg")
    assert render.calls == 2


def _spoil(path: Path, how: str) -> None:
    text = path.read_text()
    if how == "truncated":
        path.write_text(text[: len(text) // 2])
    elif how == "a changed file, same seal line":
        assert "VALUE = 'a'" in text
        path.write_text(text.replace("VALUE = 'a'", "VALUE = 'x'"))
    elif how == "empty":
        path.write_text("")
    elif how == "not UTF-8":
        path.write_bytes(b"\xff\xfe" + text.encode())
    elif how == "a folder in its place":
        path.unlink()
        path.mkdir()
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    ["truncated", "a changed file, same seal line", "empty", "not UTF-8", "a folder in its place"],
)
def test_a_spoilt_cache_file_is_rendered_again(render, tmp_path, capsys, how):
    _generate(capsys, tmp_path / "pkg")
    (kept,) = _kept(tmp_path)
    _spoil(kept, how)
    (tmp_path / "pkg" / "a.py").unlink()
    assert _generate(capsys, tmp_path / "pkg") == f"wrote {tmp_path / 'pkg/a.py'}\n"
    assert render.calls == 2 and _tree(tmp_path / "pkg") == render.files


@pytest.mark.parametrize(
    "made",
    [
        ["a.py", "not a mapping"],
        {"../a.py": "escapes the folder"},
        {"..": "the folder above"},
        {"": "no name"},
        {".a.py.0123456789abcdef.tmp": "a temporary's name"},
        {"a.txt": "not a module"},
        {"a.py": 1},
    ],
)
def test_kept_files_that_are_not_a_package_are_not_used(render, tmp_path, capsys, made):
    """Whole (their seal line matches) but not names and texts of one folder."""
    gencache._keep(gencache._path(), made)
    _generate(capsys, tmp_path / "pkg")
    assert render.calls == 1 and _tree(tmp_path / "pkg") == render.files
    assert not (tmp_path / "a.py").exists()


@pytest.mark.parametrize("blocked", ["xdg", "xdg/klgen/generated"])
def test_an_unwritable_cache_folder_only_renders_every_time(render, tmp_path, capsys, blocked):
    """A file where a folder of the cache would be: nothing can be kept or read there."""
    (tmp_path / blocked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocked).write_text("a file where the cache folder would be")
    _generate(capsys, tmp_path / "pkg")
    (tmp_path / "pkg" / "b.py").unlink()
    assert _generate(capsys, tmp_path / "pkg") == f"wrote {tmp_path / 'pkg/b.py'}\n"
    assert render.calls == 2 and _tree(tmp_path / "pkg") == render.files


def test_check_renders_and_never_reads_the_cache(render, tmp_path, capsys):
    """A hand edit is found even when the kept files hold the very same edit."""
    _generate(capsys, tmp_path / "pkg")
    edited = tmp_path / "pkg" / "a.py"
    edited.write_text(edited.read_text() + "# hi\n")
    gencache._keep(gencache._path(), _tree(tmp_path / "pkg"))
    assert main(["check", "--dir", str(tmp_path / "pkg")]) == 1
    _, err = capsys.readouterr()
    assert "a.py: edited by hand" in err and "+# hi" in err
    assert render.calls == 2  # generate's, then check's own


def test_only_the_newest_states_are_kept(render, tmp_path, capsys, monkeypatch):
    for n in range(gencache.KEPT + 3):
        monkeypatch.setattr(klgen, "__version__", f"0.0.{n}")
        _new_process()
        _generate(capsys, tmp_path / "pkg")
        path = gencache._path()
        os.utime(path, ns=(n * 10**9, n * 10**9))  # one second apart, whatever the clock
    kept = _kept(tmp_path)
    assert len(kept) == gencache.KEPT and path in kept
    assert render.calls == gencache.KEPT + 3


SPEC = """import sympy as sp
import klgen
x = sp.Symbol("x", real=True)
KERNELS = (klgen.Kernel(name="square", args=(x,), term=x**{power}, computes="x to a power"),)
"""


def test_a_spec_files_package_is_never_kept(tmp_path, capsys, monkeypatch):
    """What a spec file imports is unknown before it runs, so no key could cover it: each
    generate renders it, and an edit to the spec file is written at once."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    spec = tmp_path / "spec.py"
    spec.write_text(SPEC.format(power=2))
    _generate(capsys, tmp_path / "pkg", "--spec", spec)
    assert "x_{j}^{2}" in (tmp_path / "pkg" / "square.py").read_text()
    spec.write_text(SPEC.format(power=3))
    out = _generate(capsys, tmp_path / "pkg", "--spec", spec)
    assert f"wrote {tmp_path / 'pkg' / 'square.py'}" in out
    assert "x_{j}^{3}" in (tmp_path / "pkg" / "square.py").read_text()
    assert not (tmp_path / "xdg" / "klgen" / "generated").exists()


@pytest.mark.slow
def test_generate_in_new_processes_writes_what_klgen_makes(tmp_path):
    """The real command twice in fresh interpreters: the first renders and keeps, the second
    imports no SymPy and writes the same package, which ``klgen check`` (rendering) passes."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    run = [sys.executable, "-c", "import sys; from klgen.derive.cli import main; code = main()"]
    check_sympy = "; print('sympy' in sys.modules); sys.exit(code)"

    def klgen_run(*argv):
        done = subprocess.run(
            [*run[:2], run[2] + check_sympy, *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert klgen_run("generate", "--out", tmp_path / "first").endswith("True\n")
    assert klgen_run("generate", "--out", tmp_path / "second").endswith("False\n")
    assert _tree(tmp_path / "second") == _tree(tmp_path / "first")
    assert "up to date" in klgen_run("check", "--dir", tmp_path / "second")
