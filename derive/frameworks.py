"""The torch and JAX backends: a ``<name>_torch`` and a ``<name>_jax`` module per kernel.

A torch module's operators (templates/static/torch_ops.py) run the kernel's numpy module on
the CPU and, on other devices, the array-API functions that derive/printers.py's
ArrayApiPrinter printed into it, with torch as the namespace. A JAX module
(templates/static/jax_ops.py) is native where it is given the kernel's lines printed by
JaxPrinter (:class:`Native`: the diagonal Gaussians), else it calls the numpy module
through ``jax.pure_callback``. All register the printed gradient as the derivative. So a
backend differs from another by its runtime module, its printer's table and a few lines of
the module template, and a kernel from another by its name, arguments and :class:`Layout`.
"""

from dataclasses import dataclass

from klgen.derive.layout import KLGENS_OWN, copy_static, render

FRAMEWORKS = ("torch", "jax")


@dataclass(frozen=True)
class Layout:
    """How a kernel's arguments are shaped, for its twins' checks and docstrings."""

    # Each argument's number of core axes (last); None: one each, an elementwise kernel's
    # latent axis. The value has one entry per batch entry (the axes before the core ones).
    cores: tuple[int, ...] | None = None
    # (module, function) of the package checking the kernel's own rules for the shapes
    # (both twins, before the kernel runs) and for the values (JAX's eager calls: torch's
    # operators raise the kernel's own ValueError).
    check_shapes: tuple[str, str] | None = None
    check_values: tuple[str, str] | None = None
    # What the inputs are, after "torch tensors on one device" / "JAX (or numpy) arrays".
    inputs: str = " with a last axis of latent dimensions, broadcasting against each other"
    # The shapes refused with ValueError, besides those that do not broadcast.
    refused: str = "a scalar"
    # What one value is of, in the singular and the plural.
    entry: str = "row"
    entries: str = "rows"
    # Whether the package has a compiled ``<name>_numba`` twin (else the CPU runs numpy).
    numba: bool = True
    # A kernel of gradients only (``<name>_grad``, no value to differentiate): its results'
    # names; its numpy module has ``_check_shapes`` and ``_result_shapes``.
    outputs: tuple[str, ...] | None = None


ELEMENTWISE = Layout()


@dataclass(frozen=True)
class Native:
    """A JAX-native kernel's printed lines (derive/printers.py, JaxPrinter): by function
    ("value": the terms of each element; "value_and_grad": the terms and the gradients)
    and compute type ("float32", "float64"), its statements; the ``_jax_exp`` helpers they
    call; the gradients' names, one per argument."""

    lines: dict[str, dict[str, tuple[str, ...]]]
    helpers: tuple[str, ...]
    gradients: tuple[str, ...]


def runtime_files(backend: str) -> dict[str, str]:
    """The module every ``backend`` kernel module of a package imports."""
    return {f"_{backend}_ops.py": copy_static(f"{backend}_ops")}


def render_module(
    backend: str,
    name: str,
    computes: str,
    arg_names: tuple[str, ...],
    derivation: str | None,
    source: str,
    edit: str = KLGENS_OWN,
    layout: Layout = ELEMENTWISE,
    native: Native | None = None,
) -> str:
    """The ``backend`` module of the kernel ``name`` (whose numpy module is ``<name>.py``);
    given ``native`` (JAX only), its formulas are printed into it, else it calls the numpy
    module on the host."""
    checks = _checks(backend, layout)
    imports: dict[str, list[str]] = {}
    for module, function in checks.values():
        imports.setdefault(module, []).append(function)
    return render(
        "framework_module.py.jinja",
        source,
        edit,
        backend=backend,
        name=name,
        computes=computes,
        arg_names=arg_names,
        derivation=derivation,
        layout=layout,
        checks={keyword: function for keyword, (_, function) in checks.items()},
        check_imports={module: sorted(functions) for module, functions in imports.items()},
        native=native,
        suffixes={"float64": "_f64", "float32": "_f32"},
    )


def _checks(backend: str, layout: Layout) -> dict[str, tuple[str, str]]:
    """The kernel's own checks the ``backend`` twin calls, by keyword: the values' only in
    JAX (torch's operators raise the kernel's ValueError as it is)."""
    checks = {"check_shapes": layout.check_shapes}
    if backend == "jax":
        checks["check_values"] = layout.check_values
    return {keyword: check for keyword, check in checks.items() if check is not None}
