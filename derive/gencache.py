"""The files ``klgen generate`` made for klgen's own package, kept between runs.

Rendering generated/ takes SymPy and ruff seconds (gradients, rewrites and their proofs,
LaTeX docstrings, formatting), yet the files only change when the code that makes them does.
They are kept under the key of ``klgen latex``'s pages (diskcache.code_digest: every .py and
.jinja file of derive/, specs/ and templates/, klgen's and Python's versions and those of
the libraries that derive, lay out and format), so a ``generate`` with that code unchanged
compares the kept files with the folder and writes those that differ without importing
SymPy. A kept file is used only when its own SHA-256 line matches its text; one that cannot
be read or used is a miss, and a folder that cannot be written only means rendering every
time (derive/diskcache.py). The newest ``KEPT`` states are kept (two checkouts at different
commits share the folder), older ones are removed.

Only ``generate`` reads them. ``klgen check`` always renders, so it judges generated/ (and,
through it, these files) against what the code makes now. A spec file's package is never
kept: what a spec file imports is not known before it runs (as for pagecache).
"""

import hashlib
import json
from pathlib import Path

from klgen.derive import diskcache, files

FORMAT = 1  # of the kept files: bump when their layout or what the key covers changes
KEPT = 8  # code states kept at once


def render_all(rerender: bool = False) -> dict[str, str]:
    """Every file of klgen's own package, by name: those kept for this very code, else (or
    with ``rerender``) rendered by :func:`files.render_all` and kept."""
    path = _path()
    kept = None if rerender else _load(path)
    if kept is not None:
        return kept
    made = files.render_all()
    _keep(path, made)
    return made


def _path() -> Path:
    return diskcache.keyed_path("generated", "", "json", FORMAT)


def _load(path: Path) -> dict[str, str] | None:
    """The kept files, or None when there are none or they are not whole."""
    text = diskcache.read(path)
    if text is None:
        return None
    seal, _, body = text.partition("\n")
    if hashlib.sha256(body.encode()).hexdigest() != seal:
        return None
    try:
        made = json.loads(body)
    except ValueError:
        return None
    if not isinstance(made, dict) or not all(_is_file(k, v) for k, v in made.items()):
        return None
    return made


def _is_file(name, text) -> bool:
    """A module name of the folder itself (no path, not hidden) and its text."""
    plain = isinstance(name, str) and Path(name).name == name and not name.startswith(".")
    return plain and name.endswith(".py") and isinstance(text, str)


def _keep(path: Path, made: dict[str, str]) -> None:
    """Store ``made`` (sealed with its SHA-256) and remove all but the newest KEPT states."""
    body = json.dumps(made)
    diskcache.store(path, hashlib.sha256(body.encode()).hexdigest() + "\n" + body)
    diskcache.prune(path.parent, "*.json", KEPT)
