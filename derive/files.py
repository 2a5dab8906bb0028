"""Write the generated package to disk, and compare disk with what the templates make.

Writing is all or nothing as far as POSIX allows: every file goes to a temporary in its
own folder first (mode ``0o666 & ~umask``, fsynced), and only when all of them are written
are they renamed into place. SIGINT and SIGTERM during the writing remove the temporaries
and leave the old files as they were; during the renames they are held until the last
rename is done. What remains is SIGKILL or a power cut during the renames (microseconds),
or a rename failing after others succeeded (in one folder, only an I/O error): then some
files are new and some old, each of them whole; temporaries a SIGKILL left behind are
removed by the next ``generate``.
"""

import difflib
import errno
import os
import re
import secrets
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from klgen.derive.seal import HASH_PREFIX, content_hash_matches

_HEADER_LINE = re.compile(rb"^" + re.escape(HASH_PREFIX.encode()), re.MULTILINE)
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM during a write, raised like Ctrl-C so that the same clean-up runs."""


class Refused(Exception):
    """klgen will not write to this path, to keep what is there (a user's own files, a
    folder, a device)."""


PACKAGE = Path(__file__).resolve().parent.parent  # klgen's root: a checkout, or site-packages/klgen


def default_directory() -> Path:
    """klgen's own generated/ folder, located from derive's own files.

    The checkout's generated/ for an editable install, the installed package's for a wheel;
    never whatever a ``generated`` import happens to find from the current folder.
    """
    return PACKAGE / "generated"


def is_checkout() -> bool:
    """True when klgen runs from its source tree (pyproject.toml beside the package), where
    ``generate`` may write its own generated/; an installed wheel must be given ``--out``."""
    return (PACKAGE / "pyproject.toml").is_file()


def render_all() -> dict[str, str]:
    """Every generated file, by name (derive/package.py): imported when called, since this
    module also serves ``klgen check`` where sympy and jinja2 are not installed."""
    from klgen.derive import package

    return package.render_all()


def is_klgen_file(data: bytes) -> bool:
    """True when ``data`` has a ``klgen-hash:`` line, i.e. klgen wrote it."""
    return _HEADER_LINE.search(data) is not None


def generate(directory: Path, render: Callable[[], dict[str, str]] | None = None) -> list[str]:
    """Write every generated file into ``directory``; return the names of those that changed.

    The folder is looked at first (a refusal should not wait for the rendering), and
    everything is rendered before it is touched. Raises :class:`Refused` when the folder
    holds .py files without a klgen header, and OSError naming the path.
    """
    _refuse_foreign(directory)
    texts = (render or render_all)()
    make_folder(directory)
    changed = {
        name: text for name, text in texts.items() if _read(directory / name) != text.encode()
    }
    _remove_leftover_temporaries(directory, texts)
    write_files(directory, changed)
    return list(changed)


def _refuse_foreign(directory: Path) -> None:
    """Raise Refused if ``directory`` has a regular .py file klgen did not write."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
    foreign = sorted(
        p.name for p in directory.glob("*.py") if p.is_file() and not is_klgen_file(p.read_bytes())
    )
    if foreign:
        raise Refused(
            f"{directory}: refusing to write here: {', '.join(foreign)} "
            f"{'has' if len(foreign) == 1 else 'have'} no klgen-hash line (not written by "
            "klgen); choose another --out"
        )


def make_folder(directory: Path) -> None:
    """``mkdir -p``, saying "Not a directory" (not "File exists") when a file is in the way."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), err.filename) from err


def _read(path: Path) -> bytes | None:
    """The bytes of ``path``, or None when it does not exist.

    A folder raises IsADirectoryError; a FIFO or device is refused, never opened (reading
    it could block for ever).
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise Refused(f"{path}: is not a regular file (a FIFO or a device); move it away")
    return path.read_bytes()


def _temporary_name(name: str) -> str:
    return f".{name}.{secrets.token_hex(8)}.tmp"


def _remove_leftover_temporaries(directory: Path, names: Mapping[str, str]) -> None:
    """Remove the temporaries a killed (SIGKILL) ``generate`` left in ``directory``: ours,
    and those of earlier klgen versions (tempfile.mkstemp's eight characters)."""
    pattern = re.compile(r"\.(.+)\.(?:[0-9a-f]{16}|[a-z0-9_]{8})\.tmp")
    for path in directory.glob(".*.tmp"):
        match = pattern.fullmatch(path.name)
        if match and match.group(1) in names:
            path.unlink(missing_ok=True)


def write_files(directory: Path, texts: Mapping[str, str]) -> None:
    """Write each ``name: text`` into ``directory``, all of them or (on error or signal) none.

    OSErrors are raised again naming the file they concern.
    """
    temporaries: list[tuple[Path, Path]] = []
    with _guarded_signals() as guard:
        try:
            for name, text in texts.items():
                tmp = directory / _temporary_name(name)
                temporaries.append((tmp, directory / name))  # before it exists: never leaked
                _write_new(tmp, text, shown=directory / name)
            guard.hold()
            for tmp, path in temporaries:
                _replace(tmp, path)
        except BaseException:
            guard.hold()  # a second Ctrl-C must not stop the clean-up
            for tmp, _ in temporaries:
                tmp.unlink(missing_ok=True)
            raise
    guard.raise_held()


def write_or_print(path: Path | None, text: str) -> None:
    """Write ``text`` to the file ``path`` (as :func:`write_file`), or to stdout if None."""
    if path is None:
        sys.stdout.write(text)
    else:
        write_file(path, text)


def write_file(path: Path, text: str, only_klgens: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; a symlink's target is written, not replaced.

    Missing parent folders are made. An existing path that is not a regular file (a folder,
    a FIFO, a device such as /dev/stdout) is refused rather than replaced, and with
    ``only_klgens`` so is a file klgen did not write (no klgen-hash line).
    """
    path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise Refused(f"{path}: is {kind}; give a file name (or omit --out for stdout)")
    if only_klgens and path.exists() and not is_klgen_file(path.read_bytes()):
        raise Refused(f"{path}: exists and klgen did not write it (no klgen-hash line); move it")
    make_folder(path.parent)
    write_files(path.parent, {path.name: text})


def _write_new(tmp: Path, text: str, shown: Path) -> None:
    """Create ``tmp`` (mode 0o666 & ~umask, as any new file) and write ``text`` durably."""
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
    except OSError as err:
        raise _naming(err, shown) from err


def _replace(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as err:
        raise _naming(err, path) from err


def _naming(err: OSError, path: Path) -> OSError:
    """``err`` with ``path`` as its file name (writes and renames of temporaries name none,
    or the temporary)."""
    return type(err)(err.errno, err.strerror or str(err), str(path))


class _Guard:
    """The SIGINT/SIGTERM handler of :func:`write_files`: raises at once until ``hold()``,
    then keeps the first signal for ``raise_held()``."""

    def __init__(self) -> None:
        self.holding = False
        self.held: int | None = None

    def __call__(self, signum: int, frame) -> None:
        if self.holding:
            self.held = self.held or signum
            return
        self.holding = True
        raise _interruption(signum)

    def hold(self) -> None:
        self.holding = True

    def raise_held(self) -> None:
        if self.held is not None:
            raise _interruption(self.held)


def _interruption(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def _guarded_signals() -> Iterator[_Guard]:
    """A :class:`_Guard` installed for SIGINT and SIGTERM (those not ignored) while the
    block runs, in the main thread only (no other thread receives signals)."""
    guard = _Guard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    for s, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(s, guard)
    try:
        yield guard
    finally:
        for s, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(s, handler)


@dataclass(frozen=True)
class Problem:
    """One file that is not what the templates make, and why."""

    name: str
    reason: str
    diff: str
    foreign: bool = False  # not written by klgen: `generate` will not overwrite it either


def check(directory: Path, render: Callable[[], dict[str, str]] | None = None) -> list[Problem]:
    """Every way ``directory`` differs from what the current derive/ and templates/ make.

    Raises OSError naming the path when the folder or a file in it cannot be read.
    """
    if not stat.S_ISDIR(directory.stat().st_mode):  # stat names a missing folder itself
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
    expected = (render or render_all)()
    problems = []
    for name, text in expected.items():
        data = _read(directory / name)
        problem = (
            Problem(name, "missing", "")
            if data is None
            else _compare(name, data, text, directory.name)
        )
        if problem:
            problems.append(problem)
    for path in sorted(directory.glob("*.py")):
        if path.name not in expected and path.is_file():
            problems.append(_stray(path))
    return problems


def check_seals(directory: Path) -> list[Problem]:
    """The files in ``directory`` that klgen did not write, or that were edited since: each
    .py file's own klgen-hash against its text. Needs no sympy, but cannot tell a stale or
    missing file (that takes :func:`check`, which renders the package)."""
    if not stat.S_ISDIR(directory.stat().st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
    problems = []
    for path in sorted(p for p in directory.glob("*.py") if p.is_file()):
        data = _read(path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            reason = f"not valid UTF-8 (byte {data[err.start]:#04x} at offset {err.start})"
            problems.append(Problem(path.name, reason, "", not is_klgen_file(data)))
            continue
        if not is_klgen_file(data):
            problems.append(_stray(path))
        elif not content_hash_matches(text.replace("\r\n", "\n")):
            problems.append(Problem(path.name, _why_different(text, False), ""))
    return problems


def _compare(name: str, data: bytes, expected: str, folder: str) -> Problem | None:
    """The problem with file ``name`` holding ``data`` where ``expected`` belongs, if any."""
    foreign = not is_klgen_file(data)
    try:
        actual = data.decode("utf-8")
    except UnicodeDecodeError as err:
        reason = f"not valid UTF-8 (byte {data[err.start]:#04x} at offset {err.start})"
        return Problem(name, reason, "", foreign)
    reasons = []
    if "\r\n" in actual:
        reasons.append("CRLF line endings (klgen writes LF; check git's core.autocrlf)")
        actual = actual.replace("\r\n", "\n")
    if actual != expected:
        reasons.append(_why_different(actual, foreign))
    if not reasons:
        return None
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            f"expected/{name}",
            f"{folder}/{name}",
        )
    )
    return Problem(name, "; ".join(reasons), diff, foreign)


def _why_different(actual: str, foreign: bool) -> str:
    if foreign:
        return "has no klgen-hash line (not written by klgen, or its header was removed)"
    if not content_hash_matches(actual):
        return "edited by hand (its content no longer matches its klgen-hash)"
    return "stale (derive/ or templates/ changed since it was generated)"


def _stray(path: Path) -> Problem:
    if is_klgen_file(path.read_bytes()):
        return Problem(path.name, "generated by klgen but no spec makes it now", "")
    reason = "not written by klgen (no klgen-hash line) and not part of the package"
    return Problem(path.name, reason, "", foreign=True)
