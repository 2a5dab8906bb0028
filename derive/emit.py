"""Three-address numpy code: each operation one ufunc call that writes into a named buffer.

``a*b + c`` printed as numpy allocates a fresh array per operation and streams every operand
through memory again. Emitted here it becomes ``np.multiply(a, b, out=s0)`` then
``np.add(s0, c, out=s0)``: no allocation, and on a block of rows the operands stay in cache.
Scratch buffers are handed out and taken back as the values in them die, so a kernel needs
only as many as are alive at once.
"""

from dataclasses import dataclass, field

import sympy as sp
from sympy.codegen.cfunctions import expm1

from klgen.derive.numerics import Expm1MinusX, ScaledExp, TwoSumLo

UFUNCS = {sp.exp: "np.exp", expm1: "np.expm1"}
# Nodes evaluated by a function of the generated ``_numeric`` module: (its name, extra
# arguments, how many work buffers it takes).
HELPERS = {
    Expm1MinusX: ("expm1_minus_x", ("series",), 0),
    TwoSumLo: ("two_sum_lo", (), 1),
    ScaledExp: ("scaled_exp", (), 1),
}


def number(value: sp.Expr) -> str:
    return repr(float(value)) if not value.is_Integer else str(int(value))


@dataclass
class Emitter:
    """Collects the statements of one block function and the scratch buffers they use."""

    lines: list[str] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    scratch_count: int = 0

    def scratch(self) -> str:
        if self.free:
            return self.free.pop()
        self.scratch_count += 1
        return f"s{self.scratch_count - 1}"

    def release(self, buffer: str) -> None:
        self.free.append(buffer)

    def call(self, function: str, *operands: str, out: str) -> str:
        self.lines.append(f"{function}({', '.join(operands)}, out={out})")
        return out

    def operand(self, expr: sp.Expr) -> tuple[str, str | None]:
        """Code for ``expr`` as an operand: a name or literal, or a scratch buffer holding it
        (returned second, to release after use)."""
        if expr.is_Symbol or expr.is_Number:
            return (expr.name if expr.is_Symbol else number(expr)), None
        buffer = self.scratch()
        return self.into(expr, buffer), buffer

    def into(self, expr: sp.Expr, out: str) -> str:
        """Emit ``out = expr``; returns ``out``."""
        if expr.is_Symbol:
            self.lines.append(f"np.copyto({out}, {expr.name})")
            return out
        if isinstance(expr, sp.Add):
            return self._sum(expr, out)
        if isinstance(expr, (sp.Mul, sp.Pow)):
            return self._product(expr, out)
        if type(expr) in HELPERS:
            name, extra, work = HELPERS[type(expr)]
            args = expr.args[:3] if isinstance(expr, ScaledExp) else expr.args  # power 1
            return self._apply(name, args, out, *extra, work=work)
        if type(expr) in UFUNCS:
            return self._apply(UFUNCS[type(expr)], expr.args, out)
        raise NotImplementedError(f"no numpy emission for {expr!r}")

    def _apply(self, function: str, args, out: str, *extra: str, work: int = 0) -> str:
        operands = [self.operand(a) for a in args]
        works = [self.scratch() for _ in range(work)]
        self.call(function, *(code for code, _ in operands), *extra, *works, out=out)
        for buffer in [b for _, b in operands if b] + works:
            self.release(buffer)
        return out

    def _sum(self, expr: sp.Add, out: str) -> str:
        constant, terms = expr.as_coeff_Add()
        terms = sorted(sp.Add.make_args(terms), key=lambda t: t.could_extract_minus_sign())
        acc = None  # where the partial sum is: a symbol's name at first, then ``out``
        for term in terms:
            negative = term.could_extract_minus_sign()
            magnitude = -term if negative else term
            if acc is None and negative:
                code, buffer = self.operand(magnitude) if magnitude.is_Symbol else (None, None)
                acc = self.call("np.negative", code or self.into(magnitude, out), out=out)
            elif acc is None:
                acc = magnitude.name if magnitude.is_Symbol else self.into(magnitude, out)
            else:
                if magnitude.is_Symbol or acc == out:
                    code, buffer = self.operand(magnitude)
                else:  # the partial sum is still a bare symbol: out is free to hold the term
                    code, buffer = self.into(magnitude, out), None
                acc = self.call("np.subtract" if negative else "np.add", acc, code, out=out)
                if buffer:
                    self.release(buffer)
        if constant:
            acc = self.call("np.add", acc, number(constant), out=out)
        if acc != out:
            self.lines.append(f"np.copyto({out}, {acc})")
        return out

    def _product(self, expr: sp.Expr, out: str) -> str:
        """Factors left to right, the constant first: 0.5*u*u is (0.5*u)*u, finite while the
        result is (u*u would overflow first)."""
        coeff, rest = expr.as_coeff_Mul()
        factors = []  # (base, how many times it multiplies)
        for factor in sp.Mul.make_args(rest):
            base, power = (factor.base, factor.exp) if isinstance(factor, sp.Pow) else (factor, 1)
            if not (sp.Integer(power).is_Integer and power > 0):
                raise NotImplementedError(f"no numpy emission for the power {factor}")
            factors.append((base, int(power)))
        (first, first_power), *others = factors
        buffers = []
        if first.is_Symbol:
            code = first.name
        elif first_power == 1:  # evaluated in place in out
            code = self.into(first, out)
        else:  # kept in a buffer of its own: out is about to be multiplied in place
            code, buffer = self.operand(first)
            buffers.append(buffer)
        base_code = code
        if coeff == -1:
            code = self.call("np.negative", code, out=out)
        elif coeff != 1:
            code = self.call("np.multiply", code, number(coeff), out=out)
        repeats = [(base_code, first_power - 1)] if first_power > 1 else []
        for base, power in others:
            name, buffer = self.operand(base)
            if buffer:
                buffers.append(buffer)
            repeats.append((name, power))
        for name, power in repeats:
            for _ in range(power):
                code = self.call("np.multiply", code, name, out=out)
        for buffer in buffers:
            self.release(buffer)
        if code != out:  # a lone symbol times 1
            self.lines.append(f"np.copyto({out}, {code})")
        return out


def quadratic_form(term: sp.Expr) -> tuple[sp.Expr, sp.Symbol] | None:
    """(c, x) when ``term`` is c*x**2 for a symbol x: its row sum is c*vecdot(x, x)."""
    coeff, rest = term.as_coeff_Mul()
    if isinstance(rest, sp.Pow) and rest.exp == 2 and rest.base.is_Symbol:
        return coeff, rest.base
    return None
