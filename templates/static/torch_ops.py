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
operations it traces. In eager mode on the CPU the module's functions call the operators'
CPU kernels directly, and a gradient goes through a ``torch.autograd.Function`` with the
same backward (``_differentiable``): torch's dispatcher and the operators' autograd layer
cost more than a small batch's whole computation. A kernel's arguments may have more core
axes than an elementwise kernel's one latent axis (kl_mvn_cholesky's factors: two;
``core_layout``).
:class:`TorchGradient` is the one operator of a kernel of gradients only (the encoder's),
run by its numpy module on the host.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ._runtime import core_layout

# Input types, each computed in float64 (which holds every float16, bfloat16 and float32
# exactly) and rounded once into the result type.
FLOAT_TYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check(
    names: Sequence[str],
    values: Sequence[Any],
    check_shapes: Callable[[Sequence[Any]], None] | None = None,
) -> None:
    """Refuse, naming the argument, what the kernels cannot take: a non-tensor, a type that
    is not a float type of FLOAT_TYPES, another device than the first argument's, shapes
    against the kernel's own rules (``check_shapes``)."""
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.dtype not in FLOAT_TYPES:
            raise TypeError(
                f"{name} must be a float16, bfloat16, float32 or float64 tensor, got {value.dtype}"
            )
        if value.device != values[0].device:
            raise ValueError(
                f"{name} is on {value.device} and {names[0]} on {values[0].device}: "
                "pass every input on one device"
            )
    if check_shapes is not None:
        check_shapes(values)


def _dtype(values: Sequence[torch.Tensor]) -> torch.dtype:
    """The inputs' promoted type (the results' type)."""
    dtype = values[0].dtype
    for value in values[1:]:
        dtype = torch.promote_types(dtype, value.dtype)
    return dtype


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
    too (as every other device does). ``cores`` gives each argument's number of core axes
    (default: 1, an elementwise kernel's latent axis; the value has one entry per batch
    entry) and ``check_shapes``, if given, the kernel's own rules for its arguments'
    shapes (a function of the tensors raising ValueError)."""

    def __init__(
        self,
        namespace: str,
        name: str,
        names: Sequence[str],
        module,
        cpu=True,
        cores: Sequence[int] | None = None,
        check_shapes: Callable[[Sequence[Any]], None] | None = None,
    ):
        self.names = tuple(names)
        self.module, self.name = module, name
        self.cores = tuple(cores) if cores is not None else (1,) * len(self.names)
        self.check_shapes = check_shapes
        namespace = namespace.replace(".", "_")
        tensors = ", ".join(f"Tensor {n}" for n in self.names)
        self.value_op = _define(f"{namespace}::{name}", self._value, f"({tensors}) -> Tensor")
        self.fused_op = _define(
            f"{namespace}::{name}_fused", self._fused, f"({tensors}) -> Tensor[]"
        )
        self.value_op.register_fake(self._value_fake)
        self.fused_op.register_fake(self._fused_fake)
        self.cpu = cpu
        if cpu:
            self.value_op.register_kernel("cpu", self._value_cpu)
            self.fused_op.register_kernel("cpu", self._fused_cpu)
        self.fused_op.register_autograd(self._backward, setup_context=self._save)
        self.rows = _differentiable(self)

    def value(self, *values: torch.Tensor) -> torch.Tensor:
        """The row values; differentiable (through the fused operator) when a gradient is
        asked for."""
        self._check(values)
        if not (torch.is_grad_enabled() and any(v.requires_grad for v in values)):
            return self._value_cpu(*values) if self._direct(values) else self.value_op(*values)
        if torch.compiler.is_compiling():  # one graph node, its registered backward
            return self.fused_op(*values)[0]
        return self.rows.apply(*values)

    def grad(self, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.value_and_grad(*values)[1]

    def value_and_grad(self, *values: torch.Tensor):
        """(values, gradients of their sum), not differentiable."""
        self._check(values)
        value, *grads = self._fused_here(*(v.detach() for v in values))
        pairs = zip(grads, values, strict=True)
        return value, tuple(_into(g, v.shape, v.dtype) for g, v in pairs)

    def _direct(self, values: Sequence[torch.Tensor]) -> bool:
        """Whether to call the operators' CPU kernels directly rather than through torch's
        dispatcher (which costs more than a small batch's whole computation): in eager
        mode, on the CPU, where they run the host module."""
        return self.cpu and values[0].device.type == "cpu" and not torch.compiler.is_compiling()

    def _fused_here(self, *values: torch.Tensor) -> list[torch.Tensor]:
        """The fused operator's results, through the dispatcher or directly (``_direct``)."""
        return self._fused_cpu(*values) if self._direct(values) else self.fused_op(*values)

    def _check(self, values: Sequence[torch.Tensor]) -> None:
        """:func:`check`, then too few axes or shapes that do not broadcast (ValueError)."""
        check(self.names, values, self.check_shapes)
        core_layout(self.names, [tuple(v.shape) for v in values], self.cores)

    def _layout(self, values: Sequence[torch.Tensor]):
        """The batch shape, each input's shape broadcast to it and the result type."""
        batch, shapes = core_layout(self.names, [tuple(v.shape) for v in values], self.cores)
        return batch, shapes, _dtype(values)

    # The operators' kernels: each result rounded once from float64, contiguous (as the fake
    # kernels' are: compiled code asserts their strides).
    def _value(self, *values: torch.Tensor) -> torch.Tensor:
        _, shapes, dtype = self._layout(values)
        return _result(self.module._value_generic(*_wide(values, shapes)), dtype)

    def _fused(self, *values: torch.Tensor) -> list[torch.Tensor]:
        _, shapes, dtype = self._layout(values)
        value, grads = self.module._value_and_grad_generic(*_wide(values, shapes))
        return [_result(value, dtype), *(_result(g, _grad_type(dtype)) for g in grads)]

    def _value_cpu(self, *values: torch.Tensor) -> torch.Tensor:
        _, shapes, dtype = self._layout(values)
        value = getattr(self.module, self.name)(*_numpy(values, shapes))
        return _result(value, dtype)

    def _fused_cpu(self, *values: torch.Tensor) -> list[torch.Tensor]:
        _, shapes, dtype = self._layout(values)
        function = getattr(self.module, f"{self.name}_value_and_grad")
        value, grads = function(*_numpy(values, shapes))
        return [_result(value, dtype), *(_result(g, _grad_type(dtype)) for g in grads)]

    # Shapes and types only, for torch.compile's tracing.
    def _value_fake(self, *values: torch.Tensor) -> torch.Tensor:
        batch, _, dtype = self._layout(values)
        return values[0].new_empty(batch, dtype=dtype)

    def _fused_fake(self, *values: torch.Tensor) -> list[torch.Tensor]:
        batch, shapes, dtype = self._layout(values)
        grads = [values[0].new_empty(shape, dtype=_grad_type(dtype)) for shape in shapes]
        return [values[0].new_empty(batch, dtype=dtype), *grads]

    # Autograd: the saved gradients times the batch entries' cotangents.
    @staticmethod
    def _save(ctx: Any, inputs: tuple[torch.Tensor, ...], output: list[torch.Tensor]) -> None:
        ctx.mark_non_differentiable(*output[1:])
        _keep(ctx, inputs, output[1:])

    def _backward(self, ctx: Any, cotangents: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The value's cotangent times the saved gradients (the gradients' own cotangents
        are unused: they are not differentiable)."""
        if torch.is_grad_enabled():
            raise RuntimeError(
                "klgen's torch kernels have first derivatives only: a gradient of their "
                "gradient (create_graph=True) is not derived"
            )
        grads = ctx.saved_tensors
        weight = cotangents[0].to(grads[0].dtype)
        triples = zip(grads, ctx.inputs, self.cores, strict=True)
        return tuple(
            _into(weight[(..., *(None,) * core)] * g, shape, dtype)
            for g, (shape, dtype), core in triples
        )


def _into(gradient: torch.Tensor, shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
    """``gradient`` summed over the axes its argument was broadcast along (in float64, then
    rounded once), in the argument's type (each step only where it changes something: a
    small batch's backward is mostly the cost of calling torch)."""
    if gradient.shape != shape:
        gradient = gradient.to(torch.float64).sum_to_size(shape)
    return gradient if gradient.dtype == dtype else gradient.to(dtype)


def _differentiable(kernel: TorchKernel) -> type[torch.autograd.Function]:
    """The fused operator of ``kernel`` as a ``torch.autograd.Function`` with the operator's
    own backward: what :meth:`TorchKernel.value` calls, outside torch.compile, when a
    gradient is asked for. The operator's ``register_autograd`` gives the same derivative
    to whoever calls the operator itself (and to compiled code); this class skips the
    dispatcher and the pytrees of the operator's autograd layer, which were most of a small
    batch's time (kl_std_normal float32 forward and backward at 128 x 20, CPU time:
    2.2-2.8x torch's own formula through the operator, 1.2x this way)."""

    class Rows(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *values: torch.Tensor) -> torch.Tensor:
            value, *grads = kernel._fused_here(*values)
            _keep(ctx, values, grads)
            return value

        @staticmethod
        def backward(ctx: Any, cotangent: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return kernel._backward(ctx, [cotangent])

    Rows.__name__ = Rows.__qualname__ = f"{kernel.name}_rows"
    return Rows


def _keep(ctx: Any, inputs: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]) -> None:
    """What the backward needs: the per-element gradients, the inputs' shapes and types."""
    ctx.save_for_backward(*grads)
    ctx.inputs = [(v.shape, v.dtype) for v in inputs]


def _result(array: Any, dtype: torch.dtype, device: Any = None) -> torch.Tensor:
    """A kernel's result (a numpy array or a tensor) as a contiguous tensor of ``dtype``."""
    tensor = torch.from_numpy(array) if isinstance(array, np.ndarray) else array
    return tensor.to(device=device, dtype=dtype).contiguous()


def _define(name: str, function: Callable[..., Any], schema: str) -> Any:
    return torch.library.custom_op(name, function, mutates_args=(), schema=schema)


def _wide(values: Sequence[torch.Tensor], shapes: Sequence[tuple[int, ...]]) -> list[Any]:
    """The inputs broadcast to ``shapes`` (the batch shape and their own), in float64 (the
    compute type)."""
    return [v.to(torch.float64).expand(s) for v, s in zip(values, shapes, strict=True)]


def _numpy(values: Sequence[torch.Tensor], shapes: Sequence[tuple[int, ...]]) -> list[Any]:
    """The CPU inputs as numpy arrays broadcast to ``shapes`` (views of the tensors' memory
    where they are float32 or float64; half precision in float64, so that the kernels'
    float64 result is rounded once)."""
    wide = [v if v.dtype in _NUMPY_TYPES else v.to(torch.float64) for v in values]
    arrays = [v.detach().numpy() for v in wide]
    return [
        a if a.shape == s else np.broadcast_to(a, s) for a, s in zip(arrays, shapes, strict=True)
    ]


_NUMPY_TYPES = (torch.float32, torch.float64)


class TorchGradient:
    """The operator ``<namespace>::<name>`` of a kernel that computes gradients only (its
    outputs are not differentiated: the inputs are detached), from its host module: the
    function ``<name>``, ``_check_shapes`` (ValueError naming the argument) and
    ``_result_shapes`` (the outputs' shapes for checked input shapes). Every device runs the
    host function: inputs on another device than the CPU make a round trip to the host."""

    def __init__(self, namespace: str, name: str, names: Sequence[str], module):
        self.names, self.module = tuple(names), module
        self.function = getattr(module, name)
        tensors = ", ".join(f"Tensor {n}" for n in self.names)
        namespace = namespace.replace(".", "_")
        self.op = _define(f"{namespace}::{name}", self._compute, f"({tensors}) -> Tensor[]")
        self.op.register_fake(self._fake)

    def __call__(self, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        check(self.names, values, self.module._check_shapes)
        return tuple(self.op(*(v.detach() for v in values)))

    def _compute(self, *values: torch.Tensor) -> list[torch.Tensor]:
        """On the host, each result rounded once into the inputs' type from float64."""
        dtype = _dtype(values)
        shapes = [tuple(v.shape) for v in values]
        arrays = _numpy([v.cpu() for v in values], shapes)
        return [_result(r, dtype, values[0].device) for r in self.function(*arrays)]

    def _fake(self, *values: torch.Tensor) -> list[torch.Tensor]:
        dtype = _dtype(values)
        shapes = self.module._result_shapes([tuple(v.shape) for v in values])
        return [values[0].new_empty(shape, dtype=dtype) for shape in shapes]
