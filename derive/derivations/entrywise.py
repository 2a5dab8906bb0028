"""What kl_mvn_cholesky evaluates for its entrywise nodes: log_ratio and half_expm1_minus_x.

kl_mvn_cholesky's derivation ends at the statements its code evaluates, with two entrywise
nodes of derive/matrix_rewrites.py: t = log_ratio(diag L_0, diag L_1) and the value's
half_expm1_minus_x(2t). The kernel evaluates each by a helper of templates/static/cholesky.py
(``_log_ratio``, ``_half_expm1_minus_x``) that chooses, entry by entry, between forms equal
in exact arithmetic. This derivation shows those choices: from each node's definition to
its branches.

The last step's nodes are shown as their branches and checked by their value (the nodes'
definitions); the extra checks prove every branch equal to that definition where it is
taken (SymPy), and bound the series branch (mpmath).
"""

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from klgen.derive import numerics
from klgen.derive.derivations.evaluated import SeriesExpm1MinusX, series_is_accurate
from klgen.derive.derivations.notation import ShownBase
from klgen.derive.derivations.steps import Case, Derivation, Extra, rational, rng, step

a, b = sp.symbols("a b", positive=True)
x = sp.Symbol("x", real=True)
BIG = 700  # templates/static/cholesky.py: _half_expm1_minus_x's x > 700.0


class LogRatioBranches(ShownBase):
    """ln a - ln b as ``_log_ratio`` evaluates it: log1p of the relative difference where a
    and b are within a factor 3/2 or so (there a - b is exact, by Sterbenz's lemma)."""

    nargs = 2

    def shown(self) -> sp.Piecewise:
        a, b = self.args
        return sp.Piecewise(
            (log1p((a - b) / b), sp.Abs(a - b) < b / 2), (sp.log(a) - sp.log(b), True)
        )

    def exact(self) -> sp.Expr:
        return sp.log(self.args[0]) - sp.log(self.args[1])


# templates/static/cholesky.py's float64 series radius: the kernels' default.
RADIUS = sp.nsimplify(numerics.SERIES_RADIUS["float64"])


class HalfExpm1MinusXBranches(ShownBase):
    """(e^x - 1 - x)/2 as ``_half_expm1_minus_x`` evaluates it: the series (or expm1(x) - x)
    halved, and above x = 700, where e^x overflows before its half, from e^(x/2) twice."""

    nargs = 1

    def shown(self) -> sp.Piecewise:
        (x,) = self.args
        big = sp.Mul(sp.exp(x / 2) / 2, sp.exp(x / 2), evaluate=False) - (1 + x) / 2
        return sp.Piecewise((big, x > BIG), (SeriesExpm1MinusX(x, expm1(x), RADIUS) / 2, True))

    def exact(self) -> sp.Expr:
        return (sp.exp(self.args[0]) - 1 - self.args[0]) / 2


def _definitions() -> sp.Tuple:
    """The nodes' definitions: derive/numerics.py's, as derive/matrix_rewrites.py's entrywise
    nodes apply them to every entry."""
    return sp.Tuple(sp.log(a) - sp.log(b), numerics.HalfExpm1MinusX(x, 0).exact())


STEPS = (
    step(
        _definitions(),
        "kl_mvn_cholesky's entrywise nodes, entry by entry: log_ratio(a, b) = ln a - ln b "
        "(t from the diagonals of L_0 and L_1, both positive) and half_expm1_minus_x(x) = "
        "(e^x - 1 - x)/2 (the value's term, at x = 2t)",
    ),
    step(
        sp.Tuple(LogRatioBranches(a, b), HalfExpm1MinusXBranches(x)),
        "what templates/static/cholesky.py evaluates: log1p((a - b)/b) where |a - b| < b/2 "
        "(a/b in (1/2, 3/2): a - b is exact and log1p keeps t's relative accuracy when q is "
        "near p; ln a - ln b would lose it to cancellation), ln a - ln b elsewhere; "
        "(e^x - 1 - x)/2 as the series or expm1(x) - x, halved (the series radius and terms "
        "as in kl_std_normal: klgen latex kl_std_normal), and for x > 700, where e^x "
        "overflows while the half does not, (e^(x/2)/2) e^(x/2) - (1 + x)/2, every factor "
        "finite",
    ),
)


def _realized(expr, values: dict) -> tuple:
    """The step with each node as its definition, at ``values``."""
    for node in (LogRatioBranches, HalfExpm1MinusXBranches):
        expr = expr.replace(node, lambda *args, node=node: node(*args).exact())
    return tuple(numerics.as_exact(expr).xreplace(values))


def _cases():
    cases = [Case("symbolic a, b, x", True, lambda e: _realized(e, {}), lambda: tuple(_anchor()))]
    for number in range(3):
        source = rng(f"mvn_entrywise-{number}")
        values = {a: rational(source, True), b: rational(source, True), x: rational(source)}
        cases.append(
            Case(
                f"random point {number + 1}",
                False,
                lambda e, v=values: _realized(e, v),
                lambda v=values: tuple(_anchor().xreplace(v)),
            )
        )
    return cases


def _anchor() -> sp.Tuple:
    """What derive/matrix_rewrites.py's scalar nodes stand for."""
    from klgen.derive.matrix_rewrites import LogRatio

    return sp.Tuple(LogRatio(a, b).exact(), numerics.HalfExpm1MinusX(x, 0).exact())


def branches_are_exact(derivation=None) -> bool:
    """SymPy proves each closed-form branch equal to its node's definition (a, b > 0)."""
    log_ratio = LogRatioBranches(a, b)
    half = HalfExpm1MinusXBranches(x)
    pairs = [(log_ratio.shown().args[0].expr, log_ratio.exact())]
    pairs.append((half.shown().args[0].expr, half.exact()))
    return all(_proved(branch, exact) for branch, exact in pairs)


def _proved(branch, exact) -> bool:
    difference = numerics.as_exact(branch - exact).replace(log1p, lambda y: sp.log(1 + y))
    return sp.simplify(sp.expand_log(sp.simplify(difference), force=True)) == 0


DERIVATION = Derivation(
    name="mvn_entrywise",
    title="What kl_mvn_cholesky evaluates entry by entry: log_ratio and half_expm1_minus_x",
    intro=(
        "kl_mvn_cholesky's derivation ends at its statements, with two entrywise nodes; "
        "their helpers choose, entry by entry, between forms equal in exact arithmetic. "
        "From each node's definition to its branches."
    ),
    lhs=r"\begin{pmatrix} \operatorname{log\_ratio}(a, b) \\ "
    r"\operatorname{half\_expm1\_minus\_x}(x) \end{pmatrix}",
    lhs_text="(log_ratio(a, b), half_expm1_minus_x(x))",
    steps=STEPS,
    cases=_cases,
    anchor="the scalar nodes of derive/matrix_rewrites.py",
    extras=(
        Extra(-1, "each branch equals its node's definition (SymPy)", branches_are_exact),
        Extra(-1, "the series is within eps/4 of e^t - 1 - t (mpmath)", series_is_accurate),
    ),
)
