"""A kernel's numpy module as JAX functions whose derivative is the derived gradient.

:class:`JaxKernel` calls the kernel's numpy module through ``jax.pure_callback``, so it runs
under ``jit`` and ``vmap`` (the kernels broadcast over leading axes, which ``vmap`` adds),
and gives the value a ``jax.custom_vjp`` rule: the forward pass computes the value and the
per-element gradients in one call, the backward multiplies those by the rows' cotangents.
So ``grad`` never differentiates the rewritten formula, and JAX's setting of 64-bit types
changes nothing numerically: the numpy kernels compute in float64 whatever JAX's types
are, and round each result once into its type (float32 with x64 off, never a float64
formula evaluated in float32). Half precision inputs are computed in float64 too. One
exception: XLA on the CPU flushes subnormal numbers to zero, the callbacks' inputs and
results too.
"""

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# Input types: each is computed in float64 by the numpy kernels and rounded once.
FLOAT_TYPES = tuple(np.dtype(t) for t in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64))


def checked(names: Sequence[str], values: Sequence[Any]) -> list[jax.Array]:
    """The inputs as JAX arrays (numpy arrays converted), after refusing, naming the
    argument, what the kernels cannot take: another type, a type that is not a float type of
    FLOAT_TYPES, a scalar (no latent axis), shapes that do not broadcast."""
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, (jax.Array, np.ndarray)):
            raise TypeError(f"{name} must be a JAX (or numpy) array, got {type(value).__name__}")
        if value.dtype not in FLOAT_TYPES:
            raise TypeError(
                f"{name} must be a float16, bfloat16, float32 or float64 array, got {value.dtype}"
            )
        if value.ndim == 0:
            raise ValueError(f"{name} must have a last axis of latent dimensions, got a scalar")
    for i, (a, x) in enumerate(zip(names, values, strict=True)):
        for b, y in zip(names[i + 1 :], values[i + 1 :], strict=True):
            try:
                jnp.broadcast_shapes(x.shape, y.shape)
            except ValueError:
                raise ValueError(
                    f"shapes do not match: {a} has shape {x.shape}, {b} has shape {y.shape}"
                ) from None
    return [jnp.asarray(v) for v in values]


class JaxKernel:
    """``value``, ``grad`` and ``value_and_grad`` of the kernel whose numpy module is
    ``module`` (its functions ``<name>`` and ``<name>_value_and_grad``)."""

    def __init__(self, name: str, names: Sequence[str], module: Any):
        self.names = tuple(names)
        self.host_value = getattr(module, name)
        self.host_value_and_grad = getattr(module, f"{name}_value_and_grad")
        self.differentiable = jax.custom_vjp(self._value)
        self.differentiable.defvjp(self._forward, self._backward)

    def value(self, *values: jax.Array) -> jax.Array:
        return self.differentiable(*checked(self.names, values))

    def grad(self, *values: jax.Array) -> tuple[jax.Array, ...]:
        return self.value_and_grad(*values)[1]

    def value_and_grad(self, *values: jax.Array):
        """(values, gradients of their sum), each rounded once from the numpy kernels'
        float64 (each gradient summed over the axes its input was broadcast along first)."""
        values = checked(self.names, values)
        shape, dtype = _broadcast(values)
        results = (
            jax.ShapeDtypeStruct(shape[:-1], dtype),
            tuple(jax.ShapeDtypeStruct(v.shape, v.dtype) for v in values),
        )

        def host(*arrays):
            value, grads = self.host_value_and_grad(*_wide(arrays, broadcast=False))
            pairs = zip(grads, values, strict=True)
            return _rounded(value, dtype), tuple(_rounded(g, v.dtype) for g, v in pairs)

        # Every input tiled along vmap's axis: each example's gradients of its own sum.
        return jax.pure_callback(host, results, *values, vmap_method="broadcast_all")

    def _value(self, *values: jax.Array) -> jax.Array:
        shape, dtype = _broadcast(values)
        result = jax.ShapeDtypeStruct(shape[:-1], dtype)

        def host(*arrays):
            return _rounded(self.host_value(*_wide(arrays)), dtype)

        return jax.pure_callback(host, result, *values, vmap_method="expand_dims")

    def _fused(self, *values: jax.Array):
        """The row values and the per-element gradients (broadcast shape; half precision in
        float32 until the backward's product)."""
        shape, dtype = _broadcast(values)
        wide = jnp.promote_types(dtype, jnp.float32)
        results = (
            jax.ShapeDtypeStruct(shape[:-1], dtype),
            tuple(jax.ShapeDtypeStruct(shape, wide) for _ in values),
        )

        def host(*arrays):
            value, grads = self.host_value_and_grad(*_wide(arrays))
            return _rounded(value, dtype), tuple(_rounded(g, wide) for g in grads)

        return jax.pure_callback(host, results, *values, vmap_method="expand_dims")

    def _forward(self, *values: jax.Array):
        value, grads = self._fused(*values)
        return value, (grads, values)

    @staticmethod
    def _backward(saved, cotangent: jax.Array):
        grads, values = saved
        weight = cotangent[..., None].astype(grads[0].dtype)
        pairs = zip(grads, values, strict=True)
        return tuple(_sum_to(weight * g, v.shape).astype(v.dtype) for g, v in pairs)


def _broadcast(values: Sequence[jax.Array]) -> tuple[tuple[int, ...], Any]:
    return jnp.broadcast_shapes(*(v.shape for v in values)), jnp.result_type(*values)


def _wide(arrays: Sequence[Any], broadcast: bool = True) -> list[np.ndarray]:
    """The host arrays (broadcast to one shape), float32 and float64 as they are, half
    precision in float64."""
    arrays = [np.asarray(a) for a in arrays]
    arrays = [a if a.dtype in (np.float32, np.float64) else a.astype(np.float64) for a in arrays]
    if not broadcast:
        return arrays
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return [np.broadcast_to(a, shape) for a in arrays]


def _rounded(array: Any, dtype: Any) -> np.ndarray:
    """``array`` rounded into ``dtype``, +-inf beyond its range (as documented: no warning)."""
    with np.errstate(over="ignore"):
        return np.asarray(array).astype(dtype)


def _sum_to(grad: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``grad`` summed over the axes an input of ``shape`` was broadcast along."""
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return jnp.sum(grad, axis=tuple(range(lead)) + stretched).reshape(shape)
