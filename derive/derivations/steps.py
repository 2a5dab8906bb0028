"""Derivations as data, and the checker that proves each step follows from the one before.

A derivation is an ordered list of steps, each an expression for the same quantity (or,
where ``lhs`` says so, for its differential or gradient). The checker realizes every step
in a few concrete *cases* (the symbolic dimension k replaced by 1, 2, 3 with symbolic
entries, and larger k at random rational points) and demands that each step's realization
equal the previous one's: exactly (SymPy simplifies the difference to 0) for symbolic
cases, to 1e-20 relative at 30 digits for numeric ones. Step 0 is compared with the
derivation's *anchor* where it has one (the expression it starts from, e.g. the previous
derivation's result with a substitution), and extra checks (e.g. a direct 1-D integration)
can be attached to any step.
"""

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from klgen.derive.derivations.notation import to_latex
from klgen.derive.logs import in_positive_logs

# A realization: the step as a tuple of concrete scalars; None entries are not compared.
Realized = tuple


@dataclass(frozen=True)
class Step:
    """One line of a derivation: the expression and why it follows; its LaTeX is printed from
    the expression (when first asked for), so what is shown is what is checked."""

    expr: object
    why: str
    lhs: str | None = None  # LaTeX of the left-hand side from this step on, if it changes
    lhs_text: str | None = None  # the same in plain text, for the terminal
    names: tuple = ()  # (symbol, LaTeX) pairs the LaTeX is printed with (a spec's arguments)

    @cached_property
    def latex(self) -> str:
        return to_latex(self.expr, dict(self.names))

    @property
    def tex(self) -> str:
        """The LaTeX for a line-breaking display (breqn's dmath in ``klgen latex --format
        tex``): the same notation as ``latex``, with break points inside products."""
        return to_latex(self.expr, dict(self.names), breakable=True)


def step(expr, why: str, lhs: tuple[str, str] | None = None, names: dict | None = None) -> Step:
    """A Step of ``expr``: ``lhs`` is (LaTeX, plain text) of a new left-hand side (a
    differential, a gradient); ``names`` the LaTeX of chosen symbols (a spec kernel's
    arguments)."""
    latex_lhs, text_lhs = lhs or (None, None)
    return Step(expr, why, latex_lhs, text_lhs, tuple((names or {}).items()))


@dataclass(frozen=True)
class Case:
    """A concrete setting in which every step is realized and compared with the one before."""

    label: str
    exact: bool
    realize: Callable[[object], Realized]
    anchor: Callable[[], Realized] | None = None  # what step 0 must equal here


@dataclass(frozen=True)
class Extra:
    """An additional check of one step (``step`` < 0 counts from the end);
    ``run(derivation)`` is True when the step passes it."""

    step: int
    why: str
    run: Callable[["Derivation"], bool]


@dataclass(frozen=True)
class Derivation:
    """A named, ordered list of steps plus the cases (built lazily) that check them."""

    name: str
    title: str
    intro: str
    lhs: str  # LaTeX of what the steps are equal to
    lhs_text: str  # the same in plain text
    steps: Sequence[Step]
    cases: Callable[[], Sequence[Case]]
    anchor: str = ""  # what step 0 is checked against, in words ("" for a definition)
    extras: Sequence[Extra] = field(default_factory=tuple)
    # LaTeX of each component where the steps are tuples too long for one matrix: the tex
    # document then shows each component in a display of its own ("" for one matrix).
    parts: Sequence[str] = ()

    @property
    def final(self):
        """The last step's expression: the result other code builds on."""
        return self.steps[-1].expr


@dataclass(frozen=True)
class StepResult:
    """The outcome of checking one step: the cases and extras it failed, and how long it took."""

    index: int
    step: Step
    checked: bool
    failures: tuple[str, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return self.checked and not self.failures


class DerivationError(AssertionError):
    """A step of a derivation does not follow from the one before it."""

    def __init__(self, derivation: str, result: StepResult):
        self.derivation = derivation
        self.result = result
        super().__init__(
            f"derivation {derivation!r}, step {result.index} ({result.step.why}): "
            f"check failed for {'; '.join(result.failures)}"
        )


def results(derivation: Derivation):
    """Check every step in order, yielding a StepResult per step (does not stop on failure)."""
    cases = derivation.cases()
    previous = {case.label: case.anchor() if case.anchor else None for case in cases}
    for index, st in enumerate(derivation.steps):
        start = time.perf_counter()
        failures, checked = [], False
        for case in cases:
            current = case.realize(st.expr)
            before = previous[case.label]
            if before is not None:
                checked = True
                if not _same(before, current, case.exact):
                    failures.append(case.label)
            previous[case.label] = current
        for extra in derivation.extras:
            if extra.step in (index, index - len(derivation.steps)):
                checked = True
                if not extra.run(derivation):
                    failures.append(extra.why)
        yield StepResult(index, st, checked, tuple(failures), time.perf_counter() - start)


def check(derivation: Derivation) -> float:
    """Check all steps, raising DerivationError at the first that fails; returns the seconds."""
    start = time.perf_counter()
    for result in results(derivation):
        if result.failures:
            raise DerivationError(derivation.name, result)
    return time.perf_counter() - start


def _same(a: Realized, b: Realized, exact: bool) -> bool:
    """Whether two realizations agree entry by entry (skipping entries either leaves None)."""
    if len(a) != len(b):
        return False
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return all(_is_zero(x - y) if exact else _close(x, y) for x, y in pairs)


def _is_zero(difference) -> bool:
    """Whether SymPy proves an expression zero, trying cheap rewrites before simplify."""
    given = difference
    for rewrite in (sp.expand, sp.cancel, _log_simplify):
        difference = rewrite(difference)
        if difference == 0:
            return True
    return any(rewrite(given) == 0 for rewrite in (_in_logs, _exponentiated, in_positive_logs))


def _in_logs(expr):
    """Inverse hyperbolic functions as the logarithms they are (atanh(z) = log((1 + z) /
    (1 - z)) / 2), then the logarithms split."""
    if not expr.has(sp.atanh, sp.asinh, sp.acosh):
        return expr
    return _log_simplify(expr.rewrite(sp.log))


def _exponentiated(expr):
    """A difference of logarithms as 0 when e^difference simplifies to 1: splitting log(-u/v)
    leaves log(-1) beside log(u) - log(-v), which simplify does not pair, where the ratio of
    the arguments cancels (a difference of real quantities whose exponential is 1 is 0)."""
    if not expr.has(sp.log) or sp.simplify(sp.exp(expr)) != 1:
        return expr
    return sp.Integer(0)


def _log_simplify(expr):
    """simplify after splitting logarithms of products (all quantities here are positive)."""
    return sp.simplify(sp.expand(sp.expand_log(expr, force=True)))


def _close(x, y, digits: int = 30) -> bool:
    """Whether two closed-form numbers agree to 1e-20 relative, evaluated at ``digits``."""
    xv, yv = sp.N(x, digits), sp.N(y, digits)
    if xv.free_symbols or yv.free_symbols:
        raise ValueError(f"numeric case left free symbols: {xv.free_symbols | yv.free_symbols}")
    return abs(xv - yv) <= sp.Float("1e-20") * max(1, abs(xv), abs(yv))


def rng(name: str) -> random.Random:
    """A reproducible random source per derivation and case, so a failure can be replayed."""
    return random.Random(name)


def rational(source: random.Random, positive: bool = False) -> sp.Rational:
    """A random small rational, strictly positive when asked (scales, Cholesky diagonals)."""
    low = 1 if positive else -30
    return sp.Rational(source.randint(low, 30), source.randint(1, 10)) or sp.Rational(1, 7)
