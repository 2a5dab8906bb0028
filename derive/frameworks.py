"""The torch and JAX backends: a ``<name>_torch`` and a ``<name>_jax`` module per kernel.

Neither prints anything of its own. A torch module's operators (templates/static/
torch_ops.py) run the kernel's numpy module on the CPU and, on other devices, the array-API
functions that derive/printers.py's ArrayApiPrinter printed into it, with torch as the
namespace; a JAX module (templates/static/jax_ops.py) calls the numpy module through
``jax.pure_callback``. Both register the printed gradient as the derivative. So a backend
differs from another by its runtime module and a few lines of the module template.
"""

from klgen.derive.layout import KLGENS_OWN, copy_static, render

FRAMEWORKS = ("torch", "jax")


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
) -> str:
    """The ``backend`` module of the kernel ``name`` (whose numpy module is ``<name>.py``)."""
    return render(
        "framework_module.py.jinja",
        source,
        edit,
        backend=backend,
        name=name,
        computes=computes,
        arg_names=arg_names,
        derivation=derivation,
    )
