"""The numerics rewrites of matrix expressions, each application proved equal by SymPy.

The full-covariance kernel's statements (derive/cholesky_kernel.py) hold elementwise
patterns that lose digits or overflow in floating point: ``ln A - ln B`` of nearly equal
diagonals, ``e^x - 1`` and ``e^x - 1 - x`` near x = 0, and the half of
``<1, e^x - 1 - x>_F``, whose e^x may overflow where the half does not. :func:`rewrite`
replaces each by an explicit node that a printer evaluates stably: an :class:`Entrywise`
node applies a scalar node (:class:`LogRatio`, SymPy's ``expm1``,
``numerics.Expm1MinusX``, ``numerics.HalfExpm1MinusX``) to every entry of its arguments.

Every application is proved before it is used: the matched sub-expression and the node
replacing it are both read entry by entry as scalar expressions (:func:`entry`) and
``rewrites.proved_equal`` must show them equal. An unproved application raises
:class:`RewriteError`, so generation stops instead of printing code that computes something
else.
"""

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from klgen.derive import numerics
from klgen.derive.derivations.notation import Frobenius
from klgen.derive.rewrites import proved_equal


class RewriteError(ArithmeticError):
    """A rewrite that SymPy could not prove equal to what it replaces."""


class LogRatio(sp.Function):
    """``ln a - ln b``, evaluated as log1p of the relative difference when a and b are
    close (so the result keeps its relative accuracy): a code generation node."""

    nargs = 2

    def exact(self) -> sp.Expr:
        a, b = self.args
        return sp.log(a) - sp.log(b)


class Entrywise(sp.MatrixExpr):
    """A scalar node applied to every entry of its (same-shaped) matrix arguments.

    Subclasses name the scalar node in :meth:`scalar`; the printer has one method per
    subclass."""

    def __new__(cls, *args):
        return sp.MatrixExpr.__new__(cls, *args)

    @property
    def shape(self):
        return self.args[0].shape

    @staticmethod
    def scalar(*xs) -> sp.Expr:
        raise NotImplementedError


class EntrywiseLogRatio(Entrywise):
    """ln A - ln B entry by entry."""

    @staticmethod
    def scalar(a, b):
        return LogRatio(a, b)


class EntrywiseExpm1(Entrywise):
    """e^X - 1 entry by entry."""

    @staticmethod
    def scalar(x):
        return expm1(x)


class EntrywiseExpm1MinusX(Entrywise):
    """e^X - 1 - X entry by entry (a series for small entries)."""

    @staticmethod
    def scalar(x):
        return numerics.Expm1MinusX(x, expm1(x))


class EntrywiseHalfExpm1MinusX(Entrywise):
    """(e^X - 1 - X) / 2 entry by entry, finite while the half is."""

    @staticmethod
    def scalar(x):
        return numerics.HalfExpm1MinusX(x, sp.Integer(0))


@dataclass(frozen=True)
class Rule:
    """One rewrite: ``match`` gives the replacement of a sub-expression, or None where the
    rule does not apply."""

    name: str
    why: str
    match: Callable[[sp.Basic], sp.Basic | None]


def _terms(expr) -> list[tuple[int, sp.Basic]]:
    """(sign, term without a leading -1) for each term of the sum ``expr``."""
    out = []
    for term in expr.args:
        if isinstance(term, sp.MatMul) and term.args[0] == -1:
            rest = term.args[1:]
            out.append((-1, rest[0] if len(rest) == 1 else sp.MatMul(*rest, evaluate=False)))
        else:
            out.append((1, term))
    return out


def _applied(expr, function):
    """The argument of ``function`` applied elementwise, or None."""
    if isinstance(expr, ElementwiseApplyFunction) and expr.function(sp.Dummy()).func is function:
        return expr.expr
    return None


def _exp_minus_one(expr):
    """(x, the other terms) where the matrix sum ``expr`` is e^x - 1 + other terms."""
    if not isinstance(expr, sp.MatAdd):
        return None
    exps = [t for t in expr.args if _applied(t, sp.exp) is not None]
    ones = [t for sign, t in _terms(expr) if sign == -1 and isinstance(t, sp.OneMatrix)]
    if len(exps) != 1 or len(ones) != 1:
        return None
    rest = [t for t in expr.args if t is not exps[0] and t != -ones[0]]
    return _applied(exps[0], sp.exp), rest


def _log_ratio(expr):
    """ln A - ln B -> LogRatio(A, B)."""
    if not isinstance(expr, sp.MatAdd) or len(expr.args) != 2:
        return None
    (sa, a), (sb, b) = sorted(_terms(expr), key=lambda term: -term[0])
    a, b = _applied(a, sp.log), _applied(b, sp.log)
    if (sa, sb) != (1, -1) or a is None or b is None:
        return None
    return EntrywiseLogRatio(a, b)


def _is_minus(term, x) -> bool:
    return (-x).doit() == term.doit()


def _expm1_minus_x(expr):
    """e^x - 1 - x -> Expm1MinusX(x)."""
    found = _exp_minus_one(expr)
    if found is None or len(found[1]) != 1 or not _is_minus(found[1][0], found[0]):
        return None
    return EntrywiseExpm1MinusX(found[0])


def _expm1(expr):
    """e^x - 1 -> Expm1(x)."""
    found = _exp_minus_one(expr)
    return EntrywiseExpm1(found[0]) if found is not None and not found[1] else None


def _half_expm1_minus_x(expr):
    """(e^x - 1 - x) / 2 -> HalfExpm1MinusX(x)."""
    if not isinstance(expr, sp.MatMul) or len(expr.args) != 2 or expr.args[0] != sp.S.Half:
        return None
    inner = _expm1_minus_x(expr.args[1])
    return inner and EntrywiseHalfExpm1MinusX(*inner.args)


def _half_inside_frobenius(expr):
    """1/2 (<A, B>_F + ...) -> <A/2, B>_F + ... (<1, B/2>_F for a ones matrix A): the half
    is taken before anything can overflow (each term of the KL is non-negative, so it stays
    finite while the KL does)."""
    if not isinstance(expr, sp.Mul) or len(expr.args) != 2 or expr.args[0] != sp.S.Half:
        return None
    total = expr.args[1]
    if not isinstance(total, sp.Add) or not all(isinstance(a, Frobenius) for a in total.args):
        return None
    halves = []
    for a, b in (term.args for term in total.args):
        if isinstance(a, sp.OneMatrix):
            halves.append(Frobenius(a, sp.MatMul(sp.S.Half, b, evaluate=False)))
        else:
            halves.append(Frobenius(sp.MatMul(sp.S.Half, a, evaluate=False), b))
    return sp.Add(*halves, evaluate=False)


RULES = (
    Rule("half_inside_frobenius", "1/2 <A, B>_F -> <A/2, B>_F: finite", _half_inside_frobenius),
    Rule("log_ratio", "ln A - ln B -> LogRatio(A, B): relative accuracy", _log_ratio),
    Rule("half_expm1_minus_x", "(e^x - 1 - x)/2 -> one node: no overflow", _half_expm1_minus_x),
    Rule("expm1_minus_x", "e^x - 1 - x -> a series near 0: no cancellation", _expm1_minus_x),
    Rule("expm1", "e^x - 1 -> expm1(x): exact near x = 0", _expm1),
)


def entry(expr, atoms: dict) -> sp.Expr:
    """``expr`` read entry by entry as a scalar expression: sums, multiples, elementwise
    functions and Entrywise nodes act on each entry; any other matrix sub-expression is one
    scalar symbol (``atoms`` keeps them, so equal sub-expressions share one). A Frobenius
    product is read by its summand, the product of two entries (the sum over the entries is
    linear, so equal summands give equal sums)."""
    if expr.is_number:
        return expr
    if isinstance(expr, sp.OneMatrix):
        return sp.Integer(1)
    if isinstance(expr, (sp.MatAdd, sp.Add)):
        return sp.Add(*(entry(a, atoms) for a in expr.args))
    if isinstance(expr, (sp.MatMul, sp.Mul)) and sum(not a.is_number for a in expr.args) == 1:
        return sp.Mul(*(entry(a, atoms) for a in expr.args))
    if isinstance(expr, ElementwiseApplyFunction):
        return expr.function(entry(expr.expr, atoms))
    if isinstance(expr, Entrywise):
        return expr.scalar(*(entry(a, atoms) for a in expr.args))
    if isinstance(expr, Frobenius):
        return sp.Mul(*(entry(a, atoms) for a in expr.args))
    if isinstance(expr, sp.MatrixExpr):
        return atoms.setdefault(expr, sp.Symbol(f"x{len(atoms)}", real=True))
    raise RewriteError(f"no entrywise reading of {type(expr).__name__}: {expr}")


def checked(rule: Rule, before, after):
    """``after``, once SymPy proves it equal to ``before`` entry by entry; else RewriteError."""
    atoms: dict = {}
    lhs, rhs = entry(before, atoms), entry(after, atoms)
    if not proved_equal(_exact(lhs), _exact(rhs)):
        raise RewriteError(
            f"rewrite {rule.name!r} is not proved: {before} -> {after} (entrywise {lhs} vs {rhs})"
        )
    return after


def _exact(expr: sp.Expr) -> sp.Expr:
    """``expr`` with this module's scalar nodes replaced by their definitions (those of
    derive/numerics.py are left to ``rewrites.proved_equal``)."""
    return expr.replace(LogRatio, lambda a, b: LogRatio(a, b).exact())


def rewrite(expr, rules=RULES):
    """``expr`` with every rule applied wherever it matches, outermost first, each
    application proved (:func:`checked`)."""
    for rule in rules:
        found = rule.match(expr)
        if found is not None:
            expr = checked(rule, expr, found)
            break
    if not expr.args or isinstance(expr, sp.MatrixSymbol):
        return expr
    args = [rewrite(a, rules) for a in expr.args]
    if args == list(expr.args):
        return expr
    if isinstance(expr, (sp.Add, sp.Mul, sp.MatAdd, sp.MatMul)):
        return expr.func(*args, evaluate=False)
    return expr.func(*args)
