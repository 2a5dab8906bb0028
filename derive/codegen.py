"""Turn kernel specs into numpy source: stabilize, share subexpressions, print, render.

The numeric work is SymPy's: :func:`derive.numerics.stabilize` rewrites each expression,
``sympy.cse`` names the shared parts and a ``NumPyPrinter`` prints them. Jinja2 templates in
``templates/`` lay the printed code out as modules.
"""

import hashlib
import textwrap
from dataclasses import dataclass

import jinja2
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

import templates
from derive.numerics import Expm1MinusX, expm1_minus_x_series, stabilize
from derive.specs import SPECS, KernelSpec

HASH_PREFIX = "klgen-hash: "
HASH_PLACEHOLDER = HASH_PREFIX + "{hash}"
BLOCK_ELEMENTS = 8192


class KernelPrinter(NumPyPrinter):
    """NumPy code as a person writes it: ``np.`` prefix, ``0.5`` rather than ``(1/2)``."""

    def _module_format(self, fqn, register=True):
        return super()._module_format(fqn, register).replace("numpy.", "np.")

    def doprint(self, expr, assign_to=None):
        # Non-integer rationals become float literals: 0.5*x, not (1/2)*x.
        floats = {r: sp.Float(r, 17) for r in expr.atoms(sp.Rational) if not r.is_Integer}
        return super().doprint(expr.xreplace(floats), assign_to)

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Pow(self, expr, rational=False):
        # x*x rather than x**2, so that 0.5*x*x evaluates as (0.5*x)*x: no overflow of x**2
        # while the result is representable (float32 exp(44.4)**2 overflows, half of it not).
        if expr.exp == 2 and expr.base.is_Symbol:
            return f"{self._print(expr.base)}*{self._print(expr.base)}"
        if not expr.exp.is_Integer or expr.exp < 0:
            raise NotImplementedError(f"no numpy printing for the power {expr}")
        return super()._print_Pow(expr, rational)

    def _print_Expm1MinusX(self, expr):
        t, expm1_t = (self._print(arg) for arg in expr.args)
        return f"expm1_minus_x({t}, {expm1_t})"


@dataclass(frozen=True)
class Output:
    """One output buffer of a block function and the code that fills it."""

    buffer: str
    code: str
    row_sum: bool


@dataclass(frozen=True)
class Routine:
    """The body of one block function: named temporaries, then outputs."""

    temporaries: tuple[tuple[str, str], ...]
    outputs: tuple[Output, ...]

    @property
    def buffers(self) -> tuple[str, ...]:
        return tuple(out.buffer for out in self.outputs)

    @property
    def helpers(self) -> set[str]:
        code = " ".join([c for _, c in self.temporaries] + [o.code for o in self.outputs])
        return {"expm1_minus_x"} if "expm1_minus_x(" in code else set()


def routine(spec: KernelSpec, value: bool, grad: bool) -> Routine:
    """Stabilize, CSE and print the value and/or gradient expressions of ``spec``."""
    exprs, buffers = [], []
    if value:
        exprs.append(spec.term)
        buffers.append("kl")
    if grad:
        exprs.extend(spec.gradients)
        buffers.extend(f"d{name}" for name in spec.arg_names)
    stable = [stabilize(e) for e in exprs]
    replacements, reduced = sp.cse(stable, symbols=sp.numbered_symbols("_cse"), order="none")
    names = _temporary_names(replacements, set(spec.arg_names) | set(buffers) | {"terms"})
    symbols = names_as_symbols(names)
    temporaries = tuple(
        (names[sym], print_code(expr.xreplace(symbols))) for sym, expr in replacements
    )
    outputs = tuple(
        Output(buf, print_code(e.xreplace(symbols)), buf == "kl")
        for buf, e in zip(buffers, reduced, strict=True)
    )
    return Routine(temporaries, outputs)


def print_code(expr: sp.Expr, width: int = 80) -> str:
    """numpy source for ``expr``; a long sum is split one term per line inside parentheses."""
    printer = KernelPrinter()
    code = printer.doprint(expr)
    if len(code) <= width or not isinstance(expr, sp.Add):
        return code
    lines = []
    for i, term in enumerate(expr.as_ordered_terms()):
        negative = term.could_extract_minus_sign()
        text = printer.doprint(-term if negative else term)
        lines.append(("- " if negative else "+ " if i else "") + text)
    return "(\n        " + "\n        ".join(lines) + "\n    )"


def names_as_symbols(names: dict[sp.Symbol, str]) -> dict[sp.Symbol, sp.Symbol]:
    return {sym: sp.Symbol(name) for sym, name in names.items()}


def _temporary_names(replacements, taken: set[str]) -> dict[sp.Symbol, str]:
    """Readable names for CSE temporaries (``half_logvar``, ``expm1_half_logvar``), or t0, t1."""
    names: dict[sp.Symbol, str] = {}
    for i, (sym, expr) in enumerate(replacements):
        name = _describe(expr.xreplace(names_as_symbols(names)))
        if name is None or len(name) > 28 or name in taken:
            name = f"t{i}"
        names[sym] = name
        taken.add(name)
    return names


def _describe(expr: sp.Expr) -> str | None:
    if isinstance(expr, sp.Symbol):
        return expr.name
    if isinstance(expr, sp.Mul):
        coeff, rest = expr.as_coeff_Mul()
        prefix = {sp.Rational(1, 2): "half_", -1: "neg_"}.get(coeff)
        inner = _describe(rest) if prefix else None
        return prefix + inner if inner else None
    if isinstance(expr, sp.Pow) and expr.exp == 2:
        base = _describe(expr.base)
        return base and base + "_sq"
    if isinstance(expr, sp.Add) and len(expr.args) == 2:
        (c, a), (d, b) = sorted((term.as_coeff_Mul() for term in expr.args), key=lambda x: -x[0])
        if c == 1 and d == -1 and _describe(a) and _describe(b):
            return f"{_describe(a)}_minus_{_describe(b)}"
        return None
    if isinstance(expr, sp.Function) and len(expr.args) == 1 and not isinstance(expr, Expm1MinusX):
        inner = _describe(expr.args[0])
        return inner and f"{type(expr).__name__}_{inner}"
    return None


def latex_sum(spec: KernelSpec) -> str:
    """The KL of one row as LaTeX: a sum over latent dimensions j of the spec's term."""
    indexed = {arg: sp.Symbol(_latex_name(arg.name) + "_j") for arg in spec.args}
    return _wrap_latex(
        r"\sum_{j=1}^{D} \left(" + sp.latex(spec.term.xreplace(indexed)) + r"\right)"
    )


def latex_gradients(spec: KernelSpec) -> list[str]:
    """d KL / d arg_j = ..., as LaTeX, for each argument."""
    indexed = {arg: sp.Symbol(_latex_name(arg.name) + "_j") for arg in spec.args}
    return [
        _wrap_latex(
            rf"\frac{{\partial \mathrm{{KL}}}}{{\partial {sp.latex(indexed[arg])}}} = "
            + sp.latex(sp.factor_terms(grad).xreplace(indexed))
        )
        for arg, grad in zip(spec.args, spec.gradients, strict=True)
    ]


def _wrap_latex(tex: str) -> str:
    """Break long LaTeX at spaces (insignificant to TeX) to keep docstring lines short."""
    return "\n            ".join(textwrap.wrap(tex, 80, break_long_words=False))


def _latex_name(name: str) -> str:
    base, _, sub = name.partition("_")
    symbol = {"mu": r"\mu", "logvar": r"\ell"}[base]
    return symbol + (r"^{\mathrm{" + sub + "}}" if sub else "")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates.DIRECTORY),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["format_grad"] = lambda name: f"d{name}"
    return env


def header(source: str) -> str:
    """The do-not-edit header; the hash placeholder is filled in by :func:`_seal`."""
    return (
        f"Generated by klgen from {source}.\n"
        "Do not edit: change derive/ or templates/ and run `klgen generate`;\n"
        "`klgen check` fails while this file differs from what they make.\n"
        f"{HASH_PLACEHOLDER}"
    )


def seal(text: str) -> str:
    """Fill in the hash of the file's own text (with the placeholder), to tell hand edits."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return text.replace(HASH_PLACEHOLDER, HASH_PREFIX + digest)


def content_hash_matches(text: str) -> bool:
    """True when ``text`` still has the hash klgen gave it, i.e. nobody edited it since."""
    for line in text.splitlines():
        if line.startswith(HASH_PREFIX):
            recorded = line[len(HASH_PREFIX) :].strip()
            unsealed = text.replace(line, HASH_PLACEHOLDER, 1)
            return hashlib.sha256(unsealed.encode()).hexdigest()[:16] == recorded
    return False


def render_module(spec: KernelSpec) -> str:
    routines = {
        "value": routine(spec, value=True, grad=False),
        "grad": routine(spec, value=False, grad=True),
        "value_and_grad": routine(spec, value=True, grad=True),
    }
    runtime_names = {
        "check_no_overlap",
        "for_row_blocks",
        "gradient_buffers",
        "prepare",
        "reduce_gradients",
        "split_out",
        "value_buffer",
    }
    imports = sorted(runtime_names.union(*(r.helpers for r in routines.values())))
    text = (
        _environment()
        .get_template("kernel_module.py.jinja")
        .render(
            spec=spec,
            header=header(f"the kernel spec `{spec.name}` (derive/specs.py)"),
            routines=routines,
            imports=imports,
            latex_sum=latex_sum(spec),
            latex_gradients=latex_gradients(spec),
        )
    )
    return seal(text)


def render_runtime() -> str:
    text = (
        _environment()
        .get_template("runtime.py.jinja")
        .render(
            header=header("templates/runtime.py.jinja"),
            block_elements=BLOCK_ELEMENTS,
            series=[expm1_minus_x_series(t) for t in ("float32", "float64")],
        )
    )
    return seal(text)


def render_package() -> str:
    text = (
        _environment()
        .get_template("package_init.py.jinja")
        .render(header=header("derive/specs.py"), specs=sorted(SPECS, key=lambda s: s.name))
    )
    return seal(text)


def render_all() -> dict[str, str]:
    """Every file of the generated package: file name -> source text."""
    files = {"__init__.py": render_package(), "_runtime.py": render_runtime()}
    for spec in SPECS:
        files[f"{spec.name}.py"] = render_module(spec)
    return files
