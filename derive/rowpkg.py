"""A kernel of row statistics (derive/rowstats.py) as a module: each statistic one pass over
the row's elements, the row value, then the gradients element by element.

The same intermediate form as every kernel (derive/ir.py) and the same printers: the numba
loops print each pass with ScalarPrinter (one scalar line per assignment, in float64); numpy
and other array libraries share the array-API lines (ArrayApiPrinter), each statistic a
``xp.sum`` or ``xp.max`` over the last axis kept as a column. The layout is
templates/row_module.py.jinja.
"""

from dataclasses import dataclass
from pathlib import Path

from klgen.derive import ir, rowstats
from klgen.derive.derivations.notation import latex_names, to_latex
from klgen.derive.layout import SPEC_FILES, render, wrap_latex
from klgen.derive.printers import HELPERS, ArrayApiPrinter, ScalarPrinter
from klgen.derive.seal import recorded_hash

KINDS = ("value", "grad", "value_and_grad")
# Names the template uses inside the passes: no temporary takes them.
TEMPLATE_NAMES = {"term", "result", "row", "start", "j", "latent", "first", "last", "like"}
TEMPLATE_NAMES |= {"series", "xp", "np", "numba", "value", "out", "shape", "dtype", "arrays"}
TEMPLATE_NAMES |= {"compensated_row_sum_generic", "partial", "compensation", "from_term"}
TEMPLATE_NAMES |= {*HELPERS.values(), *(f"{name}_generic" for name in HELPERS.values())}


@dataclass(frozen=True)
class Pass:
    """One statistic's pass: its symbol, "sum" or "max", whether the sum is compensated
    (in twice the precision), and the lines of its summand (which leave it in ``term``)."""

    symbol: str
    reduce: str
    compensated: bool
    lines: tuple[str, ...]


def _printer(backend, routine, name):
    if backend == "numba":
        return ScalarPrinter(routine, name)
    return ArrayApiPrinter(routine, name, like="like")


def _reserved(plan) -> set[str]:
    names = TEMPLATE_NAMES | {a.name for a in plan.args} | {s.symbol.name for s in plan.statistics}
    names |= {f"{a.name}_flat" for a in plan.args} | {f"d{a.name}" for a in plan.args}
    return names | {f"d{a.name}_element" for a in plan.args}


def _block(plan, name: str, kind: str, backend: str, helpers: set) -> dict:
    """The passes, the value's lines and the gradients' lines of one function of the kernel
    ``name``."""
    reserved = _reserved(plan)
    grads = kind != "value"
    exprs = [*((plan.value,) if kind != "grad" else ()), *(plan.gradients if grads else ())]
    passes = []
    known = list(plan.args)
    for stat in plan.needed(exprs):
        routine = ir.build(known, {"term": stat.summand}, reserved)
        printer = _printer(backend, routine, name)
        lines = tuple(printer.statements())
        passes.append(Pass(stat.symbol.name, stat.reduce, stat.compensated, lines))
        helpers |= printer.helpers
        if stat.compensated and backend != "numba":
            helpers.add("compensated_row_sum_generic")
        known.append(stat.symbol)
    lines = {}
    if kind != "grad":
        routine = ir.build(known, {"result": plan.value}, reserved)
        printer = _printer(backend, routine, name)
        lines["value"] = printer.statements()
        helpers |= printer.helpers
    if grads:
        suffix = "_element" if backend == "numba" else ""
        outputs = {f"d{a.name}{suffix}": g for a, g in zip(plan.args, plan.gradients, strict=True)}
        routine = ir.build(known, outputs, reserved)
        printer = _printer(backend, routine, name)
        lines["grad"] = printer.statements()
        helpers |= printer.helpers
    return {"passes": passes, **lines}


def render_row_module(kernel, backend: str, compiled_against=None, edit=SPEC_FILES) -> str:
    """The module of a kernel of statistics for ``backend`` ("numpy" or "numba")."""
    plan = rowstats.plan(kernel)
    helpers: set[str] = set()
    blocks = {kind: _block(plan, kernel.name, kind, backend, helpers) for kind in KINDS}
    generic_helpers: set[str] = set()
    generic = blocks
    if backend == "numba":
        generic = {
            kind: _block(plan, kernel.name, kind, "numpy", generic_helpers) for kind in KINDS
        }
    else:
        generic_helpers = helpers
    numeric = {h for h in generic_helpers if h.endswith("_generic") and h.startswith("expm1")}
    names = latex_names(kernel.args, "j") | latex_names([s.symbol for s in kernel.statistics])
    return render(
        "row_module.py.jinja",
        f"kernel {kernel.name} of the spec file {Path(kernel.source).name or '(in memory)'}",
        edit,
        kernel=kernel,
        backend=backend,
        blocks=blocks,
        generic=generic,
        numba_helpers=sorted(helpers) if backend == "numba" else [],
        generic_imports=sorted(generic_helpers - numeric),
        numeric_imports=sorted(numeric),
        compiled_against={
            name: recorded_hash(text) for name, text in (compiled_against or {}).items()
        },
        statistics=[(s.symbol.name, s.reduce, _latex(s, names)) for s in kernel.statistics],
        latex_value=wrap_latex(to_latex(kernel.term, names)),
        latex_gradients=[
            wrap_latex(rf"\frac{{\partial \ell}}{{\partial {names[a]}}} = " + to_latex(g, names))
            for a, g in zip(kernel.args, plan.gradients, strict=True)
        ],
        uses_series=bool(numeric),
    )


def _latex(stat, names) -> str:
    """``symbol = sum_j summand`` (or max_j) in LaTeX, wrapped for a docstring."""
    reduce = r"\max_{j}" if stat.reduce == "max" else r"\sum_{j}"
    body = to_latex(stat.summand, names).replace(r"\left(", r"\left( ")  # break points
    return wrap_latex(f"{to_latex(stat.symbol, names)} = {reduce} {body}")
