"""The printers of the intermediate form (derive/printers.py), each run on what it prints.

Every backend prints the same routine; its lines are executed here with numpy and compared
with SymPy's own numpy translation of the expression (``sympy.lambdify``), which shares no
code with klgen's printers.
"""

import re

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import log1p

from klgen.derive import functions, ir
from klgen.derive.printers import ArrayApiPrinter, ScalarPrinter, UfuncPrinter, Unsupported

x, y = sp.symbols("x y", real=True)
EXPRESSIONS = {
    "arithmetic": (x - y) ** 2 / 2 + 3 * x * y - sp.Rational(1, 3) / (1 + x**2),
    "functions": sp.exp(-(x**2)) + sp.log(1 + y**2) + sp.sqrt(1 + x**2) + sp.Abs(x - y),
    "constants": sp.log(2 * sp.pi) / 2 + sp.pi * x + sp.sqrt(2) * y,
    "max_min": sp.Max(x, y, 0) - sp.Min(x, 2 * y),
    "piecewise": sp.Piecewise(
        (x * y, sp.And(x > 0, y < 1)), (x + y, sp.Not(sp.Or(x <= -1, sp.Eq(y, 0)))), (-x, True)
    ),
}
POINTS = np.random.default_rng(7).uniform(-2, 2, size=(2, 200))


def run_ufuncs(routine: ir.Routine) -> np.ndarray:
    printer = UfuncPrinter(routine, "k", {"out"})
    lines = printer.statements()
    env = {"np": np, "x": POINTS[0], "y": POINTS[1], "out": np.empty(POINTS.shape[1])}
    env |= {name: np.empty(POINTS.shape[1]) for name in printer.scratch}
    exec("\n".join(lines), env)
    return env["out"]


def run_lines(printer, xp_name: str, values) -> np.ndarray:
    env = {xp_name: np, "x": values[0], "y": values[1], "like": np.zeros_like(values[0])}
    exec("\n".join(printer.statements()), env)
    return env["out"]


def run_scalar(routine: ir.Routine, dtype: str) -> np.ndarray:
    printer = ScalarPrinter(routine, "k", dtype=dtype)
    points = POINTS.astype(dtype)
    return np.array([run_lines(printer, "np", (a, b)) for a, b in points.T])


@pytest.mark.parametrize("name", EXPRESSIONS)
@pytest.mark.parametrize("backend", ["numpy", "compiled", "compiled float32", "array-API"])
def test_each_printer_computes_the_expression(name, backend):
    expr = EXPRESSIONS[name]
    routine = ir.build((x, y), {"out": expr})
    expected = sp.lambdify((x, y), expr, "numpy")(*POINTS)
    if backend == "numpy":
        got = run_ufuncs(routine)
    elif backend == "array-API":
        got = run_lines(ArrayApiPrinter(routine, "k", like="like"), "xp", POINTS)
    else:
        got = run_scalar(routine, "float32" if "float32" in backend else "float64")
    # float64: a few roundings of terms of size <= 20; float32 inputs are rounded first,
    # so compare with the float32 points' exact values at float32's epsilon.
    if "float32" in backend:
        expected = sp.lambdify((x, y), expr, "numpy")(*POINTS.astype(np.float32).astype(float))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_float32_lines_keep_every_number_float32():
    """A bare Python number would widen numba's float32 arithmetic to float64."""
    routine = ir.build((x,), {"out": x / 3 + 1 - x**-1})
    code = "\n".join(ScalarPrinter(routine, "k", dtype="float32").statements())
    bare = re.sub(r"np\.float32\([^()]*\)", "", code)
    assert "np.float32(" in code and not re.search(r"\b\d", bare), code


@pytest.mark.parametrize(
    "printer, backend",
    [
        (lambda r: UfuncPrinter(r, "k", set()), "numpy"),
        (lambda r: ScalarPrinter(r, "k"), "compiled"),
        (lambda r: ArrayApiPrinter(r, "k"), "array-API"),
    ],
)
def test_printers_refuse_what_they_cannot_evaluate_naming_it(printer, backend):
    routine = ir.build((x,), {"out": sp.erf(x)})
    with pytest.raises(Unsupported, match=rf"kernel 'k': no {backend} evaluation of erf\(x\)"):
        printer(routine).statements()


def test_the_array_api_printer_calls_the_generic_twins_of_users_helpers():
    routine = ir.build((x,), {"out": functions.sigmoid(x) + functions.softplus(-x)})
    printer = ArrayApiPrinter(routine, "k")
    assert "sigmoid_generic(xp, x)" in "\n".join(printer.statements())
    assert printer.helpers == {"sigmoid_generic", "softplus_generic"}


def test_a_number_where_an_array_function_needs_an_array_is_refused_without_like():
    """Array-API functions need arrays: a number there becomes ``xp.full_like(like, c)``,
    and without an array ``like`` of the result's shape the printer refuses it."""
    routine = ir.build((x,), {"out": sp.Max(x, 0)})
    with pytest.raises(Unsupported, match="no array-API evaluation of the number 0"):
        ArrayApiPrinter(routine, "k").statements()
    printer = ArrayApiPrinter(routine, "k", like="like")
    assert "xp.full_like(like, 0.0)" in " ".join(printer.statements()) and printer.uses_like


def test_a_reduction_is_taken_as_soon_as_its_piece_is_computed():
    """The row sum of a piece is accumulated right after the statement completing it, so
    that its buffer is free for the later quantities (and the piece still in the cache)."""
    pieces = {"first": sp.exp(x) * y, "second": sp.log(1 + x**2) + y, "grad": sp.exp(x)}
    routine = ir.build((x, y), pieces)
    reductions = [("np.sum({}, axis=-1)", ("first",)), ("np.sum({}, axis=-1)", ("second",))]
    printer = UfuncPrinter(routine, "k", {"grad"}, reductions, reuse=True)
    lines = printer.statements()
    shape = (4, 50)
    env = {"np": np, "x": POINTS[0].reshape(shape), "y": POINTS[1].reshape(shape)}
    env |= {"grad": np.empty(shape)} | {s: np.empty(shape) for s in printer.scratch}
    exec("\n".join(lines), env)
    first, second = (
        sp.lambdify((x, y), pieces[n])(env["x"], env["y"]) for n in pieces if n != "grad"
    )
    np.testing.assert_allclose(env["rows"], first.sum(axis=-1) + second.sum(axis=-1), rtol=1e-13)
    np.testing.assert_allclose(env["grad"], np.exp(env["x"]), rtol=1e-15)
    taken = [i for i, line in enumerate(lines) if line.startswith("rows")]
    assert lines[taken[0]].startswith("rows = ") and lines[taken[1]].startswith("rows += ")
    assert taken[0] < len(lines) - 1  # not all left to the end


def test_a_single_call_writes_over_the_operand_it_is_the_last_use_of():
    """``np.exp(a, out=a)`` is safe for one elementwise call: a chain then needs one buffer,
    and still computes the expression (a two-call statement never writes over an input)."""
    expr = sp.exp(sp.sqrt(1 + x**2) * 3) - sp.exp(-y) * (x - y)
    routine = ir.build((x, y), {"out": expr})
    printer = UfuncPrinter(routine, "k", {"out"}, reuse=True)
    lines = printer.statements()
    env = {"np": np, "x": POINTS[0], "y": POINTS[1], "out": np.empty(POINTS.shape[1])}
    env |= {name: np.empty(POINTS.shape[1]) for name in printer.scratch}
    exec("\n".join(lines), env)
    expected = sp.lambdify((x, y), expr, "numpy")(*POINTS)
    np.testing.assert_allclose(env["out"], expected, rtol=1e-13)
    assert len(printer.scratch) < len(routine.statements) - 1


@pytest.mark.parametrize("backend", ["numpy", "compiled", "compiled float32", "array-API"])
def test_a_division_by_a_constant_rounds_once(backend):
    """x/3 is one correctly rounded division, not x times the rounded 1/3 (which is off by
    an ulp for about a third of all x)."""
    routine = ir.build((x, y), {"out": -x / 3})
    if backend == "numpy":
        got, want = run_ufuncs(routine), -(POINTS[0] / 3)
    elif backend == "array-API":
        got, want = run_lines(ArrayApiPrinter(routine, "k"), "xp", POINTS), -(POINTS[0] / 3)
    else:
        dtype = np.float32 if "float32" in backend else np.float64
        got = run_scalar(routine, dtype.__name__)
        want = -(POINTS[0].astype(dtype) / dtype(3))
    np.testing.assert_array_equal(got, want)


def test_a_number_in_max_or_min_is_a_buffer_filled_once():
    """numpy's maximum of an array and a number runs a scalar loop (3x the time of two
    arrays' on AVX-512): the number is a scratch buffer, filled once at the top of the block
    and read by every use."""
    expr = sp.Max(x, 0) * sp.Min(y, 0) + sp.Max(y, 0)
    routine = ir.build((x, y), {"out": expr})
    lines = UfuncPrinter(routine, "k", {"out"}).statements()
    assert lines[0] == "filled0.fill(0.0)" and sum(".fill(" in line for line in lines) == 1
    calls = [line for line in lines if re.match(r"np\.(maximum|minimum)", line)]
    assert len(calls) == 3 and all("filled0" in call and "0.0" not in call for call in calls)
    want = np.maximum(POINTS[0], 0) * np.minimum(POINTS[1], 0) + np.maximum(POINTS[1], 0)
    np.testing.assert_array_equal(run_ufuncs(routine), want)


def test_a_number_minus_a_term_is_one_subtraction():
    """1 - x is np.subtract(1.0, x): the rounding of -x + 1 (negation is exact) in one
    pass instead of two."""
    routine = ir.build((x, y), {"out": 1 - x})
    assert UfuncPrinter(routine, "k", {"out"}).statements() == ["np.subtract(1.0, x, out=out)"]
    np.testing.assert_array_equal(run_ufuncs(routine), 1 - POINTS[0])


SPECIAL = [-np.inf, -1e308, -800.0, -745.5, -40.0, -1.0, -1e-300, -0.0, 0.0, 5e-324, 1e-8]
SPECIAL += [1.0, 36.7, 710.0, 1e308, np.inf, np.nan]


EXACT = {
    "sigmoid": (lambda t: 1 / (1 + mpmath.exp(-t)), {-np.inf: 0.0, np.inf: 1.0}),
    "softplus": (lambda t: mpmath.log1p(mpmath.exp(t)), {-np.inf: 0.0, np.inf: np.inf}),
}


@pytest.mark.parametrize("function", functions.PRIMITIVE, ids=lambda f: f.__name__)
def test_the_primitive_forms_are_proved_and_accurate(function):
    """sigmoid and softplus in their primitive forms (max(e^-|x|, sign x) / (1 + e^-|x|),
    max(x, 0) + log1p(e^-|x|)), which the numpy blocks evaluate, are their definitions
    (SymPy, on x > 0, x < 0 and 0; a wrong numerator, max(e^-|x|, -sign x), would fail),
    and evaluate within 2 ulps of mpmath at 50 digits (the helpers' bound), with their
    limits at +-inf and NaN for NaN."""
    q = sp.Symbol("q", positive=True)  # x = +-log(1 + q): every x but 0, e^-|x| = 1/(1 + q)
    for at in (sp.log(1 + q), -sp.log(1 + q), sp.Integer(0)):
        form = function(x).primitive().subs(x, at).replace(log1p, lambda z: sp.log(1 + z))
        assert sp.simplify(form - function(at).exact()) == 0, (function.__name__, at)
    exact, limits = EXACT[function.__name__]
    values = np.concatenate([SPECIAL, 40 * POINTS[0]])
    with np.errstate(all="ignore"):
        got = sp.lambdify(x, function(x).primitive(), "numpy")(values)
    for value, result in zip(values, got, strict=True):
        if np.isnan(value) or np.isinf(value):
            expected = np.nan if np.isnan(value) else limits[value]
            np.testing.assert_equal(result, expected)
            continue
        with mpmath.workdps(50):
            want = float(exact(mpmath.mpf(float(value))))
        assert abs(result - want) <= 2 * np.spacing(abs(want)), (value, result, want)


def test_sigmoids_and_softplus_of_opposite_arguments_share_one_exponential():
    """The Bernoulli NLL and its gradient (softplus and sigmoid of l and -l, four helper
    calls with four exponentials and two log1p) take one exp and one log1p in primitive
    form: sympy.cse shares e^-|l| across them."""
    nll = (1 - y) * functions.softplus(x) + y * functions.softplus(-x)
    grad = (1 - y) * functions.sigmoid(x) - y * functions.sigmoid(-x)
    outputs = {"nll": nll, "grad": grad}
    routine = ir.build((x, y), {k: functions.as_primitive(e) for k, e in outputs.items()})
    operations = [type(s.rhs) for s in routine.statements]
    assert operations.count(sp.exp) == 1 and operations.count(log1p) == 1
    printer = UfuncPrinter(routine, "k", {"nll", "grad"}, reuse=True)
    lines = printer.statements()
    env = {"np": np, "x": 40 * POINTS[0], "y": (POINTS[1] + 2) / 4}
    env |= {name: np.empty(POINTS.shape[1]) for name in [*printer.scratch, "nll", "grad"]}
    exec("\n".join(lines), env)
    # Within 4 ulps of the terms' sizes (grad is a difference of two terms of one sign).
    sizes = {"nll": nll, "grad": (1 - y) * functions.sigmoid(x) + y * functions.sigmoid(-x)}
    for name, expr in outputs.items():
        exact, size = (
            sp.lambdify((x, y), functions.as_exact(e), "mpmath") for e in (expr, sizes[name])
        )
        with mpmath.workdps(40):
            points = [
                (mpmath.mpf(a), mpmath.mpf(b)) for a, b in zip(env["x"], env["y"], strict=True)
            ]
            want = np.array([float(exact(*point)) for point in points])
            scale = np.array([float(size(*point)) for point in points])
        np.testing.assert_array_less(np.abs(env[name] - want), 4 * 2.0**-52 * scale, name)


def test_a_shared_reciprocal_is_divided_by_at_each_use():
    """x/b and y/b with b = 1 + e^x: sympy.cse shares 1/b, whose products round twice; with
    ``divide`` b is shared and each use divides by it, rounding once: the quotients are
    correctly rounded (no 1/b anywhere), at no more passes. A use as a power keeps 1/b."""
    b = 1 + sp.exp(x)
    routine = ir.build((x, y), {"p": x / b, "q": y / b}, divide=True)
    printer = UfuncPrinter(routine, "k", {"p", "q"})
    lines = printer.statements()
    assert not any(line.startswith("np.divide(1.0") for line in lines)
    env = {"np": np, "x": POINTS[0], "y": POINTS[1], "p": np.empty(200), "q": np.empty(200)}
    env |= {name: np.empty(200) for name in printer.scratch}
    exec("\n".join(lines), env)
    bases = 1 + np.exp(POINTS[0])
    np.testing.assert_array_equal(env["p"], POINTS[0] / bases)
    np.testing.assert_array_equal(env["q"], POINTS[1] / bases)
    shared = sp.Symbol("s")
    replacements = [(shared, 1 / b)]
    for reduced, divided in (([x * shared, y * shared], True), ([x * shared, shared**2], False)):
        got = ir.divided_reciprocals(replacements, reduced)
        assert got == (
            ([(shared, b)], [x / shared, y / shared]) if divided else (replacements, reduced)
        )
