"""Printers of the intermediate form (derive/ir.py), one per backend, each holding its state.

:class:`UfuncPrinter` writes numpy: each assignment one or a few ufunc calls into the
target's own buffer (``np.exp(neg_x, out=exp_neg_x)``), so a block of rows allocates
nothing and streams through the cache. :class:`ScalarPrinter` writes one line per assignment
for the compiled (numba) loops, in float64 or float32; :class:`ArrayApiPrinter` one line per
assignment on whole arrays of the inputs' namespace ``xp`` (torch, CuPy, JAX, and numpy's
careful path). The two line printers differ by their module name and function table. All
refuse, naming the kernel and the sub-expression, what they cannot evaluate.
"""

import sympy as sp
from sympy.codegen.ast import Assignment
from sympy.codegen.cfunctions import expm1, log1p
from sympy.printing.numpy import NumPyPrinter

from klgen.derive import functions
from klgen.derive.ir import Routine, is_atom
from klgen.derive.numerics import Expm1MinusX, HalfExpm1, HalfExpm1MinusX, ScaledExp, TwoSumLo


class Unsupported(ValueError):
    """An expression no printer of klgen can evaluate; the message names it."""


# SymPy function -> numpy ufunc, for one-argument functions both printers call as they are.
UFUNCS = {
    sp.exp: "exp",
    sp.log: "log",
    log1p: "log1p",
    expm1: "expm1",
    sp.Abs: "absolute",
    sp.sign: "sign",
    sp.tanh: "tanh",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.atan: "arctan",
    sp.asinh: "arcsinh",
}
BINARY = {sp.Max: "maximum", sp.Min: "minimum", functions.logaddexp: "logaddexp"}
# Functions evaluated by the package's _functions module (numpy) or _numba_functions
# (compiled): name there, and whether it also takes the series of e^t - 1 - t.
HELPERS = {
    functions.sigmoid: "sigmoid",
    functions.softplus: "softplus",
    functions.xlogy: "xlogy",
    functions.softplus_bregman: "softplus_bregman",
    functions.sigmoid_difference: "sigmoid_difference",
    functions.exp_difference: "exp_difference",
    functions.exp_bregman: "exp_bregman",
    functions.exp_gap: "exp_gap",
    functions.exp_of_difference: "exp_of_difference",
    functions.difference_of_differences: "difference_of_differences",
    functions.difference_of_differences_error: "difference_of_differences_error",
    functions.exp_of_difference_error: "exp_of_difference_error",
    functions.exp_product: "exp_product",
    functions.log_exprel: "log_exprel",
    functions.log_exprel_slope: "log_exprel_slope",
    functions.exprel: "exprel",
    functions.rounded_sum: "rounded_sum",
    functions.sum_error: "sum_error",
    functions.product_error: "product_error",
    functions.small_error: "small_error",
    **{f: f.__name__ for f in functions.GAMMA_FUNCTIONS},  # stirling_bregman, ...
    sp.Heaviside: "heaviside",
    Expm1MinusX: "expm1_minus_x",
}
# Nodes of derive/numerics.py that only the numpy printer evaluates, by a function of the
# _numeric module taking one work buffer: ``name(*args, work, out=)``.
WORK_HELPERS = {TwoSumLo: "two_sum_lo", ScaledExp: "scaled_exp"}
RELATIONS = {
    sp.StrictGreaterThan: ("greater", ">"),
    sp.StrictLessThan: ("less", "<"),
    sp.GreaterThan: ("greater_equal", ">="),
    sp.LessThan: ("less_equal", "<="),
    sp.Equality: ("equal", "=="),
    sp.Unequality: ("not_equal", "!="),
}
LOGIC = {sp.And: ("logical_and", "and"), sp.Or: ("logical_or", "or")}


def number(x: sp.Expr) -> str:
    """A float literal that round-trips (integers as floats: the blocks compute in float64)."""
    return repr(float(x))


class _Operands(NumPyPrinter):
    """Atoms as code: names, and numbers as float literals written by ``literal`` (for
    float32 loops ``np.float32(...)``, so that a number does not widen the arithmetic)."""

    def __init__(self, literal: str = "{}"):
        super().__init__()
        self.literal = literal

    def _print_Symbol(self, expr):
        return expr.name

    def _print_Number(self, expr):
        return self.literal.format(number(expr))

    _print_Float = _print_Rational = _print_Integer = _print_Number


class _Conditions:
    """The walk over a condition that every printer shares (true/false, symbols, relations,
    And/Or, Not); a printer spells the operations (:meth:`relation`, :meth:`logic`,
    :meth:`negation`) and names its ``backend`` for errors."""

    backend = "numpy"
    kernel: str

    def operand(self, expr) -> str:
        raise NotImplementedError

    def condition(self, c) -> str:
        if c.is_Symbol:
            return c.name
        if c in (sp.true, sp.false):
            return repr(bool(c))
        if type(c) in RELATIONS:
            return self.relation(type(c), *(self.operand(x) for x in c.args))
        if type(c) in LOGIC:
            return self.logic(type(c), [self.condition(x) for x in c.args])
        if isinstance(c, sp.Not):
            return self.negation(self.condition(c.args[0]))
        raise self.unsupported(f"the condition {c}")

    def unsupported(self, what) -> Unsupported:
        return Unsupported(f"kernel {self.kernel!r}: no {self.backend} evaluation of {what}")

    def relation(self, op, a: str, b: str) -> str:
        return f"({a} {RELATIONS[op][1]} {b})"

    def logic(self, op, operands: list[str]) -> str:
        return "(" + f" {LOGIC[op][1]} ".join(operands) + ")"

    def negation(self, operand: str) -> str:
        return f"(not {operand})"


class _LogicCalls(_Conditions):
    """And, Or and Not spelled as calls of the namespace ``module`` (arrays have no
    ``and``): ``np.logical_and(a, b)``."""

    module: str

    def logic(self, op, operands: list[str]) -> str:
        first, *rest = operands
        for other in rest:
            first = f"{self.module}.{LOGIC[op][0]}({first}, {other})"
        return first

    def negation(self, operand: str) -> str:
        return f"{self.module}.logical_not({operand})"


class _Calls(_LogicCalls):
    """Conditions spelled as ufunc calls of ``module``, relations too: ``np.greater(a, b)``."""

    module = "np"

    def relation(self, op, a: str, b: str) -> str:
        return f"{self.module}.{RELATIONS[op][0]}({a}, {b})"


class UfuncPrinter(_Calls):
    """Numpy statements for a routine: every temporary a buffer of its own from ``scratch``
    (one quantity per buffer), outputs written into the buffers the block is given.

    ``reductions`` are (expression, output names) pairs, e.g. ``("np.sum({}, axis=-1)",
    ("terms",))``: each is accumulated into ``accumulator`` (``rows = ...``, then
    ``rows += ...``) right after the statement that completes its outputs, which are read
    where they are (not copied into buffers of their own). With ``reuse``, a scratch buffer
    is taken back after the last use of the quantity it holds and given to a later one
    (``half_x = s0``): fewer buffers stay in the cache, and a reduced piece is summed while
    it is still in it.
    """

    def __init__(
        self,
        routine: Routine,
        kernel_name: str,
        params: set[str],
        reductions=(),
        accumulator="rows",
        reuse=False,
    ):
        self.routine = routine
        self.kernel = kernel_name
        self.params = params  # outputs the block is given as buffers; others are scratch
        self.reductions = tuple(reductions)
        self.views = {name for _, names in self.reductions for name in names}
        self.accumulator = accumulator
        self.reuse = reuse
        self.atoms = _Operands()
        self.lines: list[str] = []
        self.scratch: list[str] = []  # float buffers, in scratch order
        self.free: list[str] = []  # with reuse: buffers whose quantity is dead, last freed last
        self.helpers: set[str] = set()
        self.work: str | None = None  # without reuse: the helpers' work buffer
        self.accumulating = False  # a reduction has been written into the accumulator
        self.filled: dict[str, str] = {}  # number -> the scratch buffer filled with it
        self.taken = {s.name for s in (*routine.inputs, *routine.temporaries)} | set(params)
        self.taken |= set(routine.outputs)

    def operand(self, expr) -> str:
        return self.atoms.doprint(expr)

    def fresh(self, prefix: str) -> str:
        """A new scratch buffer named ``prefix`` and a number, taken by no quantity."""
        n = 0
        while f"{prefix}{n}" in self.taken | set(self.scratch):
            n += 1
        self.scratch.append(f"{prefix}{n}")
        return self.scratch[-1]

    def statements(self) -> list[str]:
        ready = self.ready()
        last = {}  # name -> index of the last statement reading it (outputs: never freed)
        for i, statement in enumerate(self.routine.statements):
            last |= {s.name: i for s in statement.rhs.free_symbols}
        for (_, names), at in zip(self.reductions, ready, strict=True):
            for name in names:
                last |= {s.name: max(at, last.get(s.name, at)) for s in self.symbols(name)}
        kept = set(self.routine.outputs) - self.views
        last |= {s.name: len(self.routine.statements) for n in kept for s in self.symbols(n)}
        self.reduce_at(-1, ready)
        held = {}  # with reuse: temporary -> its buffer
        # With reuse, a temporary that is an output given as a buffer is computed in it.
        direct = {}
        for name, value in self.routine.outputs.items():
            if self.reuse and name in self.params and value in self.routine.temporaries:
                direct.setdefault(value.name, name)
        for i, statement in enumerate(self.routine.statements):
            target = statement.lhs.name
            boolean = isinstance(statement.rhs, sp.logic.boolalg.Boolean)
            if not boolean and target not in self.params:
                if target in direct:
                    self.lines.append(f"{target} = {direct[target]}")
                elif self.reuse:
                    held[target] = self.inherited(statement, held, last, i) or (
                        self.free.pop() if self.free else self.fresh("s")
                    )
                    self.lines.append(f"{target} = {held[target]}")
                else:
                    self.scratch.append(target)
            self.assign(statement)
            self.reduce_at(i, ready)
            for name in [n for n in held if last.get(n, i) <= i]:
                self.free.append(held.pop(name))
        for name, value in self.routine.outputs.items():
            if value.is_Symbol and value.name == name or name in self.views and is_atom(value):
                continue
            if direct.get(str(value)) == name:
                continue
            if name not in self.params:
                self.scratch.append(name)
            self.lines.append(f"np.copyto({name}, {self.operand(value)})")
        fills = [f"{buffer}.fill({value})" for value, buffer in self.filled.items()]
        return fills + self.lines

    def inherited(self, statement: Assignment, held: dict, last: dict, i: int) -> str | None:
        """The buffer of an operand whose last use is ``statement``, when the statement is
        one elementwise ufunc call (which may write over its own input): taken from
        ``held``, so that it is not freed again."""
        if not isinstance(statement.rhs, (sp.Add, sp.Mul, sp.Pow)) and not (
            type(statement.rhs) in UFUNCS or type(statement.rhs) in BINARY
        ):
            return None
        dying = [s.name for s in statement.rhs.free_symbols if s.name in held]
        dying = sorted(n for n in dying if last.get(n) == i)
        if not dying:
            return None
        start = len(self.lines)
        self.assign(statement)  # a dry run: how many calls the statement takes
        calls = len(self.lines) - start
        del self.lines[start:]
        return held.pop(dying[0]) if calls == 1 else None

    def symbols(self, output: str) -> set[sp.Symbol]:
        return self.routine.outputs[output].free_symbols

    def ready(self) -> list[int]:
        """For each reduction, the index of the statement completing its outputs (-1: they
        are inputs or numbers)."""
        defined = {s.lhs: i for i, s in enumerate(self.routine.statements)}
        return [
            max((defined.get(s, -1) for n in names for s in self.symbols(n)), default=-1)
            for _, names in self.reductions
        ]

    def reduce_at(self, index: int, ready: list[int]) -> None:
        """Accumulate the reductions whose outputs statement ``index`` completes."""
        for (expression, names), at in zip(self.reductions, ready, strict=True):
            if at == index:
                operands = (self.operand(self.routine.outputs[n]) for n in names)
                verb = "+=" if self.accumulating else "="
                self.lines.append(f"{self.accumulator} {verb} {expression.format(*operands)}")
                self.accumulating = True

    def emit(self, function: str, *operands: str, out: str) -> None:
        self.lines.append(f"np.{function}({', '.join(operands)}, out={out})")

    def assign(self, statement: Assignment) -> None:
        out, rhs = statement.lhs.name, statement.rhs
        if isinstance(rhs, sp.logic.boolalg.Boolean):
            self.lines.append(f"{out} = {self.condition(rhs)}")
        elif isinstance(rhs, sp.Add):
            self.add(rhs, out)
        elif isinstance(rhs, sp.Mul):
            self.multiply(rhs, out)
        elif isinstance(rhs, sp.Pow):
            self.power(rhs, out)
        elif isinstance(rhs, sp.Piecewise):
            self.piecewise(rhs, out)
        elif type(rhs) in UFUNCS:
            self.emit(UFUNCS[type(rhs)], self.operand(rhs.args[0]), out=out)
        elif type(rhs) in BINARY:
            first, *rest = (self.binary_operand(a) for a in rhs.args)
            for other in rest:
                self.emit(BINARY[type(rhs)], first, other, out=out)
                first = out
        elif type(rhs) in HELPERS:
            self.helper(rhs, out)
        elif type(rhs) in WORK_HELPERS:
            self.work_helper(rhs, out)
        else:
            raise self.unsupported(rhs)

    def binary_operand(self, expr) -> str:
        """An operand of maximum, minimum or logaddexp: a number as a scratch buffer filled
        with it (``filled``), since numpy evaluates these of an array and a number in a
        scalar loop, at 3x the time of two arrays (numpy 2.4, AVX-512)."""
        if not expr.is_Number:
            return self.operand(expr)
        value = number(expr)
        if value not in self.filled:
            self.filled[value] = self.fresh("filled")
        return self.filled[value]

    def add(self, rhs: sp.Add, out: str) -> None:
        """Terms left to right, positive ones first, the constant last; c - t (one term) as
        one subtraction, the same rounding as -t + c in one pass less."""
        constant, rest = rhs.as_coeff_Add()
        if constant and isinstance(rest, sp.Mul) and rest.could_extract_minus_sign():
            self.emit("subtract", number(constant), self.operand(-rest), out=out)
            return
        terms = sorted(sp.Add.make_args(rest), key=lambda t: t.could_extract_minus_sign())
        acc = None
        for term in terms:
            negative = term.could_extract_minus_sign()
            code = self.operand(-term if negative else term)
            if acc is None:
                if negative:
                    self.emit("negative", code, out=out)
                    acc = out
                else:
                    acc = code
                continue
            self.emit("subtract" if negative else "add", acc, code, out=out)
            acc = out
        if constant:
            self.emit("add", acc, number(constant), out=out)
            acc = out
        if acc != out:
            self.lines.append(f"np.copyto({out}, {acc})")

    def multiply(self, rhs: sp.Mul, out: str) -> None:
        """The coefficient first: 0.5*u*u is (0.5*u)*u, finite while the result is."""
        coeff, rest = rhs.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        over = [f.base for f in factors if isinstance(f, sp.Pow) and f.exp == -1]
        times = _repeated([f for f in factors if not (isinstance(f, sp.Pow) and f.exp == -1)])
        acc = number(coeff) if not times else self.operand(times[0])
        coeff, divisor = _as_division(coeff) if times else (coeff, None)
        if divisor is not None:  # x/3 rounds once; x*fl(1/3) twice
            self.emit("divide", acc, number(divisor), out=out)
            acc = out
        if times and coeff == -1:
            self.emit("negative", acc, out=out)
            acc = out
        elif times and coeff != 1:
            self.emit("multiply", acc, number(coeff), out=out)
            acc = out
        for factor in times[1:]:
            self.emit("multiply", acc, self.operand(factor), out=out)
            acc = out
        for factor in over:
            self.emit("divide", acc, self.operand(factor), out=out)
            acc = out
        if acc != out:
            self.lines.append(f"np.copyto({out}, {acc})")

    def power(self, rhs: sp.Pow, out: str) -> None:
        base, exp = self.operand(rhs.base), rhs.exp
        if exp == 2:
            self.emit("square", base, out=out)
        elif exp == -1:
            self.emit("divide", "1.0", base, out=out)
        elif exp == sp.Rational(1, 2):
            self.emit("sqrt", base, out=out)
        elif exp == -sp.Rational(1, 2):
            self.emit("sqrt", base, out=out)
            self.emit("divide", "1.0", out, out=out)
        elif rhs.base == 2:
            self.emit("exp2", self.operand(exp), out=out)
        elif exp.is_Integer and 3 <= exp <= 4:
            self.emit("multiply", base, base, out=out)
            for _ in range(int(exp) - 2):
                self.emit("multiply", out, base, out=out)
        else:
            self.emit("power", base, self.operand(exp), out=out)

    def piecewise(self, rhs: sp.Piecewise, out: str) -> None:
        """The last piece everywhere, then each earlier piece where its condition holds
        (so the first true condition wins, as in SymPy)."""
        (last, otherwise), *earlier = reversed(rhs.args)
        self.lines.append(f"np.copyto({out}, {self.operand(last)})")
        if otherwise != sp.true:
            self.lines.append(f"np.copyto({out}, np.nan, where=~{self.condition(otherwise)})")
        for value, condition in earlier:
            self.lines.append(
                f"np.copyto({out}, {self.operand(value)}, where={self.condition(condition)})"
            )

    def helper(self, rhs, out: str) -> None:
        name = HELPERS[type(rhs)]
        self.helpers.add(name)
        args = [self.operand(a) for a in rhs.args]
        if isinstance(rhs, sp.Heaviside):
            args = args[:1]
        if isinstance(rhs, Expm1MinusX):
            args.append("series")
        self.lines.append(f"{name}({', '.join(args)}, out={out})")

    def work_helper(self, rhs, out: str) -> None:
        name = WORK_HELPERS[type(rhs)]
        args = rhs.args
        if isinstance(rhs, ScaledExp):
            if args[3:] != (1, 0):
                raise self.unsupported(rhs)
            args = args[:3]  # (a - b) e^x: the one form _numeric.scaled_exp takes
        if self.reuse:  # a buffer of the pool, back in it after the call
            work = self.free.pop() if self.free else self.fresh("s")
            self.free.append(work)
        else:
            self.work = work = self.work or self.fresh("work")
        self.helpers.add(name)
        operands = ", ".join(self.operand(a) for a in args)
        self.lines.append(f"{name}({operands}, {work}, out={out})")


def _as_division(coeff: sp.Expr) -> tuple[sp.Expr, sp.Integer | None]:
    """(sign, q) for a coefficient +-1/q whose float is inexact (q not a power of 2): a
    division by q rounds once, a product with fl(1/q) twice; else (coeff, None)."""
    if not coeff.is_Rational or abs(coeff.p) != 1 or coeff.q == 1 or coeff.q & (coeff.q - 1) == 0:
        return coeff, None
    return sp.Integer(coeff.p), sp.Integer(coeff.q)


def _repeated(factors) -> list[sp.Expr]:
    """The factors of a product with each x**n (n > 1 an integer) as n factors x, in place."""
    expanded = []
    for f in factors:
        power = isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp > 1
        expanded.extend([f.base] * int(f.exp) if power else [f])
    return expanded


# numpy's names of UFUNCS and BINARY that the array API standard spells otherwise.
ARRAY_API_NAMES = {"absolute": "abs", "arctan": "atan", "arcsinh": "asinh"}


class ScalarPrinter(_Conditions):
    """Scalar statements for one element (the compiled loops): one line per assignment,
    computed in ``dtype`` ("float64" or "float32": then every number is an ``np.float32``
    and the nodes of derive/numerics.py call the ``_f32`` helpers of ``_numba_exp``, so that
    numba computes float32 inputs in float32). ``targets`` renames outputs where the loop
    stores them (``{"kl": "kl_terms[j]"}``); ``helpers`` collects the functions called."""

    backend = "compiled"
    module = "np"
    SUFFIXES = {"float64": "", "float32": "_f32"}  # compute type -> helper name suffix
    FUNCTIONS = HELPERS  # the functions of the helper modules it calls, by SymPy function

    def __init__(self, routine: Routine, kernel_name: str, targets=None, dtype="float64"):
        self.routine = routine
        self.kernel = kernel_name
        self.targets = dict(targets or {})
        self.suffix = self.SUFFIXES[dtype]
        self.atoms = _Operands("{}" if dtype == "float64" else "np.float32({})")
        self.helpers: set[str] = set()

    def operand(self, expr) -> str:
        return self.atoms.doprint(expr)

    def statements(self) -> list[str]:
        lines = [f"{self.target(s.lhs.name)} = {self.expr(s.rhs)}" for s in self.routine.statements]
        for name, value in self.routine.outputs.items():
            if not (value.is_Symbol and value.name == name):
                lines.append(f"{self.target(name)} = {self.argument(value)}")
        return lines

    def target(self, name: str) -> str:
        return self.targets.get(name, name)

    def argument(self, expr) -> str:
        """An operand where a function takes it (or it stands alone as a value)."""
        return self.operand(expr)

    def nan(self) -> str:
        return f"{self.module}.nan"

    def function(self, name: str) -> str:
        """The namespace's spelling of the numpy function ``name``."""
        return f"{self.module}.{name}"

    def call(self, name: str, *args: str) -> str:
        """``name(args)``, recorded in ``helpers``."""
        self.helpers.add(name)
        return f"{name}({', '.join(args)})"

    def expr(self, rhs) -> str:
        if isinstance(rhs, sp.logic.boolalg.Boolean):
            return self.condition(rhs)
        for kind, method in self.FORMS:
            if isinstance(rhs, kind):
                return getattr(self, method)(rhs)
        if type(rhs) in UFUNCS:
            return f"{self.function(UFUNCS[type(rhs)])}({self.argument(rhs.args[0])})"
        if type(rhs) in BINARY:
            code, *rest = (self.argument(a) for a in rhs.args)
            for other in rest:
                code = f"{self.function(BINARY[type(rhs)])}({code}, {other})"
            return code
        code = self.node(rhs)
        if code is None:
            raise self.unsupported(rhs)
        return code

    def add(self, rhs: sp.Add) -> str:
        constant, rest = rhs.as_coeff_Add()
        code = ""
        for term in sorted(sp.Add.make_args(rest), key=lambda t: t.could_extract_minus_sign()):
            negative = term.could_extract_minus_sign()
            value = self.operand(-term if negative else term)
            sign = (" - " if code else "-") if negative else (" + " if code else "")
            code += sign + value
        if constant:
            magnitude = self.operand(abs(constant))
            code += f" - {magnitude}" if constant < 0 else f" + {magnitude}"
        return code

    def multiply(self, rhs: sp.Mul) -> str:
        """The coefficient first: 0.5*u*u is (0.5*u)*u, finite while the result is."""
        coeff, rest = rhs.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        over = [self.operand(f.base) for f in factors if isinstance(f, sp.Pow) and f.exp == -1]
        kept = [f for f in factors if not (isinstance(f, sp.Pow) and f.exp == -1)]
        times = [self.operand(f) for f in _repeated(kept)]
        coeff, divisor = _as_division(coeff) if times else (coeff, None)
        if divisor is not None:  # x/3 rounds once; x*fl(1/3) twice
            times[0] = f"{times[0]} / {self.operand(divisor)}"
        if coeff not in (1, -1):
            times.insert(0, self.operand(coeff))
        code = " / ".join([" * ".join(times) or self.operand(sp.S.One), *over])
        return "-" + code if coeff == -1 else code

    def power(self, rhs: sp.Pow) -> str:
        base = self.operand(rhs.base)
        if rhs.exp == 2:
            return f"{base} * {base}"
        if rhs.exp == -1:
            return f"{self.operand(sp.S.One)} / {base}"
        if rhs.exp == sp.Rational(1, 2):
            return f"{self.function('sqrt')}({base})"
        return f"{base} ** {self.operand(rhs.exp)}"

    def piecewise(self, rhs: sp.Piecewise) -> str:
        """The first true condition wins, as in SymPy; no true one gives NaN."""
        (last, otherwise), *earlier = reversed(rhs.args)
        code = self.argument(last)
        if otherwise != sp.true:
            code = self.choose(otherwise, code, self.nan())
        for value, condition in earlier:
            code = self.choose(condition, self.argument(value), code)
        return code

    def choose(self, condition, then: str, otherwise: str) -> str:
        return f"({then} if {self.condition(condition)} else {otherwise})"

    FORMS = ((sp.Add, "add"), (sp.Mul, "multiply"), (sp.Pow, "power"), (sp.Piecewise, "piecewise"))

    def node(self, rhs) -> str | None:
        """A function of the helper modules: the nodes of derive/numerics.py from
        ``_numba_exp`` (typed by the suffix), the others from ``_numba_functions``."""
        args = [self.operand(a) for a in rhs.args]
        if isinstance(rhs, (HalfExpm1, HalfExpm1MinusX)):
            name = "half_expm1" if isinstance(rhs, HalfExpm1) else "half_expm1_minus_x"
            a, b = rhs.args
            if b == 0:
                return self.call(name + self.suffix, args[0])
            return self.call(f"{name}_diff{self.suffix}", *args)
        if isinstance(rhs, ScaledExp):
            return self.call("scaled_exp" + self.suffix, *args[:3], *map(str, rhs.args[3:]))
        if type(rhs) in self.FUNCTIONS:
            return self.call(
                self.FUNCTIONS[type(rhs)], *(args[:1] if isinstance(rhs, sp.Heaviside) else args)
            )
        return None


class JaxPrinter(_LogicCalls, ScalarPrinter):
    """Statements on whole JAX arrays (``jnp``), computed in ``dtype`` ("float64" or
    "float32"): the compiled loops' lines with ``jnp.where`` for their branches, the nodes
    of derive/numerics.py calling the array helpers of ``_jax_exp`` (the compiled loops'
    ``_numba_exp`` helpers on arrays, typed by the suffix: float32's reduction constants
    and series for float32). Numbers are Python floats, which JAX types weakly, so a
    float32 array keeps float32 arithmetic. Its table has no ``_functions`` helper (softplus,
    log-gamma, ...): a routine calling one is refused, and its kernel keeps the host path."""

    backend = "JAX"
    module = "jnp"
    FUNCTIONS: dict = {}

    def __init__(self, routine: Routine, kernel_name: str, targets=None, dtype="float64"):
        super().__init__(routine, kernel_name, targets, dtype)
        self.atoms = _Operands()

    def choose(self, condition, then: str, otherwise: str) -> str:
        return f"jnp.where({self.condition(condition)}, {then}, {otherwise})"


class ArrayApiPrinter(_LogicCalls, ScalarPrinter):
    """Statements on whole arrays of the namespace ``xp`` (array API standard names), in
    float64: the careful helpers of ``_numeric`` for the nodes of derive/numerics.py, the
    ``_generic`` twins of ``_functions`` for users' functions. Relations are operators
    (``x > 0.0``), which every array library takes with a Python number; where a function
    takes a number, it gets ``xp.full_like(like, number)``, ``like`` naming an array of the
    result's shape (without one, a number there is refused)."""

    backend = "array-API"
    module = "xp"
    # node -> (the _numeric function, whether it also takes the series of e^t - 1 - t)
    GENERIC = {
        HalfExpm1: ("half_expm1_generic", False),
        HalfExpm1MinusX: ("half_expm1_minus_x_generic", True),
        ScaledExp: ("scaled_exp_generic", False),
        Expm1MinusX: ("expm1_minus_x_generic", True),
    }

    def __init__(self, routine: Routine, kernel_name: str, targets=None, like: str | None = None):
        super().__init__(routine, kernel_name, targets)
        self.like = like
        self.uses_like = False  # a line reads ``like``

    def argument(self, expr) -> str:
        if not expr.is_Number:
            return self.operand(expr)
        if self.like is None:
            raise self.unsupported(f"the number {expr} as a function's argument")
        self.uses_like = True
        return f"xp.full_like({self.like}, {self.operand(expr)})"

    def nan(self) -> str:
        if self.like is None:
            raise self.unsupported("a Piecewise without an otherwise branch")
        self.uses_like = True
        return f"xp.full_like({self.like}, xp.nan)"

    def function(self, name: str) -> str:
        return f"xp.{ARRAY_API_NAMES.get(name, name)}"

    def choose(self, condition, then: str, otherwise: str) -> str:
        return f"xp.where({self.condition(condition)}, {then}, {otherwise})"

    def node(self, rhs) -> str | None:
        if type(rhs) in HELPERS and type(rhs) not in self.GENERIC:
            args = [self.argument(a) for a in rhs.args]
            args = args[:1] if isinstance(rhs, sp.Heaviside) else args
            return self.call(f"{HELPERS[type(rhs)]}_generic", "xp", *args)
        if type(rhs) not in self.GENERIC:
            return None
        name, series = self.GENERIC[type(rhs)]
        # The careful helpers take numbers as they are (b = 0 of a half, ScaledExp's n, s).
        args = [self.operand(a) for a in rhs.args]
        if isinstance(rhs, ScaledExp):
            args[3:] = map(str, rhs.args[3:])
        return self.call(name, "xp", *args, *(["series"] if series else []))
