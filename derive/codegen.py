"""Turn kernel specs into modules: stabilize, share subexpressions, print, render.

The numeric work is SymPy's: :func:`derive.numerics.stabilize` rewrites each expression
into nodes proved equal to it (and :func:`derive.numerics.lower_for_numpy` into the ufunc
form of those nodes); :func:`derive.ir.build` shares the subexpressions (``sympy.cse``) and
splits them into named three-address assignments, the one form every backend's printer
reads (derive/printers.py): ufunc calls into scratch buffers, the compiled loops' scalar
lines, the array-API lines. Jinja2 templates in ``templates/`` lay the code out as modules
(:mod:`derive.layout`: rendering, ruff format, headers and seals).
"""

import functools
from dataclasses import dataclass

import sympy as sp

from klgen.derive import cholesky_kernel, encoder_kernel, ir
from klgen.derive.frameworks import Native
from klgen.derive.layout import copy_static, render, wrap_latex
from klgen.derive.numerics import (
    HELPER_SERIES_RADIUS,
    SERIES_RADII,
    SERIES_RADIUS,
    check_exp_reduction,
    check_lowering,
    exp_reduction,
    expm1_minus_x_series,
    fast_path_bounds,
    lower_for_numpy,
    stabilize,
)
from klgen.derive.printers import ArrayApiPrinter, JaxPrinter, ScalarPrinter, UfuncPrinter
from klgen.derive.seal import recorded_hash
from klgen.derive.specs import SPECS, KernelSpec

# Elements of a numpy block: a block is a few dozen ufunc calls, each with about a
# microsecond of overhead, so larger blocks amortise it (per element, kl_std_normal at
# (16384, 512) float64 took 1.45x the time at 8192 elements as at 32768; beyond, no gain).
BLOCK_ELEMENTS = 32768
THREADED_ELEMENTS = 1 << 18
# The numba kernels' compute types, each with the suffix of its functions' names.
NUMBA_TYPES = ScalarPrinter.SUFFIXES


@dataclass(frozen=True)
class Routine:
    """One block's statements, printed from the one intermediate form (derive/ir.py) by
    each backend's printer: numpy ufuncs into the block's buffers, the compiled loops'
    scalar lines in each compute type, and the array-API lines (also numpy's careful path).
    """

    buffers: tuple[str, ...]
    lines: tuple[str, ...]
    scratch: tuple[str, ...]  # the names the block gives its scratch buffers
    scalar_lines: dict[str, tuple[str, ...]]  # by compute type: "float64", "float32"
    numba_helpers: frozenset[str]  # the _numba_exp functions the scalar lines call
    array_api_lines: tuple[str, ...]
    jax_lines: dict[str, tuple[str, ...]]  # by compute type, as scalar_lines
    jax_helpers: frozenset[str]  # the _jax_exp functions the JAX lines call
    helpers: frozenset[str]  # the _numeric functions the numpy and array-API lines call
    # (argument, bound): the numpy lines are exact while every |argument| <= its bound.
    fast_path_checks: tuple[tuple[str, float], ...]

    @property
    def scratch_count(self) -> int:
        return len(self.scratch)


# Names the numpy block functions use besides their arguments: no temporary takes them.
BLOCK_NAMES = {"np", "rows", "careful", "scratch", "series", "rows_out_of_range"}
BLOCK_NAMES |= {"expm1_minus_x", "scaled_exp", "two_sum_lo", "row_sums"}
# Names the compiled loops, the array-API and the JAX functions use besides their arguments.
LOOP_NAMES = {"np", "xp", "jnp", "rows", "series", "kl_terms", "latent", "first", "last", "chunk"}
LOOP_NAMES |= {"row", "start", "stop", "j", "i", "offset", "row_sum", "scaled_exp"}
LOOP_NAMES |= {"half_expm1", "half_expm1_diff", "half_expm1_minus_x", "half_expm1_minus_x_diff"}
LOOP_NAMES |= {f"{name}_f32" for name in LOOP_NAMES if "expm1" in name or name == "scaled_exp"}
LOOP_NAMES |= {f"{name}_generic" for name in ("half_expm1", "half_expm1_minus_x", "scaled_exp")}


@functools.cache  # each spec's numpy and numba modules share their routines
def routine(spec: KernelSpec, value: bool, grad: bool) -> Routine:
    """Stabilize the value and/or gradient expressions of ``spec``, build the intermediate
    form of each (numpy's lowered, the loops' and the array API's from the stable nodes),
    and print it for every backend."""
    stable = {}
    if value:
        stable["kl"] = stabilize(spec.term)
    if grad:
        stable |= {
            f"d{a}": stabilize(g) for a, g in zip(spec.arg_names, spec.gradients, strict=True)
        }
    lowered = {name: lower_for_numpy(e) for name, e in stable.items()}
    lines, scratch, numeric = _numpy_block(spec, lowered)
    elementwise = ir.build(spec.args, stable, LOOP_NAMES | _chunk_names(spec, stable))
    loops = {
        t: ScalarPrinter(elementwise, spec.name, _loop_targets(stable), t) for t in NUMBA_TYPES
    }
    arrays = ArrayApiPrinter(elementwise, spec.name, {"kl": "kl_terms"})
    jaxes = {t: JaxPrinter(elementwise, spec.name, {"kl": "kl_terms"}, t) for t in NUMBA_TYPES}
    array_lines = arrays.statements() + (["kl = xp.sum(kl_terms, axis=-1)"] if value else [])
    bounds = fast_path_bounds(list(lowered.values()), spec.args)
    return Routine(
        buffers=tuple(stable),
        lines=tuple(lines),
        scratch=tuple(scratch),
        scalar_lines={t: tuple(p.statements()) for t, p in loops.items()},
        numba_helpers=frozenset().union(*(p.helpers for p in loops.values())),
        array_api_lines=tuple(array_lines),
        jax_lines={t: tuple(p.statements()) for t, p in jaxes.items()},
        jax_helpers=frozenset().union(*(p.helpers for p in jaxes.values())),
        helpers=frozenset(numeric | arrays.helpers),
        fast_path_checks=tuple((arg.name, bounds[arg]) for arg in spec.args if arg in bounds),
    )


def _chunk_names(spec: KernelSpec, outputs) -> set[str]:
    """The names of the compiled loops' chunk views of the arguments and outputs."""
    return {f"{name}_chunk" for name in (*spec.arg_names, *outputs)}


def _loop_targets(outputs) -> dict[str, str]:
    """Where the compiled loops store element j of each output."""
    return {name: "kl_terms[j]" if name == "kl" else f"{name}_chunk[j]" for name in outputs}


def _numpy_block(spec: KernelSpec, outputs: dict[str, sp.Expr]):
    """The numpy lines of one block writing ``outputs`` (buffer name -> lowered expression),
    the names of its scratch buffers and the ``_numeric`` helpers it calls: the routine of
    ``ir.build`` printed as ufunc calls, then the row sums of the KL (its c*x**2 terms as
    ``np.vecdot(c*x, x)``, the rest by ``row_sums``), taken in float64 and stored into ``kl``."""
    pieces, dots = {}, []  # dots: (name of c*x, name of x) of each c*x**2 term
    for name, expr in outputs.items():
        if name != "kl":
            pieces[name] = expr
            continue
        rest = []
        for term in sp.Add.make_args(expr):
            coeff, factor = term.as_coeff_Mul()
            if isinstance(factor, sp.Pow) and factor.exp == 2:
                dot = (f"kl_scaled_{len(dots)}", f"kl_base_{len(dots)}")
                pieces |= {dot[0]: coeff * factor.base, dot[1]: factor.base}
                dots.append(dot)
            else:
                rest.append(term)
        if rest:
            pieces["kl_terms"] = sp.Add(*rest)
    gradients = {name for name in outputs if name != "kl"}
    # vecdot(c*x, x), not c*vecdot(x, x): the sum of squares may overflow where c times it
    # does not (c = 1/2 scales exactly).
    reductions = [("row_sums({})", ("kl_terms",))] if "kl_terms" in pieces else []
    reductions += [("np.vecdot({}, {})", dot) for dot in dots]
    routine = ir.build(spec.args, pieces, BLOCK_NAMES)
    printer = UfuncPrinter(routine, spec.name, gradients, reductions, reuse=True)
    lines = printer.statements()
    if "kl" in outputs:
        lines.append("np.copyto(kl, rows)")
    sums = {"row_sums"} if "kl_terms" in pieces else set()
    return lines, printer.scratch, printer.helpers | sums


def latex_sum(spec: KernelSpec) -> str:
    """The KL of one row as LaTeX: a sum over latent dimensions j of the spec's term."""
    indexed = {arg: sp.Symbol(_latex_name(arg.name) + "_j") for arg in spec.args}
    return wrap_latex(r"\sum_{j=1}^{D} \left(" + sp.latex(spec.term.xreplace(indexed)) + r"\right)")


def latex_gradients(spec: KernelSpec) -> list[str]:
    """d KL / d arg_j = ..., as LaTeX, for each argument."""
    indexed = {arg: sp.Symbol(_latex_name(arg.name) + "_j") for arg in spec.args}
    return [
        wrap_latex(
            rf"\frac{{\partial \mathrm{{KL}}}}{{\partial {sp.latex(indexed[arg])}}} = "
            + sp.latex(sp.factor_terms(grad).xreplace(indexed))
        )
        for arg, grad in zip(spec.args, spec.gradients, strict=True)
    ]


def _latex_name(name: str) -> str:
    base, _, sub = name.partition("_")
    symbol = {"mu": r"\mu", "logvar": r"\ell"}[base]
    return symbol + (r"^{\mathrm{" + sub + "}}" if sub else "")


# What every kernel module takes from the generated _runtime module, and what the numpy
# modules' array-API functions (which the numba modules import from them) take.
_RUNTIME_NAMES = {
    "check_no_overlap",
    "gradient_buffers",
    "is_numpy",
    "plain",
    "plain_out",
    "prepare",
    "reduce_gradients",
    "split_out",
    "value_buffer",
}
_GENERIC_NAMES = {
    "array_namespace",
    "generic_series",
    "prepare_generic",
    "reduce_generic",
}


def render_module(spec: KernelSpec, backend: str = "numpy", numba_exp: str = "") -> str:
    """One kernel module: ``backend`` "numpy" (ufuncs on row blocks) or "numba" (loops
    calling the helpers of the ``_numba_exp`` module whose text is ``numba_exp``)."""
    routines = {
        "value": routine(spec, value=True, grad=False),
        "grad": routine(spec, value=False, grad=True),
        "value_and_grad": routine(spec, value=True, grad=True),
    }
    numeric, compiled = set(), set()
    if backend == "numpy":
        runner = {"for_row_blocks"} | _GENERIC_NAMES
        numeric = set().union(*(r.helpers for r in routines.values()))
        if any(r.fast_path_checks for r in routines.values()):
            numeric.add("rows_out_of_range")
    else:
        runner = {"for_all_rows"}
        compiled = set().union(*(r.numba_helpers for r in routines.values())) | {"row_sum"}
    return render(
        "kernel_module.py.jinja",
        f"the kernel spec `{spec.name}` (derive/specs.py)",
        spec=spec,
        backend=backend,
        routines=routines,
        imports=sorted(_RUNTIME_NAMES | runner),
        numeric_imports=sorted(numeric),
        numba_imports=sorted(compiled),
        numba_helpers_seal=recorded_hash(numba_exp),
        types=NUMBA_TYPES,
        latex_sum=latex_sum(spec),
        latex_gradients=latex_gradients(spec),
    )


def numba_runtime_files() -> dict[str, str]:
    """The helpers every compiled (numba) kernel module of a package shares."""
    check_exp_reduction()
    return {"_numba_exp.py": _exp_module("numba_exp")}


def jax_runtime_files() -> dict[str, str]:
    """The array helpers every JAX-native kernel module of a package shares."""
    return {"_jax_exp.py": _exp_module("jax_exp")}


def _exp_module(template: str) -> str:
    """The module of the template ``template`` over each compute type's exp reduction."""
    return render(
        f"{template}.py.jinja",
        f"templates/{template}.py.jinja and derive/numerics.py (ExpReduction)",
        types=NUMBA_TYPES,
        reductions={t: exp_reduction(t) for t in NUMBA_TYPES},
    )


def jax_native(spec: KernelSpec) -> Native:
    """The JAX lines of ``spec``'s value and of its value and gradients, in each compute
    type (the same routines as the other backends', printed by JaxPrinter)."""
    routines = {
        "value": routine(spec, value=True, grad=False),
        "value_and_grad": routine(spec, value=True, grad=True),
    }
    return Native(
        lines={kind: r.jax_lines for kind, r in routines.items()},
        helpers=tuple(sorted(frozenset().union(*(r.jax_helpers for r in routines.values())))),
        gradients=tuple(f"d{a}" for a in spec.arg_names),
    )


def render_encoder() -> str:
    return render(
        "encoder_module.py.jinja",
        "the derivation `encoder_backprop` (derive/encoder_kernel.py)",
        **encoder_kernel.context(),
    )


@dataclass(frozen=True)
class KernelModule:
    """A generated module the package exports: its name, what it computes, its functions."""

    name: str
    computes: str
    functions: tuple[str, ...]


def kernel_modules() -> list[KernelModule]:
    """The built-in families' exported modules (derive/package.py lists every module)."""
    suffixes = ("", "_grad", "_value_and_grad")
    modules = [
        KernelModule(s.name, s.divergence, tuple(s.name + x for x in suffixes)) for s in SPECS
    ]
    modules.append(
        KernelModule(
            "kl_mvn_cholesky",
            "KL(N(m0, L0 L0^T) || N(m1, L1 L1^T)), L0, L1 Cholesky factors",
            tuple("kl_mvn_cholesky" + x for x in suffixes),
        )
    )
    modules.append(
        KernelModule(
            "kl_std_normal_encoder",
            "gradients of the summed std-normal KL wrt a VAE encoder's affine heads",
            ("kl_std_normal_encoder_grad",),
        )
    )
    return sorted(modules, key=lambda m: m.name)


def runtime_files() -> dict[str, str]:
    """The support modules every generated package carries (klgen's own and a user's from a
    spec file): argument checks, broadcasting, row blocks and threads, careful helpers."""
    return {
        "_constants.py": render(
            "constants.py.jinja",
            "derive/codegen.py and derive/numerics.py",
            block_elements=BLOCK_ELEMENTS,
            threaded_elements=THREADED_ELEMENTS,
            series={
                r: [expm1_minus_x_series(t, r) for t in ("float32", "float64")]
                for r in SERIES_RADII
            },
            default_radius=SERIES_RADIUS["float64"],
            helper_radius=HELPER_SERIES_RADIUS,
        ),
        "_numeric.py": copy_static("numeric"),
        "_runtime.py": copy_static("runtime"),
    }


def render_all() -> dict[str, str]:
    """Every file of the built-in families (derive/package.py adds the shipped spec files'
    kernels and the package's __init__): file name -> source text."""
    check_lowering()
    files = {**runtime_files(), **numba_runtime_files()}
    for spec in SPECS:
        files[f"{spec.name}.py"] = render_module(spec)
        files[f"{spec.name}_numba.py"] = render_module(spec, "numba", files["_numba_exp.py"])
    files["kl_std_normal_encoder.py"] = render_encoder()
    files["_products.py"] = copy_static("products")
    files.update(cholesky_kernel.render_files())
    return files
