"""Kernels of row statistics (derive/rowstats.py, klgen.Statistic) as a user writes them:
tests/specs/rows.py (a row's log-sum-exp, whose gradient klgen derives by reverse mode over
its statistics) generated for numpy and numba and checked against mpmath and its known
gradient, the softmax; the reverse mode's further row sums; and the ways such a spec can be
wrong, each refused with a message naming it."""

import importlib
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

import klgen
from klgen.derive import rowstats
from klgen.derive.derivations import check
from klgen.derive.kernel import SpecError, derivation_of, load_spec

SPEC = Path(__file__).resolve().parent / "specs" / "rows.py"
x, y = sp.symbols("x y", real=True)
m, s, r = sp.symbols("m s r", real=True)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """tests/specs/rows.py generated for numpy and numba into a package, imported."""
    from klgen.derive.userpkg import render_package

    folder = tmp_path_factory.mktemp("rows")
    package = folder / "rows_pkg"
    package.mkdir()
    for name, text in render_package(load_spec(SPEC), ("numpy", "numba")).items():
        (package / name).write_text(text)
    sys.path.insert(0, str(folder))
    try:
        yield {
            "numpy": importlib.import_module("rows_pkg.row_logsumexp"),
            "numba": pytest.importorskip("rows_pkg.row_logsumexp_numba"),
        }
    finally:
        sys.path.remove(str(folder))


def test_the_gradient_is_derived_by_reverse_mode_over_the_statistics():
    """The max's adjoint vanishes (m + log s does not change with the shift) and the
    element's gradient is the softmax, e^(x - m) / s, exponentials kept together."""
    (kernel,) = load_spec(SPEC)
    plan = rowstats.plan(kernel)
    (gradient,) = plan.gradients
    real = {a: sp.Symbol(a.name, real=True) for a in (x, m, s)}
    assert sp.simplify(gradient - sp.exp(x - m) / s) == 0
    assert gradient.has(sp.exp(x - m)) or gradient.has(sp.exp(-m + x))
    assert plan.statistics == kernel.statistics  # nothing left to sum again
    assert rowstats.gradients_agree(plan, plan.gradients)
    assert real  # the symbols are the spec's own


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_values_and_gradients_agree_with_mpmath(package, backend):
    """Rows of 1 to 7 elements from -700 to 700 and NaN-free: log-sum-exp within 2 ulps of
    mpmath, the gradient within 4 ulps of the softmax (float64), the sum of a broadcast
    argument's gradient too."""
    module = package[backend]
    rng = np.random.default_rng(2)
    for k in (1, 2, 3, 7):
        a = rng.uniform(-700, 700, (20, k)) * rng.choice([1e-3, 1.0], (20, 1))
        value, (grad,) = module.row_logsumexp_value_and_grad(a)
        for row in range(20):
            with mpmath.workdps(60):
                exact = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in a[row]))
                weights = [mpmath.exp(mpmath.mpf(v) - exact) for v in a[row]]
            assert abs(value[row] - exact) <= 2 * np.spacing(abs(float(exact))) + 1e-300
            for j in range(k):
                assert abs(grad[row, j] - weights[j]) <= 4 * np.spacing(float(weights[j])) + 1e-300
        assert np.array_equal(module.row_logsumexp(a), value)
        (alone,) = module.row_logsumexp_grad(a)
        np.testing.assert_array_equal(alone, grad)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_special_values_stay_in_their_row(package, backend):
    """NaN gives NaN in its row only; float32 in, float32 out; an empty last axis is
    refused; broadcasting sums the gradient over the stretched axis."""
    module = package[backend]
    a = np.array([[0.0, np.nan, 1.0], [0.0, 2.0, 1.0]])
    value = module.row_logsumexp(a)
    assert np.isnan(value[0]) and value[1] == pytest.approx(np.log(1 + np.e**2 + np.e))
    assert module.row_logsumexp(a.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="last axis of x is empty"):
        module.row_logsumexp(np.zeros((3, 0)))
    (grad,) = module.row_logsumexp_grad(np.array([0.0, 1.0]))
    assert grad.shape == (2,) and grad.sum() == pytest.approx(1.0)


@pytest.mark.slow  # the checker writes rows of 1 to 4 elements out: about 10 s
def test_the_derivation_checks():
    (kernel,) = load_spec(SPEC)
    assert check(derivation_of(kernel)) >= 0


def test_a_wrong_gradient_form_is_caught():
    """gradient_forms that are not the derivative fail the check against the value's
    central differences; the reverse mode's (and the right form, the softmax) pass it."""
    (kernel,) = load_spec(SPEC)
    wrong = klgen.Kernel(
        name="wrong",
        args=(x,),
        statistics=kernel.statistics,
        term=kernel.term,
        gradient_forms=(sp.exp(x - m) / (2 * s),),
        computes="a wrong gradient",
    )
    plan = rowstats.plan(wrong)
    assert not rowstats.gradients_agree(plan, plan.gradients)
    assert rowstats.gradients_agree(plan, rowstats.plan(kernel).gradients)
    assert rowstats.gradients_agree(plan, (sp.exp(x - m) / s,))


def test_a_sum_that_is_no_statistic_becomes_one():
    """The adjoint of s through r = sum e^(x - m) x / s needs sum e^(x - m) x / s^2 (times
    -1), r / s: a multiple of r; through the square of x it needs a new row sum."""
    kernel = klgen.Kernel(
        name="mean_square",
        args=(x,),
        statistics=(
            klgen.Statistic(m, x, "max"),
            klgen.Statistic(s, sp.exp(x - m)),
            klgen.Statistic(r, sp.exp(x - m) * x**2 / s),
        ),
        term=r,
        computes="the mean of x^2 under the softmax of x",
    )
    plan = rowstats.plan(kernel)
    assert len(plan.statistics) == 3  # r / s is recognised
    assert rowstats.gradients_agree(plan, plan.gradients)


@pytest.mark.parametrize(
    "statistics, term, forms, problem",
    [
        ((klgen.Statistic(m, y, "max"),), m, None, "uses y, not among args"),
        ((klgen.Statistic(m, x, "mean"),), m, None, "reduce must be 'sum' or 'max'"),
        ((klgen.Statistic(m, x, "max", compensated=True),), m, None, "only a sum can be"),
        ((klgen.Statistic(x, x),), x, None, "repeats or shadows"),
        ((klgen.Statistic(s, x),), s + x, None, "term must be the row value"),
        ((klgen.Statistic(s, x),), s, (x, x), "one expression per argument"),
        ((klgen.Statistic(s, x),), s, (y,), "a gradient form uses y"),
        (("s",), s, None, "statistics must be klgen.Statistic"),
    ],
)
def test_a_malformed_kernel_of_statistics_is_refused(statistics, term, forms, problem):
    with pytest.raises(SpecError, match=problem):
        klgen.Kernel(
            name="bad",
            args=(x,),
            statistics=statistics,
            term=term,
            gradient_forms=forms,
            computes="nothing",
        )


def test_a_max_the_value_depends_on_is_refused():
    """A max may only be a shift: the row's maximum itself as the value is refused."""
    kernel = klgen.Kernel(
        name="top",
        args=(x,),
        statistics=(klgen.Statistic(m, x, "max"),),
        term=m,
        computes="the row's maximum",
    )
    with pytest.raises(SpecError, match="a max may only be a shift"):
        rowstats.plan(kernel)


def test_the_row_checks_evaluate_expressions_as_mpmath_does():
    """rowstats.at, which the row checks compare steps with, against mpmath written by hand:
    sums, products, powers, a max, a step function, a Piecewise taking its second branch;
    a function it has no mpmath form for is named, not guessed."""
    point = {x: sp.Rational(-7, 3), y: sp.Rational(5, 2)}
    expr = sp.Piecewise(
        (sp.log(x**2), x > 0),
        (sp.exp(x - y) * sp.Max(x, y, evaluate=False) + sp.Heaviside(x) - sp.Abs(x) / 3, True),
    )
    with mpmath.workdps(50):
        xv, yv = mpmath.mpf(-7) / 3, mpmath.mpf(5) / 2
        want = mpmath.exp(xv - yv) * yv + 0 - abs(xv) / 3
        assert abs(rowstats.at(expr, point, 40) - sp.Float(want, 40)) < sp.Float("1e-38")
    with mpmath.workdps(50):
        gammas = mpmath.loggamma(mpmath.mpf(5) / 2) + mpmath.psi(1, mpmath.mpf(5) / 2)
    got = rowstats.at(sp.loggamma(y) + sp.polygamma(1, y), point, 40)
    assert abs(got - sp.Float(gammas, 40)) < sp.Float("1e-38")
    with pytest.raises(TypeError, match="zeta"):
        rowstats.at(sp.zeta(x), point)
