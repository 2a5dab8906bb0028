"""The steps of the shipped kernels' derivations, kept between runs.

A spec kernel's derivation runs its rewrites and their proofs (kl_laplace), or its reverse
mode over the row statistics (kl_categorical), before the first step can be shown: one to
four SymPy seconds that ``klgen latex NAME`` would spend again at every new terminal width.
The steps only change when the code that makes them does (derive/, specs/, templates/ and
the libraries: diskcache.code_digest), so they are kept, pickled, under that digest and the
kernel's name. A file that cannot be read or unpickled is a miss. Only klgen's own kernels
are kept: what a user's spec file imports is not known before it runs.
"""

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from klgen.derive import diskcache

FORMAT = 1  # of the kept steps: bump when what they hold changes
Made = TypeVar("Made")


def made(name: str, make: Callable[[], Made], keep: bool) -> Made:
    """``make()``, or what an earlier run kept of it for ``name`` when ``keep``."""
    if not keep:
        return make()
    path = _path(name)
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # no file, or a damaged or outdated one: a miss
        pass
    result = make()
    diskcache.store(path, pickle.dumps(result))
    return result


def _path(name: str) -> Path:
    return diskcache.keyed_path("steps", name, "pickle", (FORMAT, name))
