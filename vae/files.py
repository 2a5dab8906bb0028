"""The trainer's file writing and signal handling: whole files or none, SIGTERM as Ctrl-C.

Every file of a run (checkpoint, log, pictures) is written to a temporary beside it (mode
``0o666 & ~umask``, as any new file, fsynced) and renamed over it, so a crash, a signal or
a full disk leaves the previous file whole. While `stop_on_signals` is active, SIGINT and
SIGTERM raise `Interrupted` (a KeyboardInterrupt that knows its signal), so both stop a
run the same way; `held_signals` defers them over a block that should finish (the
checkpoint and log of a completed epoch), and a second signal there aborts it at once.

This is deliberately not derive/files.py: that module imports the code generator (SymPy),
which the trainer must not need.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM (`signum`) stopped the run; `message` says what was kept."""

    def __init__(self, signum: int = signal.SIGINT, message: str = "") -> None:
        super().__init__(message)
        self.signum, self.message = signum, message

    @property
    def word(self) -> str:
        return word(self.signum)


def word(signum: int) -> str:
    """How a message says that `signum` stopped the run."""
    return "terminated" if signum == signal.SIGTERM else "interrupted"


def _temporary(path: Path) -> Path:
    return path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"


def write_atomic(path: Path, write: Callable) -> None:
    """Call write(binary file) on a new temporary beside `path`, then rename it over `path`.

    On any error or signal the temporary is removed and `path` keeps its old content.
    OSErrors are raised again naming `path`, not the temporary. A symlink's target is
    written (the link stays).
    """
    path = Path(os.path.realpath(path))
    tmp = _temporary(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise type(err)(err.errno, err.strerror or str(err), str(path)) from None
        raise


def remove_leftovers(folder: Path, names) -> None:
    """Remove the temporaries of `names` a killed run (SIGKILL, power cut) left in `folder`:
    ours and tempfile.mkstemp's (earlier versions)."""
    pattern = re.compile(r"\.(.+)\.(?:[0-9a-f]{16}|[a-z0-9_]{8})\.tmp")
    for path in folder.glob(".*.tmp"):
        match = pattern.fullmatch(path.name)
        if match and match.group(1) in names:
            path.unlink(missing_ok=True)


def prepare_folder(folder: Path) -> None:
    """Make `folder` (``mkdir -p``) and prove that a file can be created in it.

    Raises OSError naming `folder` when it is a file, lies below a file, or is not
    writable (read-only file system, permissions), before any work is done.
    """
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is not a folder", str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = _temporary(folder / "write-test")
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        probe.unlink()
    except FileExistsError:  # a parent is a file
        raise NotADirectoryError(errno.ENOTDIR, "a parent is not a folder", str(folder)) from None
    except OSError as err:
        raise type(err)(err.errno, err.strerror or str(err), str(folder)) from None


def _raise(signum: int, frame) -> None:
    raise Interrupted(signum)


@contextmanager
def _handlers(handler) -> Iterator[None]:
    """`handler` for SIGINT and SIGTERM while the block runs (main thread only: no other
    thread receives signals); signals set to be ignored stay ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s, old in previous.items():
        if old is not signal.SIG_IGN:
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            if old is not signal.SIG_IGN:
                signal.signal(s, old)


def stop_on_signals():
    """SIGINT and SIGTERM raise `Interrupted` while the block runs."""
    return _handlers(_raise)


@contextmanager
def held_signals() -> Iterator[None]:
    """Defer SIGINT and SIGTERM until the block is done, then raise `Interrupted`.

    A second signal while one is held raises at once (a stuck write can still be stopped).
    """
    held: list[int] = []

    def hold(signum: int, frame) -> None:
        held.append(signum)
        if len(held) > 1:
            raise Interrupted(held[0])

    with _handlers(hold):
        yield
    if held:
        raise Interrupted(held[0])
