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
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_use_unicode
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


class KlLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the derivations' notation (ln, det, E, <.,.>_F, logvar)."""

    def __init__(self, symbol_names: dict | None = None):
        super().__init__(
            {
                "ln_notation": True,
                "order": "none",
                "mat_str": "matrix",
                "mat_delim": "(",
                "symbol_names": symbol_names or {},
            }
        )

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

    def _print_log(self, expr, exp=None):
        if isinstance(expr.args[0], sp.Determinant) and exp is None:
            return r"\ln " + self._print(expr.args[0])
        return super()._print_log(expr, exp)

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
        rows, cols = expr.shape
        size = (
            self._print(rows) if cols == 1 else rf"{self._print(rows)} \times {self._print(cols)}"
        )
        return rf"\mathbf{{1}}_{{{size}}}"

    def _print_ElementwiseApplyFunction(self, expr):
        return rf"\{_function_name(expr)}\left({self._print(expr.expr)}\right)"

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

    def _print_OneMatrix(self, expr):
        return prettyForm("𝟏")

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


def to_latex(expr, symbol_names: dict | None = None) -> str:
    """LaTeX for a step's expression, in the derivations' notation (``symbol_names``: the
    LaTeX of chosen symbols, as :func:`latex_names` gives them)."""
    return KlLatexPrinter(symbol_names).doprint(expr)


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


def to_text(expr) -> str:
    """Unicode 2-D rendering of a step's expression, for a terminal.

    SymPy draws its big symbols (sums, brackets) from a table it picks once, at import, by
    the encoding of standard output; unicode is switched on here for this call, so that the
    text is the same whatever that encoding (the caller says when it cannot be shown).
    """
    previous = pretty_use_unicode(True)
    try:
        return KlPrettyPrinter().doprint(expr)
    finally:
        pretty_use_unicode(previous)
