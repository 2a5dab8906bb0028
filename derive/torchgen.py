"""The torch backend: a ``<name>_torch`` module per kernel, and the runtime it imports.

A torch module prints nothing of its own: its operators (templates/static/torch_ops.py)
evaluate the array-API functions that derive/printers.py's ArrayApiPrinter printed into the
kernel's numpy module, with torch as the namespace, and register the printed gradient as
the value's backward. So the torch backend differs from the array-API path by its module
(operators, fake kernels, autograd registration) and nothing else.
"""

from klgen.derive.layout import KLGENS_OWN, copy_static, render


def runtime_files() -> dict[str, str]:
    """The module every torch kernel module of a package imports."""
    return {"_torch_ops.py": copy_static("torch_ops")}


def render_module(
    name: str,
    computes: str,
    arg_names: tuple[str, ...],
    derivation: str | None,
    source: str,
    edit: str = KLGENS_OWN,
) -> str:
    """The torch module of the kernel ``name`` (whose numpy module is ``<name>.py``)."""
    return render(
        "torch_module.py.jinja",
        source,
        edit,
        name=name,
        computes=computes,
        arg_names=arg_names,
        derivation=derivation,
    )
