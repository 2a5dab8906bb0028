"""The full-covariance kernel ``kl_mvn_cholesky``: array code printed from derivation mvn_cholesky.

The KL is not a sum of per-dimension terms, so it does not fit derive.specs.KernelSpec. Its
statements are the derivation's named quantities (``cholesky.WHERE``: M, z, t, N) and the
entries of its final step (KL and the four gradients), all matrix expressions. This module
prints them as array-API code over (..., rows, cols) arrays, vectors being (..., k, 1):

- ``L^-1 Y`` and ``L^-T Y`` become forward and back substitutions; all substitutions with the
  same factor and direction are fused into one call over the concatenated right-hand sides.
- ``ln diag A - ln diag B`` becomes ``_log_ratio`` (log1p of the relative difference when the
  diagonals are close, so t keeps its relative accuracy), ``e^x - 1 - x`` becomes
  ``_expm1_minus_x`` (a Taylor series for small |x|, from derive.numerics) and ``e^x - 1``
  becomes ``expm1``: the KL of nearly equal distributions keeps its digits.
- ``A Diag(v)`` and ``Diag(v) A`` scale columns and rows instead of multiplying.

Node types it does not know raise NotImplementedError, so a change to the derivation that the
printer cannot follow stops generation instead of producing wrong code.

The code the routines call and the checks around them are plain Python, in
templates/static/cholesky.py (copied into the package as ``_cholesky``).
"""

import re
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from klgen.derive.derivations import get
from klgen.derive.derivations.cholesky import (
    L_0,
    L_1,
    WHERE,
    Diagonal,
    DiagonalMatrix,
    StrictLower,
    Tril,
    mu_0,
    mu_1,
)
from klgen.derive.derivations.notation import Frobenius, to_latex
from klgen.derive.layout import copy_static, wrap_latex
from klgen.derive.layout import render as render_template

NAME = "kl_mvn_cholesky"
DERIVATION = "mvn_cholesky"
ARGS = ("m0", "L0", "m1", "L1")
GRADIENTS = ("dm0", "dL0", "dm1", "dL1")
CODE_NAMES = {mu_0: "m0", L_0: "L0", mu_1: "m1", L_1: "L1"}
FUNCTIONS = {sp.exp: "exp", sp.log: "log", sp.sinh: "sinh"}
WIDTH = 88  # longest statement printed on one line (the template indents it by 4)
# What the template's public functions take from the generated _cholesky module; the
# routines' lines add the functions they call (CALL: their names start with _).
IMPORTS = ("_OUTPUTS", "_cast", "_checked_outs", "_compute", "_finish", "_prepare", "_returned")
CALL = re.compile(r"\b(_[a-z]\w*)\(")


@dataclass(frozen=True)
class Solve:
    """X = A^-1 Y (``lower``) or X = A^-T Y (``upper``) for a lower-triangular factor A."""

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


def routine(outputs: tuple[str, ...]) -> list[str]:
    """The lines computing ``outputs`` (and what they need) from m0, L0, m1, L1."""
    needed = _needed(statements(), outputs)
    hoisted, solves = _hoist_solves(needed)
    printer = Printer(solve.result for solve in solves if solve.kind == "upper" and solve.lower)
    lines = []
    for position, (name, expr) in enumerate(hoisted):
        for group in _groups_at(solves, hoisted, position):
            lines.extend(printer.solve_lines(group))
        if not (isinstance(expr, sp.MatrixSymbol) and expr.name == name):
            lines.extend(printer.statement(name, expr))
    return lines


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
    solves: dict[tuple, Solve] = {}

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
                    solves[key] = Solve(kind, factor, visit(rhs), symbol)
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


def _mark_lower(solve: Solve, items) -> Solve:
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
    return Solve(solve.kind, solve.factor, solve.rhs, solve.result, lower)


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
    coeff, factors = _split_coefficient(expr)
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
    groups: dict[tuple, list[Solve]] = {}
    for solve in solves:
        groups.setdefault((solve.kind, solve.factor), []).append(solve)
    out = []
    for group in groups.values():
        reads = {s.name for solve in group for s in solve.rhs.free_symbols} & set(index)
        ready = max((index[name] for name in reads), default=-1) + 1
        if ready == position:
            out.append(group)
    return out


class Printer:
    """Prints the expressions of one routine as array-API source. Like a SymPy CodePrinter it
    holds the state printing needs: ``lower_results``, the results of back substitutions
    computed on their lower triangle only (their upper is 0), so that Tril of one is itself."""

    def __init__(self, lower_results=()):
        self.lower_results = frozenset(lower_results)

    def code(self, expr) -> str:
        """Array-API source for one expression (a scalar per batch, or a (..., r, c) array)."""
        if isinstance(expr, sp.MatrixSymbol):
            return CODE_NAMES.get(expr, expr.name)
        if isinstance(expr, (sp.Integer, sp.Rational, sp.Float)):
            return repr(float(expr)) if not expr.is_Integer else str(expr)
        if isinstance(expr, sp.Tuple):
            raise NotImplementedError("a tuple inside an expression")
        for printer in (
            self._special_sum,
            self._diagonal_sum,
            self._operator,
            self._product,
            self._sum,
        ):
            code = printer(expr)
            if code is not None:
                return code
        raise NotImplementedError(f"no array code for {type(expr).__name__}: {expr}")

    def operand(self, expr) -> str:
        """:meth:`code` of ``expr``, parenthesized when it is a sum or a negated product."""
        code = self.code(expr)
        if (
            isinstance(expr, (sp.MatAdd, sp.Add))
            and self._special_sum(expr) is self._diagonal_sum(expr) is None
        ):
            return f"({code})"
        if isinstance(expr, (sp.MatMul, sp.Mul)):
            return f"({code})"
        return code

    def statement(self, name: str, expr) -> list[str]:
        """``name = code``; a long sum (or a multiple of one) one term per line."""
        code = self.code(expr)
        if len(name) + len(code) <= WIDTH:
            return [f"{name} = {code}"]
        coeff, rest = sp.S.One, expr
        if isinstance(expr, (sp.Mul, sp.MatMul)):
            coeff, (rest,) = _split_coefficient(expr)
        if not isinstance(rest, (sp.Add, sp.MatAdd)):
            raise NotImplementedError(f"cannot break the long line {name} = {code}")
        halves = self._halves(coeff, rest)
        if halves:
            return [
                f"{name} = (",
                *(f"    {'+ ' if i else ''}{h}" for i, h in enumerate(halves)),
                ")",
            ]
        opening = "(" if coeff == 1 else f"{self.code(coeff)} * ("
        terms = []
        for sign, term in map(_signed_scalar, rest.args):
            piece = self.operand(term)
            terms.append(("- " if sign < 0 else "+ " if terms else "") + piece)
        return [f"{name} = {opening}", *(f"    {t}" for t in terms), ")"]

    def solve_lines(self, group: list[Solve]) -> list[str]:
        """One fused substitution over the full and the lower-triangular right-hand sides;
        right-hand sides that are not names get a line each first."""
        lines, operands = [], {False: [], True: []}
        group = sorted(group, key=lambda solve: solve.lower)
        for solve in group:
            if isinstance(solve.rhs, sp.MatrixSymbol):
                operands[solve.lower].append(self.code(solve.rhs))
            else:
                operands[solve.lower].append(f"rhs_{solve.result.name}")
                lines.extend(self.statement(operands[solve.lower][-1], solve.rhs))
        targets = ", ".join(s.result.name for s in group) + ("," if len(group) == 1 else "")
        full, lower = (_tuple(operands[flag]) for flag in (False, True))
        function = {"lower": "_solve_lower", "upper": "_solve_lower_transposed"}[group[0].kind]
        factor = CODE_NAMES[group[0].factor]
        return [*lines, f"{targets} = {function}(xp, {factor}, {full}, {lower})"]

    def _special_sum(self, expr):
        """ln A - ln B, e^x - 1 - x and e^x - 1, in their accurate forms."""
        if not isinstance(expr, sp.MatAdd):
            return None
        terms = [_signed(a) for a in expr.args]
        if len(terms) == 2 and {sign for sign, _ in terms} == {1, -1}:
            (_, a), (_, b) = sorted(terms, key=lambda st: -st[0])
            if _is_applied(a, sp.log) and _is_applied(b, sp.log):
                return f"_log_ratio(xp, {self.code(a.expr)}, {self.code(b.expr)})"
        found = _exp_minus_one(expr)
        if found is not None:
            x, rest = found
            if not rest:
                return f"xp.expm1({self.code(x)})"
            if rest == [-x]:
                return f"_expm1_minus_x(xp, {self.code(x)})"
        return None

    def _operator(self, expr):
        if isinstance(expr, ElementwiseApplyFunction):
            name = FUNCTIONS.get(expr.function(sp.Dummy()).func)
            if name is None:
                raise NotImplementedError(f"elementwise {expr.function}")
            return f"xp.{name}({self.code(expr.expr)})"
        if isinstance(expr, sp.Transpose):
            return f"xp.matrix_transpose({self.code(expr.arg)})"
        if isinstance(expr, (Tril, StrictLower)):
            return self._lower_part(expr)
        if isinstance(expr, Diagonal):
            return f"xp.linalg.diagonal({self.code(expr.arg)})[..., None]"
        if isinstance(expr, DiagonalMatrix):
            return f"_diagonal_matrix(xp, {self.code(expr.arg)})"
        if isinstance(expr, Frobenius):
            a, b = expr.args
            if isinstance(a, sp.OneMatrix):
                return f"xp.sum({self.code(b)}, axis=(-2, -1))"
            return f"xp.sum({self.operand(a)} * {self.operand(b)}, axis=(-2, -1))"
        return None

    def _lower_part(self, expr, coeff=sp.S.One):
        """c tril(X) or c tril_-1(X) as one masked product (the mask carries c)."""
        if isinstance(expr, Tril) and expr.arg in self.lower_results and coeff == 1:
            return self.code(expr.arg)
        diagonal = ", -1" if isinstance(expr, StrictLower) else ", 0" if coeff != 1 else ""
        scale = f", {self.code(coeff)}" if coeff != 1 else ""
        return f"_tril(xp, {self.code(expr.arg)}{diagonal}{scale})"

    def _diagonal_sum(self, expr):
        """A + Diag(v) (one diagonal term) as _plus_diagonal: v is added to A's diagonal."""
        if not isinstance(expr, sp.MatAdd):
            return None
        diagonals = [a for a in expr.args if isinstance(a, DiagonalMatrix)]
        if len(diagonals) != 1 or len(expr.args) < 2:
            return None
        rest = [a for a in expr.args if a is not diagonals[0]]
        other = rest[0] if len(rest) == 1 else sp.MatAdd(*rest, evaluate=False)
        return f"_plus_diagonal(xp, {self.code(other)}, {self.code(diagonals[0].arg)})"

    def _product(self, expr):
        """Scalar multiples and matrix products; a diagonal factor scales rows or columns."""
        if not isinstance(expr, (sp.MatMul, sp.Mul)):
            return None
        coeff, factors = _split_coefficient(expr)
        halves = self._halves(coeff, factors[0]) if len(factors) == 1 else []
        if halves:
            return " + ".join(halves)
        if len(factors) == 1 and isinstance(factors[0], (Tril, StrictLower)) and coeff != 1:
            return self._lower_part(factors[0], coeff)
        if len(factors) == 2 and factors[0].shape[1] == 1 and coeff == 1:
            return f"{self.operand(factors[0])} * {self.operand(factors[1])}"  # outer product u v^T
        pieces = []
        for i, factor in enumerate(factors):
            if isinstance(factor, DiagonalMatrix) and len(factors) == 2:
                v = self.operand(factor.arg)
                other = self.operand(factors[1 - i])
                scaled = f"{v} * {other}" if i == 0 else f"{other} * xp.matrix_transpose({v})"
                pieces = [scaled]
                break
            pieces.append(self.operand(factor))
        body = " @ ".join(pieces)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}" if len(pieces) == 1 else f"-({body})"
        scale = self.code(coeff)
        return f"{scale} * {body}" if len(pieces) == 1 else f"{scale} * ({body})"

    def _halves(self, coeff, expr) -> list[str]:
        """The code of each term of 1/2 <A, B>_F + ... with the half taken inside it (see
        :meth:`_half_frobenius`); [] unless ``coeff * expr`` is half a sum of Frobenius products."""
        if coeff != sp.S.Half or not isinstance(expr, (sp.Add, sp.MatAdd)):
            return []
        if not all(isinstance(a, Frobenius) for a in expr.args):
            return []
        return [self._half_frobenius(term) for term in expr.args]

    def _half_frobenius(self, expr) -> str:
        """<A, B>_F / 2 with the half taken before anything can overflow (the KL's terms are
        non-negative, so each stays finite while the KL does): (A / 2) * B elementwise, and
        (e^x - 1 - x) / 2 by ``_half_expm1_minus_x``."""
        a, b = expr.args
        if isinstance(a, sp.OneMatrix):
            found = _exp_minus_one(b) if isinstance(b, sp.MatAdd) else None
            if found is not None and found[1] == [-found[0]]:
                return f"xp.sum(_half_expm1_minus_x(xp, {self.code(found[0])}), axis=(-2, -1))"
            return f"xp.sum(0.5 * {self.operand(b)}, axis=(-2, -1))"
        return f"xp.sum((0.5 * {self.operand(a)}) * {self.operand(b)}, axis=(-2, -1))"

    def _sum(self, expr):
        if not isinstance(expr, (sp.MatAdd, sp.Add)):
            return None
        code = ""
        for sign, term in map(_signed_scalar, expr.args):
            operator = (" - " if sign < 0 else " + ") if code else ("-" if sign < 0 else "")
            code += operator + self.operand(term)
        return code


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _exp_minus_one(expr):
    """(x, the other terms) where the sum ``expr`` is e^x - 1 + other terms, else None."""
    terms = [_signed(a) for a in expr.args]
    exps = [x for sign, x in terms if sign == 1 and _is_applied(x, sp.exp)]
    ones = [x for sign, x in terms if sign == -1 and isinstance(x, sp.OneMatrix)]
    if len(exps) != 1 or len(ones) != 1:
        return None
    return exps[0].expr, [a for a in expr.args if a not in (exps[0], -ones[0])]


def _signed(term):
    """(sign, term without a leading -1)."""
    if isinstance(term, sp.MatMul) and term.args[0] == -1:
        rest = term.args[1:]
        return -1, rest[0] if len(rest) == 1 else sp.MatMul(*rest, evaluate=False)
    return 1, term


def _is_applied(expr, function):
    return isinstance(expr, ElementwiseApplyFunction) and expr.function(sp.Dummy()).func is function


def _split_coefficient(expr):
    coeff, factors = sp.S.One, []
    for arg in expr.args:
        if arg.is_number:
            coeff *= arg
        else:
            factors.append(arg)
    return coeff, factors


def _signed_scalar(term):
    if isinstance(term, (sp.Mul, sp.MatMul)):
        coeff, factors = _split_coefficient(term)
        if coeff == -1:
            rest = factors[0] if len(factors) == 1 else term.func(*factors, evaluate=False)
            return -1, rest
    return 1, term


def render_files() -> dict[str, str]:
    """The kernel module and the static module it imports from, by file name."""
    return {f"{NAME}.py": render(), "_cholesky.py": copy_static("cholesky")}


def render() -> str:
    """The kernel module's source, sealed with its content hash."""
    routines = {
        "value": routine(("kl",)),
        "grad": routine(GRADIENTS),
        "value_and_grad": routine(("kl", *GRADIENTS)),
    }
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
