"""The full-covariance kernel ``kl_mvn_cholesky``: array code printed from derivation mvn_cholesky.

The KL is not a sum of per-dimension terms, so it does not fit derive.specs.KernelSpec. Its
statements are the derivation's named quantities (``cholesky.WHERE``: M, z, t, N) and the
entries of its final step (KL and the four gradients), all matrix expressions. They go
through the stages every kernel does:

1. numerics rewrites (derive/matrix_rewrites.py, each application proved by SymPy):
   ``ln diag A - ln diag B`` becomes a log ratio (log1p of the relative difference when the
   diagonals are close, so t keeps its relative accuracy), ``e^x - 1 - x`` a series for small
   |x| (from derive.numerics), ``e^x - 1`` expm1, and the KL's half is taken inside its
   Frobenius products: the KL of nearly equal distributions keeps its digits;
2. ``L^-1 Y`` and ``L^-T Y`` hoisted into forward and back substitutions (``ir.Solve``),
   those with the same factor and direction fused into one call over all their right-hand
   sides (the shared subexpressions of this kernel);
3. one ``ir.Routine`` of Assignments per public function (:func:`routine`);
4. printed as array-API code over (..., rows, cols) arrays, vectors being (..., k, 1), by
   derive/matrix_printer.py, and laid out by templates/kl_mvn_cholesky.py.jinja.

The code the routines call and the checks around them are plain Python, in
templates/static/cholesky.py (copied into the package as ``_cholesky``).
"""

import re
from dataclasses import dataclass

import sympy as sp
from sympy.codegen.ast import Assignment

from klgen.derive import frameworks, ir
from klgen.derive.derivations import get
from klgen.derive.derivations.cholesky import L_0, L_1, WHERE, Tril, mu_0, mu_1
from klgen.derive.derivations.notation import to_latex
from klgen.derive.layout import copy_static, wrap_latex
from klgen.derive.layout import render as render_template
from klgen.derive.matrix_printer import ArrayPrinter, split_coefficient
from klgen.derive.matrix_rewrites import rewrite

NAME = "kl_mvn_cholesky"
DERIVATION = "mvn_cholesky"
GRADIENTS = ("dm0", "dL0", "dm1", "dL1")
CODE_NAMES = {mu_0: "m0", L_0: "L0", mu_1: "m1", L_1: "L1"}
# What the template's public functions take from the generated _cholesky module; the
# routines' lines add the functions they call (CALL: their names start with _).
IMPORTS = ("_OUTPUTS", "_cast", "_checked_outs", "_compute", "_finish", "_prepare", "_returned")
CALL = re.compile(r"\b(_[a-z]\w*)\(")


@dataclass(frozen=True)
class Substitution:
    """X = A^-1 Y (``lower``) or X = A^-T Y (``upper``) for a lower-triangular factor A,
    found in a statement and replaced there by its ``result``."""

    kind: str
    factor: sp.MatrixSymbol
    rhs: sp.MatrixExpr
    result: sp.MatrixSymbol
    lower: bool = False  # only the lower triangle of the result is computed (the rest is 0)


def statements() -> list[tuple[str, sp.Basic]]:
    """(name, expression) in order: the named quantities, then KL and the gradients."""
    final = get(DERIVATION).final
    named = [(symbol.name, expr) for symbol, expr in WHERE.items()]
    return named + list(zip(("kl", *GRADIENTS), final, strict=True))


def rewritten() -> list[tuple[str, sp.Basic]]:
    """:func:`statements` with the numerics rewrites applied, each proved
    (derive/matrix_rewrites.py)."""
    return [(name, rewrite(expr)) for name, expr in statements()]


def routine(outputs: tuple[str, ...]) -> ir.Routine:
    """The routine computing ``outputs`` (and what they need) from m0, L0, m1, L1.

    Its statements are the rewritten named quantities and outputs with their substitutions
    hoisted: each substitution is one Assignment of an ``ir.Solve`` node (a right-hand side
    that is not a name is assigned to ``rhs_<result>`` first), and the substitutions fused
    into one call are consecutive, so the printer fuses a run with one factor and direction.
    A statement that is itself a substitution is that Assignment, named as the statement.
    """
    needed = _needed(rewritten(), outputs)
    hoisted, solves = _hoist_solves(needed)
    body: list[Assignment] = []
    for position, (name, expr) in enumerate(hoisted):
        for group in _groups_at(solves, hoisted, position):
            body.extend(_solve_assignments(group))
        if not (isinstance(expr, sp.MatrixSymbol) and expr.name == name):
            body.append(Assignment(_target(name, expr), expr))
    targets = {statement.lhs.name: statement.lhs for statement in body}
    return ir.Routine(tuple(CODE_NAMES), tuple(body), {name: targets[name] for name in outputs})


def _target(name: str, expr) -> sp.Basic:
    """The symbol assigned ``expr``: a matrix symbol of its shape, or a scalar (the KL)."""
    return sp.MatrixSymbol(name, *expr.shape) if expr.is_Matrix else sp.Symbol(name, real=True)


def _solve_assignments(group: list[Substitution]) -> list[Assignment]:
    """The Assignments of one fused group: right-hand sides that are not names, then the
    substitutions (full right-hand sides before lower-triangular ones)."""
    rhs_assignments, solves = [], []
    for solve in sorted(group, key=lambda solve: solve.lower):
        rhs = solve.rhs
        if not isinstance(rhs, sp.MatrixSymbol):
            rhs = sp.MatrixSymbol(f"rhs_{solve.result.name}", *rhs.shape)
            rhs_assignments.append(Assignment(rhs, solve.rhs))
        node = ir.Solve(solve.factor, rhs, solve.kind == "upper", solve.lower)
        solves.append(Assignment(solve.result, node))
    return rhs_assignments + solves


def _needed(items, outputs):
    """The statements that ``outputs`` depend on, in their order."""
    names = {name for name, _ in items}
    wanted = set(outputs)
    for name, expr in reversed(items):
        if name in wanted:
            wanted |= {s.name for s in expr.free_symbols if s.name in names}
    return [(name, expr) for name, expr in items if name in wanted]


def _hoist_solves(items):
    """Replace every substitution by a symbol; a statement that is one takes its name."""
    solves: dict[tuple, Substitution] = {}

    def visit(expr, name=None):
        """``expr`` with its substitutions hoisted; ``name`` names a bare top-level one."""
        if isinstance(expr, sp.MatMul):
            found = _as_solve(expr)
            if found is not None:
                coeff, kind, factor, rhs, after = found
                key = (kind, factor, rhs.doit())  # doit: one canonical order of terms
                if key not in solves:
                    bare = name if coeff == 1 and not after else None
                    symbol = sp.MatrixSymbol(bare or f"x{len(solves)}", *rhs.shape)
                    solves[key] = Substitution(kind, factor, visit(rhs), symbol)
                result = solves[key].result
                if coeff == 1 and not after:
                    return result
                rest = [visit(a) for a in after]
                return sp.MatMul(*([coeff] if coeff != 1 else []), result, *rest, evaluate=False)
        if not expr.args or isinstance(expr, sp.MatrixSymbol):
            return expr
        args = [visit(a) for a in expr.args]
        if args == list(expr.args):
            return expr
        if isinstance(expr, (sp.Add, sp.Mul, sp.MatAdd, sp.MatMul)):
            return expr.func(*args, evaluate=False)
        return expr.func(*args)

    hoisted = [(name, visit(expr, name)) for name, expr in items]
    return hoisted, [_mark_lower(solve, hoisted) for solve in solves.values()]


def _mark_lower(solve: Substitution, items) -> Substitution:
    """Mark substitutions whose result's upper triangle is 0 or never read.

    L_1^-1 L_0 is lower-triangular (both factors are); a result read only through Tril
    needs only its lower triangle, and for the back substitution L_1^-T Y that depends only
    on the lower triangle of Y. Both halve the work and read only lower triangles.
    """
    if solve.kind == "lower":
        lower = solve.rhs in (L_0, L_1)
    else:
        parents = [p for _, expr in items for p in _parents_of(expr, solve.result)]
        lower = bool(parents) and all(isinstance(p, Tril) for p in parents)
    return Substitution(solve.kind, solve.factor, solve.rhs, solve.result, lower)


def _parents_of(expr, symbol):
    """Every node of ``expr`` that has ``symbol`` as a direct argument."""
    found = [expr] if symbol in expr.args else []
    for arg in expr.args:
        if isinstance(arg, sp.Basic):
            found.extend(_parents_of(arg, symbol))
    return found


def _as_solve(expr: sp.MatMul):
    """(coefficient, kind, factor, rhs, after) when ``expr`` is c A^-1 Y Z... or
    c A^-T Y Z..., else None: the substitution is (A^-1 Y), then multiplied by ``after``
    (Z...), so c A^-1 z z^T solves for one column, not for the k columns of z z^T."""
    coeff, factors = split_coefficient(expr)
    first, *rest = factors
    if not isinstance(first, sp.Inverse) or not rest:
        return None
    rhs, after = rest[0], tuple(rest[1:])
    inner = first.arg
    if isinstance(inner, sp.Transpose) and inner.arg in (L_0, L_1):
        return (coeff, "upper", inner.arg, rhs, after)
    if inner in (L_0, L_1):
        return (coeff, "lower", inner, rhs, after)
    raise NotImplementedError(f"an inverse that is not a Cholesky factor's: {first}")


def _groups_at(solves, items, position):
    """The fused substitution calls to emit before statement ``position``.

    Substitutions with the same factor and direction are fused and placed after the last
    statement any of their right-hand sides reads.
    """
    index = {name: i for i, (name, _) in enumerate(items)}
    groups: dict[tuple, list[Substitution]] = {}
    for solve in solves:
        groups.setdefault((solve.kind, solve.factor), []).append(solve)
    out = []
    for group in groups.values():
        reads = {s.name for solve in group for s in solve.rhs.free_symbols} & set(index)
        ready = max((index[name] for name in reads), default=-1) + 1
        if ready == position:
            out.append(group)
    return out


# Its arguments' shapes, for the torch and JAX twins: m0, m1 (..., k); L0, L1 (..., k, k).
LAYOUT = frameworks.Layout(
    cores=(1, 2, 1, 2),
    check_shapes=("_cholesky", "_check_shapes"),
    check_values=("_cholesky", "_check_factors"),
    inputs=(
        ": m0, m1 of shape (..., k) and L0, L1 of shape (..., k, k) (Cholesky factors: lower "
        "triangles read), their batch axes broadcasting against each other"
    ),
    refused="too few axes, a non-square L, two sizes k, a diagonal entry of L0 or L1 that "
    "is not positive",
    entry="batch entry",
    entries="batch entries",
    numba=False,
)


def render_framework(backend: str) -> str:
    """The torch or JAX twin of the kernel module (derive/frameworks.py)."""
    return frameworks.render_module(
        backend,
        NAME,
        "KL(N(m0, L0 L0^T) || N(m1, L1 L1^T)), L0 and L1 Cholesky factors",
        tuple(CODE_NAMES.values()),
        DERIVATION,
        f"the derivation `{DERIVATION}` (derive/cholesky_kernel.py)",
        layout=LAYOUT,
    )


def render_files() -> dict[str, str]:
    """The kernel module and the static module it imports from, by file name."""
    return {f"{NAME}.py": render(), "_cholesky.py": copy_static("cholesky")}


def render() -> str:
    """The kernel module's source, sealed with its content hash."""
    outputs = {"value": ("kl",), "grad": GRADIENTS, "value_and_grad": ("kl", *GRADIENTS)}
    routines = {kind: ArrayPrinter.lines(routine(o), CODE_NAMES) for kind, o in outputs.items()}
    calls = {name for lines in routines.values() for line in lines for name in CALL.findall(line)}
    derivation = get(DERIVATION)
    return render_template(
        "kl_mvn_cholesky.py.jinja",
        f"the derivation `{DERIVATION}` (derive/cholesky_kernel.py)",
        name=NAME,
        derivation=DERIVATION,
        imports=sorted({*IMPORTS, *calls}),
        routines=routines,
        latex_kl=wrap_latex(derivation.steps[3].latex),
        latex_gradients=_gradient_latex(derivation),
    )


def _gradient_latex(derivation) -> list[str]:
    """d KL / d arg = ..., as LaTeX, from the final step."""
    _, *grads = derivation.final
    symbols = (r"\mu_{0}", "L_{0}", r"\mu_{1}", "L_{1}")
    return [
        wrap_latex(rf"\frac{{\partial \mathrm{{KL}}}}{{\partial {s}}} = {to_latex(g)}")
        for s, g in zip(symbols, grads, strict=True)
    ]
