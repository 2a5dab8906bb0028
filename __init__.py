"""klgen: divergences and their gradients derived with SymPy, generated as checked kernels.

The repository's folders are this package's parts, in pipeline order: ``klgen.derive`` (the
math and code generation; needs the ``derive`` extra), ``klgen.templates`` (module and page
layout), ``klgen.generated`` (the committed kernels; numpy alone) and ``klgen.vae`` (a numpy
VAE trainer that consumes them). Importing ``klgen`` itself needs nothing but the standard
library, so the kernels import without sympy.
"""

__version__ = "0.2.0"
