"""The printers of the intermediate form (derive/printers.py), each run on what it prints.

Every backend prints the same routine; its lines are executed here with numpy and compared
with SymPy's own numpy translation of the expression (``sympy.lambdify``), which shares no
code with klgen's printers.
"""

import re

import numpy as np
import pytest
import sympy as sp

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
