"""The ``klgen`` command's error paths: every command x every bad path, signals, arguments.

Each case asserts the exit code, one stderr line naming the path and the problem, no
traceback, and the files afterwards (old ones intact, no temporaries). Most run
``derive.cli.main`` in-process with the rendered package cached for the module; a few run
the real command in a subprocess. The tests run as root, which ignores permission bits, so
permission denied, a read-only file system and a full disk are simulated at the os level:
``os.open``/``os.mkdir``/``io.open`` raising the OSError the kernel would give, and for a full
disk the new file's descriptor swapped for one on /dev/full, whose writes really fail with
ENOSPC. A path below a regular file gives a real ENOTDIR.
"""

import errno
import io
import os
import shutil
import signal
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from klgen.derive import codegen, files, show
from klgen.derive.cli import main

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
OLD = "# written by an older klgen\n"  # appended to every file of an "old" package
REAL_OPEN, REAL_MKDIR, REAL_IO_OPEN, REAL_REPLACE = os.open, os.mkdir, io.open, os.replace


@pytest.fixture(scope="module")
def rendered():
    """render_all() once for the module (about 1.5 s)."""
    return codegen.render_all()


@pytest.fixture(autouse=True)
def cached_render(monkeypatch, rendered, tmp_path_factory):
    """The module's render stands in for klgen's; ``generate`` keeps what it rendered
    (derive/gencache.py), so each test gets a cache folder of its own: a stand-in kept under
    the real code's key must not reach another test."""
    monkeypatch.setattr(files, "render_all", lambda: dict(rendered))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture
def tmp(tmp_path):
    """tmp_path without symlinks, as the messages name it."""
    return tmp_path.resolve()


def klgen(capsys, *argv):
    """Run klgen in-process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse
        code = stop.code
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped klgen's main")
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err, *words):
    """The single stderr line (argparse: its error line after the usage), holding ``words``."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines if ": error: " in line]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], (word, err)
    return lines[0]


def write_package(folder, rendered, suffix=""):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (folder / name).write_bytes((text + suffix).encode())
    return folder


def tree(root):
    """Everything under ``root``: relative path -> bytes (regular files) or file type."""
    state = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        state[str(path.relative_to(root))] = (
            _read_bytes(path) if stat.S_ISREG(mode) else stat.S_IFMT(mode)
        )
    return state


def _read_bytes(path):
    with REAL_IO_OPEN(path, "rb") as f:  # whatever a test did to io.open
        return f.read()


def no_temporaries(root):
    return not list(root.rglob("*.tmp"))


def fail_creating(monkeypatch, code, under, nth=None):
    """``os.open`` raises OSError(code) when it creates a file below ``under`` (only the
    ``nth`` such file, counting from 1, if given), as the kernel does on that error."""
    created = []

    def fake(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT and os.fspath(path).startswith(str(under)):
            created.append(path)
            if nth is None or len(created) == nth:
                raise OSError(code, os.strerror(code), os.fspath(path))
        return REAL_OPEN(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake)


def fail_making_folders(monkeypatch, code, under):
    def fake(path, *args, **kwargs):
        if os.fspath(path).startswith(str(under)):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return REAL_MKDIR(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", fake)


def fill_disk(monkeypatch, under):
    """Files created below ``under`` are made, but their bytes go to /dev/full: ENOSPC."""

    def fake(path, flags, mode=0o777, *args, **kwargs):
        fd = REAL_OPEN(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT and os.fspath(path).startswith(str(under)):
            os.close(fd)
            return REAL_OPEN("/dev/full", os.O_WRONLY)
        return fd

    monkeypatch.setattr(os, "open", fake)


def fail_reading(monkeypatch, code, path):
    def fake(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise OSError(code, os.strerror(code), str(path))
        return REAL_IO_OPEN(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", fake)


class Blocked(BaseException):
    """klgen is still running after its deadline (reading a FIFO blocks for ever)."""


@contextmanager
def deadline(seconds=10):
    def expire(signum, frame):
        raise Blocked(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def a_file(tmp):
    (tmp / "afile").write_text("x")
    return tmp / "afile"


def a_node(path, kind):
    if kind == "fifo":
        os.mkfifo(path)
    else:  # a character device like /dev/null (root may make one)
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


# --- item 1: the default target, and a user's own files -------------------------------


def test_the_default_target_is_klgens_own_generated_folder(tmp, monkeypatch):
    """Not whatever ``import generated`` finds from the current folder."""
    (tmp / "generated").mkdir()
    (tmp / "generated" / "__init__.py").write_text("# a user's own package\n")
    monkeypatch.chdir(tmp)
    monkeypatch.syspath_prepend(str(tmp))
    monkeypatch.delitem(sys.modules, "generated", raising=False)
    assert files.default_directory() == GENERATED


@pytest.mark.slow
def test_generate_run_beside_a_users_generated_package_leaves_it_alone(tmp):
    """The real command, from a copy of klgen, in a project holding its own generated/."""
    klgen_copy = tmp / "copy"  # holding the package klgen, as a checkout maps it
    for package in ("derive", "templates", "generated"):
        shutil.copytree(
            ROOT / package, klgen_copy / "klgen" / package, ignore=shutil.ignore_patterns("*.pyc")
        )
    for name in ("__init__.py", "__main__.py", "pyproject.toml"):
        shutil.copy(ROOT / name, klgen_copy / "klgen" / name)
    project = tmp / "project"
    (project / "generated").mkdir(parents=True)
    (project / "generated" / "__init__.py").write_text("# a user's own package\n")
    before = tree(project)
    done = subprocess.run(
        [sys.executable, "-m", "klgen", "generate"],
        cwd=project,
        env=dict(os.environ, PYTHONPATH=str(klgen_copy)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert tree(project) == before
    assert str(klgen_copy / "klgen" / "generated") in done.stdout


@pytest.mark.parametrize("users_file", ["mine.py", "__init__.py"])
def test_generate_refuses_a_folder_holding_a_users_modules(tmp, capsys, rendered, users_file):
    package = write_package(tmp / "pkg", rendered)
    (package / users_file).write_text("print('my own module')\n")
    before = tree(tmp)
    code, out, err = klgen(capsys, "generate", "--out", package)
    assert code == 1
    one_line(err, str(package), users_file, "no klgen-hash line")
    assert tree(tmp) == before


def test_generate_refuses_a_users_project_folder(tmp, capsys, monkeypatch):
    (tmp / "setup.py").write_text("from setuptools import setup\n")
    monkeypatch.chdir(tmp)
    code, out, err = klgen(capsys, "generate", "--out", ".")
    assert code == 1
    one_line(err, "setup.py", "no klgen-hash line")
    assert os.listdir(tmp) == ["setup.py"]


# --- item 2: every bad path of every command: one line, exit 1, nothing changed ---------


def _generate_case(case, tmp, monkeypatch, rendered):
    """(target, path the message names, problem) for one bad ``generate --out``."""
    package = tmp / "pkg"
    if case == "a file":
        return a_file(tmp), tmp / "afile", "Not a directory"
    if case == "below a file":
        return a_file(tmp) / "pkg", tmp / "afile", "Not a directory"
    if case == "a device":
        return a_node(tmp / "dev", "device"), tmp / "dev", "Not a directory"
    if case == "a name too long":
        return tmp / ("a" * 300), tmp, "File name too long"
    write_package(package, rendered, OLD)
    first = package / next(iter(rendered))
    if case == "a folder where a module belongs":
        (package / "_runtime.py").unlink()
        (package / "_runtime.py" / "inside").mkdir(parents=True)
        return package, package / "_runtime.py", "Is a directory"
    if case == "a FIFO where a module belongs":
        (package / "_runtime.py").unlink()
        return package, a_node(package / "_runtime.py", "fifo"), "not a regular file"
    if case == "disk full":
        fill_disk(monkeypatch, package)
        return package, first, "No space left on device"
    if case == "read-only file system":
        fail_creating(monkeypatch, errno.EROFS, package)
        return package, first, "Read-only file system"
    if case == "read-only file system, new folder":
        shutil.rmtree(package)
        fail_making_folders(monkeypatch, errno.EROFS, package)
        return package, package, "Read-only file system"
    if case == "permission denied":
        fail_creating(monkeypatch, errno.EACCES, package)
        return package, first, "Permission denied"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "a file",
        "below a file",
        "a device",
        "a name too long",
        "a folder where a module belongs",
        "a FIFO where a module belongs",
        "disk full",
        "read-only file system",
        "read-only file system, new folder",
        "permission denied",
    ],
)
def test_generate_bad_path(tmp, capsys, monkeypatch, rendered, case):
    target, named, problem = _generate_case(case, tmp, monkeypatch, rendered)
    before = tree(tmp)
    with deadline():
        code, out, err = klgen(capsys, "generate", "--out", target)
    assert code == 1
    one_line(err, str(named), problem)
    assert tree(tmp) == before  # old files intact, no temporaries


def _check_case(case, tmp, monkeypatch, rendered):
    """(folder, path the message names, problem) for one bad ``check --dir``."""
    package = tmp / "pkg"
    if case == "a missing folder":
        return package, package, "No such file or directory"
    if case == "a file":
        return a_file(tmp), tmp / "afile", "Not a directory"
    if case == "below a file":
        return a_file(tmp) / "pkg", tmp / "afile" / "pkg", "Not a directory"
    write_package(package, rendered)
    if case == "a folder where a module belongs":
        (package / "_runtime.py").unlink()
        (package / "_runtime.py").mkdir()
        return package, package / "_runtime.py", "Is a directory"
    if case == "a FIFO where a module belongs":
        (package / "_runtime.py").unlink()
        return package, a_node(package / "_runtime.py", "fifo"), "not a regular file"
    if case == "permission denied":
        fail_reading(monkeypatch, errno.EACCES, package / "_runtime.py")
        return package, package / "_runtime.py", "Permission denied"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "a missing folder",
        "a file",
        "below a file",
        "a folder where a module belongs",
        "a FIFO where a module belongs",
        "permission denied",
    ],
)
def test_check_bad_path(tmp, capsys, monkeypatch, rendered, case):
    folder, named, problem = _check_case(case, tmp, monkeypatch, rendered)
    before = tree(tmp)
    with deadline():
        code, out, err = klgen(capsys, "check", "--dir", folder)
    assert code == 1
    one_line(err, str(named), problem)
    assert tree(tmp) == before


def _latex_case(case, tmp, monkeypatch):
    """(--out path, path the message names, problem) for one bad ``latex --out``."""
    page = tmp / "page.md"
    page.write_text("old")
    if case == "a folder":
        (tmp / "folder").mkdir()
        return tmp / "folder", tmp / "folder", "is a folder"
    if case == "below a file":
        return a_file(tmp) / "page.md", tmp / "afile", "Not a directory"
    if case in ("a FIFO", "a device"):
        node = a_node(tmp / "node", case.split()[1].lower())
        return node, node, "not a regular file"
    if case == "a name too long":
        return tmp / ("a" * 300), tmp / ("a" * 300), "File name too long"
    if case == "disk full":
        fill_disk(monkeypatch, tmp)
        return page, page, "No space left on device"
    if case == "read-only file system":
        fail_creating(monkeypatch, errno.EROFS, tmp)
        return page, page, "Read-only file system"
    if case == "permission denied":
        fail_creating(monkeypatch, errno.EACCES, tmp)
        return page, page, "Permission denied"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "a folder",
        "below a file",
        "a FIFO",
        "a device",
        "a name too long",
        "disk full",
        "read-only file system",
        "permission denied",
    ],
)
def test_latex_out_bad_path(tmp, capsys, monkeypatch, case):
    target, named, problem = _latex_case(case, tmp, monkeypatch)
    before = tree(tmp)
    with deadline():
        code, out, err = klgen(
            capsys, "latex", "std_normal", "--no-check", "--format", "md", "--out", target
        )
    assert code == 1
    one_line(err, str(named), problem)
    assert tree(tmp) == before  # the old page intact, nodes still nodes, no temporaries


def test_latex_out_through_a_symlink_writes_its_target(tmp, capsys):
    (tmp / "real.md").write_text("old")
    (tmp / "link.md").symlink_to(tmp / "real.md")
    code, out, err = klgen(capsys, "latex", "std_normal", "--no-check", "--out", tmp / "link.md")
    assert code == 0, err
    assert (tmp / "link.md").is_symlink()
    assert "[std_normal]" in (tmp / "real.md").read_text().splitlines()[0]


def test_standard_output_on_a_full_disk_is_one_line():
    """``klgen list > /dev/full``."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "klgen", "list"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    one_line(done.stderr, "klgen list: standard output", "No space left on device")
    assert "Exception ignored" not in done.stderr


def test_a_closed_standard_output_ends_quietly():
    """``klgen list | head -0``: the reader is gone before klgen writes; no message at all."""
    child = subprocess.Popen(
        [sys.executable, "-m", "klgen", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    child.stdout.close()
    err = child.communicate(timeout=60)[1].decode()
    assert (child.returncode, err) == (141, "")


def test_a_missing_extra_is_one_line():
    code = (
        "import sys; sys.modules['sympy'] = None\n"
        "from klgen.derive.cli import main\n"
        "sys.exit(main(['list']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    one_line(done.stderr, "sympy", "klgen[derive]")


def _run_klgen(*argv, **env):
    """The real command in a child process with ``env`` added: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "klgen", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def test_latex_on_an_ascii_terminal(tmp):
    """SymPy picks its symbol table by the encoding of stdout: the text view must not depend
    on it (it did: KeyError 'sum'), and what ASCII cannot show is one line, exit 1."""
    code, out, err = _run_klgen("latex", "std_normal", "--no-check", PYTHONIOENCODING="ascii")
    assert code == 1
    one_line(err, "klgen latex: standard output (ascii) cannot show", "PYTHONIOENCODING=utf-8")
    code, out, err = _run_klgen(
        "latex", "std_normal", "--no-check", "--out", tmp / "std.txt", PYTHONIOENCODING="ascii"
    )
    assert (code, err) == (0, "")
    code, utf8, err = _run_klgen("latex", "std_normal", "--no-check", PYTHONIOENCODING="utf-8")
    assert (code, err) == (0, "")
    assert (tmp / "std.txt").read_text(encoding="utf-8") == utf8


# --- item 4: what check finds in the files --------------------------------------------


def test_check_exit_codes(tmp, capsys):
    """(Moved from test_codegen, in-process.) 0 for what generate wrote, 1 naming a hand
    edit with its diff."""
    assert klgen(capsys, "generate", "--out", tmp / "gen")[0] == 0
    assert klgen(capsys, "check", "--dir", tmp / "gen")[0] == 0
    path = tmp / "gen" / "kl_std_normal.py"
    path.write_text(path.read_text() + "# hi\n")
    code, out, err = klgen(capsys, "check", "--dir", tmp / "gen")
    assert code == 1
    assert "kl_std_normal.py: edited by hand" in err and "+# hi" in err


def _spoil(package, case):
    if case == "a stray module":
        (package / "helpers.py").write_text("x = 1\n")
        return "helpers.py: not written by klgen"
    target = package / "kl_std_normal.py"
    if case == "CRLF":
        target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
        return "kl_std_normal.py: CRLF line endings"
    if case == "invalid UTF-8":
        target.write_bytes(target.read_bytes() + b"# caf\xe9\n")
        return "kl_std_normal.py: not valid UTF-8 (byte 0xe9"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["a stray module", "CRLF", "invalid UTF-8"])
def test_check_names_what_is_wrong_with_a_file(tmp, capsys, rendered, case):
    package = write_package(tmp / "pkg", rendered)
    reason = _spoil(package, case)
    before = tree(tmp)
    code, out, err = klgen(capsys, "check", "--dir", package)
    assert code == 1
    assert "Traceback" not in err
    assert f"{package}/{reason}" in err.splitlines()[0]
    assert "edited by hand" not in err  # a CRLF checkout is not a hand edit
    assert tree(tmp) == before


# --- item 3: all or nothing, under errors and signals ---------------------------------


def test_a_write_failing_on_the_third_file_leaves_every_old_file(
    tmp, capsys, monkeypatch, rendered
):
    package = write_package(tmp / "pkg", rendered, OLD)
    before = tree(tmp)
    fail_creating(monkeypatch, errno.ENOSPC, package, nth=3)
    code, out, err = klgen(capsys, "generate", "--out", package)
    assert code == 1
    one_line(err, str(package / list(rendered)[2]), "No space left on device")
    assert tree(tmp) == before


class Escaped(BaseException):
    """A signal reached the test's own handler: klgen did not hold it."""


def _escape(signum, frame):
    raise Escaped(signal.Signals(signum).name)


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_during_the_renames_waits_for_the_last_one(
    tmp, capsys, monkeypatch, rendered, signum, code, word
):
    package = write_package(tmp / "pkg", rendered, OLD)
    renamed = []
    escaped = signal.signal(signum, _escape)  # were it not held, the signal would end the test

    def replace(src, dst):
        if Path(dst).parent == package:  # not the kept files' write (derive/gencache.py)
            if not renamed:
                os.kill(os.getpid(), signum)
            renamed.append(dst)
        REAL_REPLACE(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    try:
        status, out, err = klgen(capsys, "generate", "--out", package)
    finally:
        signal.signal(signum, escaped)
    assert status == code
    one_line(err, f"klgen generate: {word}")
    assert {name: (package / name).read_text() for name in rendered} == rendered
    assert no_temporaries(tmp)


CHILD = """
import os, signal, sys, time
from pathlib import Path
import klgen.derive.files
from klgen.derive.cli import main

# As in a terminal's foreground, even when the tests run in the background (where SIGINT is
# ignored, and klgen rightly keeps it ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)

texts = {p.name: p.read_text() for p in Path(sys.argv[1]).glob("*.py")}
klgen.derive.files.render_all = lambda: texts
real_open, created = os.open, []

def slow_open(path, flags, mode=0o777, **kwargs):
    if flags & os.O_CREAT:
        created.append(path)
        if len(created) == 3:  # two files written, the third begun: the test signals now
            print("ready", flush=True)
            time.sleep(60)
    return real_open(path, flags, mode, **kwargs)

os.open = slow_open
sys.exit(main(["generate", "--out", sys.argv[2]]))
"""


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_real_signal_mid_generate_leaves_the_old_package(tmp, rendered, signum, code, word):
    package = write_package(tmp / "pkg", rendered, OLD)
    before = tree(tmp)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(GENERATED), str(package)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "ready\n"
    child.send_signal(signum)
    err = child.communicate(timeout=60)[1]
    assert child.returncode == code
    one_line(err, f"klgen generate: {word}")
    assert tree(tmp) == before


def test_a_killed_runs_temporaries_are_removed_and_no_others(tmp, capsys, rendered):
    package = write_package(tmp / "pkg", rendered)
    leftovers = [".kl_std_normal.py.0123456789abcdef.tmp", "._runtime.py.k3j_x9a2.tmp"]
    for name in leftovers:
        (package / name).write_text("half a file")
    (package / ".notes.tmp").write_text("a user's own")
    code, out, err = klgen(capsys, "generate", "--out", package)
    assert code == 0, err
    assert sorted(p.name for p in package.glob("*.tmp")) == [".notes.tmp"]


# --- item 5: the usual permissions ----------------------------------------------------


@contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_generated_files_get_the_usual_permissions(tmp, capsys, rendered, mask, mode):
    with umask(mask):
        code, out, err = klgen(capsys, "generate", "--out", tmp / "pkg")
    assert code == 0, err
    assert {p.stat().st_mode & 0o777 for p in (tmp / "pkg").iterdir()} == {mode}


def test_latex_out_replaces_the_old_file_with_the_usual_permissions(tmp, capsys):
    target = tmp / "std.md"
    target.write_text("old")
    target.chmod(0o600)
    with umask(0o027):
        code, out, err = klgen(capsys, "latex", "std_normal", "--format", "md", "--out", target)
    assert code == 0, err
    assert target.read_text().startswith("# Derivations")
    assert os.listdir(tmp) == ["std.md"]  # no temporary file left behind
    assert target.stat().st_mode & 0o777 == 0o640


# --- item 6: bad arguments and Ctrl-C -------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["generate", "--out", ""], ["--out", "empty path"]),
        (["check", "--dir", ""], ["--dir", "empty path"]),
        (["latex", "std_normal", "--out", ""], ["--out", "empty path"]),
        (["latex", "std_normal", "--out", "page/"], ["--out", "'page/' names a folder"]),
    ],
)
def test_a_path_argument_that_cannot_be_meant_exits_2(tmp, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp)
    code, out, err = klgen(capsys, *argv)
    assert code == 2
    one_line(err, *words)
    assert os.listdir(tmp) == [] and out == ""


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("argv", "where"),
    [
        (["generate", "--out", "pkg"], (files, "render_all")),
        (["check", "--dir", "pkg"], (files, "render_all")),
        (["list"], (codegen, "kernel_modules")),
        (["latex", "std_normal", "--recheck"], (show, "step_views")),
    ],
)
def test_ctrl_c_is_one_line_and_exit_130(tmp, capsys, monkeypatch, argv, where):
    monkeypatch.chdir(tmp)
    (tmp / "pkg").mkdir()
    monkeypatch.setattr(*where, _interrupt)
    code, out, err = klgen(capsys, *argv)
    assert code == 130
    one_line(err, f"klgen {argv[0]}: interrupted")
    assert os.listdir(tmp / "pkg") == []
