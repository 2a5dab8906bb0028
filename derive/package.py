"""klgen's own package of kernels, generated/: the one registry of every kernel it ships, and
the rendering of all of their files.

Two kinds of kernel, one pipeline (README, "How a kernel is made"): the built-in families
(the diagonal Gaussians of derive/specs.py, kl_mvn_cholesky, the encoder gradient:
derive/codegen.py) and the spec files of specs/ (the divergences and likelihoods, each
written as a user writes a spec file: derive/userpkg.py). This module imports both; neither
imports it.
"""

from collections.abc import Mapping
from functools import cache
from pathlib import Path

from klgen import specs
from klgen.derive import cholesky_kernel, codegen, encoder_kernel, frameworks, userpkg
from klgen.derive.codegen import KernelModule
from klgen.derive.derivations import ALL
from klgen.derive.kernel import Kernel, derivation_of, load_spec
from klgen.derive.layout import render

SPEC_FOLDER = Path(specs.__file__).resolve().parent
BACKENDS = ("numpy", "numba", *frameworks.FRAMEWORKS)
SUFFIXES = ("", "_grad", "_value_and_grad")
EDIT_SHIPPED = "change its file in specs/ and run `klgen generate`"


@cache
def shipped_kernels(folder: Path = SPEC_FOLDER) -> tuple[Kernel, ...]:
    """Every kernel of the spec files in specs/, file by file in name order."""
    kernels = []
    for path in sorted(folder.glob("*.py")):
        if path.name != "__init__.py":
            kernels += load_spec(path)
    return tuple(kernels)


def shipped_derivations() -> dict:
    """The derivations of the shipped kernels, by kernel name (``klgen latex NAME``)."""
    return {k.name: derivation_of(k) for k in shipped_kernels() if k.derivation is not None}


class Derivations(Mapping):
    """Derivations by name: ``own`` (klgen's registry) then those of ``kernels`` (spec
    kernels), each of these made when first asked for, since its rewrites take SymPy a while
    and ``klgen latex NAME`` shows one."""

    def __init__(self, own: Mapping, kernels):
        self._own = own
        self._kernels = {k.name: k for k in kernels if k.derivation is not None}
        self._made: dict = {}

    def __getitem__(self, name):
        if name in self._own:
            return self._own[name]
        if name not in self._made:
            # KeyError: not a name; klgen's own kernels, so their steps are kept between runs
            self._made[name] = derivation_of(self._kernels[name], keep=True)
        return self._made[name]

    def __iter__(self):
        yield from self._own
        yield from (name for name in self._kernels if name not in self._own)

    def __len__(self):
        return sum(1 for _ in self)


def every_derivation() -> Derivations:
    """klgen's derivations and the shipped kernels', lazily (``klgen latex``, notebooks)."""
    return Derivations(ALL, shipped_kernels())


def kernel_modules() -> list[KernelModule]:
    """Every exported kernel module, built-in and shipped, by name (the numba twins are
    imported by name, not exported)."""
    shipped = [
        KernelModule(k.name, k.computes, tuple(k.name + s for s in SUFFIXES))
        for k in shipped_kernels()
    ]
    return sorted(codegen.kernel_modules() + shipped, key=lambda m: m.name)


def compiled_twins() -> set[str]:
    """The modules that have a ``<name>_numba`` twin."""
    return {s.name for s in codegen.SPECS} | {k.name for k in shipped_kernels()}


def framework_files() -> dict[str, str]:
    """The torch and JAX twins ``<name>_torch``, ``<name>_jax`` of the built-in kernels:
    the diagonal Gaussians, kl_mvn_cholesky and the encoder's gradients (the shipped spec
    files' kernels get theirs as a user's do: BACKENDS)."""
    files = {}
    for backend in frameworks.FRAMEWORKS:
        files |= frameworks.runtime_files(backend)
        if backend == "jax":
            files |= codegen.jax_runtime_files()
        for spec in codegen.SPECS:
            source = f"the kernel spec `{spec.name}` (derive/specs.py)"
            native = codegen.jax_native(spec) if backend == "jax" else None
            files[f"{spec.name}_{backend}.py"] = frameworks.render_module(
                backend,
                spec.name,
                spec.divergence,
                spec.arg_names,
                spec.derivation,
                source,
                native=native,
            )
        files[f"{cholesky_kernel.NAME}_{backend}.py"] = cholesky_kernel.render_framework(backend)
        files[f"{encoder_kernel.NAME}_{backend}.py"] = encoder_kernel.render_framework(backend)
    return files


def render_all() -> dict[str, str]:
    """Every file of generated/: file name -> source text."""
    files = codegen.render_all()
    shipped = userpkg.render_kernels(
        shipped_kernels(), BACKENDS, files["_constants.py"], EDIT_SHIPPED
    )
    files.update(shipped)
    files.update(framework_files())
    files["__init__.py"] = render(
        "package_init.py.jinja", "derive/package.py", modules=kernel_modules()
    )
    return files
