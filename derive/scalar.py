"""Expressions printed as ordinary arithmetic: per element for the compiled (numba)
kernels, per array for the array-API path.

Where the numpy kernels need one ufunc call per operation, a compiled loop evaluates the
whole expression per element, and an array library without ``out=`` evaluates it array by
array; both are printed by SymPy's ``NumPyPrinter``, the array-API one with the namespace
``xp`` of the inputs. The compiled one calls ``half_expm1``, ``half_expm1_minus_x`` and
``scaled_exp`` of the shared ``_numba_exp`` module (:class:`derive.numerics.ExpReduction`),
which the compiler vectorises; the array-API one the careful helpers of ``_numeric``.
"""

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from klgen.derive.numerics import ScaledExp


class ScalarPrinter(NumPyPrinter):
    """``0.5`` rather than ``(1/2)``, x*x rather than x**2, the module's own exponentials.

    With ``dtype="float32"`` every number is a ``np.float32`` and the exponentials are the
    ``_f32`` ones, so that numba computes float32 inputs in float32 (a bare Python number
    would promote the expression to float64). ``helpers`` collects the ``_numba_exp``
    functions printed calls name.
    """

    def __init__(self, settings=None, dtype="float64"):
        super().__init__(settings)
        self.suffix = "" if dtype == "float64" else "_f32"
        self.literal = "{}" if dtype == "float64" else "np.float32({})"
        self.helpers: set[str] = set()

    def _module_format(self, fqn, register=True):
        return super()._module_format(fqn, register).replace("numpy.", "np.")

    def doprint(self, expr, assign_to=None):
        floats = {r: sp.Float(r, 17) for r in expr.atoms(sp.Rational) if not r.is_Integer}
        return super().doprint(expr.xreplace(floats), assign_to)

    def _print_Float(self, expr):
        return self.literal.format(repr(float(expr)))

    def _print_Integer(self, expr):
        return self.literal.format(int(expr))

    def _print_Pow(self, expr, rational=False):
        # x*x: 0.5*x*x is then (0.5*x)*x, finite while the result is.
        if expr.exp == 2:
            base = self.parenthesize(expr.base, 50)
            return f"{base}*{base}"
        raise NotImplementedError(f"no scalar printing for the power {expr}")

    def _print_exp(self, expr):
        return self._print(ScaledExp(1, 0, expr.args[0], 1, 0))

    def _print_HalfExpm1(self, expr):
        return self._half("half_expm1", expr)

    def _print_HalfExpm1MinusX(self, expr):
        return self._half("half_expm1_minus_x", expr)

    def _half(self, name, expr):
        """``name(a)``, or ``name_diff(a, b)`` for the difference a - b taken exactly."""
        a, b = expr.args
        if b == 0:
            return self._call(name, self._print(a))
        return self._call(f"{name}_diff", self._print(a), self._print(b))

    def _call(self, name, *args):
        """``name(args)`` with the type's suffix, recorded in ``helpers``."""
        self.helpers.add(name + self.suffix)
        return f"{name}{self.suffix}({', '.join(args)})"

    def _print_ScaledExp(self, expr):
        a, b, x = (self._print(arg) for arg in expr.args[:3])
        n, s = (str(int(arg)) for arg in expr.args[3:])
        return self._call("scaled_exp", a, b, x, n, s)


class ArrayApiPrinter(ScalarPrinter):
    """Whole arrays through the inputs' array namespace ``xp`` (array API standard names)."""

    def _module_format(self, fqn, register=True):
        return super()._module_format(fqn, register).replace("np.", "xp.")

    def _print_exp(self, expr):
        return f"xp.exp({self._print(expr.args[0])})"

    def _print_HalfExpm1(self, expr):
        a, b = (self._print(arg) for arg in expr.args)
        return f"half_expm1_generic(xp, {a}, {b})"

    def _print_HalfExpm1MinusX(self, expr):
        a, b = (self._print(arg) for arg in expr.args)
        return f"half_expm1_minus_x_generic(xp, {a}, {b}, series)"

    def _print_ScaledExp(self, expr):
        a, b, x = (self._print(arg) for arg in expr.args[:3])
        n, s = (int(arg) for arg in expr.args[3:])
        return f"scaled_exp_generic(xp, {a}, {b}, {x}, {n}, {s})"


def array_api_lines(temporaries, outputs) -> list[str]:
    """Statements on whole arrays: temporaries, then ``kl = xp.sum(...)`` and ``dx = ...``."""
    printer = ArrayApiPrinter()
    lines = [f"{target.name} = {_wrapped(printer, expr)}" for target, expr in temporaries]
    for target, expr in outputs:
        if target.name == "kl":
            lines.append(f"kl_terms = {_wrapped(printer, expr)}")
            lines.append("kl = xp.sum(kl_terms, axis=-1)")
        else:
            lines.append(f"{target.name} = {_wrapped(printer, expr)}")
    return lines


def scalar_lines(temporaries, outputs, dtype="float64") -> tuple[list[str], set[str]]:
    """Statements for element j of a chunk of rows, computed in ``dtype``: temporaries, then
    ``kl_terms[j] = ...`` and ``dx_chunk[j] = ...``; and the ``_numba_exp`` helpers they call."""
    printer = ScalarPrinter(dtype=dtype)
    lines = [f"{target.name} = {_wrapped(printer, expr)}" for target, expr in temporaries]
    for target, expr in outputs:
        name = "kl_terms[j]" if target.name == "kl" else f"{target.name}_chunk[j]"
        lines.append(f"{name} = {_wrapped(printer, expr)}")
    return lines, printer.helpers


def _wrapped(printer: ScalarPrinter, expr: sp.Expr, width: int = 60) -> str:
    """A long sum one term per line, inside parentheses."""
    code = printer.doprint(expr)
    if len(code) <= width or not isinstance(expr, sp.Add):
        return code
    lines = []
    for term in expr.as_ordered_terms():
        negative = term.could_extract_minus_sign()
        sign = "- " if negative else "+ " if lines else ""
        lines.append(sign + printer.doprint(-term if negative else term))
    return "(\n    " + "\n    ".join(lines) + "\n)"
