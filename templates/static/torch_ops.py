"""A kernel's host module as torch operators whose backward is the derived gradient.

:class:`TorchKernel` defines two ``torch.library.custom_op`` operators per kernel: the row
value, and the value with the per-element gradients of each row's value (what autograd
needs, computed in the same pass). On the CPU they run the kernel's host module on the
tensors' memory (its numba twin where numba is installed, else its numpy module); on every
other device, the array-API functions (the ``_*_generic`` functions the numpy module prints
from the same intermediate form) with torch as the namespace. float64 inputs are computed
in float64, half precision ones in float64 and rounded once; float32 ones in float64 and
rounded once (numpy, array API) or in float32 within the same ulp bounds (numba). The fused
operator's ``register_autograd`` backward multiplies the saved gradients by the rows'
cotangents, so autograd never differentiates the rewritten formula: it gets the derived
gradient, finite wherever the exact one is. The operators are opaque to ``torch.compile``
(one graph node each, shapes from their fake kernels); the backward is plain torch
operations it traces.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

# Input types, each computed in float64 (which holds every float16, bfloat16 and float32
# exactly) and rounded once into the result type.
FLOAT_TYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check(names: Sequence[str], values: Sequence[Any]) -> None:
    """Refuse, naming the argument, what the kernels cannot take: a non-tensor, a type that
    is not a float type of FLOAT_TYPES, a scalar (no latent axis), another device than the
    first argument's, shapes that do not broadcast."""
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.dtype not in FLOAT_TYPES:
            raise TypeError(
                f"{name} must be a float16, bfloat16, float32 or float64 tensor, got {value.dtype}"
            )
        if value.ndim == 0:
            raise ValueError(f"{name} must have a last axis of latent dimensions, got a scalar")
        if value.device != values[0].device:
            raise ValueError(
                f"{name} is on {value.device} and {names[0]} on {values[0].device}: "
                "pass every input on one device"
            )
    shapes = [tuple(v.shape) for v in values]
    for i, (name_a, a) in enumerate(zip(names, shapes, strict=True)):
        for name_b, b in zip(names[i + 1 :], shapes[i + 1 :], strict=True):
            if not _broadcastable(a, b):
                raise ValueError(
                    f"shapes do not match: {name_a} has shape {a}, {name_b} has shape {b}"
                )


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(m == n or m == 1 or n == 1 for m, n in zip(reversed(a), reversed(b), strict=False))


def _broadcast(values: Sequence[torch.Tensor]) -> tuple[torch.Size, torch.dtype]:
    """The inputs' broadcast shape and promoted type."""
    dtype = values[0].dtype
    for value in values[1:]:
        dtype = torch.promote_types(dtype, value.dtype)
    return torch.broadcast_shapes(*(v.shape for v in values)), dtype


def _grad_type(dtype: torch.dtype) -> torch.dtype:
    """The type the per-element gradients are kept in until they are rounded into the
    inputs' types: half precision ones in float64, so that a gradient, or its product with
    the cotangent, is rounded once (and the type's range bounds only the final result)."""
    return torch.float64 if dtype in (torch.float16, torch.bfloat16) else dtype


class TorchKernel:
    """The operators ``<namespace>::<name>`` and ``<namespace>::<name>_fused`` of the kernel
    whose host module (numpy or numba) is ``module``: its functions ``<name>``,
    ``<name>_value_and_grad`` and the array-API ``_value_generic``,
    ``_value_and_grad_generic``. With ``cpu=False`` the CPU runs the array-API functions
    too (as every other device does)."""

    def __init__(self, namespace: str, name: str, names: Sequence[str], module, cpu=True):
        self.names = tuple(names)
        self.module, self.name = module, name
        namespace = namespace.replace(".", "_")
        tensors = ", ".join(f"Tensor {n}" for n in self.names)
        self.value_op = _define(f"{namespace}::{name}", self._value, f"({tensors}) -> Tensor")
        self.fused_op = _define(
            f"{namespace}::{name}_fused", self._fused, f"({tensors}) -> Tensor[]"
        )
        self.value_op.register_fake(self._value_fake)
        self.fused_op.register_fake(self._fused_fake)
        if cpu:
            self.value_op.register_kernel("cpu", self._value_cpu)
            self.fused_op.register_kernel("cpu", self._fused_cpu)
        self.fused_op.register_autograd(self._backward, setup_context=self._save)

    def value(self, *values: torch.Tensor) -> torch.Tensor:
        """The row values; differentiable (through the fused operator) when a gradient is
        asked for."""
        check(self.names, values)
        if torch.is_grad_enabled() and any(v.requires_grad for v in values):
            return self.fused_op(*values)[0]
        return self.value_op(*values)

    def grad(self, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.value_and_grad(*values)[1]

    def value_and_grad(self, *values: torch.Tensor):
        """(values, gradients of their sum), not differentiable."""
        check(self.names, values)
        value, *grads = self.fused_op(*(v.detach() for v in values))
        pairs = zip(grads, values, strict=True)
        return value, tuple(g.sum_to_size(v.shape).to(v.dtype) for g, v in pairs)

    # The operators' kernels: each result rounded once from float64.
    def _value(self, *values: torch.Tensor) -> torch.Tensor:
        return self.module._value_generic(*_wide(values)).to(_broadcast(values)[1])

    def _fused(self, *values: torch.Tensor) -> list[torch.Tensor]:
        value, grads = self.module._value_and_grad_generic(*_wide(values))
        dtype = _broadcast(values)[1]
        return [value.to(dtype), *(g.to(_grad_type(dtype)) for g in grads)]

    def _value_cpu(self, *values: torch.Tensor) -> torch.Tensor:
        value = getattr(self.module, self.name)(*_numpy(values))
        return torch.from_numpy(value).to(_broadcast(values)[1])

    def _fused_cpu(self, *values: torch.Tensor) -> list[torch.Tensor]:
        value, grads = getattr(self.module, f"{self.name}_value_and_grad")(*_numpy(values))
        dtype = _broadcast(values)[1]
        grads = [torch.from_numpy(g).to(_grad_type(dtype)) for g in grads]
        return [torch.from_numpy(value).to(dtype), *grads]

    # Shapes and types only, for torch.compile's tracing.
    def _value_fake(self, *values: torch.Tensor) -> torch.Tensor:
        shape, dtype = _broadcast(values)
        return values[0].new_empty(shape[:-1], dtype=dtype)

    def _fused_fake(self, *values: torch.Tensor) -> list[torch.Tensor]:
        shape, dtype = _broadcast(values)
        grads = [values[0].new_empty(shape, dtype=_grad_type(dtype)) for _ in values]
        return [self._value_fake(*values), *grads]

    # Autograd: the saved gradients times the rows' cotangents.
    @staticmethod
    def _save(ctx: Any, inputs: tuple[torch.Tensor, ...], output: list[torch.Tensor]) -> None:
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(*output[1:])
        ctx.inputs = [(v.shape, v.dtype) for v in inputs]

    @staticmethod
    def _backward(ctx: Any, cotangents: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The value's cotangent times the saved gradients (the gradients' own cotangents
        are unused: they are not differentiable)."""
        if torch.is_grad_enabled():
            raise RuntimeError(
                "klgen's torch kernels have first derivatives only: a gradient of their "
                "gradient (create_graph=True) is not derived"
            )
        grads = ctx.saved_tensors
        weight = cotangents[0][..., None].to(grads[0].dtype)
        pairs = zip(grads, ctx.inputs, strict=True)
        return tuple((weight * g).sum_to_size(shape).to(dtype) for g, (shape, dtype) in pairs)


def _define(name: str, function: Callable[..., Any], schema: str) -> Any:
    return torch.library.custom_op(name, function, mutates_args=(), schema=schema)


def _wide(values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The inputs broadcast to one shape, in float64 (the compute type)."""
    return [v.to(torch.float64) for v in torch.broadcast_tensors(*values)]


def _numpy(values: Sequence[torch.Tensor]) -> list[Any]:
    """The CPU inputs as numpy arrays of their broadcast shape (views of the tensors' memory
    where they are float32 or float64; half precision in float64, so that the kernels'
    float64 result is rounded once)."""
    shape, _ = _broadcast(values)
    wide = [v if v.dtype in _NUMPY_TYPES else v.to(torch.float64) for v in values]
    return [np.broadcast_to(v.detach().numpy(), shape) for v in wide]


_NUMPY_TYPES = (torch.float32, torch.float64)
