"""Shared machinery of the generated KL kernels: input checks, row blocks, stable helpers.

Its constants (block and thread sizes, the Taylor series klgen derives) are in the
generated _constants.py.
"""

import contextlib
import functools
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._constants import BLOCK_ELEMENTS, EXPM1_MINUS_X_SERIES, THREADED_ELEMENTS

# More threads than this would only cost their stacks (and a typo such as 1000000 would
# start a thread per row).
_MAX_THREADS = 1024

# The series of e^t - 1 - t for each float64 radius a kernel may choose and output type,
# keyed by (numpy dtype, radius): the kernels look it up by their outputs' dtype and their
# own radius.
_EXPM1_MINUS_X_SERIES = {
    (np.dtype(name), radius): series
    for radius, table in EXPM1_MINUS_X_SERIES.items()
    for name, series in table.items()
}
_FLOAT_DTYPES = frozenset(dtype for dtype, _ in _EXPM1_MINUS_X_SERIES)
_FLOAT_SCALARS = frozenset(d.type for d in _FLOAT_DTYPES)  # np.float32, np.float64
_pool = None
# Each thread keeps its numpy blocks' work array (scratch, float64 copies of float32 inputs
# and outputs) between calls, up to this many float64 elements: freed and allocated again,
# an array over glibc's 128 KiB threshold is a fresh mapping whose pages fault on every call
# (at D = 64, batches of 256 to 1024 rows took 3-5x the time per element of larger ones).
_KEPT_WORK_ELEMENTS = 16 * BLOCK_ELEMENTS
_local = threading.local()


def _thread_count(setting):
    """The thread count KLGEN_NUM_THREADS ``setting`` asks for: the core count when it is
    unset or empty, else a whole number from 1 to _MAX_THREADS; anything else is refused
    once, at import, rather than giving wrong results (-1 once left outputs unwritten)."""
    if setting == "":
        return os.cpu_count() or 1
    if setting.isascii() and setting.isdigit() and 1 <= int(setting) <= _MAX_THREADS:
        return int(setting)
    raise ValueError(
        f"KLGEN_NUM_THREADS must be a whole number from 1 to {_MAX_THREADS} "
        f"(or unset for the core count), got {setting!r}"
    )


NUM_THREADS = _thread_count(os.environ.get("KLGEN_NUM_THREADS", ""))

FloatArray: TypeAlias = NDArray[np.floating]
"""A float32 or float64 numpy array: the kernels' results in their type hints."""
Series: TypeAlias = tuple[float, tuple[float, ...]]
"""The |t| below which the Taylor series of e^t - 1 - t is used, and its coefficients."""
_T = TypeVar("_T")


def is_numpy(values: Sequence[object]) -> bool:
    """True unless a value is another library's array (one with ``__array_namespace__`` or
    ``__dlpack__`` that is no numpy array, or a Dask array): numpy takes the rest (arrays,
    scalars, lists, objects with ``__array__``) or :func:`prepare` refuses them, naming the
    argument."""
    return not any(_foreign(v) for v in values)


def _foreign(value):
    return not isinstance(value, (np.ndarray, np.generic)) and (
        hasattr(value, "__array_namespace__") or hasattr(value, "__dlpack__") or _dask(value)
    )


def _dask(value) -> bool:
    """A Dask array has neither attribute, and numpy would compute it whole; the kernels
    run on it chunk by chunk instead (:func:`on_dask_chunks`)."""
    return type(value).__module__.startswith("dask.")


def _library(value):
    """What kind of array ``value`` is, for error messages: "numpy ndarray", "torch Tensor",
    or a Python type's own name ("float", "list")."""
    package = type(value).__module__.partition(".")[0]
    return type(value).__name__ if package == "builtins" else f"{package} {type(value).__name__}"


def _one_library(names: Sequence[str], values: Sequence[Any]) -> None:
    """Refuse inputs of different array libraries, naming the first and the odd one."""
    libraries = [type(v).__module__.partition(".")[0] for v in values]
    for name, value, library in zip(names, values, libraries, strict=True):
        if library != libraries[0]:
            raise TypeError(
                f"{names[0]} ({_library(values[0])}) and {name} ({_library(value)}) come "
                "from different libraries: pass every input as an array of one library"
            )


def is_dask(values: Sequence[object]) -> bool:
    """True if an input is a Dask array (the kernels then run chunk by chunk,
    :func:`on_dask_chunks`)."""
    return any(_dask(v) for v in values)


def on_dask_chunks(
    function: Callable[..., Any], kind: str, names: Sequence[str], values: Sequence[Any]
) -> Any:
    """``function``, a kernel's function of numpy arrays (``kind`` "value", "grad" or
    "value_and_grad"), on Dask arrays: lazily, one call per chunk of rows, so each result
    chunk is what the kernel computes for those rows (equal to the whole-array call's bit
    for bit in the tests) and a batch larger than memory is computed a chunk at a time. The
    last axis (latent dimensions, categories or components) becomes one chunk. Inputs are
    checked now, naming the argument, as numpy inputs are. A gradient of an input broadcast
    along other axes is computed at the broadcast shape in float64 and summed by Dask over
    those axes, then rounded once into the result type (its sums group differently from
    numpy's: equal within float64 rounding)."""

    import dask.array as da

    _one_library(names, values)
    for name, value in zip(names, values, strict=True):
        if any(math.isnan(n) for n in value.shape):
            raise ValueError(
                f"{name} has chunks of unknown size: call its .compute_chunk_sizes() first"
            )
    metas = [np.broadcast_to(np.empty((), v.dtype), v.shape) for v in values]
    metas, shape = prepare(names, metas)  # the numpy kernels' checks and messages
    dtype = metas[0].dtype
    arrays = [v if v.shape == shape else da.broadcast_to(v, shape) for v in values]
    compute = dtype
    if kind != "value" and any(v.shape != shape for v in values):
        compute = np.dtype(np.float64)  # gradients summed before they are rounded
        arrays = [a.astype(compute) for a in arrays]
    has_value = kind != "grad"
    cores = ["()"] * has_value + ["(j)"] * (len(names) if kind != "value" else 0)
    results = da.apply_gufunc(
        functools.partial(_flat_results, function, kind),
        ",".join(["(j)"] * len(names)) + "->" + ",".join(cores),
        *arrays,
        output_dtypes=[compute] * len(cores),
        allow_rechunk=True,  # the last axis into one chunk
    )
    results = results if isinstance(results, tuple) else (results,)
    if kind == "value":
        return results[0]
    pairs = zip(results[has_value:], values, strict=True)
    grads = tuple(_summed_to(g, v.shape).astype(dtype) for g, v in pairs)
    return grads if kind == "grad" else (results[0].astype(dtype), grads)


def _flat_results(function: Callable[..., Any], kind: str, *blocks: FloatArray) -> Any:
    """``function``'s results on one chunk as one array or a flat tuple (the value, then the
    gradients): what Dask's ``apply_gufunc`` takes."""
    result = function(*blocks)
    flat = (result[0], *result[1]) if kind == "value_and_grad" else result
    return flat[0] if isinstance(flat, tuple) and len(flat) == 1 else flat


def _summed_to(gradient: Any, shape: tuple[int, ...]) -> Any:
    """A gradient at the broadcast shape summed over the axes its input was broadcast along
    (:func:`reduce_gradients` for Dask arrays)."""
    if gradient.shape == shape:
        return gradient
    return gradient.sum(axis=broadcast_axes(shape, gradient.shape)).reshape(shape)


def broadcast_axes(shape: tuple[int, ...], broadcast: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``broadcast`` that an input of ``shape`` was broadcast along (leading axes
    it lacks, and its axes of length 1 stretched): what its gradient is summed over."""
    lead = len(broadcast) - len(shape)
    stretched = [lead + a for a, n in enumerate(shape) if n != broadcast[lead + a]]
    return (*range(lead), *stretched)


def array_namespace(names: Sequence[str], values: Sequence[Any]) -> Any:
    """The array API namespace of non-numpy inputs (torch, CuPy, JAX, array-api-strict...),
    which must all come from one library."""
    _one_library(names, values)
    try:
        from array_api_compat import array_namespace
    except ImportError:
        kinds = sorted({type(v).__module__ + "." + type(v).__name__ for v in values})
        raise TypeError(
            f"inputs of type {', '.join(kinds)} need the array-api-compat package "
            "(pip install array-api-compat); numpy arrays do not"
        ) from None
    return array_namespace(*values)


def prepare_generic(
    xp: Any, names: Sequence[str], values: Sequence[Any]
) -> tuple[list[Any], tuple[int, ...], Any]:
    """The array-API twin of :func:`prepare`: check float32/float64 arrays with a latent axis
    whose shapes broadcast; return them in float64 (the compute type), their broadcast shape
    and the result type."""
    for name, value in zip(names, values, strict=True):
        if value.dtype not in (xp.float32, xp.float64):
            raise TypeError(f"{name} must be a float32 or float64 array, got dtype {value.dtype}")
        if value.ndim == 0:
            raise ValueError(f"{name} must have a last axis of latent dimensions, got a scalar")
    shape = _broadcast_shape(names, [tuple(v.shape) for v in values])
    dtype = xp.result_type(*values)
    return [xp.astype(v, xp.float64) for v in values], shape, dtype


def generic_series(xp: Any, dtype: Any, radius: float) -> Series:
    """The Taylor series for the output type ``dtype`` (float32 or float64 of ``xp``) of a
    kernel whose float64 series radius is ``radius``."""
    return _EXPM1_MINUS_X_SERIES[
        np.dtype(np.float32 if dtype == xp.float32 else np.float64), radius
    ]


def reduce_generic(
    xp: Any, gradients: Sequence[Any], values: Sequence[Any], shape: tuple[int, ...], dtype: Any
) -> tuple[Any, ...]:
    """Each gradient broadcast to ``shape``, summed over the axes its input was broadcast
    along, in the result type."""
    reduced = []
    for grad, value in zip(gradients, values, strict=True):
        grad = xp.broadcast_to(grad, shape)
        axes = broadcast_axes(tuple(value.shape), shape)
        if axes:
            grad = xp.reshape(xp.sum(grad, axis=axes), value.shape)
        reduced.append(xp.astype(grad, dtype))
    return tuple(reduced)


def prepare(
    names: Sequence[str], values: Sequence[ArrayLike]
) -> tuple[Sequence[FloatArray], tuple[int, ...]]:
    """Check and convert kernel inputs; return them as arrays of one float type, and their
    broadcast shape.

    Each input must be float32 or float64 (anything numpy turns into such an array is fine)
    with at least one axis, the latent dimensions; inputs of different float types are
    promoted to the wider one, as numpy would.
    """
    if plain(values):  # nothing to convert (out= calls and the encoder kernel come here)
        return values, values[0].shape
    arrays = [_as_array(name, value) for name, value in zip(names, values, strict=True)]
    shape = _broadcast_shape(names, [a.shape for a in arrays])
    dtype = np.result_type(*(a.dtype.type for a in arrays))  # native byte order
    return [array.astype(dtype, copy=False) for array in arrays], shape


def _as_array(name, value):
    """``value`` as a numpy array of float32 or float64 with a last axis, or the error that
    names ``name``. Array subclasses are read as their data, except masked arrays: their
    masks would be silently ignored."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array, whose mask the kernels would ignore: "
            "pass a plain array (the rows to use, or .filled(...))"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise type(err)(f"{name} is not an array of numbers: {err}") from None
    if array.dtype.type not in _FLOAT_SCALARS:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"{name} must have a last axis of latent dimensions, got a scalar")
    return array


def plain(values: Sequence[object]) -> bool:
    """True for C-contiguous float32 or float64 arrays of one shape and type, with a last
    axis: inputs that need no conversion, broadcasting or copy (the common call, checked
    cheaply)."""
    first = values[0]
    if (
        type(first) is not np.ndarray
        or first.dtype not in _FLOAT_DTYPES
        or not first.ndim
        or not first.flags.c_contiguous
    ):
        return False
    shape, dtype = first.shape, first.dtype
    for v in values[1:]:
        if (
            type(v) is not np.ndarray
            or v.shape != shape
            or v.dtype != dtype
            or not v.flags.c_contiguous
        ):
            return False
    return True


def plain_out(out: object, arrays: Sequence[FloatArray]) -> bool:
    """True when ``out`` is a tuple (kl, *gradients) of writeable C-contiguous arrays of the
    result shapes and the type of the ``plain`` inputs ``arrays``, overlapping neither each
    other nor an input: buffers that need no check beyond this one (any other ``out`` gets
    the full checks, and their errors)."""
    first = arrays[0]
    shape, dtype = first.shape, first.dtype
    if type(out) is not tuple or len(out) != len(arrays) + 1:
        return False
    want = shape[:-1]  # kl's shape, then the gradients'
    for buffer in out:
        if (
            type(buffer) is not np.ndarray
            or buffer.shape != want
            or buffer.dtype != dtype
            or not buffer.flags.c_contiguous
            or not buffer.flags.writeable
        ):
            return False
        want = shape
    return _separate(out, arrays)


def _separate(outs, inputs):
    """True when no array of ``outs`` shares memory with another or with an input. Arrays
    whose memory belongs to different arrays cannot, so such pairs need no test (the usual
    buffers and views: a few attribute reads); the other pairs get numpy's bounds test."""
    arrays = (*outs, *inputs)
    owners = [_owner(a) for a in arrays]
    for i, buffer in enumerate(outs):
        for j in range(i + 1, len(arrays)):
            known = owners[i] is not None and owners[j] is not None
            if known and owners[i] is not owners[j]:
                continue
            if np.may_share_memory(buffer, arrays[j]):
                return False
    return True


def _owner(array):
    """The array that owns ``array``'s memory (numpy points every view at it), or None when
    that memory came from elsewhere (a buffer, a memory map)."""
    if array.flags.owndata:
        return array
    base = array.base
    return base if type(base) is np.ndarray and base.flags.owndata else None


def _overlap(outs, inputs):
    """The first (i, j) for which outs[i] may share memory with outs[j], or with inputs[k]
    as (i, -1 - k); None when there is none."""
    for i, buffer in enumerate(outs):
        for j in range(i + 1, len(outs)):
            if np.may_share_memory(buffer, outs[j]):
                return i, j
        for k, array in enumerate(inputs):
            if isinstance(array, np.ndarray) and np.may_share_memory(buffer, array):
                return i, -1 - k
    return None


def _broadcast_shape(names, shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        pass
    for i, (name_a, a) in enumerate(zip(names, shapes, strict=True)):
        for name_b, b in zip(names[i + 1 :], shapes[i + 1 :], strict=True):
            try:
                np.broadcast_shapes(a, b)
            except ValueError:
                raise ValueError(
                    f"shapes do not match: {name_a} has shape {a}, {name_b} has shape {b}"
                ) from None
    raise ValueError(
        "shapes do not broadcast together: "
        + ", ".join(f"{n} {s}" for n, s in zip(names, shapes, strict=True))
    )


def value_buffer(
    shape: tuple[int, ...], dtype: np.dtype, out: np.ndarray | None = None
) -> FloatArray:
    """The per-row KL array, shape[:-1]: the caller's ``out`` after checking it."""
    if out is None:
        return np.empty(shape[:-1], dtype)
    return _checked_out(out, shape[:-1], dtype, _out_name(0))


def gradient_buffers(
    names: Sequence[str],
    arrays: Sequence[FloatArray],
    shape: tuple[int, ...],
    dtype: np.dtype,
    outs: Sequence[np.ndarray] | None = None,
) -> list[FloatArray]:
    """One gradient buffer per input, in the broadcast shape.

    A caller's buffer (checked first) is written directly when its input was not broadcast;
    a broadcast input gets a full-shape scratch buffer that :func:`reduce_gradients` sums
    into place.
    """
    buffers = []
    for i, array in enumerate(arrays):
        out = None
        if outs is not None:
            out = _checked_out(outs[i], array.shape, dtype, _out_name(i + 1, names))
        broadcast = array.shape != shape
        buffers.append(out if out is not None and not broadcast else np.empty(shape, dtype))
    return buffers


def reduce_gradients(
    buffers: Sequence[FloatArray],
    arrays: Sequence[FloatArray],
    outs: Sequence[FloatArray] | None = None,
) -> tuple[FloatArray, ...]:
    """Sum each gradient over the axes its input was broadcast along, in float64 and rounded
    once into the input's type (summed in float32, kl_diag_normal's prior gradients over 4096
    rows were 29 ulps off)."""
    grads = []
    for i, (buffer, array) in enumerate(zip(buffers, arrays, strict=True)):
        if buffer.shape != array.shape:
            out = None if outs is None else outs[i]
            axes = broadcast_axes(array.shape, buffer.shape)
            total = np.sum(buffer, axis=axes, dtype=np.float64).reshape(array.shape)
            buffer = total.astype(array.dtype, copy=False)
            if out is not None:
                out[...] = buffer
                buffer = out
        grads.append(buffer)
    return tuple(grads)


def split_out(
    out: object, names: Sequence[str]
) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
    """``out=(kl, d_name1, ...)`` as (kl, [d_name...]), or (None, None) when out is None;
    every entry must be a numpy array (checked here, before anything is written)."""
    if out is None:
        return None, None
    if not isinstance(out, (tuple, list)) or len(out) != 1 + len(names):
        raise ValueError(
            f"out must be a tuple of {1 + len(names)} arrays: the KL, then one per input"
        )
    for i, buffer in enumerate(out):
        if not isinstance(buffer, np.ndarray):
            raise TypeError(
                f"{_out_name(i, names)} must be a numpy array, got {type(buffer).__name__}"
            )
        if isinstance(buffer, np.ma.MaskedArray):
            raise TypeError(
                f"{_out_name(i, names)} is a masked array, whose mask the kernels would "
                "ignore: pass a plain array"
            )
    return out[0], list(out[1:])


def check_no_overlap(
    names: Sequence[str], inputs: Sequence[object], out: Sequence[FloatArray]
) -> None:
    """The ``out`` arrays, written block by block, must not alias an input still to be read,
    nor each other (one gradient would overwrite another)."""
    found = _overlap(out, inputs)
    if found is None:
        return
    i, j = found
    if j < 0:
        raise ValueError(f"{_out_name(i, names)} overlaps the input {names[-1 - j]}")
    raise ValueError(
        f"{_out_name(i, names)} and {_out_name(j, names)} overlap: "
        "each output needs memory of its own"
    )


def _out_name(i, names=()):
    """How errors name out[i]: "out[0] (the KL)", "out[1] (dmu)", ..."""
    return f"out[{i}] ({'the KL' if i == 0 else 'd' + names[i - 1]})"


def _checked_out(out, shape, dtype, what):
    """``out`` (a numpy array, see :func:`split_out`) after checking its shape, dtype and
    layout; a subclass (np.memmap, np.matrix...) as a plain view of its memory, which the
    compiled kernels index as they expect."""
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(
            f"{what} must have shape {shape} and dtype {dtype}, got {out.shape} and {out.dtype}"
        )
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"{what} must be a writeable C-contiguous array")
    return out if type(out) is np.ndarray else out.view(np.ndarray)


def as_rows(
    inputs: Sequence[FloatArray], outputs: Sequence[FloatArray], shape: tuple[int, ...]
) -> tuple[Sequence[FloatArray], Sequence[FloatArray]]:
    """Inputs broadcast to ``shape`` and viewed as (rows, latent); outputs viewed as (rows,)
    for the KL or (rows, latent) for a gradient: the arrays themselves when they are so
    already (the common (batch, latent) call, without a reshape each)."""
    if len(shape) == 2 and all(a.shape == shape for a in inputs):
        return inputs, outputs
    rows, latent = math.prod(shape[:-1]), shape[-1]
    inputs = [
        (a if a.shape == shape else np.broadcast_to(a, shape)).reshape(rows, latent) for a in inputs
    ]
    outputs = [o.reshape(rows) if o.ndim < len(shape) else o.reshape(rows, latent) for o in outputs]
    return inputs, outputs


def for_all_rows(
    kernels: Mapping[np.dtype, Callable[..., None]],
    inputs: Sequence[FloatArray],
    outputs: Sequence[FloatArray],
    shape: tuple[int, ...],
) -> None:
    """Call the compiled ``kernels[dtype](*inputs, *outputs, latent, first, last)`` of the
    inputs' type on all rows, with every array flat and C-ordered (a broadcast or strided
    input is copied so; outputs are C-contiguous): in one call, or on threads over row
    ranges for large inputs."""
    kernel = kernels[inputs[0].dtype]
    flat = [(a if a.shape == shape else np.broadcast_to(a, shape)).ravel() for a in inputs]
    flat += [o.ravel() for o in outputs]
    latent = shape[-1]
    rows = flat[0].size // latent if latent else math.prod(shape[:-1])
    if rows * latent < THREADED_ELEMENTS:
        kernel(*flat, latent, 0, rows)
        return
    threads = min(NUM_THREADS, rows)
    bounds = [rows * k // threads for k in range(threads + 1)]
    ranges = zip(bounds, bounds[1:], strict=False)
    map_in_threads(kernel, [(*flat, latent, first, last) for first, last in ranges])


def map_in_threads(
    function: Callable[..., _T], argument_tuples: Sequence[tuple[Any, ...]]
) -> list[_T]:
    """``[function(*arguments) for arguments in argument_tuples]``, on one shared pool of
    NUM_THREADS threads (one after another when NUM_THREADS is 1). numpy's loops and
    numba's nogil kernels release the GIL, so the calls overlap."""
    if NUM_THREADS < 2 or len(argument_tuples) < 2:
        return [function(*arguments) for arguments in argument_tuples]
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(NUM_THREADS, thread_name_prefix="klgen")
    futures = [_pool.submit(function, *arguments) for arguments in argument_tuples]
    return [future.result() for future in futures]


_blas_lock = threading.Lock()
_blas_state = {"users": 0, "limiter": None}


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread while the block runs (through threadpoolctl, where it is
    installed; else nothing changes), for code that runs matrix products in klgen's own
    threads: BLAS threads inside each one's products would contend with them for the cores
    (kl_mvn_cholesky's value and gradients at B = 256, k = 128 took 4 s with OpenBLAS's two
    threads on a loaded 2-core machine, 0.3-0.4 s with one). BLAS's thread count belongs to
    the process: the first of overlapping callers sets it, the last restores it, and other
    threads' products run on one thread meanwhile."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with _blas_lock:
        if _blas_state["users"] == 0:
            _blas_state["limiter"] = controller.limit(limits=1, user_api="blas")
        _blas_state["users"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_state["users"] -= 1
            if _blas_state["users"] == 0:
                _blas_state["limiter"].restore_original_limits()


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's controller of the process's native thread pools (found once, in
    0.4 ms), or None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def for_row_blocks(
    block: Callable[..., None],
    scratch_count: int,
    inputs: Sequence[FloatArray],
    outputs: Sequence[FloatArray],
    shape: tuple[int, ...],
    radius: float,
) -> None:
    """Call ``block(*inputs, *outputs, scratch, series)`` on consecutive blocks of rows.

    Inputs are broadcast to ``shape``, viewed as (rows, latent) matrices and given to the
    block in float64; outputs are the per-row KL (rows,) or gradients (rows, latent), given
    to the block in float64 too (float32 outputs through float64 buffers, so that every
    intermediate is float64 and the result is rounded once). ``scratch`` holds
    ``scratch_count`` float64 buffers of the block's shape; ``series`` is the series of
    e^t - 1 - t for the outputs' type at the kernel's float64 series ``radius``.

    One thread: a block is a few dozen ufunc calls of microseconds each, and a second
    thread spends its time waiting for the GIL between them (two threads took longer than
    one at every size measured, bench/numpy_targets.py --sweep), so the time per element
    does not change with the batch size either.
    """
    latent = shape[-1]
    rows = math.prod(shape[:-1])
    series = _EXPM1_MINUS_X_SERIES[outputs[0].dtype, radius]
    inputs, outputs = as_rows(inputs, outputs, shape)
    step = max(1, BLOCK_ELEMENTS // max(latent, 1))
    if 0 < rows <= step and _one_type(inputs, outputs):
        _one_block(block, scratch_count, inputs, outputs, series)
        return
    block_shape = (min(step, rows), latent)
    narrow_inputs = [a.dtype != np.float64 for a in inputs]
    narrow_outputs = [o.dtype != np.float64 and o.ndim > 1 for o in outputs]
    arrays = scratch_count + sum(narrow_inputs) + sum(narrow_outputs)
    work = _work_array(arrays * math.prod(block_shape)).reshape(arrays, *block_shape)
    scratch, rest = work[:scratch_count], iter(work[scratch_count:])
    converted = [next(rest) if n else None for n in narrow_inputs]
    wide = [  # the KL (rows,) in a small array of its own
        next(rest) if n else np.empty(block_shape[0]) if o.dtype != np.float64 else None
        for o, n in zip(outputs, narrow_outputs, strict=True)
    ]
    # Inputs outside a block's fast range are recomputed by the careful helpers: the fast
    # lines' overflows and NaNs there are expected, and not reported.
    with np.errstate(all="ignore"):
        for start in range(0, rows, step):
            part = slice(start, start + step)
            n = min(step, rows - start)
            block(
                *(
                    a[part] if c is None else _copied(c[:n], a[part])
                    for a, c in zip(inputs, converted, strict=True)
                ),
                *(o[part] if w is None else w[:n] for o, w in zip(outputs, wide, strict=True)),
                scratch[:, :n],
                series,
            )
            for o, w in zip(outputs, wide, strict=True):
                if w is not None:
                    np.copyto(o[part], w[:n], casting="same_kind")


def _one_type(inputs, outputs):
    """True when every input and output has the type of the first input."""
    dtype = inputs[0].dtype
    return all(a.dtype == dtype for a in inputs) and all(o.dtype == dtype for o in outputs)


def _one_block(block, scratch_count, inputs, outputs, series):
    """``block`` on all rows of a call of at most one block's rows, all of one float type:
    the loop's single pass of :func:`for_row_blocks` (the same block call, buffers and
    error state, so the same results) without its per-block slicing and bookkeeping, which
    cost more than the block's own ufuncs on small inputs (issue #16)."""
    matrix = inputs[0].shape
    if inputs[0].dtype == np.float64:
        work = _work_array(scratch_count * inputs[0].size).reshape(scratch_count, *matrix)
        with np.errstate(all="ignore"):
            block(*inputs, *outputs, work, series)
        return
    grads = sum(o.ndim > 1 for o in outputs)
    count = scratch_count + len(inputs) + grads
    work = _work_array(count * inputs[0].size).reshape(count, *matrix)
    wide_inputs = work[scratch_count : scratch_count + len(inputs)]
    wide_grads = iter(work[scratch_count + len(inputs) :])
    wide_outputs = [next(wide_grads) if o.ndim > 1 else np.empty(o.shape) for o in outputs]
    # Slice assignment: the casts of np.copyto at a quarter less overhead (same values).
    for wide, array in zip(wide_inputs, inputs, strict=True):
        wide[...] = array
    with np.errstate(all="ignore"):
        block(*wide_inputs, *wide_outputs, work[:scratch_count], series)
        for output, wide in zip(outputs, wide_outputs, strict=True):
            output[...] = wide


def _copied(buffer: FloatArray, array: FloatArray) -> FloatArray:
    """``array`` copied into ``buffer`` (converted to its float64), which is returned."""
    np.copyto(buffer, array, casting="safe")
    return buffer


def _work_array(size: int) -> FloatArray:
    """A float64 array of ``size`` elements: this thread's kept work array (made larger when
    it is too small), or a new one beyond _KEPT_WORK_ELEMENTS. Its contents are garbage."""
    kept = getattr(_local, "work", None)
    if kept is not None and kept.size >= size:
        return kept[:size]
    work = np.empty(size)
    if size <= _KEPT_WORK_ELEMENTS:
        _local.work = work
    return work


def core_layout(
    names: Sequence[str], shapes: Sequence[tuple[int, ...]], cores: Sequence[int]
) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """The batch shape of a kernel's arguments and each one's shape broadcast to it, for the
    torch and JAX twins (plain Python on shapes, so that torch.compile traces it).

    Argument i has ``cores[i]`` core axes last (1 for an elementwise kernel's latent axis, 2
    for a matrix) and batch axes before them. The batch axes of all arguments broadcast
    together; the core axes of arguments with as many of them broadcast together too (an
    elementwise kernel's latent axes). ValueError naming the argument with too few axes, or
    the two arguments whose shapes do not broadcast.
    """
    first, core = tuple(shapes[0]), cores[0]
    if len(first) >= core and all(s == first for s in shapes) and all(c == core for c in cores):
        return first[: len(first) - core], [first] * len(shapes)  # the usual call, at once
    for name, shape, core in zip(names, shapes, cores, strict=True):
        if len(shape) < core:
            got = "a scalar" if not shape else f"shape {tuple(shape)}"
            axes = "a last axis of latent dimensions" if core == 1 else f"{core} core axes"
            raise ValueError(f"{name} must have {axes}, got {got}")
    batch: tuple[int, ...] = ()
    for i, (name, shape, core) in enumerate(zip(names, shapes, cores, strict=True)):
        for other, other_shape, other_core in zip(names[:i], shapes[:i], cores[:i], strict=True):
            same = core == other_core  # then the core axes broadcast too
            a = tuple(shape) if same else tuple(shape[: len(shape) - core])
            b = tuple(other_shape) if same else tuple(other_shape[: len(other_shape) - other_core])
            if _broadcast_pair(a, b) is None:
                raise ValueError(
                    f"shapes do not match: {other} has shape {tuple(other_shape)}, "
                    f"{name} has shape {tuple(shape)}"
                )
        batch = _broadcast_pair(batch, tuple(shape[: len(shape) - core]))
    full = []
    for core in cores:
        own: tuple[int, ...] = ()
        for other_shape, other_core in zip(shapes, cores, strict=True):
            if other_core == core:
                own = _broadcast_pair(own, tuple(other_shape[len(other_shape) - core :]))
        full.append(batch + own)
    return batch, full


def _broadcast_pair(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The broadcast of shapes ``a`` and ``b``, or None if they do not broadcast."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    if any(m != k and m != 1 and k != 1 for m, k in zip(a, b, strict=True)):
        return None
    return tuple(k if m == 1 else m for m, k in zip(a, b, strict=True))
