"""kl_mvn_cholesky's stages: the proved matrix rewrites, the routine (ir.Routine) and the
array printer reading it."""

import pytest
import sympy as sp
from sympy.codegen.ast import Assignment

from klgen.derive import cholesky_kernel, ir, matrix_rewrites
from klgen.derive.derivations.cholesky import L_0, L_1, Diagonal, apply, ones, t
from klgen.derive.matrix_printer import ArrayPrinter
from klgen.derive.matrix_rewrites import (
    EntrywiseExpm1,
    EntrywiseExpm1MinusX,
    EntrywiseHalfExpm1MinusX,
    EntrywiseLogRatio,
    RewriteError,
    Rule,
    rewrite,
)

EXCESS = sp.MatAdd(apply(sp.exp, 2 * t), -ones, -2 * t, evaluate=False)  # e^2t - 1 - 2t


@pytest.mark.parametrize(
    ("expr", "node"),
    [
        (sp.MatAdd(apply(sp.log, Diagonal(L_0)), -apply(sp.log, Diagonal(L_1))), EntrywiseLogRatio),
        (EXCESS, EntrywiseExpm1MinusX),
        (sp.MatMul(sp.S.Half, EXCESS, evaluate=False), EntrywiseHalfExpm1MinusX),
        (sp.MatAdd(apply(sp.exp, t), -ones, evaluate=False), EntrywiseExpm1),
    ],
)
def test_each_rule_rewrites_its_pattern_into_its_node(expr, node):
    assert isinstance(rewrite(expr), node)


def test_an_unproved_rewrite_stops_generation():
    """A rule that drops the - x of e^x - 1 - x is refused, naming the rule."""
    wrong = Rule("wrong_expm1", "e^x - 1 - x -> expm1(x)", lambda e: _drop_minus_x(e))
    with pytest.raises(RewriteError, match="'wrong_expm1' is not proved"):
        rewrite(EXCESS, rules=(wrong,))


def _drop_minus_x(expr):
    return EntrywiseExpm1(2 * t) if expr == EXCESS else None


def test_a_wrong_half_inside_frobenius_is_refused():
    """The proof reads a Frobenius product by its summand: a half taken twice is caught."""
    (kl,) = (e for name, e in cholesky_kernel.statements() if name == "kl")
    halved = matrix_rewrites.RULES[0].match(kl)
    twice = halved.replace(lambda e: e == sp.S.Half, lambda e: sp.Rational(1, 4))
    matrix_rewrites.checked(matrix_rewrites.RULES[0], kl, halved)
    with pytest.raises(RewriteError, match="half_inside_frobenius"):
        matrix_rewrites.checked(matrix_rewrites.RULES[0], kl, twice)


def test_the_rewritten_statements_keep_no_pattern_of_the_rules():
    """After the pass no log difference or e^x - 1 is left for the printer to recognise."""
    for _, expr in cholesky_kernel.rewritten():
        for sub in sp.preorder_traversal(expr):
            assert all(rule.match(sub) is None for rule in matrix_rewrites.RULES), sub


def test_the_routine_is_assignments_with_fused_solves_consecutive():
    routine = cholesky_kernel.routine(("kl", *cholesky_kernel.GRADIENTS))
    assert isinstance(routine, ir.Routine)
    assert all(isinstance(s, Assignment) for s in routine.statements)
    assert set(routine.outputs) == {"kl", *cholesky_kernel.GRADIENTS}
    solves = [(i, s.rhs) for i, s in enumerate(routine.statements) if isinstance(s.rhs, ir.Solve)]
    keys = [(solve.factor, solve.transposed) for _, solve in solves]
    assert len(set(keys)) == 2 == len(solves) / 2  # two fused calls of two substitutions each
    for (i, a), (j, b) in zip(solves, solves[1:], strict=False):
        assert (a.factor, a.transposed) != (b.factor, b.transposed) or j == i + 1


def test_the_printer_refuses_an_unknown_node_naming_it():
    printer = ArrayPrinter(cholesky_kernel.CODE_NAMES)
    unknown = sp.MatAdd(L_0, sp.Inverse(L_1), evaluate=False)
    with pytest.raises(NotImplementedError, match=r"no array code for Inverse: L_1\*\*\(-1\)"):
        printer.code(unknown)
    with pytest.raises(NotImplementedError, match="elementwise"):
        printer.code(apply(sp.cos, L_0))


def test_the_printer_fuses_a_run_of_substitutions_into_one_call():
    z = sp.MatrixSymbol("z", *t.shape)
    routine = ir.Routine(
        (L_0, L_1),
        (
            Assignment(z, ir.Solve(L_1, t)),
            Assignment(sp.MatrixSymbol("M", *L_0.shape), ir.Solve(L_1, L_0, lower=True)),
        ),
        {},
    )
    lines = ArrayPrinter.lines(routine, cholesky_kernel.CODE_NAMES)
    assert lines == ["z, M = _solve_lower(xp, L1, (t,), (L0,))"]
