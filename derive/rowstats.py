"""Kernels made of row statistics: divergences whose last axis is the one they reduce
themselves (the categories of a categorical distribution), part of the spec API.

Such a kernel is a sequence of :class:`Statistic` ``R_k = reduce_k(summand_k)`` over the last
axis, each summand an elementwise expression in the arguments and the statistics before it,
and a row value ``f(R)``. Its gradients come by reverse mode over the statistics: the
adjoint of ``R_k`` is ``df/dR_k`` plus, for every later statistic ``R_m``, its adjoint times
the row sum of ``d summand_m / dR_k``; such a row sum is written as statistics already there
where it is one of their summands times a factor free of the arguments (``-sum_j
e^(x_j - m) = -s``), and becomes a further statistic otherwise. A ``max`` statistic is a
shift (a log-sum-exp's maximum): its adjoint must come out as exactly 0, or the spec is
refused. The gradient of an element is then elementwise in the arguments and statistics.

A spec may give its own forms of the gradients (``gradient_forms``, stable where the
reverse-mode ones are not); they and the reverse-mode ones are compared with the row value's
central differences at 120 digits for rows of 1 to 4 elements (:func:`gradients_agree`).
Row sums in a spec's derivation steps are :func:`row_sum` (``sp.Sum`` over the row: the
arguments inside one stand for its element j), realized the same way by :func:`explicit`.
"""

import operator
import random
from dataclasses import dataclass
from functools import cache

import mpmath
import sympy as sp

from klgen.derive.errors import SpecError
from klgen.derive.rewrites import exact as as_exact

REDUCTIONS = ("sum", "max")
INDEX, LENGTH = sp.Symbol("j", integer=True, positive=True), sp.Symbol("K", integer=True)
SIZES = (1, 2, 3, 4)  # the row lengths the gradient and derivation checks realize
SCALES = (40, 4000)  # the magnitudes of their random points: moderate, then large
# Those of a kernel of lgamma's family: its textbook terms at e^4000 are about 4000 e^4000
# each and cancel beyond the checks' 55 digits; e^12 still takes the large branches.
GAMMA_SCALES = (2, 12)


@dataclass(frozen=True)
class Statistic:
    """``symbol = reduce over the last axis of summand``: ``reduce`` is "sum" or "max" (a
    shift only: the kernel's value must not depend on it, as a log-sum-exp's maximum);
    ``summand`` is elementwise in the kernel's arguments and earlier statistics.
    ``compensated`` sums in twice the precision (every addition's rounding error kept by
    two-sum and added last): for a sum whose terms cancel to far below their sizes, where
    a plain sum keeps eps of its largest partial sum."""

    symbol: sp.Symbol
    summand: sp.Expr
    reduce: str = "sum"
    compensated: bool = False

    def __post_init__(self):
        try:
            object.__setattr__(self, "summand", sp.sympify(self.summand, strict=True))
        except (sp.SympifyError, TypeError) as err:
            raise ValueError(f"statistic {self.symbol}: summand {self.summand!r}") from err


def row_sum(expr) -> sp.Sum:
    """The sum of ``expr`` over the row (a derivation step's notation): the arguments inside
    stand for element j; shown as sum_j, realized for rows of given lengths by
    :func:`explicit`."""
    return sp.Sum(expr, (INDEX, 1, LENGTH))


class RowMax(sp.Function):
    """The maximum of its argument over the row (a derivation step's notation, as
    :func:`row_sum`)."""

    nargs = 1

    def _latex(self, printer):
        return rf"\max_{{j}} \left({printer._print(self.args[0])}\right)"


def written(expr, kernel) -> sp.Expr:
    """``expr`` with each statistic replaced by its row sum or maximum (nested), so that it
    reads in the arguments alone."""
    values: dict = {}
    for stat in kernel.statistics:
        summand = stat.summand.xreplace(values)
        values[stat.symbol] = row_sum(summand) if stat.reduce == "sum" else RowMax(summand)
    return sp.sympify(expr).xreplace(values)


def validate(kernel, fail, reserved) -> None:
    """``fail(problem)`` unless ``kernel``'s statistics, row value and gradient forms are
    well formed (see :class:`Statistic`); no statistic may take a name of ``reserved``."""
    known = set(kernel.args)
    if kernel.reduce != "sum":
        fail("reduce does not apply to a kernel of statistics (they say how rows reduce)")
    for stat in kernel.statistics:
        if not isinstance(stat, Statistic):
            fail(f"statistics must be klgen.Statistic, not {type(stat).__name__}")
        name = getattr(stat.symbol, "name", None)
        if not isinstance(stat.symbol, sp.Symbol) or not name.isidentifier():
            fail(f"a statistic's symbol must be a SymPy symbol named as an identifier: {name}")
        if stat.symbol in known or name.startswith("_") or name in reserved:
            fail(f"statistic {name} repeats or shadows a name in use")
        if stat.reduce not in REDUCTIONS:
            fail(f"statistic {name}: reduce must be 'sum' or 'max', not {stat.reduce!r}")
        if stat.compensated and stat.reduce != "sum":
            fail(f"statistic {name}: only a sum can be compensated")
        unknown = stat.summand.free_symbols - known
        if unknown:
            fail(f"statistic {name} uses {_names(unknown)}, not among args or earlier statistics")
        if stat.summand.has(sp.I, sp.zoo, sp.nan, sp.oo):
            fail(f"statistic {name}: summand is not a finite real expression")
        known.add(stat.symbol)
    stats = {s.symbol for s in kernel.statistics}
    if kernel.term.free_symbols - stats:
        outside = _names(kernel.term.free_symbols - stats)
        fail(f"term must be the row value in the statistics; it uses {outside}")
    forms = kernel.gradient_forms
    if forms is not None:
        if len(forms) != len(kernel.args):
            fail(f"gradient_forms needs one expression per argument ({len(kernel.args)})")
        for form in forms:
            if sp.sympify(form).free_symbols - known:
                fail(f"a gradient form uses {_names(sp.sympify(form).free_symbols - known)}")


def _names(symbols) -> str:
    return ", ".join(sorted(map(str, symbols)))


@dataclass(frozen=True)
class RowPlan:
    """What the generated code computes: every statistic in order (the kernel's, then the
    reverse mode's further row sums), the row value, and each argument's gradient
    (elementwise in the arguments and statistics): the spec's forms where it gives them, else
    the reverse mode's."""

    args: tuple[sp.Symbol, ...]
    statistics: tuple[Statistic, ...]
    value: sp.Expr
    gradients: tuple[sp.Expr, ...]

    def needed(self, exprs) -> tuple[Statistic, ...]:
        """The statistics ``exprs`` read, directly or through other statistics, in order."""
        wanted = set().union(*(sp.sympify(e).free_symbols for e in exprs))
        for stat in reversed(self.statistics):
            if stat.symbol in wanted:
                wanted |= stat.summand.free_symbols
        return tuple(s for s in self.statistics if s.symbol in wanted)


@cache
def plan(kernel) -> RowPlan:
    """The kernel's statistics and gradients: the spec's forms where it gives them, else by
    reverse mode (the module docstring); a SpecError when the value changes with a max
    statistic moved by a constant. Given forms, the reverse mode is not taken (its adjoints
    of the Dirichlet KL's statistics, routed through row sums by SymPy's cancel, took over
    ten minutes) and each max statistic is checked as a shift by :func:`_is_shift` alone."""
    if kernel.gradient_forms:
        for stat in kernel.statistics:
            if stat.reduce == "max":
                _require_shift(kernel, stat.symbol)
        forms = tuple(map(sp.sympify, kernel.gradient_forms))
        return RowPlan(tuple(kernel.args), tuple(kernel.statistics), kernel.term, forms)
    stats = list(kernel.statistics)
    extra: list[Statistic] = []
    adjoint: dict[sp.Symbol, sp.Expr] = {}
    for k in reversed(range(len(stats))):
        symbol = stats[k].symbol
        bar = sp.diff(kernel.term, symbol)
        for later in stats[k + 1 :]:
            h = sp.diff(later.summand, symbol)
            if later.reduce == "sum" and h != 0:
                bar += adjoint[later.symbol] * _row_sum_of(h, stats, extra, kernel.args)
        adjoint[symbol] = _simplified(bar)
        if stats[k].reduce == "max" and adjoint[symbol] != 0:
            _require_shift(kernel, symbol)
            adjoint[symbol] = sp.Integer(0)  # what the row identities make of it
    derived = tuple(
        _simplified(
            sum(
                (adjoint[s.symbol] * sp.diff(s.summand, arg) for s in stats if s.reduce == "sum"),
                sp.Integer(0),
            )
        )
        for arg in kernel.args
    )
    return RowPlan(tuple(kernel.args), (*stats, *extra), kernel.term, derived)


def _require_shift(kernel, symbol) -> None:
    """A SpecError unless the max statistic ``symbol`` is a shift (:func:`_is_shift`)."""
    if not _is_shift(kernel, symbol):
        raise SpecError(
            f"kernel {kernel.name!r}: the value changes with the max statistic "
            f"{symbol} moved by a constant; a max may only be a shift"
        )


def _is_shift(kernel, symbol) -> bool:
    """Whether the row value stays the same, written out for rows of 1 to 4 elements at
    random points, with the max statistic ``symbol`` moved by a constant (its adjoint may
    vanish through identities between statistics that the algebra above does not see:
    1 + gaps = e^d_mean s_p / s for the categorical KL)."""
    bare = RowPlan(tuple(kernel.args), tuple(kernel.statistics), kernel.term, ())
    term = as_exact(kernel.term)
    source = random.Random("shift")
    for size in SIZES:
        for scale in scales(kernel):
            point = random_point(source, kernel.args, size, scale)
            values = [
                at(term, point | statistic_values(bare, size, point, shift))
                for shift in ({}, {symbol: sp.Rational(7, 3)})
            ]
            if abs(values[0] - values[1]) > sp.Float("1e-20") * max(1, abs(values[0])):
                return False
    return True


def _simplified(expr: sp.Expr) -> sp.Expr:
    """``expr`` with its Piecewise folded and each branch cancelled (an adjoint that is 0 in
    every branch becomes 0)."""
    folded = sp.piecewise_fold(expr)
    if isinstance(folded, sp.Piecewise):
        pieces = [(_cancelled(e), c) for e, c in folded.args]
        if all(e == 0 for e, _ in pieces):
            return sp.Integer(0)
        return sp.Piecewise(*pieces)
    return _cancelled(folded)


def _cancelled(expr: sp.Expr) -> sp.Expr:
    """``expr`` cancelled, its exponentials combined again (e^(x - m), not e^x e^-m, which
    would overflow where the shifted one does not)."""
    return sp.powsimp(sp.factor_terms(sp.cancel(expr)), combine="exp")


def _row_sum_of(h, stats, extra, args) -> sp.Expr:
    """sum_j h(x_j, R) in statistics: the whole of ``h``, or each of its terms (then each
    term of those expanded), as a factor free of the arguments times a sum statistic's
    summand; what is left, a new statistic (appended to ``extra``)."""
    found, rest = sp.Integer(0), sp.Integer(0)
    pending = [h]
    for depth in range(3):
        unmatched = []
        for term in pending:
            match = _as_statistic(term, stats + extra, args)
            if match is None:
                unmatched.append(term)
            else:
                found += match
        if depth == 0:
            pending = [t for u in unmatched for t in sp.Add.make_args(u)]
        else:
            pending = [t for u in unmatched for t in sp.Add.make_args(_expanded(u))]
        rest = sp.Add(*unmatched)
    if rest != 0:
        symbol = sp.Symbol(f"adjoint_sum{len(extra)}", real=True)
        extra.append(Statistic(symbol, rest))
        found += symbol
    return found


def _expanded(expr):
    return sp.expand(expr, power_exp=False, log=False, multinomial=False)


def _as_statistic(term, stats, args) -> sp.Expr | None:
    """c R when ``term`` is c times the summand of the sum statistic R, c free of ``args``
    (compared in plain functions: klgen's by their definitions)."""
    for stat in stats:
        if stat.reduce != "sum" or not stat.summand.free_symbols & set(args):
            continue
        ratio = sp.powsimp(sp.cancel(as_exact(term) / as_exact(stat.summand)))
        if not ratio.free_symbols & set(args) and not ratio.has(sp.zoo, sp.nan):
            return ratio * stat.symbol
    return None


# --- the checks: rows of concrete length -------------------------------------------------


def element(args, j: int) -> dict:
    """Argument symbol -> the symbol of its element j (``logits_2``)."""
    return {a: sp.Symbol(f"{a.name}_{j}", real=True) for a in args}


def explicit(expr, args, size: int) -> sp.Expr:
    """``expr`` with every :func:`row_sum` and :class:`RowMax` written out over ``size``
    elements, innermost first, in one bottom-up pass (the arguments inside one standing for
    each element in turn; a maximum inside a sum is written out before the sum binds its
    arguments), and the row length K, which a sum SymPy took itself leaves (the sum of 1 is
    K), as ``size``."""

    def write_out(node):
        parts = [node.args[0].xreplace(element(args, j)) for j in range(1, size + 1)]
        return sp.Add(*parts) if isinstance(node, sp.Sum) else sp.Max(*parts, evaluate=False)

    written_out = sp.sympify(expr).replace(lambda e: isinstance(e, (sp.Sum, RowMax)), write_out)
    return written_out.xreplace({LENGTH: sp.Integer(size)})


def _derivatives_taken(expr):
    """``expr`` with the derivatives its nodes' definitions left unevaluated taken (a
    reverse-mode adjoint of a node is d node / d x of the node's argument: once the node is
    its definition, SymPy can take it; written out over a row, x would be an expression of
    the elements, which SymPy cannot differentiate by)."""
    return expr.replace(lambda e: isinstance(e, (sp.Derivative, sp.Subs)), lambda e: e.doit())


def statistic_values(plan_: RowPlan, size: int, point: dict, shifts=None, digits: int = 60) -> dict:
    """Statistic symbol -> its value at ``point`` (``digits``) for a row of ``size`` elements,
    each from the elements and the statistics before it (plus ``shifts[symbol]`` where given:
    a max moved by a constant)."""
    values: dict = {}
    for stat in plan_.statistics:
        summand = _derivatives_taken(as_exact(stat.summand))
        parts = [
            at(summand.xreplace(element(plan_.args, j)), point | values, digits)
            for j in range(1, size + 1)
        ]
        total = sp.Add(*parts) if stat.reduce == "sum" else max(parts)
        values[stat.symbol] = total + (shifts or {}).get(stat.symbol, 0)
    return values


def scales(kernel) -> tuple[int, ...]:
    """The magnitudes of a kernel's random points: GAMMA_SCALES where its row value, written
    in plain functions, has lgamma or psi in it, else SCALES."""
    plain = as_exact(sp.Tuple(kernel.term, *(s.summand for s in kernel.statistics)))
    return GAMMA_SCALES if plain.has(sp.loggamma, sp.polygamma) else SCALES


def random_point(source: random.Random, args, size: int, scale: int) -> dict:
    """Element symbol -> a random rational of magnitude up to ``scale``, for a row."""
    return {
        s: sp.Rational(source.randint(-scale, scale), source.randint(1, 9))
        for j in range(1, size + 1)
        for s in element(args, j).values()
    }


_FUNCTIONS = {
    sp.exp: mpmath.exp,
    sp.log: mpmath.log,
    sp.Abs: abs,
    sp.sign: mpmath.sign,
    sp.Max: max,
    sp.Min: min,
    sp.Heaviside: lambda x, at_0: mpmath.mpf(1 if x > 0 else 0) if x else at_0,  # H(x, H(0))
    sp.Pow: operator.pow,
    sp.loggamma: mpmath.loggamma,
    sp.gamma: mpmath.gamma,
    sp.polygamma: lambda n, z: mpmath.psi(int(n), z),
    sp.Add: lambda *terms: mpmath.fsum(terms),
    sp.Mul: lambda *factors: mpmath.fprod(factors),
    sp.And: lambda *conditions: all(conditions),
    sp.Or: lambda *conditions: any(conditions),
    sp.Not: operator.not_,
    sp.StrictLessThan: operator.lt,
    sp.LessThan: operator.le,
    sp.StrictGreaterThan: operator.gt,
    sp.GreaterThan: operator.ge,
    sp.Equality: operator.eq,
    sp.Unequality: operator.ne,
}


def at(expr, point: dict, digits: int = 30) -> sp.Float:
    """``expr`` (plain SymPy functions) at ``point`` (symbol -> number), to ``digits`` digits:
    each distinct node evaluated once by mpmath at more than twice that precision, so that
    cancellation between the written-out terms of a row (magnitudes up to SCALES[-1]) leaves
    ``digits`` correct. (evalf, or lambdify, which prints the tree without its shared nodes,
    take 10-20 times as long on the written-out rows of the categorical KL.)"""
    bits = 4 * digits + 64
    values: dict = {sp.true: True, sp.false: False}

    def value(node):
        if node not in values:
            if node in point:
                values[node] = sp.sympify(point[node])._to_mpmath(bits)
            elif node.is_Number or node.is_NumberSymbol:
                values[node] = node._to_mpmath(bits)
            elif isinstance(node, sp.Integral):
                values[node] = _quadrature(node, point, value)
            elif isinstance(node, sp.Piecewise):
                values[node] = next(value(e) for e, c in node.args if value(c))
            elif isinstance(node, sp.ITE):  # a condition SymPy wrote as if-then-else
                condition, then, otherwise = node.args
                values[node] = value(then) if value(condition) else value(otherwise)
            elif node.func in _FUNCTIONS:
                values[node] = _FUNCTIONS[node.func](*map(value, node.args))
            else:
                raise TypeError(f"no mpmath evaluation of {node.func.__name__} in {node}")
        return values[node]

    with mpmath.workprec(bits):
        return sp.Float(value(sp.sympify(expr)), digits)


def _quadrature(integral: sp.Integral, point: dict, value) -> mpmath.mpf:
    """A 1-D integral by mpmath's tanh-sinh quadrature at the working precision (it takes the
    integrable singularities of densities at the ends of their supports), its integrand with
    every symbol but the variable at ``point`` (through ``value``, the caller's evaluation)."""
    ((variable, low, high),) = integral.limits
    integrand = integral.function
    known = {s: sp.Float(value(s), mpmath.mp.dps) for s in integrand.free_symbols - {variable}}
    f = sp.lambdify(variable, integrand.xreplace(known), "mpmath")
    return mpmath.quad(f, [value(low), value(high)])


def gradients_agree(plan_: RowPlan, forms, points: int = 2, scales=SCALES) -> bool:
    """Whether ``forms`` (one per argument, elementwise) equal the derivatives of the row
    value, for every element of rows of each length in SIZES, at random rational points (30
    digits, to 1e-20 relative: the derivation checker's numeric cases), moderate and large in
    turn (``scales``, SCALES by default: a branch for large values is checked too). The
    derivative is the value's central difference (:func:`derivative`), not sympy.diff of the
    value written out: that expression, its Piecewise folded over four elements, took SymPy
    over ten minutes for the Dirichlet KL."""
    source = random.Random("rowstats")
    forms = [_derivatives_taken(as_exact(form)) for form in forms]
    for size in SIZES:
        for n in range(points):
            point = random_point(source, plan_.args, size, scales[n % len(scales)])
            stats = statistic_values(plan_, size, point)
            for arg, form in zip(plan_.args, forms, strict=True):
                for j in range(1, size + 1):
                    x = element(plan_.args, j)
                    want = derivative(plan_, size, point, x[arg])
                    got = at(form.xreplace(x), point | stats)
                    if abs(want - got) > sp.Float("1e-20") * max(1, abs(want)):
                        return False
    return True


STEP = sp.Rational(1, 10**40)  # the central difference's (derivative)


def derivative(plan_: RowPlan, size: int, point: dict, symbol) -> sp.Float:
    """d(row value)/d``symbol`` (an element of an argument) at ``point``: (v(x + h) - v(x -
    h)) / 2h, h = 1e-40, the value from the statistics at the moved point, at 120 digits.
    Every branch of the value is the same analytic function (the spec's rewrites are exact,
    and the value does not depend on a max statistic), so the difference has no error but
    its truncation, h^2 |v'''| / 6 (1e-80 |v'''|), and its roundings, 1e-120 |v| / h (1e-80
    |v|): 60 digits below the checks' 1e-20."""
    exact = as_exact(plan_.value)
    ends = []
    for moved_by in (STEP, -STEP):
        moved = point | {symbol: point[symbol] + moved_by}
        ends.append(at(exact, moved | statistic_values(plan_, size, moved, digits=120), 120))
    return (ends[0] - ends[1]) / (2 * STEP)
