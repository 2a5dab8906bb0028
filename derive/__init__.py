"""klgen's math: SymPy derivations of the Gaussian KL divergence and the kernel specs built on them.

Importing this package needs sympy; the generated kernels in ``generated/`` never do.
"""
