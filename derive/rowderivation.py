"""The derivation ``klgen latex`` shows and checks for a kernel of row statistics
(derive/rowstats.py): the spec's steps, then its row value in the statistics (each named in
the step's reason with the row sum or maximum it stands for), then that value with the
gradients the code evaluates.

The statistics are shown by name, as the code computes them: written into the expression,
each nested row sum would be printed again wherever it is used (kl_categorical's text ran to
4500 lines). Each step is realized for rows of 1 to 4 elements at random rational points,
with every statistic replaced by its row sum or maximum and those written out
(derive/rowstats.py's ``written`` and ``explicit``), and compared with the one before at 30
digits; the gradients are checked against the value's central differences at 120 digits.
"""

import random
from functools import cache

import sympy as sp

from klgen.derive import rowstats, stepcache
from klgen.derive.derivations import steps as checked
from klgen.derive.derivations.notation import latex_names
from klgen.derive.rewrites import exact as as_exact

POINTS = 2  # random points per row length
QUADRATURE_SCALES = (1,)
GRADIENTS_WHY = (
    "and its gradients, which the kernel computes too: {how}, each checked against "
    "the value's central differences at 120 digits (step 1e-40) for rows of 1 to 4 elements"
)


def derivation_of(kernel, keep: bool = False) -> checked.Derivation:
    """The checked derivation of a kernel of statistics (the module docstring); ``keep``:
    its steps kept between runs (klgen's own kernels: derive/stepcache.py)."""
    given = kernel.derivation
    extra = checked.Extra(
        -1,
        "the gradients are the row value's derivatives (rows of 1 to 4 elements)",
        lambda _: _gradients_agree(kernel),
    )
    return checked.Derivation(
        name=kernel.name,
        title=given.title if given else kernel.computes,
        intro=(given.intro if given else "") or kernel.computes,
        lhs=r"\ell",
        lhs_text="l",
        steps=stepcache.made(kernel.name, lambda: _shown_steps(kernel), keep),
        cases=lambda: _cases(kernel),
        extras=(extra,),
        parts=_parts(kernel),
    )


def _shown_steps(kernel) -> tuple[checked.Step, ...]:
    """The spec's steps, the row value in its statistics, then value and gradients."""
    plan = rowstats.plan(kernel)
    names = latex_names(kernel.args, "j")
    given = kernel.derivation
    pairs = [*(given.steps if given else ())]
    pairs.append((kernel.term, "the kernel's statistics and row value: " + _statistics(kernel)))
    how = "the spec's forms" if kernel.gradient_forms else "reverse mode over the statistics"
    outputs = [kernel.term, *plan.gradients]
    lhs = (
        r"\begin{pmatrix} " + r" \\ ".join(_parts(kernel)) + r" \end{pmatrix}",
        "(l, " + ", ".join(f"dl/d{a.name}_j" for a in kernel.args) + ")",
    )
    shown = [checked.step(sp.sympify(e), why, None, names) for e, why in pairs]
    shown.append(checked.step(sp.Tuple(*outputs), GRADIENTS_WHY.format(how=how), lhs, names))
    return tuple(shown)


def _gradients_agree(kernel) -> bool:
    plan = rowstats.plan(kernel)
    return rowstats.gradients_agree(plan, plan.gradients, scales=rowstats.scales(kernel))


def _parts(kernel) -> tuple[str, ...]:
    """The LaTeX of the outputs: the row value, then each argument's gradient."""
    names = latex_names(kernel.args, "j")
    return (r"\ell", *(rf"\partial \ell / \partial {names[a]}" for a in kernel.args))


def _statistics(kernel) -> str:
    """The statistics in words: "m = max of logits, s = sum of exp(logits - m), ..."."""
    return "; ".join(
        f"{s.symbol} = {s.reduce} over the row of {s.summand}" for s in kernel.statistics
    )


def _cases(kernel) -> list[checked.Case]:
    """One numeric case per row length and point: a step realized as its value (and, for
    the tuple of value and gradients, the value alone: the gradients have their own check).
    A derivation with integrals (``by_quadrature``) is realized at arguments within +-1
    throughout (densities of parameters e^-1 to e: the quadratures converge to 30 digits)."""
    source = random.Random(kernel.name)
    given = kernel.derivation
    scales = QUADRATURE_SCALES if given and given.by_quadrature else rowstats.scales(kernel)
    cases = []
    for size in rowstats.SIZES:
        for n in range(POINTS):
            scale = scales[n % len(scales)]
            point = rowstats.random_point(source, kernel.args, size, scale)

            def realize(expr, size=size, point=point):
                if isinstance(expr, sp.Tuple):
                    expr = expr[0]
                return (rowstats.at(_written_out(expr, kernel, size), point),)

            cases.append(checked.Case(f"{size} elements, point {n + 1}", False, realize))
    return cases


@cache
def _written_out(expr, kernel, size: int) -> sp.Expr:
    """``expr`` in plain functions of the elements of a row of ``size``: once per step and
    row length, not per point (written, which builds the nested row sums, takes SymPy
    seconds for the Dirichlet KL's row value)."""
    return rowstats.explicit(_written(expr, kernel), kernel.args, size)


@cache
def _written(expr, kernel) -> sp.Expr:
    return as_exact(rowstats.written(expr, kernel))
