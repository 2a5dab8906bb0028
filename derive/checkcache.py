"""The check results of derivations, kept between runs of ``klgen latex``.

Checking a derivation takes SymPy seconds (mvn_cholesky about 10 s), yet its result only
changes when the derivation does. Each derivation's results are stored under a key made of
its content (every step's expression, its anchor and extra checks) and of the code that
checks it (every source file of klgen.derive, and the SymPy and mpmath versions), so
editing a step, a case or the checker makes the next run check again. They are kept in
``checks`` of klgen's cache folder (derive/diskcache.py); a folder that cannot be read or
written only means checking every time.
"""

import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import sympy as sp

from klgen.derive import diskcache
from klgen.derive.derivations import Derivation, StepResult, results

FORMAT = 1  # of the stored files: bump when their layout changes


def directory() -> Path:
    """Where the results are kept: $XDG_CACHE_HOME/klgen/checks, else ~/.cache/klgen/checks."""
    return diskcache.directory("checks")


def key(derivation: Derivation) -> str:
    """A digest of what a derivation's check results depend on (see the module docstring)."""
    digest = hashlib.sha256(_code_digest())
    parts = [str(FORMAT), derivation.name, derivation.anchor]
    parts += [_stable_srepr(st.expr) for st in derivation.steps]
    parts += [f"{extra.step}: {extra.why}" for extra in derivation.extras]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _stable_srepr(expr) -> str:
    """srepr with SymPy's Dummy symbols numbered by first appearance: their own numbers
    count every Dummy the process made before, so they differ between runs."""
    numbers: dict[str, str] = {}
    return re.sub(
        r"dummy_index=(\d+)",
        lambda m: "dummy_index=" + numbers.setdefault(m.group(1), str(len(numbers))),
        sp.srepr(expr),
    )


@cache
def _code_digest() -> bytes:
    """The checker's code: klgen.derive's sources (derivations, cases, checker, rewrites)."""
    return diskcache.source_digest(("derive",), ("sympy", "mpmath"))


def checked(
    derivation: Derivation,
    recheck: bool = False,
    progress: Callable[[Derivation, int], None] | None = None,
) -> list[StepResult]:
    """The check result of every step: from the cache when it holds this very derivation
    (unless ``recheck``), else checked now and stored. ``progress(derivation, index)`` is
    called before each step is checked."""
    path = directory() / f"{derivation.name}-{key(derivation)}.json"
    if not recheck:
        stored = _load(path, derivation)
        if stored is not None:
            return stored
    fresh = list(_reporting(derivation, progress))
    _store(path, fresh)
    return fresh


def _reporting(derivation, progress) -> Iterator[StepResult]:
    outcomes = results(derivation)
    for index in range(len(derivation.steps)):
        if progress is not None:
            progress(derivation, index)
        yield next(outcomes)


def _load(path: Path, derivation: Derivation) -> list[StepResult] | None:
    """The stored results, or None when there are none (or they cannot be read or used)."""
    try:
        stored = json.loads(diskcache.read(path) or "")
        outcomes = [
            StepResult(index, st, bool(entry["checked"]), tuple(map(str, entry["failures"])), 0.0)
            for index, (st, entry) in enumerate(zip(derivation.steps, stored, strict=True))
        ]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return outcomes


def _store(path: Path, outcomes: list[StepResult]) -> None:
    """Write the results (atomically; an unwritable cache is not an error, only slower)."""
    entries = [{"checked": o.checked, "failures": list(o.failures)} for o in outcomes]
    diskcache.store(path, json.dumps(entries))


class Progress:
    """One line on a terminal saying which step is being checked, rewritten in place and
    cleared at the end; nothing when the stream is not a terminal (a log, a pipe)."""

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = 0

    def __call__(self, derivation: Derivation, index: int) -> None:
        if not self.live:
            return
        line = f"klgen latex: checking {derivation.name}, step {index + 1} of "
        line += f"{len(derivation.steps)}..."
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def done(self) -> None:
        """Clear the line, so the output that follows starts on a clean one."""
        if self.live and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0
