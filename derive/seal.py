"""The content-hash seal every generated file carries, and that ``klgen check`` reads.

Standard library only: ``klgen check`` verifies seals where sympy and jinja2 are not
installed (a wheel without the ``derive`` extra).
"""

import hashlib

HASH_PREFIX = "klgen-hash: "
HASH_PLACEHOLDER = HASH_PREFIX + "{hash}"


def seal(text: str) -> str:
    """Fill in the hash of the file's own text (with the placeholder), to tell hand edits."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return text.replace(HASH_PLACEHOLDER, HASH_PREFIX + digest)


def _seal_line(text: str) -> str | None:
    return next((line for line in text.splitlines() if line.startswith(HASH_PREFIX)), None)


def recorded_hash(text: str) -> str | None:
    """The hash ``text`` was sealed with, or None if it has no seal."""
    line = _seal_line(text)
    return None if line is None else line[len(HASH_PREFIX) :].strip()


def content_hash_matches(text: str) -> bool:
    """True when ``text`` still has the hash klgen gave it, i.e. nobody edited it since."""
    line = _seal_line(text)
    if line is None:
        return False
    unsealed = text.replace(line, HASH_PLACEHOLDER, 1)
    return hashlib.sha256(unsealed.encode()).hexdigest()[:16] == recorded_hash(text)
