"""Derivations in a notebook: ``klgen.derivation("std_normal")`` shows itself, checked.

The object it returns renders in Jupyter (IPython calls ``_repr_html_``, ``_repr_latex_``
and ``_repr_markdown_`` and the front end picks the richest): every step with its
justification, its formula and whether the checker proved it, the same pages
``klgen latex`` writes, cut to what an output cell holds. ``print()`` gives the text form.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from klgen.derive import show
from klgen.derive.derivations import Derivation


@dataclass(frozen=True)
class Shown:
    """One derivation with its steps' check results, ready to display."""

    derivation: Derivation
    steps: tuple[show.StepView, ...]

    @property
    def name(self) -> str:
        return self.derivation.name

    @property
    def passed(self) -> bool:
        """Whether every step was checked and passed (a definition counts as passed)."""
        return all(s.status in ("passed", "definition") for s in self.steps)

    def _render(self, fmt: str, **options) -> str:
        return show.render([(self.derivation, list(self.steps))], fmt, **options)

    def _repr_html_(self) -> str:
        return self._render("html", fragment=True)

    def _repr_latex_(self) -> str:
        return self._render("tex", fragment=True)

    def _repr_markdown_(self) -> str:
        return self._render("md")

    def __str__(self) -> str:
        return self._render("text")

    def __repr__(self) -> str:
        statuses = [s.status for s in self.steps]
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
        return f"<klgen derivation {self.name!r}: {len(self.steps)} steps ({counts})>"


def derivation(
    name: str, check: bool = True, recheck: bool = False, spec: str | Path | None = None
) -> Shown:
    """The derivation ``name`` (``klgen list`` names them; with ``spec``, a kernel of that
    spec file), its steps checked unless ``check`` is False (results cached as for
    ``klgen latex``; ``recheck`` checks again). KeyError naming the valid names for an
    unknown one."""
    known = _known(spec)
    if name not in known:
        valid = ", ".join(known) or "none (no kernel of the spec file has a derivation)"
        raise KeyError(f"unknown derivation {name!r}; valid names: {valid}")
    chosen = known[name]
    return Shown(chosen, tuple(show.step_views(chosen, check, recheck=recheck)))


def _known(spec) -> Mapping[str, Derivation]:
    from klgen.derive.kernel import load_spec
    from klgen.derive.package import Derivations, every_derivation

    if spec is not None:
        return Derivations({}, load_spec(Path(spec)))
    return every_derivation()
