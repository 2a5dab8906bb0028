"""A kernel as JAX functions whose derivative is the derived gradient.

:class:`JaxNative` runs a kernel whose formulas are printed in JAX operations (derive/
printers.py, JaxPrinter): no host callback, float32 computed in float32, float64 in
float64, half precision in float32 and rounded once. :class:`JaxKernel` calls the kernel's
numpy module through ``jax.pure_callback``, so it runs under ``jit`` and ``vmap`` (the
kernels broadcast over leading axes, which ``vmap`` adds). Both give the value a
``jax.custom_vjp`` rule: the forward pass computes the value and the per-element gradients
in one pass, the backward multiplies those by the rows' cotangents. So ``grad`` never
differentiates the rewritten formula. Through the callback, JAX's setting of 64-bit types
changes nothing numerically: the numpy kernels compute in float64 whatever JAX's types
are, and round each result once into its type (float32 with x64 off, never a float64
formula evaluated in float32); half precision inputs are computed in float64 too. XLA on
the CPU flushes subnormal numbers to zero, the callbacks' inputs and results too. A
kernel's arguments may have more core axes than an elementwise kernel's one latent axis
(kl_mvn_cholesky's factors: two; ``core_layout``). :class:`JaxGradient` calls a kernel of
gradients only (the encoder's), with no derivative of its own.
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._runtime import broadcast_axes, core_layout

# Input types: each is computed in float64 by the numpy kernels and rounded once.
FLOAT_TYPES = tuple(np.dtype(t) for t in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64))


def checked(
    names: Sequence[str],
    values: Sequence[Any],
    cores: Sequence[int] | None,
    check_shapes: Callable[[Sequence[Any]], None] | None = None,
    check_values: Callable[[Sequence[Any]], None] | None = None,
) -> list[jax.Array]:
    """The inputs as JAX arrays (numpy arrays converted), after refusing, naming the
    argument, what the kernels cannot take: another type, a type that is not a float type of
    FLOAT_TYPES, shapes against the kernel's own rules (``check_shapes``), too few axes or
    shapes that do not broadcast (``cores``: see core_layout; None: ``check_shapes`` is
    all) and, where the inputs are concrete (not traced by ``jit``,
    ``grad`` or ``vmap``), values the kernel refuses (``check_values``: a ValueError in
    the callback would reach the caller wrapped in JAX's runtime error)."""
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, (jax.Array, np.ndarray)):
            raise TypeError(f"{name} must be a JAX (or numpy) array, got {type(value).__name__}")
        if value.dtype not in FLOAT_TYPES:
            raise TypeError(
                f"{name} must be a float16, bfloat16, float32 or float64 array, got {value.dtype}"
            )
    if check_shapes is not None:
        check_shapes(values)
    if cores is not None:
        core_layout(names, [tuple(v.shape) for v in values], cores)
    if check_values is not None and not any(isinstance(v, jax.core.Tracer) for v in values):
        check_values(values)
    return [jnp.asarray(v) for v in values]


class JaxKernel:
    """``value``, ``grad`` and ``value_and_grad`` of the kernel whose numpy module is
    ``module`` (its functions ``<name>`` and ``<name>_value_and_grad``). ``cores`` gives each
    argument's number of core axes (default: 1, an elementwise kernel's latent axis; the
    value has one entry per batch entry); ``check_shapes`` and ``check_values``, if given,
    the kernel's own rules for its arguments' shapes and values (functions of the arrays
    raising ValueError; the values' checked where they are concrete)."""

    def __init__(
        self,
        name: str,
        names: Sequence[str],
        module: Any,
        cores: Sequence[int] | None = None,
        check_shapes: Callable[[Sequence[Any]], None] | None = None,
        check_values: Callable[[Sequence[Any]], None] | None = None,
    ):
        self.names = tuple(names)
        self.cores = tuple(cores) if cores is not None else (1,) * len(self.names)
        self.checks = (check_shapes, check_values)
        self.host_value = getattr(module, name)
        self.host_value_and_grad = getattr(module, f"{name}_value_and_grad")
        self.differentiable = jax.custom_vjp(self._value)
        self.differentiable.defvjp(self._forward, self._backward)

    def value(self, *values: jax.Array) -> jax.Array:
        return self.differentiable(*self._checked(values))

    def grad(self, *values: jax.Array) -> tuple[jax.Array, ...]:
        return self.value_and_grad(*values)[1]

    def value_and_grad(self, *values: jax.Array):
        """(values, gradients of their sum), each rounded once from the numpy kernels'
        float64 (each gradient summed over the axes its input was broadcast along first)."""
        values = self._checked(values)
        batch, _, dtype = self._layout(values)
        results = (
            jax.ShapeDtypeStruct(batch, dtype),
            tuple(jax.ShapeDtypeStruct(v.shape, v.dtype) for v in values),
        )

        def host(*arrays):
            value, grads = self.host_value_and_grad(*_wide(arrays))
            pairs = zip(grads, values, strict=True)
            return _rounded(value, dtype), tuple(_rounded(g, v.dtype) for g, v in pairs)

        # Every input tiled along vmap's axis: each example's gradients of its own sum.
        return jax.pure_callback(host, results, *values, vmap_method="broadcast_all")

    def _checked(self, values: Sequence[Any]) -> list[jax.Array]:
        return checked(self.names, values, self.cores, *self.checks)

    def _layout(self, values: Sequence[Any]):
        """The batch shape, each input's shape broadcast to it and the result type."""
        return (*self._shapes(values), jnp.result_type(*values))

    def _shapes(self, values: Sequence[Any]):
        """The batch shape and each input's shape broadcast to it."""
        return core_layout(self.names, [tuple(v.shape) for v in values], self.cores)

    def _value(self, *values: jax.Array) -> jax.Array:
        batch, _, dtype = self._layout(values)
        result = jax.ShapeDtypeStruct(batch, dtype)

        def host(*arrays):
            return _rounded(self.host_value(*_wide(arrays, self._shapes(arrays)[1])), dtype)

        return jax.pure_callback(host, result, *values, vmap_method="expand_dims")

    def _fused(self, *values: jax.Array):
        """The value of each batch entry and its gradients (each input's shape broadcast to
        the batch shape; half precision in float32 until the backward's product)."""
        batch, shapes, dtype = self._layout(values)
        wide = jnp.promote_types(dtype, jnp.float32)
        results = (
            jax.ShapeDtypeStruct(batch, dtype),
            tuple(jax.ShapeDtypeStruct(shape, wide) for shape in shapes),
        )

        def host(*arrays):
            value, grads = self.host_value_and_grad(*_wide(arrays, self._shapes(arrays)[1]))
            return _rounded(value, dtype), tuple(_rounded(g, wide) for g in grads)

        return jax.pure_callback(host, results, *values, vmap_method="expand_dims")

    def _forward(self, *values: jax.Array):
        value, grads = self._fused(*values)
        return value, (grads, values)

    def _backward(self, saved, cotangent: jax.Array):
        grads, values = saved
        weight = cotangent.astype(grads[0].dtype)
        triples = zip(grads, values, self.cores, strict=True)
        return tuple(
            _sum_to(weight[(..., *(None,) * core)] * g, v.shape).astype(v.dtype)
            for g, v, core in triples
        )


class JaxNative:
    """``value``, ``grad`` and ``value_and_grad`` of an elementwise kernel whose formulas
    are printed in JAX operations: ``terms`` maps each compute type (jnp.float32,
    jnp.float64) to its two functions of the arguments, the terms of each element and
    (terms, gradients). Half precision is computed in float32 and rounded once; the value
    sums each row's terms in the compute type. Its ``jax.custom_vjp`` rule multiplies the
    derived gradients by the rows' cotangents, and each public function is jitted (one XLA
    computation, not one dispatch per operation, when called eagerly)."""

    def __init__(self, names: Sequence[str], terms: dict[Any, tuple[Callable, Callable]]):
        self.names = tuple(names)
        self.terms = {np.dtype(t): pair for t, pair in terms.items()}
        differentiable = jax.custom_vjp(self._value)
        differentiable.defvjp(self._forward, self._backward)
        self._jitted_value = jax.jit(differentiable)
        self._jitted_value_and_grad = jax.jit(self._value_and_grad)

    def value(self, *values: jax.Array) -> jax.Array:
        return self._jitted_value(*self._checked(values))

    def grad(self, *values: jax.Array) -> tuple[jax.Array, ...]:
        return self.value_and_grad(*values)[1]

    def value_and_grad(self, *values: jax.Array):
        """(values, gradients of their sum), each gradient summed over the axes its input
        was broadcast along and rounded once into its input's type."""
        return self._jitted_value_and_grad(*self._checked(values))

    def _checked(self, values: Sequence[Any]) -> list[jax.Array]:
        return checked(self.names, values, (1,) * len(self.names))

    def _value_and_grad(self, *values: jax.Array):
        value, grads = self._fused(*values)
        pairs = zip(grads, values, strict=True)
        return value, tuple(_sum_to(g, v.shape).astype(v.dtype) for g, v in pairs)

    def _computed(self, kind: int, values: Sequence[jax.Array]):
        """The result type, the batch-and-latent shape and the ``kind``-th function (0: the
        terms, 1: terms and gradients) of the compute type applied to the inputs in it."""
        dtype = jnp.result_type(*values)
        wide = jnp.promote_types(dtype, jnp.float32)
        shape = jnp.broadcast_shapes(*(v.shape for v in values))
        function = self.terms[np.dtype(wide)][kind]
        return dtype, shape, function(*(v.astype(wide) for v in values))

    def _value(self, *values: jax.Array) -> jax.Array:
        dtype, shape, terms = self._computed(0, values)
        return jnp.sum(jnp.broadcast_to(terms, shape), axis=-1).astype(dtype)

    def _fused(self, *values: jax.Array):
        """The value of each row and the gradients of each element (the broadcast shape,
        in the compute type: half precision in float32 until the backward's product)."""
        dtype, shape, (terms, grads) = self._computed(1, values)
        value = jnp.sum(jnp.broadcast_to(terms, shape), axis=-1).astype(dtype)
        return value, tuple(jnp.broadcast_to(g, shape) for g in grads)

    def _forward(self, *values: jax.Array):
        value, grads = self._fused(*values)
        return value, (grads, values)

    def _backward(self, saved, cotangent: jax.Array):
        grads, values = saved
        weight = cotangent.astype(grads[0].dtype)[..., None]
        pairs = zip(grads, values, strict=True)
        return tuple(_sum_to(weight * g, v.shape).astype(v.dtype) for g, v in pairs)


def _wide(arrays: Sequence[Any], shapes: Sequence[tuple[int, ...]] | None = None) -> list:
    """The host arrays (broadcast to ``shapes``, if given), float32 and float64 as they are,
    half precision in float64."""
    arrays = [np.asarray(a) for a in arrays]
    arrays = [a if a.dtype in (np.float32, np.float64) else a.astype(np.float64) for a in arrays]
    if shapes is None:
        return arrays
    return [np.broadcast_to(a, s) for a, s in zip(arrays, shapes, strict=True)]


def _rounded(array: Any, dtype: Any) -> np.ndarray:
    """``array`` rounded into ``dtype``, +-inf beyond its range (as documented: no warning)."""
    with np.errstate(over="ignore"):
        return np.asarray(array).astype(dtype)


def _sum_to(grad: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``grad`` summed over the axes an input of ``shape`` was broadcast along."""
    return jnp.sum(grad, axis=broadcast_axes(tuple(shape), tuple(grad.shape))).reshape(shape)


class JaxGradient:
    """A kernel that computes gradients only, as a JAX function over its numpy module: the
    function ``<name>``, ``_check_shapes`` (ValueError naming the argument) and
    ``_result_shapes`` (the outputs' shapes for checked input shapes). It runs under ``jit``
    and ``vmap`` (one host call per example); it has no derivative of its own."""

    def __init__(self, name: str, names: Sequence[str], module: Any):
        self.names, self.module = tuple(names), module
        self.function = getattr(module, name)

    def __call__(self, *values: jax.Array) -> tuple[jax.Array, ...]:
        values = checked(self.names, values, None, self.module._check_shapes)
        dtype = jnp.result_type(*values)
        shapes = self.module._result_shapes([tuple(v.shape) for v in values])
        results = tuple(jax.ShapeDtypeStruct(shape, dtype) for shape in shapes)

        def host(*arrays):
            return tuple(_rounded(r, dtype) for r in self.function(*_wide(arrays)))

        return jax.pure_callback(host, results, *values, vmap_method="sequential")
