"""Files klgen keeps between runs: where they live and how they are read and written.

The folder is ``$XDG_CACHE_HOME/klgen`` (else ``~/.cache/klgen``). A cache is only a way to
be faster: a file that cannot be read is a miss, one that cannot be written is skipped, and
every write is atomic (a temporary file renamed), so two runs at once never see half a file.
"""

import hashlib
import os
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import klgen


def directory(kind: str) -> Path:
    """The folder of one kind of kept file (``checks``, ``pages``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "klgen" / kind


def keyed_path(kind: str, label: str, suffix: str, options: object) -> Path:
    """The file a cache of ``kind`` keeps for ``options`` under the code that makes it
    (:func:`code_digest`): ``label-<key>.suffix``, or ``<key>.suffix`` without a label."""
    digest = hashlib.sha256(code_digest())
    digest.update(repr(options).encode())
    key = digest.hexdigest()[:32]
    return directory(kind) / (f"{label}-{key}.{suffix}" if label else f"{key}.{suffix}")


def read(path: Path) -> str | None:
    """The file's text, or None when there is none (or it cannot be read)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def store(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text, or bytes) to ``path`` atomically; a folder that cannot be
    written is not an error, only slower next time."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            temporary.write_bytes(data)
        else:
            temporary.write_text(data, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass


# The folders of klgen whose code makes its own output (kernels and pages), and the libraries
# whose versions can change that output: SymPy and mpmath derive and check, Jinja2 and
# MarkupSafe lay out, latex2mathml typesets, ruff formats the code, numpy evaluates.
SOURCES = ("derive", "specs", "templates")
LIBRARIES = ("sympy", "mpmath", "jinja2", "markupsafe", "latex2mathml", "ruff", "numpy")


@cache
def code_digest() -> bytes:
    """The digest of everything that makes klgen's own output (SOURCES, LIBRARIES, klgen's
    and Python's versions): the key of the pages of ``klgen latex`` and of the files of
    ``klgen generate``, made once a process."""
    return source_digest(SOURCES, LIBRARIES)


def source_digest(folders: tuple[str, ...], libraries: tuple[str, ...]) -> bytes:
    """A digest of the code that makes a kept file: every .py and .jinja file under klgen's
    ``folders`` (paths relative to the package), the installed versions of ``libraries`` (a
    library that is not installed counts as version "none"), klgen's and Python's versions.
    A file that cannot be read (an editor's dangling lock link) counts by its name alone."""
    digest = hashlib.sha256(f"{klgen.__version__}\0{sys.version}".encode())
    for library in libraries:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "none"
        digest.update(f"\0{library} {version}".encode())
    root = Path(klgen.__file__).parent
    for folder in folders:
        paths = [p for p in (root / folder).rglob("*") if p.suffix in (".py", ".jinja")]
        for path in sorted(paths):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(_file_digest(path))
    return digest.digest()


def _file_digest(path: Path) -> bytes:
    """The SHA-256 of the file's bytes (a fixed length, so no two folders' files run into
    each other in the digest), or 32 zero bytes when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return bytes(32)


def prune(folder: Path, pattern: str, kept: int) -> None:
    """Remove all but the ``kept`` newest files of ``folder`` matching ``pattern`` (a file
    that vanishes meanwhile, or cannot be removed, is left to a later run)."""
    dated = []
    for path in folder.glob(pattern):
        try:
            dated.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    for _, path in sorted(dated, reverse=True)[kept:]:
        try:
            path.unlink()
        except OSError:
            pass
