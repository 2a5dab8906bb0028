"""The notation the derivations are written in: a few SymPy objects SymPy lacks, and printers.

SymPy expands ``(v.T * A * v)[0, 0]`` into an index sum and has no expectation over a
matrix-variate Gaussian, no Frobenius product and no Gaussian log-density object, so the
derivations use the small classes below. Each stays unevaluated while its arguments are
symbolic (that is what is shown) and evaluates in ``doit()`` once the checker has put
explicit matrices in (that is what is checked).

The printers turn a step's expression into LaTeX (for tex, md and html) and into
SymPy's 2-D unicode art (for the terminal), so the text shown is always made from the
expression that was checked, never typed separately.
"""

import sympy as sp
from sympy.core.alphabets import greeks
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.latex import LatexPrinter, accepted_latex_functions
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol, pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm
from sympy.stats import MultivariateNormal, density


def _explicit(m):
    """``m`` as an explicit matrix, or None while its shape is still symbolic.

    A 1 x 1 matrix expression that SymPy has already reduced to a scalar counts as [[m]].
    """
    m = m.doit()
    if isinstance(m, sp.MatrixBase):
        return m
    if isinstance(m, sp.MatrixExpr):
        return m.as_explicit() if all(sp.sympify(s).is_Integer for s in m.shape) else None
    return sp.ImmutableMatrix([[m]])


class ShownBase(sp.Function):
    """A node that stands for one expression and is shown as another: what the code
    evaluates for it (a series, a polynomial), from ``shown()``. The checker uses its value,
    an extra check bounds the difference. (SymPy's printers look up a subclass's methods by
    its own name, then by base classes named ``...Base``, then Function's.)"""

    def shown(self) -> sp.Expr:
        raise NotImplementedError


class QuadraticForm(sp.Expr):
    """v^T A v for a column v, as a scalar: shown as such, evaluated once v and A are explicit."""

    is_commutative = True

    def __new__(cls, v, a):
        return sp.Expr.__new__(cls, v, a)

    def doit(self, **hints):
        v, a = (_explicit(arg) for arg in self.args)
        if v is None or a is None:
            return self
        return (v.T * a * v)[0, 0]


class Frobenius(sp.Expr):
    """<A, B>_F = tr(A^T B) = sum of A o B: the inner product the matrix gradients are read from."""

    is_commutative = True

    def __new__(cls, a, b):
        return sp.Expr.__new__(cls, a, b)

    def doit(self, **hints):
        a, b = (_explicit(arg) for arg in self.args)
        if a is None or b is None:
            return self
        return sum(a.multiply_elementwise(b), sp.S.Zero)


class GaussianLogPdf(sp.Expr):
    """ln N(x; m, S), evaluated by SymPy's own multivariate normal density (sympy.stats)."""

    is_commutative = True

    def __new__(cls, x, mean, cov):
        return sp.Expr.__new__(cls, x, mean, cov)

    def doit(self, **hints):
        x, mean, cov = (_explicit(arg) for arg in self.args)
        if x is None or mean is None or cov is None:
            return self
        pdf = density(MultivariateNormal("X", mean, cov))(*x)
        return sp.expand(sp.expand_log(sp.log(pdf), force=True))


class Expectation(sp.Expr):
    """E_{x ~ N(mean, cov)}[f(x)] for f a polynomial of degree <= 2 in x.

    Evaluated without the identities the derivation uses: f is expanded into monomials in
    the entries of x and each monomial replaced by its Gaussian moment
    (E[x_i] = m_i, E[x_i x_j] = S_ij + m_i m_j).
    """

    is_commutative = True

    def __new__(cls, integrand, x, mean, cov):
        return sp.Expr.__new__(cls, integrand, x, mean, cov)

    def doit(self, **hints):
        integrand = self.args[0].doit(**hints)
        x, mean, cov = (_explicit(arg) for arg in self.args[1:])
        if x is None or mean is None or cov is None:
            return self.func(integrand, *self.args[1:])
        return _gaussian_moments(integrand, list(x), mean, cov)


def _gaussian_moments(f, xs, mean, cov):
    """E[f(x)] for x ~ N(mean, cov), f a polynomial of degree <= 2 in xs."""
    total = sp.S.Zero
    for powers, coeff in sp.Poly(sp.expand(f), *xs).terms():
        if sum(powers) > 2:
            raise ValueError("Expectation is evaluated for polynomials of degree <= 2 only")
        idx = [i for i, p in enumerate(powers) for _ in range(p)]
        if len(idx) == 0:
            moment = sp.S.One
        elif len(idx) == 1:
            moment = mean[idx[0]]
        else:
            i, j = idx
            moment = cov[i, j] + mean[i] * mean[j]
        total += coeff * moment
    return total


def ordered(*terms):
    """A sum kept in the order written, so it is shown the way a reader expects it."""
    return sp.Add(*terms, evaluate=False)


def scaled(coeff, term):
    """coeff * term kept unevaluated (shown as 1/2 (...), not (...)/2 or expanded)."""
    return sp.Mul(sp.sympify(coeff), term, evaluate=False)


def minus(a, b):
    """a - b for matrix expressions, kept in that order."""
    return sp.MatAdd(a, -b, evaluate=False)


def elementwise_exp(m):
    """exp applied to each entry of the matrix expression m."""
    return ElementwiseApplyFunction(sp.exp, m)


def _function_name(expr):
    """The name of the function an ElementwiseApplyFunction applies (exp, log, ...)."""
    return expr.function(sp.Dummy()).func.__name__


# The floating-point evaluation nodes of derive/numerics.py, by the names the generated
# code's helpers have (the kernels' derivations say what each computes).
NODE_NAMES = {
    "Expm1MinusX": "expm1_minus_x",
    "HalfExpm1": "half_expm1",
    "HalfExpm1MinusX": "half_expm1_minus_x",
    "ScaledExp": "scaled_exp",
    "TwoSumLo": "two_sum_lo",
    # derive/matrix_rewrites.py's, which apply a scalar node to every entry
    "EntrywiseLogRatio": "log_ratio",
    "EntrywiseExpm1": "expm1",
    "EntrywiseExpm1MinusX": "expm1_minus_x",
    "EntrywiseHalfExpm1MinusX": "half_expm1_minus_x",
}

NAMES = {
    "logvar": r"\mathrm{logvar}",
    "logvar_p": r"\mathrm{logvar}_{p}",
    "mu_p": r"\mu_{p}",
    "W_mu": r"W_{\mu}",
    "b_mu": r"b_{\mu}",
    "W_lv": r"W_{\mathrm{lv}}",
    "b_lv": r"b_{\mathrm{lv}}",
}


def _latex_name(name):
    """LaTeX for a symbol name, with a leading 'd' on known names read as a differential."""
    if name in NAMES:
        return NAMES[name]
    if name.startswith("d") and len(name) > 1:
        rest = name[1:]
        return r"\mathrm{d}" + NAMES.get(rest, sp.latex(sp.Symbol(rest)))
    return None


def _unbraced_call(latex: str) -> str:
    r"""``f{\left(x \right)}`` as ``f\left(x \right)``: SymPy wraps a function's argument
    list in a group, which a line-breaking display (breqn's dmath) treats as one unbreakable
    box; without the group it can break inside the parentheses."""
    if not latex.endswith(r"\right)}"):
        return latex
    depth = 0
    for index in range(len(latex) - 1, -1, -1):
        depth += {"}": 1, "{": -1}.get(latex[index], 0)
        if depth == 0:
            break
    if latex.startswith(r"{\left(", index):
        return latex[:index] + latex[index + 1 : -1]
    return latex


class KlLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the derivations' notation (ln, det, E, <.,.>_F, logvar).

    ``breakable`` prints for breqn's ``dmath``, which breaks long lines at relations and
    binary operators only: factors are joined by ``\\*`` (a break point that shows x when
    taken) and function arguments are not grouped, so a long product or a long argument
    can be broken too. The other formats (KaTeX, MathJax, latex2mathml) know neither.
    """

    def __init__(self, symbol_names: dict | None = None, breakable: bool = False):
        settings = {
            "ln_notation": True,
            "order": "none",
            "mat_str": "matrix",
            "mat_delim": "(",
            "symbol_names": symbol_names or {},
        }
        if breakable:
            # breqn's discretionary multiplication: a thin space, or a line break with x.
            settings["mul_symbol"] = r" \* "
        super().__init__(settings)
        self.breakable = breakable

    def _print_Mul(self, expr):
        coeff, rest = expr.as_coeff_Mul()
        if coeff.is_Rational and coeff.q != 1 and not rest.is_Number:
            sign = "- " if coeff < 0 else ""
            term = self._print(rest)
            if not isinstance(rest, sp.Sum):
                term = self.parenthesize(rest, PRECEDENCE["Mul"], strict=True)
            return rf"{sign}\frac{{{abs(coeff.p)}}}{{{coeff.q}}} {term}"
        return super()._print_Mul(expr)

    def _print_MatMul(self, expr):
        coeff, *rest = expr.args
        if coeff.is_Rational and coeff.q != 1:
            sign = "- " if coeff < 0 else ""
            rest = rest[0] if len(rest) == 1 else sp.MatMul(*rest, evaluate=False)
            term = self.parenthesize(rest, PRECEDENCE["Mul"], strict=True)
            return rf"{sign}\frac{{{abs(coeff.p)}}}{{{coeff.q}}} {term}"
        return super()._print_MatMul(expr)

    def _print_Function(self, expr, exp=None):
        # klgen's nodes, and functions named with an underscore (exp_bregman, not exp with
        # a subscript "bregman"): upright names, as the generated code calls them.
        name = type(expr).__name__
        node = NODE_NAMES.get(name) or (name if "_" in name else None)
        if node is not None:
            args = ", ".join(self._print(arg) for arg in expr.args)
            name = r"\operatorname{" + node.replace("_", r"\_") + "}"
            power = f"^{{{exp}}}" if exp is not None else ""
            return rf"{name}{power}\left({args}\right)"
        return self._call(super()._print_Function(expr, exp))

    def _print_Entrywise(self, expr):
        name = r"\operatorname{" + NODE_NAMES[type(expr).__name__].replace("_", r"\_") + "}"
        return rf"{name}\left({', '.join(self._print(arg) for arg in expr.args)}\right)"

    def _print_expm1(self, expr, exp=None):
        power = f"^{{{exp}}}" if exp is not None else ""
        return rf"\operatorname{{expm1}}{power}\left({self._print(expr.args[0])}\right)"

    def _print_ShownBase(self, expr, exp=None):
        shown = self._print(expr.shown())
        return rf"\left({shown}\right)^{{{exp}}}" if exp is not None else shown

    def _print_log(self, expr, exp=None):
        if isinstance(expr.args[0], sp.Determinant) and exp is None:
            return r"\ln " + self._print(expr.args[0])
        return self._call(super()._print_log(expr, exp))

    def _call(self, latex: str) -> str:
        return _unbraced_call(latex) if self.breakable else latex

    def _print_loggamma(self, expr, exp=None):
        return r"\ln\Gamma" + self._print_paren_argument(expr.args[0])

    def _print_polygamma(self, expr, exp=None):
        """psi(x) for polygamma(0, x), psi'(x) for polygamma(1, x): as the Gamma KL reads."""
        order, x = expr.args
        if order in (0, 1):
            return r"\psi" + ("'" if order == 1 else "") + self._print_paren_argument(x)
        return super()._print_polygamma(expr, exp)

    def _print_paren_argument(self, x) -> str:
        return r"\left(" + self._print(x) + r"\right)"

    def _print_Symbol(self, expr, style="plain"):
        return _latex_name(expr.name) or super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr):
        return _latex_name(expr.name) or super()._print_MatrixSymbol(expr)

    def _print_IndexedBase(self, expr):
        return _latex_name(str(expr.label)) or super()._print_IndexedBase(expr)

    def _print_Indexed(self, expr):
        base = self._print(expr.base)
        index = ",".join(self._print(i) for i in expr.indices)
        if base.endswith("}") and "_{" in base:
            return base[:-1] + "," + index + "}"
        return f"{base}_{{{index}}}"

    def _print_Determinant(self, expr):
        return r"\det " + self.parenthesize(expr.arg, PRECEDENCE["Mul"])

    def _print_OneMatrix(self, expr):
        rows, cols = (self._print(n) for n in expr.shape)
        if expr.shape[1] == 1:
            return rf"\mathbf{{1}}_{{{rows}}}"
        if expr.shape[0] == 1:
            return rf"\mathbf{{1}}_{{{cols}}}^{{T}}"
        return rf"\mathbf{{1}}_{{{rows} \times {cols}}}"

    def _print_ElementwiseApplyFunction(self, expr):
        name = _function_name(expr)
        # \exp, \sinh, ...; a function LaTeX has no command for (expm1) by its name, upright
        known = name in accepted_latex_functions or name == "exp"
        name = "\\" + name if known else rf"\operatorname{{{name}}}"
        return rf"{name}\left({self._print(expr.expr)}\right)"

    def _print_QuadraticForm(self, expr):
        v, a = expr.args
        vec = self.parenthesize(v, 1000)
        return rf"{vec}^{{T}} {self._print(a)} {vec}"

    def _print_Frobenius(self, expr):
        a, b = (self._print(arg) for arg in expr.args)
        return rf"\left\langle {a}, {b} \right\rangle_{{F}}"

    def _print_GaussianLogPdf(self, expr):
        x, mean, cov = (self._print(arg) for arg in expr.args)
        return rf"\ln \mathcal{{N}}\left({x};\, {mean}, {cov}\right)"

    def _print_Expectation(self, expr):
        f, x, mean, cov = (self._print(arg) for arg in expr.args)
        return rf"\mathbb{{E}}_{{{x} \sim \mathcal{{N}}\left({mean}, {cov}\right)}}\left[{f}\right]"

    def _print_Tuple(self, expr):
        rows = r" \\ ".join(self._print(item) for item in expr)
        return rf"\begin{{pmatrix}} {rows} \end{{pmatrix}}"


class KlPrettyPrinter(PrettyPrinter):
    """SymPy's unicode 2-D printer with the same notation, for reading in a terminal."""

    def __init__(self):
        super().__init__({"use_unicode": True, "order": "none", "wrap_line": False})

    def _call(self, name, *args):
        return prettyForm(*prettyForm(name).right(self._paren_args(*args)))

    def _paren_args(self, *args, sep=", "):
        form = self._print(args[0])
        for arg in args[1:]:
            form = prettyForm(*form.right(sep, self._print(arg)))
        return prettyForm(*form.parens())

    def _print_Determinant(self, expr):
        return self._call("det", expr.arg)

    def _print_Symbol(self, expr, bold_name=False):
        """A name of words (log_rate, mean_d_rest) as written, with only a last part that
        is one letter or a Greek one as its subscript (log_rate_p as log_rateₚ, db_mu as
        dbₘᵤ): SymPy would make every part after the first a subscript where unicode has
        the letters (logᵣₐₜₑ)."""
        *words, last = expr.name.split("_")
        if words and len(last) > 1 and last not in greeks:
            return prettyForm(expr.name)
        if len(words) < 2:
            return super()._print_Symbol(expr, bold_name)
        return prettyForm("_".join(words) + pretty_symbol("x_" + last)[1:])

    def _print_Function(self, expr, sort=False, func_name=None):
        # A node's code name whole (rounded_sum, not "rounded" with a subscript "sum"), as
        # the LaTeX printer shows it.
        name = type(expr).__name__
        node = NODE_NAMES.get(name) or (name if "_" in name else None)
        if node is not None:
            return self._call(node, *expr.args)
        return super()._print_Function(expr, sort, func_name)

    def _print_ShownBase(self, expr):
        return self._print(expr.shown())

    def _print_expm1(self, expr):
        return self._call("expm1", expr.args[0])

    def _print_Entrywise(self, expr):
        return self._call(NODE_NAMES[type(expr).__name__], *expr.args)

    def _print_OneMatrix(self, expr):
        rows, cols = (sp.sstr(n) for n in expr.shape)
        if expr.shape[1] == 1:
            return prettyForm(f"𝟏_{rows}")
        if expr.shape[0] == 1:
            return prettyForm(f"𝟏_{cols}ᵀ")
        return prettyForm(f"𝟏_({rows}×{cols})")

    def _print_ElementwiseApplyFunction(self, expr):
        return self._call(_function_name(expr), expr.expr)

    def _print_QuadraticForm(self, expr):
        v, a = expr.args
        vec = self._print(v)
        if isinstance(v, sp.MatAdd):
            vec = prettyForm(*vec.parens())
        left = prettyForm(*vec.right("ᵀ·"))
        return prettyForm(*left.right(self._print(a), "·", vec))

    def _print_Frobenius(self, expr):
        form = prettyForm(*prettyForm("⟨").right(self._print(expr.args[0])))
        form = prettyForm(*form.right(", ", self._print(expr.args[1]), "⟩_F"))
        return form

    def _print_GaussianLogPdf(self, expr):
        x, mean, cov = expr.args
        inner = prettyForm(*self._print(x).right("; ", self._print(mean), ", ", self._print(cov)))
        return prettyForm(*prettyForm("ln N").right(prettyForm(*inner.parens())))

    def _print_Expectation(self, expr):
        f = prettyForm(*self._print(expr.args[0]).parens("[", "]"))
        return prettyForm(*prettyForm("E").right(f))


def to_latex(expr, symbol_names: dict | None = None, breakable: bool = False) -> str:
    """LaTeX for a step's expression, in the derivations' notation (``symbol_names``: the
    LaTeX of chosen symbols, as :func:`latex_names` gives them; ``breakable``: for a
    line-breaking LaTeX display, see :class:`KlLatexPrinter`)."""
    return KlLatexPrinter(symbol_names, breakable).doprint(expr)


GREEK = {"mu", "sigma", "alpha", "beta", "lambda", "theta", "tau", "nu", "rho", "pi", "eta"}
GREEK |= {"gamma", "delta", "epsilon", "kappa", "phi", "psi", "omega", "xi", "zeta", "chi"}


def latex_name(name: str, index: str = "") -> str:
    r"""The LaTeX of an argument named ``name`` (with an element index): a Greek letter or a
    one-letter name as itself, a word upright, a trailing ``_p``/``_q``/digit as a
    subscript: ``log_scale_p`` -> ``\mathrm{log\_scale}_{p}``, ``mu`` -> ``\mu``."""
    base, _, sub = name.rpartition("_")
    if not base or not (len(sub) == 1 or sub.isdigit()):
        base, sub = name, ""
    if base in GREEK:
        shown = "\\" + base
    elif len(base) == 1:
        shown = base
    else:
        shown = r"\mathrm{" + base.replace("_", r"\_") + "}"
    subscript = ",".join(part for part in (sub, index) if part)
    return shown + (f"_{{{subscript}}}" if subscript else "")


def latex_names(symbols, index: str = "") -> dict:
    """symbol -> its LaTeX (:func:`latex_name`), for ``to_latex`` and ``sympy.latex``."""
    return {s: latex_name(s.name, index) for s in symbols}


def to_text(expr, width: int | None = None) -> str:
    """Unicode 2-D rendering of a step's expression, for a terminal, at most ``width``
    columns wide if given (see :func:`text_lines`).

    SymPy draws its big symbols (sums, brackets) from a table it picks once, at import, by
    the encoding of standard output; unicode is switched on here for this call, so that the
    text is the same whatever that encoding (the caller says when it cannot be shown).
    """
    previous = pretty_use_unicode(True)
    try:
        printer = KlPrettyPrinter()
        if width is None:
            return printer.doprint(expr)
        # A line still too wide (a fraction or power deep in brackets) is cut into chunks.
        rows = "\n".join(
            line.render(wrap_line=line.width() > width, num_columns=width, use_unicode=True)
            for line in text_lines(printer, expr, width)
        )
        return "\n".join(row.rstrip() for row in rows.splitlines())
    finally:
        pretty_use_unicode(previous)


def text_lines(printer: KlPrettyPrinter, expr, width: int) -> list[prettyForm]:
    """``expr`` drawn as a column of 2-D lines, each at most ``width`` columns where it can be.

    A line that is too wide is broken where a reader would break it: a sum between its terms
    (the next line starting with + or -), a product around its widest factor (kept in
    parentheses across the lines), a big sum, a function or an inner product inside its
    brackets, a tuple or column between its components. What has no such place (a fraction,
    a power) is cut into column chunks, as SymPy's own line wrapping does.
    """
    form = printer._print(expr)
    if form.width() <= width:
        return [form]
    width = max(width, 24)  # deep nesting: a line a little too wide, rather than a column
    narrower = max(width - 2, 8)
    if isinstance(expr, (sp.Add, sp.MatAdd)):
        return _add_lines(printer, expr, width)
    if isinstance(expr, sp.Tuple) or (isinstance(expr, sp.MatrixBase) and 1 in expr.shape):
        parts = [text_lines(printer, item, narrower) for item in expr]
        return _bracketed("(", parts, ")", ",")
    if isinstance(expr, (sp.Mul, sp.MatMul)):
        return _product_lines(printer, expr, width)
    if isinstance(expr, Expectation):
        return _bracketed("E[", [text_lines(printer, expr.args[0], width - 3)], "]", "")
    if isinstance(expr, sp.Sum) and expr.limits:
        add = isinstance(expr.function, sp.Add)
        sign = printer._print(sp.Sum(sp.Symbol("(" if add else ""), *expr.limits))
        inner = text_lines(printer, expr.function, width - sign.width() - 1)
        return _bracketed(sign, [inner], ")" if add else "", "")
    if hasattr(expr, "shown"):  # a node drawn as another expression (the kernels' series)
        return text_lines(printer, expr.shown(), width)
    if isinstance(expr, sp.Piecewise):
        arms = []
        for value, condition in expr.args:
            lines = text_lines(printer, value, narrower)
            if condition == sp.true:
                when = [prettyForm("  otherwise")]
            else:
                when = _bracketed("  for ", [text_lines(printer, condition, narrower - 6)], "", "")
            joined = prettyForm(*lines[-1].right(when[0]))
            if len(when) == 1 and joined.width() <= narrower:
                lines[-1] = joined
            else:
                lines += when
            arms.append(lines)
        return _bracketed("{ ", arms, "", ";")
    if isinstance(expr, sp.core.relational.Relational):
        sides = [text_lines(printer, side, width - 4) for side in (expr.lhs, expr.rhs)]
        return _packed([("", sides[0]), (expr.rel_op + " ", sides[1])], width, " ")
    if isinstance(expr, Frobenius):
        parts = [text_lines(printer, arg, narrower) for arg in expr.args]
        return _bracketed("⟨", parts, "⟩_F", ",")
    if isinstance(expr, sp.Integral) and len(expr.limits) == 1 and len(expr.limits[0]) == 3:
        variable, low, high = (printer._print(e).render(wrap_line=False) for e in expr.limits[0])
        if "\n" not in low + high:  # ∫[0, ∞] (...) dx
            inner = text_lines(printer, expr.function, width - 4)
            return _bracketed(f"∫[{low}, {high}] (", [inner], f") d{variable}", "")
    if isinstance(expr, sp.Abs):  # drawn │x│: broken inside its bars
        return _bracketed("│", [text_lines(printer, expr.args[0], narrower)], "│", "")
    if expr.args and (isinstance(expr, sp.Function) or hasattr(expr, "text_name")):
        # A function, or a matrix operator drawn as text_name(A) (cholesky): broken inside
        # its parentheses, between its arguments.
        plain = expr.func(*[sp.Symbol("x")] * len(expr.args))
        name = (
            getattr(expr, "text_name", None)
            or (printer._print(plain).render(wrap_line=False).rpartition("(")[0])
        )
        if name and "\n" not in name:
            parts = [text_lines(printer, arg, width - len(name) - 2) for arg in expr.args]
            return _bracketed(name + "(", parts, ")", ",")
    chunks = form.render(wrap_line=True, num_columns=width, use_unicode=True)
    return [prettyForm(chunk) for chunk in chunks.split("\n\n")]


def _product_lines(printer, expr, width) -> list[prettyForm]:
    """A product too wide for a line: -(...) for a negative one, (numerator)/denominator for
    a fraction, head⋅(widest factor)⋅tail when the rest is short, else its factors packed
    into lines that open with ⋅."""
    negative, magnitude = _negated(expr)
    if negative:
        return _bracketed("-", [text_lines(printer, magnitude, width - 1)], "", "")
    numerator, denominator = sp.fraction(expr, exact=True) if expr.is_Mul else (expr, 1)
    if denominator != 1:
        below = prettyForm(*prettyForm(")/").right(printer._print(denominator)))
        inner = text_lines(printer, numerator, width - 1 - below.width())
        return _bracketed("(", [inner], below, "")
    factors = list(expr.args)
    forms = [printer._print(f) for f in factors]
    widest = max(range(len(factors)), key=lambda i: forms[i].width())
    before, after = factors[:widest], factors[widest + 1 :]
    head, tail = prettyForm("("), prettyForm(")")
    if before:
        head = prettyForm(*printer._print(_product(expr, before)).right("⋅("))
    if after:
        tail = prettyForm(*tail.right("⋅", printer._print(_product(expr, after))))
    if head.width() + tail.width() <= min(width // 2, 16):
        inner = text_lines(printer, factors[widest], width - head.width() - tail.width())
        return _bracketed(head, [inner], tail, "")
    items = []
    for number, factor in enumerate(factors):
        parts = text_lines(printer, factor, width - 4)
        if isinstance(factor, (sp.Add, sp.MatAdd)):
            parts = _bracketed("(", [parts], ")", "")
        items.append(("" if number == 0 else "⋅", parts))
    return _packed(items, width)


def _product(expr, factors):
    """The product of some of ``expr``'s factors, unevaluated (as it is drawn)."""
    return expr.func(*factors, evaluate=False) if len(factors) > 1 else factors[0]


def _negated(term):
    """(True, -term) for a term drawn with a leading minus, else (False, term)."""
    if isinstance(term, (sp.Mul, sp.MatMul)):
        coeff, *rest = term.args
        if coeff.is_Number and coeff.is_negative and rest:
            if coeff == -1:
                return True, _product(term, rest)
            return True, term.func(-coeff, *rest, evaluate=False)
    if term.is_Number and term.is_negative:
        return True, -term
    return False, term


def _add_lines(printer, expr, width) -> list[prettyForm]:
    """A sum's terms packed into lines, each continuation line opening with + or -."""
    items = []
    for number, term in enumerate(expr.args):
        negative, magnitude = _negated(term)
        sign = ("-" if negative else "") if number == 0 else ("-" if negative else "+")
        items.append((sign + " " if sign else "", text_lines(printer, magnitude, width - 2)))
    return _packed(items, width, " ")


def _packed(items, width, space="") -> list[prettyForm]:
    """(separator, lines) items joined into as few lines as fit in ``width``: an item of one
    line joins the current line after ``space`` and its separator where it fits, else opens
    the next line with the separator; an item of several lines starts a line of its own."""
    lines, current = [], None
    for separator, parts in items:
        if current is not None and len(parts) == 1:
            joined = prettyForm(*current.right(space + separator, parts[0]))
            if joined.width() <= width:
                current = joined
                continue
        if current is not None:
            lines.append(current)
        first = prettyForm(*prettyForm(separator).right(parts[0]))
        if len(parts) == 1:
            current = first
        else:
            lines.extend([first] + [_indented(part, len(separator)) for part in parts[1:-1]])
            current = _indented(parts[-1], len(separator))
    return [*lines, current]


def _bracketed(opening, parts, closing, separator) -> list[prettyForm]:
    """Groups of lines between an opening and a closing bracket, separated by ``separator``;
    lines after the first indented by the opening's width."""
    opening = opening if isinstance(opening, prettyForm) else prettyForm(opening)
    lines = []
    for number, group in enumerate(parts):
        for index, line in enumerate(group):
            last = index == len(group) - 1
            if last:
                line = prettyForm(*line.right(closing if number == len(parts) - 1 else separator))
            if number == 0 and index == 0:
                lines.append(prettyForm(*opening.right(line)))
            else:
                lines.append(_indented(line, opening.width()))
    return lines


def _indented(line, columns: int) -> prettyForm:
    return prettyForm(*prettyForm(" " * columns).right(line))
