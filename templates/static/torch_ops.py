"""A kernel module's array-API functions as torch operators with the derived backward.

:class:`TorchKernel` defines three ``torch.library.custom_op`` operators per kernel: the
row value, its vector-Jacobian product and the fused value and gradients. Each evaluates
the kernel's own array-API functions (the printed derivation: the ``_*_generic`` functions
of the numpy module) on the inputs broadcast and widened to float64, and rounds each
result once into its type. The value's ``register_autograd`` backward is the
vector-Jacobian operator, so autograd never differentiates the rewritten formula: it gets
the derived gradient, finite wherever the exact one is. The operators are opaque to
``torch.compile`` (one graph node each, shapes from their fake kernels) and use only torch
operations, so any device torch computes float64 on runs them.
"""

from collections.abc import Callable, Sequence
from typing import Any

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


def _wide(values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The inputs broadcast to one shape, in float64 (the compute type)."""
    return [v.to(torch.float64) for v in torch.broadcast_tensors(*values)]


def _result_type(values: Sequence[torch.Tensor]) -> torch.dtype:
    dtype = values[0].dtype
    for value in values[1:]:
        dtype = torch.promote_types(dtype, value.dtype)
    return dtype


def _rows(values: Sequence[torch.Tensor]) -> torch.Size:
    """The shape of the row results: the broadcast shape without its last axis."""
    return torch.broadcast_shapes(*(v.shape for v in values))[:-1]


class TorchKernel:
    """The torch operators ``<namespace>::<name>``, ``..._vjp`` and ``..._value_and_grad``
    of one kernel, from its array-API functions ``value(*args)`` (the row results),
    ``grad(*args)`` (the gradients of their sum) and ``value_and_grad(*args)``."""

    def __init__(
        self,
        namespace: str,
        name: str,
        names: Sequence[str],
        value: Callable[..., Any],
        grad: Callable[..., Any],
        value_and_grad: Callable[..., Any],
    ):
        self.names = tuple(names)
        self.functions = (value, grad, value_and_grad)
        namespace = namespace.replace(".", "_")
        tensors = ", ".join(f"Tensor {n}" for n in self.names)
        self.value_op = self._define(f"{namespace}::{name}", self._value, f"({tensors}) -> Tensor")
        self.vjp_op = self._define(
            f"{namespace}::{name}_vjp", self._vjp, f"(Tensor cotangent, {tensors}) -> Tensor[]"
        )
        self.value_and_grad_op = self._define(
            f"{namespace}::{name}_value_and_grad", self._value_and_grad, f"({tensors}) -> Tensor[]"
        )
        self.value_op.register_fake(self._value_fake)
        self.vjp_op.register_fake(self._vjp_fake)
        self.value_and_grad_op.register_fake(self._value_and_grad_fake)
        self.value_op.register_autograd(self._backward, setup_context=self._save)

    @staticmethod
    def _define(name: str, function: Callable[..., Any], schema: str) -> Any:
        return torch.library.custom_op(name, function, mutates_args=(), schema=schema)

    def value(self, *values: torch.Tensor) -> torch.Tensor:
        check(self.names, values)
        return self.value_op(*values)

    def grad(self, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        check(self.names, values)
        ones = torch.ones(_rows(values), dtype=_result_type(values), device=values[0].device)
        return tuple(self.vjp_op(ones, *values))

    def value_and_grad(self, *values: torch.Tensor):
        check(self.names, values)
        value, *grads = self.value_and_grad_op(*values)
        return value, tuple(grads)

    # The operators' kernels: float64 inside, each result rounded once.
    def _value(self, *values: torch.Tensor) -> torch.Tensor:
        return self.functions[0](*_wide(values)).to(_result_type(values))

    def _vjp(self, cotangent: torch.Tensor, *values: torch.Tensor) -> list[torch.Tensor]:
        grads = self.functions[1](*_wide(values))
        return _chain(cotangent, grads, values)

    def _value_and_grad(self, *values: torch.Tensor) -> list[torch.Tensor]:
        value, grads = self.functions[2](*_wide(values))
        ones = torch.ones_like(value)
        return [value.to(_result_type(values)), *_chain(ones, grads, values)]

    # Shapes and types only, for torch.compile's tracing.
    def _value_fake(self, *values: torch.Tensor) -> torch.Tensor:
        return values[0].new_empty(_rows(values), dtype=_result_type(values))

    def _vjp_fake(self, cotangent: torch.Tensor, *values: torch.Tensor) -> list[torch.Tensor]:
        return [torch.empty_like(v) for v in values]

    def _value_and_grad_fake(self, *values: torch.Tensor) -> list[torch.Tensor]:
        return [self._value_fake(*values), *self._vjp_fake(values[0], *values)]

    # Autograd: the saved inputs, then the vector-Jacobian operator.
    @staticmethod
    def _save(ctx: Any, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        ctx.save_for_backward(*inputs)

    def _backward(self, ctx: Any, cotangent: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.vjp_op(cotangent, *ctx.saved_tensors))


def _chain(
    cotangent: torch.Tensor, grads: Sequence[torch.Tensor], values: Sequence[torch.Tensor]
) -> list[torch.Tensor]:
    """Each row's cotangent times its elements' float64 gradients, summed over the axes its
    input was broadcast along, rounded once into that input's type."""
    weight = cotangent.to(torch.float64)[..., None]
    pairs = zip(grads, values, strict=True)
    return [(weight * g).sum_to_size(v.shape).to(v.dtype) for g, v in pairs]
