"""The derivations: every step passes its checks, the checker catches broken steps, and the
results the kernels take (elementwise_term, elementwise_gradients, matrix_gradients) are right.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from checked import checked_steps
from sympy.codegen.cfunctions import log1p

from klgen.derive import gaussian, numerics, userpkg
from klgen.derive.derivations import (
    ALL,
    DerivationError,
    check,
    check_all,
    compiled,
    elementwise_gradients,
    elementwise_term,
    encoder,
    entrywise,
    evaluated,
    general,
    get,
    matrix_gradients,
    results,
)
from klgen.derive.derivations.diagonal import mu
from klgen.derive.kernel import GRADIENTS_WHY
from klgen.derive.specs import SPECS


def test_registry_names_in_reading_order():
    assert list(ALL) == [
        "gaussian_kl",
        "diag_normal",
        "std_normal",
        "std_normal_grad",
        "kl_std_normal",
        "kl_diag_normal",
        "numba_exp",
        "encoder_backprop",
        "kl_std_normal_encoder",
        "mvn_cholesky",
        "kl_mvn_cholesky",
        "mvn_entrywise",
    ]
    for name, derivation in ALL.items():
        assert derivation.name == name
        assert derivation.final is derivation.steps[-1].expr
        assert all(s.latex and s.why for s in derivation.steps)


HEAVY = {"gaussian_kl", "encoder_backprop", "mvn_cholesky"}  # 4-5 s each: CI's slow run


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in HEAVY else []) for n in ALL]
)
def test_every_step_passes_its_checks(name):
    steps = list(checked_steps(ALL[name]))  # computed once a session: tests/checked.py
    assert [o.index for o in steps] == list(range(len(ALL[name].steps)))
    assert all(o.checked and o.passed for o in steps[1:]), [o.failures for o in steps]
    # Step 0 is checked too, except where it only states a definition with nothing before it.
    assert steps[0].checked == (name != "std_normal_grad")
    assert not steps[0].failures


def test_check_all_returns_seconds_per_derivation(monkeypatch):
    import klgen.derive.derivations as registry

    monkeypatch.setattr(registry, "ALL", {"std_normal": ALL["std_normal"]})
    timings = check_all()
    assert list(timings) == ["std_normal"] and timings["std_normal"] > 0


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(KeyError, match="gaussian_kl, diag_normal"):
        get("nope")


def _with_step(name, index, expr):
    """ALL[name] with step ``index`` replaced by a (wrong) expression."""
    derivation = ALL[name]
    steps = list(derivation.steps)
    steps[index] = dataclasses.replace(steps[index], expr=expr)
    return dataclasses.replace(derivation, steps=steps)


def _broken_cases():
    """The derivations whose full check takes seconds (every step before the broken one is
    checked again) are marked slow."""
    j = sp.Symbol("j", integer=True, positive=True)
    k = general.k
    std = ALL["std_normal"].final
    yield "std_normal", 1, std.xreplace({mu[j] ** 2: 2 * mu[j] ** 2})
    yield "diag_normal", 2, ALL["diag_normal"].final.xreplace({sp.S.Half: sp.S.One})
    yield pytest.param("gaussian_kl", 4, ALL["gaussian_kl"].final + k / 2, marks=pytest.mark.slow)
    grad = ALL["std_normal_grad"].final
    yield "std_normal_grad", 2, sp.Matrix([grad[0], grad[1] + sp.S.Half])
    grads = list(ALL["encoder_backprop"].final)
    grads[1] = 2 * grads[1]
    yield pytest.param("encoder_backprop", 5, sp.Tuple(*grads), marks=pytest.mark.slow)
    halves = ALL["numba_exp"].steps[2].expr  # the quarters without the k L_lo term
    yield "numba_exp", 2, halves.xreplace({compiled.ln2_lo: 0})


@pytest.mark.parametrize(("name", "index", "wrong"), list(_broken_cases()))
def test_checker_names_derivation_and_step_of_a_broken_step(name, index, wrong):
    broken = _with_step(name, index, wrong)
    why = broken.steps[index].why
    with pytest.raises(DerivationError) as caught:
        check(broken)
    assert caught.value.derivation == name
    assert caught.value.result.index == index
    assert f"derivation {name!r}, step {index} ({why})" in str(caught.value)


def test_broken_middle_step_fails_there_and_not_before():
    broken = _with_step("diag_normal", 1, ALL["diag_normal"].steps[1].expr - general.k)
    steps = list(results(broken))
    assert [bool(o.failures) for o in steps] == [False, True, True]


def test_direct_integration_agrees_with_the_definition_and_not_with_a_wrong_one():
    """The reversed KL, E_q[ln p - ln q], is not what SymPy's 1-D integral gives."""
    assert general.integrated_1d(ALL["gaussian_kl"])
    reversed_kl = _with_step("gaussian_kl", 0, -ALL["gaussian_kl"].steps[0].expr)
    assert not general.integrated_1d(reversed_kl)


def test_elementwise_terms_equal_the_closed_forms_in_gaussian():
    assert sp.simplify(elementwise_term("diag_normal") - gaussian.diag_normal_term()) == 0
    assert sp.simplify(elementwise_term("std_normal") - gaussian.std_normal_term()) == 0
    assert elementwise_term("std_normal").free_symbols == {gaussian.mu, gaussian.logvar}


def test_elementwise_term_rejects_a_derivation_that_is_not_a_sum():
    with pytest.raises(ValueError, match="not a sum"):
        elementwise_term("gaussian_kl")


def test_elementwise_gradients_are_the_derivatives_of_the_term():
    term = gaussian.std_normal_term()
    grads = elementwise_gradients("std_normal_grad")
    assert set(grads) == {"mu", "logvar"}
    assert sp.simplify(grads["mu"] - sp.diff(term, gaussian.mu)) == 0
    assert sp.simplify(grads["logvar"] - sp.diff(term, gaussian.logvar)) == 0


def test_general_closed_form_agrees_with_gaussian_kl_closed_form():
    rules = general.substitution(2)
    (ours,) = general.realize(ALL["gaussian_kl"].final, 2)
    theirs = gaussian.kl_closed_form(
        rules[general.mu_0], rules[general.Sigma_0], rules[general.mu_1], rules[general.Sigma_1]
    )
    assert sp.simplify(sp.expand_log(ours - theirs, force=True)) == 0


def _summed_kl(h, weights):
    m = h @ weights["W_mu"] + weights["b_mu"]
    lv = h @ weights["W_lv"] + weights["b_lv"]
    return -0.5 * np.sum(1 + lv - m**2 - np.exp(lv))


def test_matrix_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    b, n, k = 4, 3, 2
    h = rng.normal(size=(b, n))
    weights = {
        "W_mu": rng.normal(size=(n, k)),
        "b_mu": rng.normal(size=(1, k)),
        "W_lv": 0.3 * rng.normal(size=(n, k)),
        "b_lv": 0.3 * rng.normal(size=(1, k)),
    }
    m = h @ weights["W_mu"] + weights["b_mu"]
    lv = h @ weights["W_lv"] + weights["b_lv"]
    rules = {
        encoder.B: b,
        encoder.n: n,
        encoder.k: k,
        encoder.h: sp.ImmutableMatrix(h),
        encoder.mu: sp.ImmutableMatrix(m),
        encoder.logvar: sp.ImmutableMatrix(lv),
    }
    grads = matrix_gradients("encoder_backprop")
    assert list(grads) == ["W_mu", "b_mu", "W_lv", "b_lv"]
    for name, expr in grads.items():
        got = np.array(expr.xreplace(rules).doit().as_explicit(), dtype=float)
        want = np.zeros_like(weights[name])
        for idx in np.ndindex(want.shape):
            up = {**weights, name: weights[name].copy()}
            down = {**weights, name: weights[name].copy()}
            up[name][idx] += 1e-6
            down[name][idx] -= 1e-6
            want[idx] = (_summed_kl(h, up) - _summed_kl(h, down)) / 2e-6
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)


def test_the_checker_proves_log_and_atanh_identities_and_refuses_wrong_ones():
    """The checker's last attempts (atanh as a logarithm; a difference of logarithms whose
    exponential is 1) prove the continuous Bernoulli's steps, and refuse the same steps with
    a sign or a factor wrong."""
    from klgen.derive.derivations.steps import _is_zero

    a = sp.Symbol("a", real=True)
    z = (1 - sp.exp(a)) / (1 + sp.exp(a))
    assert _is_zero(sp.atanh(z) - sp.log((1 + z) / (1 - z)) / 2)
    assert not _is_zero(sp.atanh(z) - sp.log((1 + z) / (1 - z)))
    ratio = -a * (1 + sp.exp(a)) / (1 - sp.exp(a))
    assert _is_zero(sp.log(ratio) - sp.log(a * (sp.exp(a) + 1) / (sp.exp(a) - 1)))
    assert not _is_zero(sp.log(ratio) - sp.log(a * (sp.exp(a) + 1) / (sp.exp(a) + 1)))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_a_kernels_derivation_ends_at_the_expression_its_code_evaluates(spec):
    """kl_std_normal's and kl_diag_normal's derivations start at the spec's term and its
    gradients and end where code generation ends: lower_for_numpy(stabilize(...)) of each,
    as derive/codegen.py's routine makes them (the series node standing for expm1_minus_x)."""
    derivation = ALL[spec.name]
    assert list(derivation.steps[0].expr) == [spec.term, *spec.gradients]
    final = evaluated.without_series(derivation.final)
    assert list(final) == [
        numerics.lower_for_numpy(numerics.stabilize(e)) for e in (spec.term, *spec.gradients)
    ]
    shown = [s.why for s in derivation.steps]
    assert any("expm1_opt" in why for why in shown)  # every rewrite is a step with its reason
    assert any("half_expm1_minus_x" in why for why in shown)
    assert "for |t| >= 0.5" in shown[-1] and "14 terms" in shown[-1] and "2^-16" in shown[-1]


def test_the_series_check_fails_for_a_series_cut_too_short(monkeypatch):
    assert evaluated.series_is_accurate()
    real = numerics.expm1_minus_x_series

    def shorter(dtype, radius=numerics.SERIES_RADIUS["float64"]):
        series = real(dtype, radius)
        return dataclasses.replace(series, coefficients=series.coefficients[:-1])

    monkeypatch.setattr(numerics, "expm1_minus_x_series", shorter)
    assert not evaluated.series_is_accurate()


def test_the_numba_halves_are_the_quarters_the_reduction_proves():
    """numba_exp's quarters are numerics.reduction_formulas' (which generation proves and
    the helpers' template evaluates), with e^r - 1 - r for P."""
    quarters = ALL["numba_exp"].steps[2].expr
    formulas = numerics.reduction_formulas()
    for half, name in zip(quarters, ("quarter_expm1", "quarter_expm1_minus_x"), strict=True):
        ours = half.xreplace(
            {
                compiled.q: sp.exp((compiled.k - 2) * sp.log(2)),
                compiled.P: sp.exp(compiled.r) - 1 - compiled.r,
                compiled.ln2_lo: sp.log(2) - compiled.ln2_hi,
            }
        )
        theirs = formulas[name][0].xreplace({sp.Symbol("ln2_hi", real=True): compiled.ln2_hi})
        assert sp.expand(ours - 2 * theirs) == 0


def test_the_numba_polynomial_and_branch_checks_can_fail(monkeypatch):
    assert compiled.taylor_p_is_accurate() and compiled.below_is_accurate()
    shorter = dataclasses.replace(
        compiled.REDUCTION, coefficients=compiled.REDUCTION.coefficients[:-1]
    )
    monkeypatch.setattr(compiled, "REDUCTION", shorter)
    assert not compiled.taylor_p_is_accurate()
    monkeypatch.setattr(compiled, "REDUCTION", dataclasses.replace(shorter, low=-30.0))
    assert not compiled.below_is_accurate()


def test_the_mvn_branches_are_proved_and_a_wrong_one_is_not():
    a, b, x = entrywise.a, entrywise.b, entrywise.x
    assert entrywise.branches_are_exact()
    assert not entrywise._proved(log1p((a - b) / a), sp.log(a) - sp.log(b))
    wrong_half = sp.exp(x / 2) * sp.exp(x / 2) - (1 + x) / 2
    assert not entrywise._proved(wrong_half, (sp.exp(x) - 1 - x) / 2)


def _spec_kernels():
    from klgen.derive.kernel import load_spec
    from klgen.derive.package import shipped_kernels

    example = Path(__file__).resolve().parent.parent / "examples" / "kl_laplace.py"
    elementwise = [k for k in shipped_kernels() if not k.statistics]  # rows: test_rowstats
    return [*elementwise, *load_spec(example)]


@pytest.mark.parametrize("kernel", _spec_kernels(), ids=lambda k: k.name)
def test_a_spec_kernels_derivation_ends_at_the_term_its_code_evaluates(kernel):
    """After the kernel's term, its derivation shows each floating-point rewrite, adds the
    gradients, and ends at the term and gradients derive/userpkg.py generates code from
    (the series node standing for expm1_minus_x; the rewrites take the arguments as real)."""
    from klgen.derive.kernel import derivation_of

    derivation = derivation_of(kernel)
    real = {a: sp.Symbol(a.name, real=True) for a in kernel.args}
    final = evaluated.without_series(derivation.final)
    prepared = userpkg.prepare(kernel)
    assert final.xreplace(real) == sp.Tuple(prepared.term, *prepared.gradients)
    (term,) = [i for i, s in enumerate(derivation.steps) if s.why.startswith("the kernel's term")]
    assert derivation.steps[term].expr == kernel.term
    assert len(derivation.steps) > term + 1  # every shipped kernel is rewritten
    whys = [s.why for s in derivation.steps[term + 1 :]]
    assert all(" -> " in why or "series" in why or why == GRADIENTS_WHY for why in whys)
    assert whys.count(GRADIENTS_WHY) == 1
    if final.has(numerics.Expm1MinusX):  # the series step shows the kernel's own radius
        terms = len(numerics.expm1_minus_x_series("float64", kernel.series_radius).coefficients)
        assert f"for |t| >= {kernel.series_radius} " in whys[-1]
        assert f"({terms} terms" in whys[-1]


def test_the_encoders_logvar_factor_is_what_kl_std_normal_evaluates():
    """kl_std_normal_encoder_grad takes its entrywise factors from kl_std_normal_grad: its
    derivation's logvar factor, read at one entry, is kl_std_normal's last dlogvar step."""
    final = ALL["kl_std_normal_encoder"].final
    assert list(final[:2]) == list(ALL["encoder_backprop"].final[:2])
    factor = final[2].args[1]
    one_entry = {
        encoder.logvar: sp.ImmutableMatrix([[gaussian.logvar]]),
        encoder.B: 1,
        encoder.k: 1,
    }
    assert factor.xreplace(one_entry).doit()[0, 0] == ALL["kl_std_normal"].final[2]
    assert final[3].args[1] == factor


def test_kl_mvn_cholesky_ends_at_the_statements_its_code_evaluates():
    """The KL, the gradients and t as derive/cholesky_kernel.py's rewritten() statements
    hold them (M, z and N are not rewritten), and a wrong entrywise node is caught."""
    from klgen.derive import cholesky_kernel, matrix_rewrites

    derivation = ALL["kl_mvn_cholesky"]
    statements = dict(cholesky_kernel.rewritten())
    kl, *grads, t = derivation.final
    assert [kl, *grads, t] == [statements[n] for n in ("kl", "dm0", "dL0", "dm1", "dL1", "t")]
    assert all(statements[n] == e for n, e in cholesky_kernel.statements() if n in ("M", "z", "N"))
    assert "log_ratio" in derivation.steps[-2].why or "log_ratio" in derivation.steps[-1].why
    half = matrix_rewrites.EntrywiseHalfExpm1MinusX
    wrong = derivation.final.replace(half, lambda x: half(x / 2))
    broken = _with_step("kl_mvn_cholesky", len(derivation.steps) - 1, wrong)
    assert [o.index for o in results(broken) if o.failures] == [len(derivation.steps) - 1]


def test_a_spec_kernels_gradients_are_checked_where_they_appear():
    """A wrong gradient where the gradients join the term fails that step's extra check
    (they are sympy.diff of the term) and the next step's comparison."""
    from klgen.derive.kernel import derivation_of
    from klgen.derive.package import shipped_kernels

    (kernel,) = [k for k in shipped_kernels() if k.name == "nll_gaussian"]
    derivation = derivation_of(kernel)
    (extra,) = derivation.extras
    term, first, *rest = derivation.steps[extra.step].expr
    steps = list(derivation.steps)
    steps[extra.step] = dataclasses.replace(
        steps[extra.step], expr=sp.Tuple(term, first + 1, *rest)
    )
    failed = [o for o in results(dataclasses.replace(derivation, steps=steps)) if o.failures]
    assert [o.index for o in failed] == [extra.step, extra.step + 1]
    assert "sympy.diff" in failed[0].failures[0]
