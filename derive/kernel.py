"""The kernel spec, the public entry point of the pipeline: ``klgen.Kernel`` and
``klgen.Derivation``, and the loading of a user's spec file.

A spec file is a Python file that defines ``KERNELS``, a sequence of :class:`Kernel`. Each
kernel is one scalar expression ``term`` in its array arguments' symbols, evaluated per
element and reduced over the last axis (a sum, or a log-sum-exp for categorical logits);
klgen derives its gradients, rewrites it for floating point (each rewrite proved by SymPy)
and generates a module from it (derive/userpkg.py).
"""

import keyword
import runpy
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import mpmath
import sympy as sp

from klgen.derive import numerics, rewrites, rowstats, stepcache
from klgen.derive.derivations import steps as checked
from klgen.derive.derivations.evaluated import series_why, with_series, without_series
from klgen.derive.derivations.notation import latex_names, to_latex
from klgen.derive.errors import SpecError

REDUCTIONS = ("sum", "logsumexp")


@dataclass(frozen=True)
class Derivation:
    """Checked steps that end in a kernel's term: each ``(expression, why)`` must equal the
    one before it (SymPy proves the difference zero); the first is taken as given (say where
    it comes from in ``why``), and the last must equal the kernel's term.
    ``by_quadrature`` lists the steps holding integrals SymPy does not evaluate (the Beta's
    E[log x]): those are compared with their neighbours numerically instead, at random
    points of the arguments, the integrals by mpmath's quadrature, to 1e-20 relative at 30
    digits. ``klgen latex --spec FILE NAME`` shows and checks it."""

    title: str
    steps: Sequence[tuple[sp.Expr, str]]
    intro: str = ""
    by_quadrature: Sequence[int] = ()


@dataclass(frozen=True)
class Kernel:
    """One generated module ``name`` with ``name``, ``name_grad`` and ``name_value_and_grad``.

    ``args`` are SymPy symbols, one per array argument (in the functions' order); ``term``
    the expression of one element in them; ``computes`` says in words what the row result
    is (it becomes the module's docstring); ``reduce`` is "sum" (the last axis summed) or
    "logsumexp" (log of the sum of exp(term) over the last axis). ``series_radius`` is the
    |t| below which float64 outputs evaluate e^t - 1 - t by its Taylor series rather than
    expm1(t) - t (one of ``numerics.SERIES_RADII``: 0.5, or 1 for a kernel whose accuracy
    needs expm1(t) - t only where it is within 1.5 ulps, at the cost of the series on more
    elements; derive/numerics.py).
    """

    name: str
    args: tuple[sp.Symbol, ...]
    term: sp.Expr
    computes: str
    derivation: Derivation | None = None
    reduce: str = "sum"
    statistics: tuple = ()
    gradient_forms: tuple | None = None
    series_radius: float = numerics.SERIES_RADIUS["float64"]
    source: str = field(default="", compare=False)  # the spec file, for messages and headers

    def __post_init__(self):
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "statistics", tuple(self.statistics))
        if self.gradient_forms is not None:
            object.__setattr__(self, "gradient_forms", tuple(self.gradient_forms))
        object.__setattr__(self, "term", _sympified(self.name, self.term))
        _validate(self)

    @cached_property
    def gradients(self) -> tuple[sp.Expr, ...]:
        """d(term)/d(arg) for every argument: the gradient of the row sum, element by element
        (a log-sum-exp multiplies these by the softmax weights of the row); for a kernel of
        statistics, elementwise in the arguments and statistics (derive/rowstats.py)."""
        if self.statistics:
            return rowstats.plan(self).gradients
        return tuple(sp.diff(self.term, arg) for arg in self.args)

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(arg.name for arg in self.args)

    @property
    def used(self) -> tuple[int, ...]:
        """The positions of the arguments the term (or its statistics) depends on."""
        free = self.term.free_symbols.union(*(s.summand.free_symbols for s in self.statistics))
        return tuple(i for i, arg in enumerate(self.args) if arg in free)


def _sympified(name, term) -> sp.Expr:
    try:
        return sp.sympify(term, strict=True)
    except (sp.SympifyError, TypeError) as err:
        raise SpecError(f"kernel {name!r}: term is not a SymPy expression: {term!r}") from err


def _validate(kernel: Kernel) -> None:
    def fail(problem: str):
        raise SpecError(f"kernel {kernel.name!r}: {problem}")

    if not isinstance(kernel.name, str) or not kernel.name.isidentifier():
        fail("name must be a Python identifier (it names the module and its functions)")
    if keyword.iskeyword(kernel.name) or kernel.name.startswith("_"):
        fail("name must not be a keyword or start with '_' (klgen's support modules do)")
    if not kernel.args:
        fail("args is empty; give one SymPy symbol per array argument")
    for arg in kernel.args:
        if not isinstance(arg, sp.Symbol):
            fail(f"args must be SymPy symbols; {arg!r} is a {type(arg).__name__}")
        if not arg.name.isidentifier() or keyword.iskeyword(arg.name):
            fail(f"argument {arg.name!r} is not a Python identifier")
        if arg.name.startswith("_") or arg.name in RESERVED:
            fail(f"argument name {arg.name!r} is reserved by the generated module")
    names = [arg.name for arg in kernel.args]
    if len(set(names)) != len(names):
        fail(f"args repeats a name: {names}")
    if kernel.statistics:
        rowstats.validate(kernel, fail, RESERVED)
    unknown = kernel.term.free_symbols - set(kernel.args)
    if unknown and not kernel.statistics:
        fail(f"term uses {', '.join(sorted(map(str, unknown)))}, not among args {names}")
    if not isinstance(kernel.computes, str) or not kernel.computes.strip():
        fail("computes must say in words what the kernel computes")
    if kernel.reduce not in REDUCTIONS:
        fail(f"reduce must be one of {', '.join(map(repr, REDUCTIONS))}, not {kernel.reduce!r}")
    if kernel.series_radius not in numerics.SERIES_RADII:
        radii = ", ".join(map(str, numerics.SERIES_RADII))
        fail(f"series_radius must be one of {radii}, not {kernel.series_radius!r}")
    if kernel.derivation is not None and not isinstance(kernel.derivation, Derivation):
        fail("derivation must be a klgen.Derivation")
    if kernel.term.has(sp.I) or kernel.term.has(sp.zoo, sp.nan, sp.oo):
        fail(f"term is not a finite real expression: {kernel.term}")


# Names the generated functions use themselves, beside the arguments.
RESERVED = {"out", "np", "xp", "numba", "shape", "dtype", "arrays", "buffers", "value", "scratch"}


def derivation_of(kernel: Kernel, keep: bool = False) -> checked.Derivation:
    """The kernel's derivation in the form ``klgen latex`` shows and checks: each step
    compared with the one before symbolically, then the kernel's term, then the term and
    its gradients through each floating-point rewrite the kernel's code is made with
    (derive/rewrites.py), each a step with its reason, to the expressions the generated
    code evaluates. ``keep``: its steps kept between runs (klgen's own kernels:
    derive/stepcache.py)."""
    if kernel.statistics:
        from klgen.derive.rowderivation import derivation_of as rows_derivation

        return rows_derivation(kernel, keep)
    given, names = kernel.derivation, latex_names(kernel.args)
    steps, gradient_index = stepcache.made(kernel.name, lambda: _shown_steps(kernel), keep)
    extras = ()
    if gradient_index is not None:
        extras = (
            checked.Extra(
                gradient_index,
                "the gradients are sympy.diff of the term (Dirac deltas as 0)",
                lambda derivation: _gradients_follow(kernel, derivation, gradient_index),
            ),
        )
    width = 1 + len(kernel.args)
    given_exprs = [st.expr for st in steps[: len(given.steps) + 1]]  # the given and the term
    numeric = [steps[i].expr for i in given.by_quadrature]
    return checked.Derivation(
        name=kernel.name,
        title=given.title,
        intro=given.intro or kernel.computes,
        lhs=r"\ell",
        lhs_text="l",
        steps=steps,
        cases=lambda: _cases(kernel, numeric, given_exprs, width),
        extras=extras,
        parts=_parts(kernel, names),
    )


def _shown_steps(kernel: Kernel) -> tuple[tuple[checked.Step, ...], int | None]:
    """The given steps, the term, and the term and gradients through the rewrites; the index
    of the step that adds the gradients (None if no rewrite applies)."""
    names = latex_names(kernel.args)
    evaluated_steps, gradient_step = _evaluated_steps(kernel)
    term_why = "the kernel's term" + (
        ", rewritten for floating point below" if evaluated_steps else " (klgen generates this)"
    )
    pairs = [*kernel.derivation.steps, (kernel.term, term_why)]
    shown = [checked.Step(sp.sympify(e), why, names=tuple(names.items())) for e, why in pairs]
    for number, (expr, why) in enumerate(evaluated_steps):
        lhs = None
        if number == gradient_step:  # from here on, the term and its gradients
            matrix = r"\begin{pmatrix} " + r" \\ ".join(_parts(kernel, names)) + r" \end{pmatrix}"
            lhs = (matrix, "(l, " + ", ".join(f"dl/d{a.name}" for a in kernel.args) + ")")
        shown.append(checked.step(expr, why, lhs, names))
    return tuple(shown), None if gradient_step is None else len(pairs) + gradient_step


def _parts(kernel: Kernel, names: dict) -> tuple[str, ...]:
    """The LaTeX of the outputs: the value, then each argument's gradient."""
    return (r"\ell", *(rf"\partial \ell / \partial {names[a]}" for a in kernel.args))


# Points of the numeric case: every argument a random rational in [-1, 3/2] (the
# quadratures of densities with parameters e^-1 to e^1.5 converge to 30 digits).
QUADRATURE_POINTS = 2


def _cases(kernel: Kernel, numeric: list, given: list, width: int) -> tuple:
    """The symbolic case (steps in ``numeric`` left out: not compared), and where there are
    such steps, a numeric case comparing the given steps and the term at random points."""
    symbolic = checked.Case(
        "symbolic",
        True,
        lambda expr: (None,) * width if expr in numeric else _realized(expr, width),
    )
    if not numeric:
        return (symbolic,)
    source = checked.rng(kernel.name)
    points = [
        {a: sp.Rational(source.randint(-10, 15), 10) for a in kernel.args}
        for _ in range(QUADRATURE_POINTS)
    ]

    def at_points(expr):
        if expr not in given:
            return (None,) * len(points)
        plain = rewrites.exact(sp.sympify(expr))
        return tuple(sp.N(_quadratures(plain.xreplace(point)), 30) for point in points)

    return (symbolic, checked.Case("quadrature at random points", False, at_points))


def _quadratures(expr: sp.Expr) -> sp.Expr:
    """``expr`` (numbers but for its integration variables) with each 1-D integral by
    mpmath's tanh-sinh quadrature at 40 digits (which takes the integrable singularities of
    densities at the ends of their supports)."""

    def integral(integrand, limits):
        variable, low, high = limits
        f = sp.lambdify(variable, integrand, "mpmath")
        with mpmath.workdps(40):
            return sp.Float(mpmath.quad(f, [sp.N(low, 40), sp.N(high, 40)]), 40)

    return expr.replace(sp.Integral, integral)


GRADIENTS_WHY = (
    "and its gradients, which the kernel computes too: sympy.diff of the term as rewritten so "
    "far, the arguments real (Dirac deltas at a kink taken as 0, the subgradient numpy-side "
    "libraries return)"
)


def _evaluated_steps(kernel: Kernel) -> tuple[list[tuple[sp.Expr, str]], int | None]:
    """The term through the rewrites derive/userpkg.py's ``prepare`` applies, in its order:
    the rules; then the gradients, sympy.diff of that, through the rules; then term and
    gradients through the e^t - 1 - t pairing, the products of exponentials and the
    compensated exponents (rewrites.LAST_REWRITES), each a step
    with the rule's reason (a rule several outputs use, one step); then the series that
    evaluates e^t - 1 - t near 0, if there is one. In the kernel's own symbols (the
    rewrites take them as real). Also the index of the step that adds the gradients."""
    real = {a: sp.Symbol(a.name, real=True) for a in kernel.args}
    back = {r: a for a, r in real.items()}
    steps: list[tuple[sp.Expr, str]] = []
    shown = [to_latex(kernel.term)]

    def add(expr, why):
        latex = to_latex(expr.xreplace(back))
        if latex != shown[0]:  # not a step where nothing shows
            steps.append((expr.xreplace(back), why))
            shown[0] = latex

    term = kernel.term.xreplace(real)
    for rule, rewritten in rewrites.stages(term, rewrites.RULES):
        term = rewritten
        add(term, rule.why)
    gradients = [rewrites.without_deltas(sp.diff(term, a)) for a in real.values()]
    outputs = [term, *gradients]
    add(sp.Tuple(*outputs), GRADIENTS_WHY)
    gradient_step = len(steps) - 1
    every = range(len(outputs))
    phases = [(rewrites.RULES, every[1:]), (rewrites.EXPM1_MINUS_X, every)]
    for rules, which in [*phases, (rewrites.LAST_REWRITES, every)]:
        after = {i: {r.name: e for r, e in rewrites.stages(outputs[i], rules)} for i in which}
        for rule in rules:
            updated = [after.get(i, {}).get(rule.name, e) for i, e in enumerate(outputs)]
            if updated != outputs:
                outputs = updated
                add(sp.Tuple(*outputs), rule.why)
    final = sp.Tuple(*outputs)
    if final.has(numerics.Expm1MinusX):
        add(with_series(final, kernel.series_radius), series_why(kernel.series_radius))
    return steps, gradient_step


def _realized(expr, width: int) -> tuple:
    """A step as the checker compares it: (term, gradients...); a step of the term alone
    leaves the gradients None (not compared)."""
    if isinstance(expr, sp.Tuple):
        return tuple(evaluated(e) for e in expr)
    return (evaluated(expr), *[None] * (width - 1))


def _gradients_follow(kernel: Kernel, derivation, index: int) -> bool:
    """Whether the gradients the step at ``index`` introduces are the derivatives of its term
    (the arguments real, Dirac deltas as 0), proved by SymPy; that term equals the kernel's,
    as the step's own check shows, so they are the kernel's gradients."""
    real = {a: sp.Symbol(a.name, real=True) for a in kernel.args}
    term, *gradients = (e.xreplace(real) for e in derivation.steps[index].expr)
    return all(
        rewrites.proved_equal(g, rewrites.without_deltas(sp.diff(term, real[a])))
        for g, a in zip(gradients, kernel.args, strict=True)
    )


def evaluated(expr: sp.Expr) -> sp.Expr:
    """``expr`` as the checker compares it: klgen's functions by their definitions, and
    every sum (over the outcomes of a distribution) and integral (over a density's support)
    evaluated, its summand expanded first (the logarithms of products split, as everywhere
    here: the quantities are positive). A sum or integral SymPy cannot evaluate stays one,
    and its step fails."""

    def evaluate(summand, *limits):
        (index, *_), *more = limits
        if more:
            return sp.Sum(summand, *limits).doit()
        # e^(k c), c free of the index k, as u^k with u = e^c a positive symbol: SymPy sums
        # the series in those (it sees e^(k log_rate) as no power series).
        positive, powers = {}, {}
        for e in summand.atoms(sp.exp):
            c = e.args[0] / index if e.has(index) else e.args[0]
            if not c.has(index):
                u = positive.setdefault(sp.exp(c), sp.Dummy(positive=True))
                powers[e] = u**index if e.has(index) else u
        summand = sp.expand(sp.expand_log(summand.xreplace(powers), force=True))
        back = {u: e for e, u in positive.items()}
        return sp.Sum(summand, *limits).doit().xreplace(back)

    plain = without_series(sp.sympify(expr))
    return rewrites.exact(plain).replace(sp.Sum, evaluate).replace(sp.Integral, _integral)


def _integral(integrand, *limits):
    """An integral with the logarithm of a density split into its terms (each integrated on
    its own) and each |y| among its integrand and limits taken as a positive symbol (SymPy
    integrates over limits such as -|y| then, which it cannot do with the absolute value
    itself; a limit -|y| <= 0 is what a split at a kink gives). SymPy writes log Gamma(z + 1)
    for some terms: loggamma(z) + log(z) by expand_func."""
    integrand = sp.expand(sp.expand_log(integrand, force=True))
    integral = sp.Integral(integrand, *limits)
    positive = {a: sp.Dummy(positive=True) for a in integral.atoms(sp.Abs)}
    done = integral.xreplace(positive).doit().xreplace({u: a for a, u in positive.items()})
    return sp.expand_func(done.replace(_log_of_gamma, lambda e: sp.loggamma(*e.args[0].args)))


def _log_of_gamma(e) -> bool:
    return isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma)


def load_spec(path: Path) -> tuple[Kernel, ...]:
    """The ``KERNELS`` of the spec file at ``path``; SpecError (naming the file) when it
    cannot be run or does not define them, OSError when it cannot be read."""
    if not Path(path).is_file():
        raise FileNotFoundError(2, "no such spec file", str(path))
    try:
        namespace = runpy.run_path(str(path), run_name="klgen_spec")
    except SpecError as err:
        raise SpecError(f"{path}: {err}") from err
    except SyntaxError as err:
        raise SpecError(f"{path}: line {err.lineno}: {err.msg}") from err
    except Exception as err:  # the user's code: say what it raised and where
        raise SpecError(f"{path}: raised {type(err).__name__}: {err}{_line(err, path)}") from err
    kernels = namespace.get("KERNELS")
    if kernels is None:
        raise SpecError(f"{path}: defines no KERNELS (a sequence of klgen.Kernel)")
    if isinstance(kernels, Kernel) or not isinstance(kernels, Sequence) or not kernels:
        raise SpecError(f"{path}: KERNELS must be a non-empty list or tuple of klgen.Kernel")
    for kernel in kernels:
        if not isinstance(kernel, Kernel):
            raise SpecError(f"{path}: KERNELS holds {kernel!r}, not a klgen.Kernel")
    names = [k.name for k in kernels]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SpecError(f"{path}: two kernels are named {', '.join(repeated)}")
    return tuple(_with_source(k, str(path)) for k in kernels)


def _with_source(kernel: Kernel, source: str) -> Kernel:
    object.__setattr__(kernel, "source", source)
    return kernel


def _line(err: Exception, path) -> str:
    """' (line N)' of the spec file where ``err`` was raised, when the traceback has it."""
    tb, line = err.__traceback__, None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == Path(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""
