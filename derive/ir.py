"""The intermediate form every printer reads: named assignments, one operation each.

``sympy.cse`` shares the subexpressions of a kernel's outputs; each is then split until every
assignment applies one operation to symbols and numbers (``sympy.codegen.ast.Assignment``,
three-address code), and every temporary is named from the math it holds (``exp_neg_x``,
``loc_minus_loc_p``), so that the generated code reads as the formula does. A numpy printer
writes each assignment as one ufunc call into a buffer of its own; a compiled printer as one
scalar line.
"""

import re
from dataclasses import dataclass

import sympy as sp
from sympy.codegen.ast import Assignment

MAX_NAME = 36  # longer descriptions fall back to the operation's name: sum_loc, exp_x


@dataclass(frozen=True)
class Routine:
    """The statements computing ``outputs`` (output name -> the symbol or number holding it)
    from ``inputs``, in order. Symbols may be matrices (``sp.MatrixSymbol``, the
    full-covariance kernel), assigned matrix expressions such as :class:`Solve`."""

    inputs: tuple[sp.Symbol, ...]
    statements: tuple[Assignment, ...]
    outputs: dict[str, sp.Expr]

    @property
    def temporaries(self) -> tuple[sp.Symbol, ...]:
        return tuple(s.lhs for s in self.statements)


class Solve(sp.MatrixExpr):
    """X = A^-1 Y, or X = A^-T Y (``transposed``), for a lower-triangular factor A: a node
    assigned to a matrix symbol, computed by substitution (never by an inverse). With
    ``lower``, only the lower triangle of X is computed and its upper is 0: for A^-1 Y
    with a lower-triangular Y, or A^-T Y whose result is read only through its lower
    triangle (which depends on the lower triangle of Y alone)."""

    def __new__(cls, factor, rhs, transposed=False, lower=False):
        flags = (sp.true if transposed else sp.false, sp.true if lower else sp.false)
        return sp.MatrixExpr.__new__(cls, factor, rhs, *flags)

    factor = property(lambda self: self.args[0])
    rhs = property(lambda self: self.args[1])
    transposed = property(lambda self: bool(self.args[2]))
    lower = property(lambda self: bool(self.args[3]))
    shape = property(lambda self: self.rhs.shape)


def is_atom(expr: sp.Expr) -> bool:
    return expr.is_Symbol or expr.is_Number


def is_folded(expr: sp.Expr, product: bool = False) -> bool:
    """An atom, or -atom or atom**-1 (which a sum or product takes as it is); in a
    ``product``, also atom**n for an integer n > 1, multiplied in factor by factor after the
    coefficient (0.5*u**2 is (0.5*u)*u, finite while the result is)."""
    if is_atom(expr):
        return True
    if isinstance(expr, sp.Mul) and len(expr.args) == 2 and expr.args[0] == -1:
        return is_atom(expr.args[1])
    if not isinstance(expr, sp.Pow) or not is_atom(expr.base):
        return False
    return expr.exp == -1 or product and expr.exp.is_Integer and expr.exp > 1


def numeric_constants(expr: sp.Expr) -> sp.Expr:
    """Constant subexpressions (log(2*pi), sqrt(2), pi/4) as 20-digit floats; rationals and
    integers stay exact."""
    return expr.replace(
        lambda e: e.is_number and not e.is_Rational and not e.is_Atom or e.is_NumberSymbol,
        lambda e: sp.Float(e.evalf(20), 20),
    )


def build(inputs, outputs: dict[str, sp.Expr], reserved=frozenset(), divide=False) -> Routine:
    """The routine computing ``outputs`` (name -> expression in ``inputs``); no temporary
    takes a name of ``reserved`` (those the surrounding code uses). With ``divide``, a
    shared reciprocal is shared as its base and divided by (:func:`divided_reciprocals`)."""
    exprs = [numeric_constants(e) for e in outputs.values()]
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_cse"), order="none")
    if divide:
        replacements, reduced = divided_reciprocals(replacements, reduced)
    namer = Namer({s.name for s in inputs} | set(outputs) | set(reserved))
    statements: list[Assignment] = []
    renamed: dict[sp.Symbol, sp.Expr] = {}

    def flat(expr: sp.Expr, top: bool, fold: type | None = None) -> sp.Expr:
        """``expr`` as an operand: an atom, or (``fold``, inside a sum or product: sp.Add or
        sp.Mul) a folded one, else a new temporary holding it; with ``top``, one operation
        on operands."""
        expr = expr.xreplace(renamed)
        if is_atom(expr) or (fold and is_folded(expr, fold is sp.Mul)):
            return expr
        if fold is sp.Add and isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
            return -flat(-expr, False)  # subtracted: no pass of its own negates it
        if isinstance(expr, sp.Piecewise):
            pieces = [(flat(e, False), flat_condition(c)) for e, c in expr.args]
            op = sp.Piecewise(*pieces, evaluate=False)
        else:
            folds = type(expr) if isinstance(expr, (sp.Add, sp.Mul)) else None
            args = [flat(a, False, folds) for a in expr.args]
            op = expr.func(*args, evaluate=False) if args else expr
        if top:
            return op
        return assign(op)

    def flat_condition(condition):
        condition = condition.xreplace(renamed)
        if condition in (sp.true, sp.false) or condition.is_Symbol:
            return condition
        args = [
            flat(a, False) if isinstance(a, sp.Expr) else flat_condition(a) for a in condition.args
        ]
        return assign(condition.func(*args, evaluate=False))

    def assign(op) -> sp.Symbol:
        target = sp.Symbol(namer.name(op), real=True)
        statements.append(Assignment(target, op))
        return target

    for symbol, expr in replacements:
        value = flat(expr, False)
        renamed[symbol] = value
    results = {}
    for name, expr in zip(outputs, reduced, strict=True):
        value = flat(expr, True)
        if not is_atom(value):
            target = sp.Symbol(name, real=True)
            statements.append(Assignment(target, value))
            value = target
        results[name] = value
    return Routine(tuple(inputs), tuple(statements), results)


def divided_reciprocals(replacements, reduced):
    """CSE's shared 1/b (a subexpression of a/b and c/b) as b, each use a division by it:
    a/b rounds once where a * fl(1/b) rounds twice, in as many passes for two uses. Only
    where every use is a factor of a product (b**-2 would need a power)."""
    uses = [e for _, e in replacements] + list(reduced)
    powers = {p.base for e in uses for p in e.atoms(sp.Pow)}
    divided, kept = {}, []
    for symbol, expr in replacements:
        expr = expr.xreplace(divided)
        if isinstance(expr, sp.Pow) and expr.exp == -1 and symbol not in powers:
            divided[symbol] = 1 / symbol
            expr = expr.base
        kept.append((symbol, expr))
    return kept, [e.xreplace(divided) for e in reduced]


class Namer:
    """Names for temporaries from the math they hold, unique within one routine."""

    WORDS = {sp.Rational(1, 2): "half", -sp.Rational(1, 2): "neg_half", -1: "neg", 2: "twice"}
    RELATIONS = {"StrictGreaterThan": "gt", "StrictLessThan": "lt", "GreaterThan": "ge"}
    RELATIONS |= {"LessThan": "le", "Equality": "eq", "Unequality": "ne"}

    def __init__(self, taken: set[str]):
        self.taken = set(taken)
        self.inputs: dict[sp.Symbol, set[str]] = {}  # temporary -> the inputs it depends on

    def name(self, op) -> str:
        """A fresh name for the temporary holding ``op``: its description (``exp_neg_x``),
        or the operation and the inputs it depends on (``product_loc_log_scale``)."""
        name = self.describe(op)
        if not name or len(name) > MAX_NAME or not name.isidentifier():
            name = self.head(op)
        base, n = name, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        depends = set().union(*(self.inputs.get(s, {s.name}) for s in op.free_symbols))
        self.inputs[sp.Symbol(name, real=True)] = depends
        return name

    def describe(self, e) -> str | None:
        if e.is_Symbol:
            return e.name
        if e.is_Number:
            return None
        if isinstance(e, sp.Mul):
            coeff, rest = e.as_coeff_Mul()
            word = self.WORDS.get(coeff)
            if word and rest.is_Symbol:
                return f"{word}_{rest.name}"
            parts = [self.describe_factor(f) for f in sp.Mul.make_args(e)]
            return "_".join(parts) if all(parts) else None
        if isinstance(e, sp.Add):
            terms = sorted(e.args, key=lambda t: (t.is_Number, t.could_extract_minus_sign()))
            words = []
            for i, term in enumerate(terms):
                negative = term.could_extract_minus_sign()
                inner = self.describe(-term if negative else term)
                if inner is None and term.is_Number:
                    inner = _number_word(abs(term))
                if inner is None:
                    return None
                words.append(("minus_" if negative else "plus_" if i else "") + inner)
            return "_".join(words)
        if isinstance(e, sp.Pow):
            base = self.describe(e.base)
            power = {2: "sq", -1: "inv", sp.Rational(1, 2): "sqrt", 3: "cube"}.get(e.exp)
            if base and power:
                return f"{power}_{base}" if power in ("inv", "sqrt") else f"{base}_{power}"
            return None
        if isinstance(e, sp.Function):
            inner = [self.describe(a) for a in e.args]
            return f"{_snake(e)}_{'_'.join(inner)}" if all(inner) else None
        if isinstance(e, sp.core.relational.Relational):
            a, b = (self.describe(x) or _number_word(x) for x in e.args)
            word = self.RELATIONS.get(type(e).__name__)
            return f"{a}_{word}_{b}" if a and b and word else None
        return None

    def describe_factor(self, f) -> str | None:
        if f.is_Number:
            return _number_word(f)
        if isinstance(f, sp.Pow) and f.exp == -1:
            inner = self.describe(f.base)
            return inner and f"over_{inner}"
        return self.describe(f)

    def head(self, op) -> str:
        """A short name from the operation and its first named argument: sum_loc, exp_term."""
        word = {sp.Add: "sum", sp.Mul: "product", sp.Pow: "power"}.get(type(op))
        word = word or (_snake(op) if isinstance(op, (sp.Function, sp.Max, sp.Min)) else None)
        word = word or ("where" if isinstance(op, sp.Piecewise) else "condition")
        inputs = sorted(set().union(*(self.inputs.get(s, {s.name}) for s in op.free_symbols)))
        name = "_".join([word, *inputs])
        return name if len(name) <= MAX_NAME else word


def _snake(function) -> str:
    name = type(function).__name__
    return {"Abs": "abs", "Max": "max", "Min": "min"}.get(name) or re.sub(
        r"(?<=[a-z0-9])(?=[A-Z])", "_", name
    ).lower()


def _number_word(x) -> str | None:
    if not x.is_Number:
        return None
    if x.is_Integer and 0 <= x <= 99:
        return str(int(x))
    return {sp.Rational(1, 2): "half"}.get(x)
