"""klgen: divergences and their gradients derived with SymPy, generated as checked kernels.

The repository's folders are this package's parts, in pipeline order: ``klgen.derive`` (the
math and code generation; needs the ``derive`` extra), ``klgen.templates`` (module and page
layout), ``klgen.generated`` (the committed kernels; numpy alone) and ``klgen.vae`` (a numpy
VAE trainer that consumes them). Importing ``klgen`` itself needs nothing but the standard
library, so the kernels import without sympy.
"""

from typing import TYPE_CHECKING

__version__ = "0.2.0"

if TYPE_CHECKING:  # what the lazy names below are, for type checkers (no import at run time)
    from klgen.derive.functions import logaddexp as logaddexp
    from klgen.derive.functions import sigmoid as sigmoid
    from klgen.derive.functions import softplus as softplus
    from klgen.derive.functions import xlogy as xlogy
    from klgen.derive.kernel import Derivation as Derivation
    from klgen.derive.kernel import Kernel as Kernel
    from klgen.derive.notebook import derivation as derivation
    from klgen.derive.rowstats import Statistic as Statistic
    from klgen.derive.rowstats import row_sum as row_sum

# The spec-file API (derive/kernel.py, derive/functions.py) and klgen.derivation (a
# derivation for a notebook, derive/notebook.py): loaded on first use, since they need
# sympy and importing the kernels must not.
_API = {
    "Kernel": "klgen.derive.kernel",
    "Derivation": "klgen.derive.kernel",
    "Statistic": "klgen.derive.rowstats",
    "row_sum": "klgen.derive.rowstats",
    "sigmoid": "klgen.derive.functions",
    "softplus": "klgen.derive.functions",
    "logaddexp": "klgen.derive.functions",
    "xlogy": "klgen.derive.functions",
    "derivation": "klgen.derive.notebook",  # a derivation to show in a notebook
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> object:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'klgen' has no attribute {name!r}")
