"""Array-API source for a routine of matrix statements (``ir.Routine``), as the
full-covariance kernel (derive/cholesky_kernel.py) builds it.

Arrays are (..., rows, cols), vectors (..., k, 1); ``xp`` is the array namespace. Like a
SymPy CodePrinter (it is a ``sympy.printing.printer.Printer``), :class:`ArrayPrinter`
prints each node type by a ``_print_<Type>`` method and holds the state printing needs;
a node it has no method for raises NotImplementedError naming the sub-expression, so a
change to the derivation it cannot follow stops generation instead of producing wrong code.

The numerics rewrites are done before (derive/matrix_rewrites.py: its Entrywise nodes are
printed as calls); what remains here are printing choices that need no proof:

- consecutive ``Solve`` assignments with the same factor and direction are fused into one
  substitution call over all their right-hand sides;
- ``A Diag(v)`` and ``Diag(v) A`` scale columns and rows instead of multiplying, and
  ``A + Diag(v)`` adds v to A's diagonal;
- ``tril`` of a result computed on its lower triangle only is that result.
"""

from itertools import groupby

import sympy as sp
from sympy.codegen.ast import Assignment
from sympy.printing.printer import Printer

from klgen.derive.derivations.cholesky import DiagonalMatrix, StrictLower, Tril
from klgen.derive.ir import Routine, Solve

WIDTH = 88  # longest statement printed on one line (the template indents it by 4)
FUNCTIONS = {sp.exp: "exp", sp.log: "log", sp.sinh: "sinh"}


class ArrayPrinter(Printer):
    """Prints one routine. State: ``names`` (input symbol -> its name in the code) and
    ``lower_results``, the results of back substitutions computed on their lower triangle
    only (their upper is 0), so that tril of one is itself."""

    def __init__(self, names: dict, lower_results=()):
        super().__init__()
        self.names = dict(names)
        self.lower_results = frozenset(lower_results)

    @classmethod
    def lines(cls, routine: Routine, names: dict) -> list[str]:
        """The source lines of ``routine``'s statements, ``names`` naming its inputs."""
        solves = [s for s in routine.statements if _is_solve(s)]
        printer = cls(names, (s.lhs for s in solves if s.rhs.transposed and s.rhs.lower))
        return printer.statements(routine.statements)

    def statements(self, statements) -> list[str]:
        """Each assignment's lines; a run of substitutions with one factor and direction is
        one call."""
        out = []
        for key, run in groupby(statements, key=_solve_key):
            if key is not None:
                out.append(self.solve_call(list(run)))
                continue
            for statement in run:
                out.extend(self.assignment(statement.lhs.name, statement.rhs))
        return out

    def code(self, expr) -> str:
        """Array-API source for one expression (a scalar per batch, or a (..., r, c) array)."""
        return self._print(expr)

    def emptyPrinter(self, expr):
        """A node with no ``_print_`` method is refused, named (never printed as str)."""
        raise NotImplementedError(f"no array code for {type(expr).__name__}: {expr}")

    def operand(self, expr) -> str:
        """:meth:`code` of ``expr``, parenthesized when it is a sum or a product."""
        code = self.code(expr)
        if isinstance(expr, (sp.MatAdd, sp.Add)) and _diagonal_term(expr) is None:
            return f"({code})"
        if isinstance(expr, (sp.MatMul, sp.Mul)):
            return f"({code})"
        return code

    def assignment(self, name: str, expr) -> list[str]:
        """``name = code``; a long sum (or a multiple of one) one term per line."""
        code = self.code(expr)
        if len(name) + len(code) <= WIDTH:
            return [f"{name} = {code}"]
        coeff, rest = sp.S.One, expr
        if isinstance(expr, (sp.Mul, sp.MatMul)):
            coeff, (rest,) = split_coefficient(expr)
        if not isinstance(rest, (sp.Add, sp.MatAdd)):
            raise NotImplementedError(f"cannot break the long line {name} = {code}")
        opening = "(" if coeff == 1 else f"{self.code(coeff)} * ("
        terms = []
        for sign, term in map(_signed, rest.args):
            piece = self.operand(term)
            terms.append(("- " if sign < 0 else "+ " if terms else "") + piece)
        return [f"{name} = {opening}", *(f"    {t}" for t in terms), ")"]

    def solve_call(self, run: list[Assignment]) -> str:
        """One fused substitution over the full and the lower-triangular right-hand sides
        (each a name: the routine assigns any other right-hand side first)."""
        run = sorted(run, key=lambda s: s.rhs.lower)
        operands = {False: [], True: []}
        for statement in run:
            operands[statement.rhs.lower].append(self.code(statement.rhs.rhs))
        targets = ", ".join(s.lhs.name for s in run) + ("," if len(run) == 1 else "")
        full, lower = (_tuple(operands[flag]) for flag in (False, True))
        solve = run[0].rhs
        function = "_solve_lower_transposed" if solve.transposed else "_solve_lower"
        return f"{targets} = {function}(xp, {self.code(solve.factor)}, {full}, {lower})"

    def _print_MatrixSymbol(self, expr):
        return self.names.get(expr, expr.name)

    _print_Symbol = _print_MatrixSymbol

    def _print_Integer(self, expr):
        return str(expr)

    def _print_Rational(self, expr):
        return repr(float(expr))

    _print_Float = _print_Rational

    def _print_Solve(self, expr):
        raise NotImplementedError(f"a substitution inside an expression: {expr}")

    def _print_ElementwiseApplyFunction(self, expr):
        name = FUNCTIONS.get(expr.function(sp.Dummy()).func)
        if name is None:
            raise NotImplementedError(f"no array code for elementwise {expr.function}: {expr}")
        return f"xp.{name}({self.code(expr.expr)})"

    def _print_EntrywiseLogRatio(self, expr):
        a, b = expr.args
        return f"_log_ratio(xp, {self.code(a)}, {self.code(b)})"

    def _print_EntrywiseExpm1(self, expr):
        return f"xp.expm1({self.code(expr.args[0])})"

    def _print_EntrywiseExpm1MinusX(self, expr):
        return f"_expm1_minus_x(xp, {self.code(expr.args[0])})"

    def _print_EntrywiseHalfExpm1MinusX(self, expr):
        return f"_half_expm1_minus_x(xp, {self.code(expr.args[0])})"

    def _print_Transpose(self, expr):
        return f"xp.matrix_transpose({self.code(expr.arg)})"

    def _print_Diagonal(self, expr):
        return f"xp.linalg.diagonal({self.code(expr.arg)})[..., None]"

    def _print_DiagonalMatrix(self, expr):
        return f"_diagonal_matrix(xp, {self.code(expr.arg)})"

    def _print_Tril(self, expr):
        return self._lower_part(expr)

    _print_StrictLower = _print_Tril

    def _print_Frobenius(self, expr):
        a, b = expr.args
        if isinstance(a, sp.OneMatrix):
            return f"xp.sum({self.code(b)}, axis=(-2, -1))"
        return f"_frobenius(xp, {self.code(a)}, {self.code(b)})"

    def _lower_part(self, expr, coeff=sp.S.One):
        """c tril(X) or c tril_-1(X) as one masked product (the mask carries c)."""
        if isinstance(expr, Tril) and expr.arg in self.lower_results and coeff == 1:
            return self.code(expr.arg)
        diagonal = ", -1" if isinstance(expr, StrictLower) else ", 0" if coeff != 1 else ""
        scale = f", {self.code(coeff)}" if coeff != 1 else ""
        return f"_tril(xp, {self.code(expr.arg)}{diagonal}{scale})"

    def _print_MatAdd(self, expr):
        """A sum; one with a single Diag(v) term as _plus_diagonal (v added to the diagonal)."""
        diagonal = _diagonal_term(expr)
        if diagonal is not None:
            rest = [a for a in expr.args if a is not diagonal]
            other = rest[0] if len(rest) == 1 else sp.MatAdd(*rest, evaluate=False)
            return f"_plus_diagonal(xp, {self.code(other)}, {self.code(diagonal.arg)})"
        code = ""
        for sign, term in map(_signed, expr.args):
            operator = (" - " if sign < 0 else " + ") if code else ("-" if sign < 0 else "")
            code += operator + self.operand(term)
        return code

    _print_Add = _print_MatAdd

    def _print_MatMul(self, expr):
        """Scalar multiples and matrix products; a diagonal factor scales rows or columns."""
        coeff, factors = split_coefficient(expr)
        if len(factors) == 1 and isinstance(factors[0], (Tril, StrictLower)) and coeff != 1:
            return self._lower_part(factors[0], coeff)
        if len(factors) == 2 and factors[0].shape[1] == 1 and coeff == 1:
            return f"{self.operand(factors[0])} * {self.operand(factors[1])}"  # outer product u v^T
        pieces = self._factors(factors)
        body = " @ ".join(pieces)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}" if len(pieces) == 1 else f"-({body})"
        scale = self.code(coeff)
        return f"{scale} * {body}" if len(pieces) == 1 else f"{scale} * ({body})"

    _print_Mul = _print_MatMul

    def _factors(self, factors) -> list[str]:
        """The operands of a matrix product; Diag(v) A and A Diag(v) as one scaling."""
        for i, factor in enumerate(factors):
            if isinstance(factor, DiagonalMatrix) and len(factors) == 2:
                v = self.operand(factor.arg)
                other = self.operand(factors[1 - i])
                return [f"{v} * {other}" if i == 0 else f"{other} * xp.matrix_transpose({v})"]
        return [self.operand(factor) for factor in factors]


def split_coefficient(expr):
    """(the number, the other factors) of a product."""
    coeff, factors = sp.S.One, []
    for arg in expr.args:
        if arg.is_number:
            coeff *= arg
        else:
            factors.append(arg)
    return coeff, factors


def _signed(term):
    """(-1, the rest) for a product with coefficient -1, else (1, term)."""
    if isinstance(term, (sp.Mul, sp.MatMul)):
        coeff, factors = split_coefficient(term)
        if coeff == -1:
            rest = factors[0] if len(factors) == 1 else term.func(*factors, evaluate=False)
            return -1, rest
    return 1, term


def _diagonal_term(expr):
    """The one Diag(v) term of a matrix sum of two or more terms, else None."""
    if not isinstance(expr, sp.MatAdd) or len(expr.args) < 2:
        return None
    diagonals = [a for a in expr.args if isinstance(a, DiagonalMatrix)]
    return diagonals[0] if len(diagonals) == 1 else None


def _is_solve(statement) -> bool:
    return isinstance(statement.rhs, Solve)


def _solve_key(statement):
    """(factor, direction) of a substitution, which the substitutions of one call share;
    None for any other statement."""
    if not _is_solve(statement):
        return None
    return statement.rhs.factor, statement.rhs.transposed


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
