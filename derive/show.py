"""``klgen latex``: show derivations step by step, with each step's justification and check.

Renders one derivation (NAME) or all of them (--all) as terminal text, a complete LaTeX
document, GitHub markdown ($$ blocks) or one self-contained HTML page (MathML from
latex2mathml; no scripts, fonts or styles from the network). Unless --no-check is given,
every step is checked first and the page says whether it passed (results are cached per
derivation content: derive/checkcache.py; --recheck checks again), with a progress line on
a terminal; the exit code is 1 when a check failed, 2 for a usage error.
"""

import argparse
import shutil
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import jinja2
import sympy as sp
from latex2mathml.converter import convert
from markupsafe import Markup

from klgen import templates
from klgen.derive import checkcache
from klgen.derive.checkcache import Progress
from klgen.derive.derivations import ALL, Derivation, Step, StepResult
from klgen.derive.derivations.notation import to_latex, to_text
from klgen.derive.files import write_or_print

TEMPLATES = templates.DIRECTORY
LONG = 400  # characters of LaTeX beyond which a step's repeated parts get names
WIDE = 180  # ... and beyond which its longest parts get names too
INDENT = 4  # columns the text format indents an expression by


@dataclass(frozen=True)
class StepView:
    """What a template needs to show one step. Its forms are made when a template first asks
    for one: a text page never prints LaTeX, nor a LaTeX page text (each takes a second or
    more for the longer derivations)."""

    index: int
    lhs: str | None  # LaTeX of the left-hand side when it is (re)stated at this step
    lhs_text: str | None
    why: str
    status: str  # "passed", "failed", "definition" or "not checked"
    failures: tuple[str, ...]
    step: Step
    derivation: Derivation
    width: int  # columns the text form may take

    @cached_property
    def latex(self) -> str:
        return self.step.latex

    @cached_property
    def tex(self) -> str:
        """The LaTeX for the tex document's line-breaking displays."""
        return self.step.tex

    @cached_property
    def tex_parts(self) -> tuple[tuple[str, str], ...]:
        """(LaTeX lhs, tex) per component, where a step is split (see _tex_parts)."""
        return _tex_parts(self.derivation, self.step)

    @cached_property
    def text(self) -> str:
        return to_text(self.step.expr, max(self.width - INDENT, 1))


def run(args: argparse.Namespace, derivations: dict[str, Derivation] | None = None) -> int:
    """Render the chosen derivations (klgen's own, or ``derivations``, e.g. a spec file's) to
    stdout or --out; 0 if every check passed, 1 if one failed, 2 on misuse."""
    document, status = page(args, derivations)
    if document is not None:
        write_or_print(args.out, document)
    return status


def page(
    args: argparse.Namespace, derivations: Mapping[str, Derivation] | None = None
) -> tuple[str | None, int]:
    """The document of the chosen derivations and the status :func:`run` returns (no
    document on misuse, after saying why on stderr)."""
    known = ALL if derivations is None else derivations
    if args.all == bool(args.name):
        print("klgen latex: give one NAME or --all", file=sys.stderr)
        return None, 2
    if args.name and args.name not in known:
        names = ", ".join(known) or "none (no kernel of the spec file has a derivation)"
        print(
            f"klgen latex: unknown derivation {args.name!r}; valid names: {names}", file=sys.stderr
        )
        return None, 2
    chosen = list(known.values()) if args.all else [known[args.name]]
    width = args.width or shutil.get_terminal_size().columns
    progress = Progress()
    try:
        views = [
            (d, step_views(d, not args.no_check, width, args.recheck, progress)) for d in chosen
        ]
    finally:
        progress.done()
    failed = any(v.status == "failed" for _, steps in views for v in steps)
    return render(views, args.format, width), 1 if failed else 0


def step_views(
    derivation: Derivation,
    check: bool = True,
    width: int = 80,
    recheck: bool = False,
    progress: Progress | None = None,
) -> list[StepView]:
    """The steps of a derivation ready for a template: checked unless ``check`` is False (the
    results cached from an earlier run of the same derivation unless ``recheck``, see
    derive/checkcache.py), the text form of each expression at most ``width`` - 4 columns
    wide (it is indented by 4)."""
    if check:
        outcomes = checkcache.checked(derivation, recheck, progress)
    else:
        outcomes = [None] * len(derivation.steps)
    views = []
    for index, (st, outcome) in enumerate(zip(derivation.steps, outcomes, strict=True)):
        first = index == 0
        views.append(
            StepView(
                index,
                derivation.lhs if first else st.lhs,
                derivation.lhs_text if first else st.lhs_text,
                st.why,
                _status(outcome),
                outcome.failures if outcome else (),
                st,
                derivation,
                width,
            )
        )
    return views


def _tex_parts(derivation: Derivation, st: Step) -> tuple[tuple[str, str], ...]:
    """Each component of a tuple step with the LaTeX of its left-hand side, where the
    derivation names them (Derivation.parts); a long or piecewise step (or component) with
    its repeated subexpressions named (w_0, w_1, ... by sympy.cse, each defined on a line of
    its own) and each arm of a piecewise one with its condition (a cases environment cannot
    break across lines, nor can a function's arguments); () to show the step whole."""
    names = dict(st.names)
    if isinstance(st.expr, sp.Tuple) and derivation.parts:
        if len(st.expr) != len(derivation.parts):
            raise ValueError(
                f"{derivation.name}: a step has {len(st.expr)} components, but "
                f"Derivation.parts names {len(derivation.parts)}"
            )
        lhss, exprs = list(derivation.parts), list(st.expr)
    elif isinstance(st.expr, sp.Expr):
        lhss, exprs = [derivation.lhs if st.lhs is None else st.lhs], [st.expr]
    else:
        return ()
    texts = [to_latex(e, names, breakable=True) for e in exprs]
    if any(isinstance(e, sp.Piecewise) or len(t) > LONG for e, t in zip(exprs, texts, strict=True)):
        return _named_parts(lhss, exprs, names)
    return tuple(zip(lhss, texts, strict=True)) if len(exprs) > 1 else ()


def _named_parts(lhss, exprs, names) -> tuple[tuple[str, str], ...]:
    """The expressions with their common subexpressions named (one set of names for all),
    arm by arm where piecewise, then the names' definitions."""
    symbols = sp.numbered_symbols("w_")
    definitions, reduced = sp.cse(exprs, symbols=symbols, order="none")

    def tex(expr):
        return to_latex(expr, names, breakable=True)

    shown = []
    for lhs, expr in zip(lhss, reduced, strict=True):
        arms = expr.args if isinstance(expr, sp.Piecewise) else ((expr, sp.true),)
        for arm, condition in arms:
            when = "" if len(arms) == 1 else r",\quad \text{otherwise}"
            if condition != sp.true:
                when = r",\quad \text{where } " + to_latex(condition, names)
            shown.append((lhs, tex(_shortened(arm, symbols, definitions, tex)) + when))
    named = []
    while definitions:  # a definition may be shortened in turn, adding definitions
        w, value = definitions.pop(0)
        named.append((to_latex(w), tex(_shortened(value, symbols, definitions, tex))))
    return (*shown, *named)


def _shortened(expr, symbols, definitions, tex):
    """``expr`` with its longest parts named (appended to ``definitions``) until its LaTeX
    is at most WIDE characters: a function's arguments or a fraction cannot break across
    lines, however the display is broken."""
    while len(tex(expr)) > WIDE:
        sizes = {
            e: len(tex(e))
            for e in sp.preorder_traversal(expr)
            if e is not expr and isinstance(e, sp.Expr) and not e.is_Atom
        }
        longest = max(sizes, key=sizes.get, default=None)
        if longest is None or sizes[longest] <= 40:
            return expr
        w = next(symbols)
        definitions.append((w, longest))
        expr = expr.xreplace({longest: w})
    return expr


def _status(outcome: StepResult | None) -> str:
    if outcome is None:
        return "not checked"
    if not outcome.checked:
        return "definition"
    return "failed" if outcome.failures else "passed"


def render(
    views: list[tuple[Derivation, list[StepView]]],
    fmt: str,
    width: int = 80,
    fragment: bool = False,
) -> str:
    """One document in format ``fmt`` for the given derivations and their step views (the
    text format's prose wrapped at ``width`` columns); with ``fragment``, what a notebook's
    output shows instead of a whole document (html: the sections alone, their styles scoped;
    tex: the prose as plain text and each step in $$ for MathJax)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=lambda name: bool(name) and name.endswith(".html.jinja"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["mathml"] = _mathml
    env.filters["tex_text"] = tex_text
    env.filters["fill"] = _fill
    template = env.get_template(f"derivation.{fmt}.jinja")
    return template.render(derivations=views, width=width, indent=" " * INDENT, fragment=fragment)


def _fill(text: str, width: int, first: str = "", rest: str = "", tail: str = "") -> str:
    """``text`` wrapped at ``width`` columns, the first line opening with ``first`` and the
    others with ``rest`` (a word longer than a line is broken), then ``tail`` (a status)
    after three spaces if it fits on the last line, else on a line of its own."""
    lines = textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest) or [first]
    if tail:
        if len(lines[-1]) + 3 + len(tail) <= width:
            lines[-1] += "   " + tail
        else:
            lines.append(rest + tail)
    return "\n".join(lines)


def _mathml(latex: str):
    """Display-mode MathML for a LaTeX formula, marked safe for the HTML template."""
    return Markup(convert(latex, display="block"))


# LaTeX's special characters in running text, and what typesets each as itself.
_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def tex_text(text: str) -> str:
    """Plain prose (a justification, an intro) as LaTeX text that typesets it verbatim and
    wraps at spaces like any paragraph (unlike \\verb, which neither wraps nor nests)."""
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in text)
