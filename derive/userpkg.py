"""A user's kernels (a spec file, derive/kernel.py) through the pipeline into a package.

spec -> gradients (``sympy.diff``) -> numerics rewrites (derive/rewrites.py, each proved) ->
common subexpressions and three-address form (derive/ir.py) -> one printer per backend
(derive/printers.py) -> the module template (templates/user_module.py.jinja) -> the seal.
The package carries klgen's runtime (argument checks, broadcasting, row blocks, threads), so
it imports with numpy alone; ``--tests`` adds a pytest module for the user's own CI.
"""

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from klgen.derive import frameworks, ir, rewrites
from klgen.derive.codegen import runtime_files
from klgen.derive.derivations.notation import latex_names, to_latex
from klgen.derive.functions import as_primitive
from klgen.derive.kernel import RESERVED, Kernel
from klgen.derive.layout import SPEC_FILES, copy_static, render, wrap_latex
from klgen.derive.printers import HELPERS, ArrayApiPrinter, ScalarPrinter, UfuncPrinter
from klgen.derive.rowpkg import render_row_module
from klgen.derive.seal import recorded_hash

BACKENDS = ("numpy", "numba")
KINDS = ("value", "grad", "value_and_grad")
# Names the module template and its helpers use inside the blocks: no temporary takes them.
TEMPLATE_NAMES = RESERVED | {"terms", "terms_row", "row", "start", "j", "latent", "first", "last"}
TEMPLATE_NAMES |= {"series", "result", "total", "weight", "row_sum", "row_logsumexp"}
TEMPLATE_NAMES |= {"logsumexp_rows", "softmax_rows", *HELPERS.values()}
TEMPLATE_NAMES |= {"like", "values", "weights", "grads", "logsumexp_rows_generic"}
TEMPLATE_NAMES |= {f"{name}_generic" for name in HELPERS.values()}


@dataclass(frozen=True)
class Prepared:
    """A kernel's expressions after the rewrites, in real symbols named as its arguments."""

    kernel: Kernel
    args: tuple[sp.Symbol, ...]
    term: sp.Expr
    gradients: tuple[sp.Expr, ...]
    rewrites: tuple[str, ...]

    @cached_property
    def latex_gradients(self) -> tuple[str, ...]:
        """d(row result)/d(argument element j), as LaTeX, in plain functions; made once for
        the kernel's numpy and numba modules alike (sp.simplify takes a third of a render)."""
        names = latex_names(self.args, "j")
        return tuple(
            wrap_latex(
                rf"\frac{{\partial}}{{\partial {names[a]}}} = "
                + to_latex(sp.simplify(rewrites.exact(g)), names)
            )
            for a, g in zip(self.args, self.gradients, strict=True)
        )


def prepare(kernel: Kernel) -> Prepared:
    """Rewrite the term, differentiate it, rewrite the gradients (the real-symbol form makes
    d|x|/dx = sign(x) and dMax = Heaviside)."""
    real = {a: sp.Symbol(a.name, real=True) for a in kernel.args}
    term, applied = rewrites.apply(kernel.term.xreplace(real))
    args = tuple(real.values())
    gradients = []
    for arg in args:
        gradient, more = rewrites.apply(rewrites.without_deltas(sp.diff(term, arg)))
        gradient, paired = rewrites.apply(gradient, rewrites.EXPM1_MINUS_X)
        gradient, scaled = rewrites.apply(gradient, rewrites.LAST_REWRITES)
        gradients.append(gradient)
        applied += more + paired + scaled
    term, paired = rewrites.apply(term, rewrites.EXPM1_MINUS_X)
    term, scaled = rewrites.apply(term, rewrites.LAST_REWRITES)
    names = tuple(dict.fromkeys(applied + paired + scaled))
    return Prepared(kernel, args, term, tuple(gradients), names)


def _outputs(p: Prepared, kind: str, backend: str) -> dict[str, sp.Expr]:
    """Output name -> expression for one block: the per-element terms (always, since the
    reduction and a log-sum-exp's weights read them) and the gradients."""
    suffix = "_element" if backend == "numba" else ""
    outputs = {} if kind == "grad" and p.kernel.reduce == "sum" else {"terms": p.term}
    if kind != "value":
        outputs |= {f"d{a.name}{suffix}": g for a, g in zip(p.args, p.gradients, strict=True)}
    return outputs


def _block_names(p: Prepared) -> set[str]:
    """The names a block of ``p`` must leave to the template: its own and the per-argument
    views and rows (``x_flat``, ``dx_row``)."""
    per_argument = {f"{a.name}_flat" for a in p.args} | {f"d{a.name}_row" for a in p.args}
    return TEMPLATE_NAMES | per_argument


def latex_value(p: Prepared) -> str:
    """The row result as LaTeX, element j of each argument named by the shared notation."""
    body = to_latex(p.kernel.term, latex_names(p.kernel.args, "j"))
    if p.kernel.reduce == "sum":
        return wrap_latex(r"\sum_{j} \left(" + body + r"\right)")
    return wrap_latex(r"\log \sum_{j} \exp\left(" + body + r"\right)")


def render_module(
    p: Prepared, backend: str, compiled_against: dict[str, str] | None = None, edit=SPEC_FILES
) -> str:
    """The module of one kernel for ``backend``: every block printed from the one routine
    (the numba one inlining the helper modules ``compiled_against``: file name -> text);
    ``edit`` says in its header how to change it."""
    blocks, scratch, helpers, generic, generic_helpers = {}, {}, set(), {}, set()
    for kind in KINDS:
        outputs = _outputs(p, kind, backend)
        if backend == "numpy":  # ufuncs share nothing unless CSE does (numba's LLVM shares
            # the helpers' inlined exp calls itself, and took 1.3x the time on the primitives)
            outputs = {name: as_primitive(e) for name, e in outputs.items()}
        routine = ir.build(p.args, outputs, _block_names(p), divide=backend == "numpy")
        if backend == "numpy":
            params = {f"d{a.name}" for a in p.args} if kind != "value" else set()
            printer = UfuncPrinter(routine, p.kernel.name, params, reuse=True)
        else:
            printer = ScalarPrinter(routine, p.kernel.name)
        blocks[kind] = printer.statements()
        scratch[kind] = tuple(getattr(printer, "scratch", ()))
        helpers |= printer.helpers
        # The array-API lines keep the helpers (the generic twins), named as numpy's are.
        routine = ir.build(p.args, _outputs(p, kind, "numpy"), _block_names(p))
        printer = ArrayApiPrinter(routine, p.kernel.name, like="like")
        lines = printer.statements()
        uses = {"series": "expm1_minus_x_generic" in printer.helpers, "like": printer.uses_like}
        generic[kind] = (lines, uses)
        generic_helpers |= printer.helpers
    runtime = ["check_no_overlap", "gradient_buffers", "is_numpy", "prepare"]
    runtime += ["reduce_gradients", "split_out", "value_buffer"]
    runtime.append("for_all_rows" if backend == "numba" else "for_row_blocks")
    if backend == "numpy":
        helpers |= {"logsumexp_rows", "softmax_rows"} if p.kernel.reduce == "logsumexp" else set()
    else:
        helpers |= {"row_sum"} if p.kernel.reduce == "sum" else {"row_logsumexp"}
    numeric = {"expm1_minus_x"} & helpers if backend == "numpy" else set()
    numeric |= {"expm1_minus_x_generic"} & generic_helpers
    numpy = backend == "numpy"
    if p.kernel.reduce == "logsumexp":
        generic_helpers.add("logsumexp_rows_generic")
    runtime += ["array_namespace", "prepare_generic", "reduce_generic"]
    runtime += ["generic_series"] if numeric & {"expm1_minus_x_generic"} else []
    return render(
        "user_module.py.jinja",
        f"kernel {p.kernel.name} of the spec file {Path(p.kernel.source).name or '(in memory)'}",
        edit,
        kernel=p.kernel,
        backend=backend,
        blocks=blocks,
        scratch=scratch,
        helper_module="_numba_functions" if backend == "numba" else "_functions",
        helper_imports=sorted((helpers | (generic_helpers if numpy else set())) - numeric),
        generic_imports=sorted(set() if numpy else generic_helpers - numeric),
        numeric_imports=sorted(numeric),
        generic=generic,
        runtime_imports=sorted(runtime),
        compiled_against={
            name: recorded_hash(text) for name, text in (compiled_against or {}).items()
        },
        rewrites=p.rewrites,
        latex_value=latex_value(p),
        latex_gradients=p.latex_gradients,
    )


def render_package(kernels: tuple[Kernel, ...], backends=("numpy",)) -> dict[str, str]:
    """Every file of the package generated from ``kernels``: file name -> text. Raises
    printers.Unsupported (naming the kernel and the sub-expression) before anything is
    written when a kernel cannot be emitted."""
    runtime = runtime_files()
    files = {**runtime, **render_kernels(kernels, backends, runtime["_constants.py"])}
    files["__init__.py"] = render("user_init.py.jinja", "a spec file", SPEC_FILES, kernels=kernels)
    return files


def render_kernels(
    kernels: tuple[Kernel, ...], backends, constants: str, edit: str = SPEC_FILES
) -> dict[str, str]:
    """The kernels' modules and the helper modules they import (``_functions``, and
    ``_numba_functions`` for numba), for a package whose ``_constants.py`` is
    ``constants``; ``edit`` says in the modules' headers how to change them. Raises
    printers.Unsupported before anything is returned."""
    prepared = [k if k.statistics else prepare(k) for k in kernels]
    files = {"_functions.py": copy_static("functions")}
    if "numba" in backends:
        files["_numba_functions.py"] = copy_static("numba_functions")
    for backend in (b for b in frameworks.FRAMEWORKS if b in backends):
        files.update(frameworks.runtime_files(backend))
    for kernel, p in zip(kernels, prepared, strict=True):
        for backend in backends:
            if backend in frameworks.FRAMEWORKS:
                files[f"{kernel.name}_{backend}.py"] = render_framework(kernel, backend, edit)
                continue
            suffix = "" if backend == "numpy" else f"_{backend}"
            against = {}
            if backend == "numba":
                against = {"_numba_functions.py": files["_numba_functions.py"]}
                against["_constants.py"] = constants
            if isinstance(p, Kernel):  # a kernel of row statistics (derive/rowpkg.py)
                files[f"{p.name}{suffix}.py"] = render_row_module(p, backend, against, edit)
            else:
                files[f"{p.kernel.name}{suffix}.py"] = render_module(p, backend, against, edit)
    return files


def render_framework(kernel: Kernel, backend: str, edit: str = SPEC_FILES) -> str:
    """The torch or JAX module of ``kernel`` (derive/frameworks.py), over its numpy module."""
    return frameworks.render_module(
        backend,
        kernel.name,
        kernel.computes,
        kernel.arg_names,
        kernel.name if kernel.derivation is not None else None,
        f"kernel {kernel.name} of the spec file {Path(kernel.source).name or '(in memory)'}",
        edit,
    )


class _MpmathPrinter(MpmathPrinter):
    """SymPy's mpmath printer, with polygamma (the Gamma KL's nodes' definitions) as
    mpmath.psi."""

    def _print_polygamma(self, expr):
        order, x = (self._print(a) for a in expr.args)
        return f"mpmath.psi({order}, {x})"


def render_tests(kernels: tuple[Kernel, ...], package: Path, tests: Path, backends) -> str:
    """A pytest module checking every elementwise kernel of the package at ``package``:
    gradients against central finite differences, values against mpmath (kernels of row
    statistics are not covered yet: their mpmath oracle is written per kernel,
    tests/row_oracle.py)."""
    printer = _MpmathPrinter({"fully_qualified_modules": True})
    cases = []
    for kernel in (k for k in kernels if not k.statistics):  # row statistics: not yet
        real = {a: sp.Symbol(a.name, real=True) for a in kernel.args}
        exact = rewrites.exact(kernel.term.xreplace(real))
        parts = sp.Add.make_args(prepare(kernel).term)
        evaluated = [printer.doprint(rewrites.exact(part)) for part in parts]
        cases.append((kernel, printer.doprint(exact), evaluated))
    return render(
        "user_tests.py.jinja",
        "a spec file (klgen generate --spec --tests)",
        SPEC_FILES,
        cases=cases,
        package=os.path.relpath(package.resolve(), tests.resolve().parent),
        backends=backends,
    )
