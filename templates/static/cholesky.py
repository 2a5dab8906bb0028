"""What the kl_mvn_cholesky kernels do around their generated routines: argument checks,
broadcasting, slices over threads, special values and out=, and the blocked triangular
solves and elementwise helpers the routines call (derive/matrix_printer.py prints the calls).

The rules it implements are stated in the kernel module's docstring (kl_mvn_cholesky.py);
the kernel's name comes as an argument, for the messages that name it.
"""

import functools
import math

import numpy as np

from ._constants import DEFAULT_SERIES_RADIUS
from ._runtime import (
    _as_array,
    _checked_out,
    _out_name,
    broadcast_axes,
    check_no_overlap,
    generic_series,
    is_numpy,
    map_in_threads,
    one_blas_thread,
    split_out,
)

_NAMES = ("m0", "L0", "m1", "L1")
_MATRICES = ("L0", "L1")
_OUTPUTS = ("kl", "dm0", "dL0", "dm1", "dL1")
# What each output depends on: a NaN or an infinity in a batch entry's means ("m": m0 or
# m1) or in the lower triangle of its L0 or L1 gives NaN in that entry's gradients that
# depend on them (their limits need exact zeros of L1^-1 that rounding does not keep).
_DEPENDS = {
    "dm0": ("m", "L1"),
    "dL0": ("L0", "L1"),
    "dm1": ("m", "L1"),
    "dL1": ("m", "L0", "L1"),
}
# numpy inputs of at least this many matrix entries (batch size times k^2) are computed in
# slices of the first batch axis of about _SLICE_ENTRIES entries each (a slice's working
# arrays, a few MB, stay in the CPU's cache), over the KLGEN_NUM_THREADS threads of the
# package's shared pool (default: the core count; numpy's matrix products and loops release
# the GIL; 1: one after another).
_SLICED_ENTRIES = 2**18
_SLICE_ENTRIES = 2**18
# e^x - 1 - x: Taylor coefficients from x**2 up, and the |x| below which they replace
# expm1(x) - x (derived by klgen, for float64, the type every kernel computes in, at the
# kernels' default radius).
_SERIES_RADIUS, _SERIES = generic_series(np, np.float64, DEFAULT_SERIES_RADIUS)


def _compute(xp, routine, arrays, names):
    """The outputs ``names`` of routine at every batch entry, with the special values'
    results (see :func:`_special_values`) where an entry holds a NaN or an infinity."""
    results = _run(xp, routine, arrays)
    if names[0] == "kl":  # finite inputs, NaN: an intermediate overflowed (inf - inf)
        results = (xp.where(xp.isnan(results[0]), math.inf, results[0]), *results[1:])
    if _all_finite(xp, arrays):
        return results
    return _special_values(xp, arrays, results, names)


def _all_finite(xp, arrays):
    """Whether every entry of every array is finite. numpy first sums the arrays (a read
    with no array of flags): a finite sum means finite entries; a sum that overflowed or
    met a NaN or an infinity is checked entry by entry."""
    if xp is np:
        with np.errstate(all="ignore"):
            if math.isfinite(sum(float(np.add.reduce(a, axis=None)) for a in arrays)):
                return True
    return all(bool(xp.all(xp.isfinite(a))) for a in arrays)


def _special_values(xp, arrays, results, names):
    """Results at batch entries holding a NaN or an infinity (in m0, m1 or the lower
    triangle of L0, L1), by the rule of the kernel module's docstring: the KL is NaN when
    one is NaN (or m1 - m0 is, inf - inf), else its limit +inf (every term is non-negative
    and one grows without bound), except NaN when L1 is infinite together with L0 or a mean
    (the limit depends on how they tend to infinity); a gradient is NaN (0 above the
    diagonal) when an argument it depends on holds a NaN or an infinity."""
    m0, L0, m1, L1 = arrays
    nan = {"m": xp.any(xp.isnan(m0) | xp.isnan(m1) | (xp.isinf(m0) & (m0 == m1)), axis=-1)}
    inf = {"m": xp.any(xp.isinf(m0) | xp.isinf(m1), axis=-1)}
    for name, L in (("L0", L0), ("L1", L1)):
        lower = xp.where(_lower_mask(xp, L), L, xp.zeros_like(L))
        nan[name] = xp.any(xp.isnan(lower), axis=(-2, -1))
        inf[name] = xp.any(xp.isinf(lower), axis=(-2, -1))
    fixed = []
    for name, result in zip(names, results, strict=True):
        if name == "kl":
            undefined = nan["m"] | nan["L0"] | nan["L1"] | (inf["L1"] & (inf["L0"] | inf["m"]))
            infinite = inf["m"] | inf["L0"] | inf["L1"]
            result = xp.where(infinite, xp.full_like(result, math.inf), result)
            fixed.append(xp.where(undefined, xp.full_like(result, math.nan), result))
            continue
        bad = nan[_DEPENDS[name][0]] | inf[_DEPENDS[name][0]]
        for other in _DEPENDS[name][1:]:
            bad = bad | nan[other] | inf[other]
        if result.ndim == m0.ndim:  # dm0, dm1
            fixed.append(xp.where(bad[..., None], xp.full_like(result, math.nan), result))
            continue
        lower = _lower_mask(xp, result)
        undefined = xp.where(lower, xp.full_like(result, math.nan), xp.zeros_like(result))
        fixed.append(xp.where(bad[..., None, None], undefined, result))
    return tuple(fixed)


def _device(a):
    """The device an array lives on; None (the namespace's default) for Dask arrays, which
    have no ``device`` attribute and live in host memory."""
    return getattr(a, "device", None)


def _lower_mask(xp, a):
    """True on and below the diagonal of the (k, k) matrices of ``a``."""
    mask = _tril_mask(a.shape[-1], a.shape[-1], 0)
    return mask if xp is np else xp.asarray(mask.copy(), device=_device(a))  # a writable copy


def _cast(xp, a, dtype):
    """``a`` (an array or a numpy scalar: the KL of one entry) as an array of ``dtype``; a
    float64 value beyond the largest float32 becomes inf without a warning, as documented."""
    with np.errstate(over="ignore"):
        return xp.astype(xp.asarray(a), dtype, copy=False)


def _run(xp, routine, arrays):
    """routine(xp, *arrays) as a tuple; large numpy batches in slices over threads (each
    batch entry is computed alone, so the results do not depend on the slicing)."""
    if xp is not np or arrays[1].ndim < 3:
        return _quiet(routine, xp, *arrays)
    rows = arrays[1].shape[0]
    entries = math.prod(arrays[1].shape)
    slices = min(rows, -(-entries // _SLICE_ENTRIES))
    if entries < _SLICED_ENTRIES or slices < 2:
        return _quiet(routine, xp, *arrays)
    bounds = [rows * i // slices for i in range(slices + 1)]
    pieces = [[a[lo:hi] for a in arrays] for lo, hi in zip(bounds, bounds[1:], strict=False)]
    with one_blas_thread():  # the slices are the parallelism
        results = map_in_threads(functools.partial(_quiet, routine), [(np, *p) for p in pieces])
    return tuple(np.concatenate(pieces) for pieces in zip(*results, strict=True))


def _quiet(routine, xp, *arrays):
    """routine(xp, *arrays) as a tuple, numpy's floating-point warnings off: intermediates
    that overflow or meet as inf - inf are expected on the way to the documented results
    (numpy's error state is per thread, so each worker sets it)."""
    with np.errstate(all="ignore"):
        result = routine(xp, *arrays)
    return result if isinstance(result, tuple) else (result,)


def _namespace(name, arrays):
    """numpy for numpy inputs (and Python numbers and lists); else array_api_compat's (the
    ImportError without it names the kernel ``name``)."""
    if is_numpy(arrays):
        return np
    try:
        from array_api_compat import array_namespace
    except ImportError:
        kinds = sorted({type(a).__name__ for a in arrays})
        raise ImportError(
            f"{name} needs the package array-api-compat for {', '.join(kinds)} "
            "inputs (pip install array-api-compat); numpy arrays work without it"
        ) from None
    return array_namespace(*arrays)


def _prepare(name, *values):
    """Check the inputs of the kernel ``name``; return the namespace, the inputs as float64
    arrays broadcast to one batch shape (only the lower triangles of L0, L1 kept), the
    result dtype and the inputs' own shapes."""
    if _plain(values):  # the common call: nothing to convert or broadcast
        for matrix in _MATRICES:
            _check_diagonal(np, matrix, values[_NAMES.index(matrix)])
        return np, list(values), np.float64, [v.shape for v in values]
    xp = _namespace(name, values)
    if xp is np:  # masked arrays, ragged lists, other dtypes and 0-d values are refused
        arrays = [_as_array(name, v) for name, v in zip(_NAMES, values, strict=True)]
        arrays = [a.astype(a.dtype.type, copy=False) for a in arrays]  # native byte order
    else:
        arrays = list(values)
        for name, a in zip(_NAMES, arrays, strict=True):
            if a.dtype not in (xp.float32, xp.float64):
                raise TypeError(f"{name} must be a float32 or float64 array, got dtype {a.dtype}")
    _check_shapes(arrays)
    dtype = xp.float64 if any(a.dtype == xp.float64 for a in arrays) else xp.float32
    batch = _batch_shape(arrays)
    out = []
    for name, a in zip(_NAMES, arrays, strict=True):
        a = xp.astype(a, xp.float64, copy=False)
        if name in _MATRICES:
            _check_diagonal(xp, name, a)
            a = xp.broadcast_to(a, (*batch, *a.shape[-2:]))
        else:
            a = xp.broadcast_to(a, (*batch, a.shape[-1]))
        out.append(a)
    return xp, out, dtype, [tuple(a.shape) for a in arrays]


def _plain(values):
    """True for numpy float64 arrays (native byte order) m0, m1 of one shape (..., k) and
    L0, L1 of shape (..., k, k): inputs that :func:`_prepare` would return as they are."""
    m0, L0, m1, L1 = values
    if not all(type(v) is np.ndarray and v.dtype == np.float64 for v in values):
        return False
    square = (*m0.shape, m0.shape[-1]) if m0.ndim else None
    return m1.shape == m0.shape and L0.shape == L1.shape == square


def _check_diagonal(xp, name, a):
    """ValueError naming the first entry of ``a``'s diagonals that is 0, negative or -inf
    (NaN passes: it gives NaN, as the kernel module's docstring says)."""
    if xp is np:  # the method: fewer Python layers than np.linalg.diagonal
        diagonal = a.diagonal(axis1=-2, axis2=-1)
        if not (diagonal <= 0).any():
            return
    else:
        diagonal = xp.linalg.diagonal(a)
        if not bool(xp.any(diagonal <= 0)):
            return
    where = ""
    if xp is np:
        first = tuple(int(i) for i in np.argwhere(diagonal <= 0)[0])
        index = ", ".join(map(str, (*first, first[-1])))
        where = f": {name}[{index}] = {float(diagonal[first])!r}"
    raise ValueError(f"{name} must have a positive diagonal (a Cholesky factor){where}")


def _check_factors(arrays):
    """The diagonal checks of :func:`_prepare` alone, for the JAX twin's eager calls (whose
    callbacks would wrap the ValueError in JAX's runtime error)."""
    for name, a in zip(_NAMES, arrays, strict=True):
        if name in _MATRICES:
            _check_diagonal(np, name, np.asarray(a))


def _check_shapes(arrays):
    sizes = {}
    for name, a in zip(_NAMES, arrays, strict=True):
        matrix = name in _MATRICES
        if a.ndim < (2 if matrix else 1):
            kind = "(..., k, k)" if matrix else "(..., k)"
            raise ValueError(f"{name} must have shape {kind}, got shape {tuple(a.shape)}")
        if matrix and a.shape[-1] != a.shape[-2]:
            raise ValueError(f"{name} must be square (..., k, k), got shape {tuple(a.shape)}")
        sizes[name] = a.shape[-1]
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} has k = {k}" for name, k in sizes.items())
        raise ValueError(f"shapes do not match: {listed}")


def _batch_shape(arrays):
    """The broadcast of the inputs' batch shapes; ValueError naming them if there is none."""
    batches = [
        tuple(a.shape[: a.ndim - (2 if name in _MATRICES else 1)])
        for name, a in zip(_NAMES, arrays, strict=True)
    ]
    ndim = max(len(b) for b in batches)
    padded = [(1,) * (ndim - len(b)) + b for b in batches]
    shape = []
    for sizes in zip(*padded, strict=True):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            listed = ", ".join(f"{n} {b}" for n, b in zip(_NAMES, batches, strict=True))
            raise ValueError(f"batch shapes do not broadcast together: {listed}")
        shape.append(wide.pop() if wide else 1)
    return tuple(shape)


def _finish(xp, grads, shapes, dtype):
    """Each gradient summed over the axes its argument was broadcast along, in ``dtype``."""
    out = []
    for grad, shape in zip(grads, shapes, strict=True):
        axes = broadcast_axes(tuple(shape), tuple(grad.shape))
        if axes:
            grad = xp.reshape(xp.sum(grad, axis=axes), shape)
        out.append(xp.astype(grad, dtype, copy=False))
    return tuple(out)


def _checked_outs(xp, out, values, arrays, shapes, dtype):
    """``out`` = (kl, dm0, dL0, dm1, dL1) checked before anything is computed: numpy arrays
    (not masked) of the result shapes and dtype, writeable, C-contiguous, overlapping
    neither each other nor an input (``values``, as given); as plain numpy views."""
    if xp is not np:
        raise TypeError("out= is for numpy arrays; other array libraries return new arrays")
    kl, grads = split_out(out, _NAMES)
    want = [arrays[1].shape[:-2], *shapes]
    checked = [
        _checked_out(buffer, tuple(shape), np.dtype(dtype), _out_name(i, _NAMES))
        for i, (buffer, shape) in enumerate(zip((kl, *grads), want, strict=True))
    ]
    check_no_overlap(_NAMES, values, checked)
    return checked


def _returned(results, out):
    """``results`` (kl, dm0, dL0, dm1, dL1) as (kl, (dm0, dL0, dm1, dL1)); with ``out`` (as
    :func:`_checked_outs` returns it), copied into those arrays, which are returned."""
    if out is None:
        return results[0], results[1:]
    for buffer, result in zip(out, results, strict=True):
        np.copyto(buffer, result)
    return out[0], tuple(out[1:])


def _solve_lower(xp, L, full, lower):
    """L^-1 Y for a lower-triangular L and each Y in ``full``, then in ``lower``.

    Blocked forward substitution over all right-hand sides at once (see :func:`_forward`).
    With D = diag(L), L X = Y is (D^-1 L) X = D^-1 Y: the system gets a unit diagonal, so
    the recursion's leaves need no division, and the one division by D is fused into
    gathering the right-hand sides (for L0 = L1 both sides round alike, so L1^-1 L0 is
    exactly I). The ``lower`` right-hand sides are lower-triangular, and so are their
    results: only their lower triangles are read and computed; one close to L is solved
    as I + L^-1 (Y - L) (see :func:`_near`).
    """
    d = xp.linalg.diagonal(L)[..., None]
    near, shifted = [], []
    for a in lower:
        shift, part = _near_shifted(xp, a, L)
        near.append(shift)
        shifted.append(part)
    Y, width = _columns(xp, full, shifted, d, clear=True)
    if xp is np:
        # D^-1 L into the memory of a shifted right-hand side (a new array, read by now;
        # never an input), else a new array
        spare = [p for p, a in zip(shifted, lower, strict=True) if p is not a]
        spare = [p for p in spare if p.shape == L.shape and p is not L]
        U = np.divide(L, d, out=spare[0] if spare else None)
        _forward_in_place(U, Y, width, len(lower), 0, L.shape[-1])
        return _blocks(xp, _plus_identity(Y, width, near), full, lower, clear=False)
    Y = _forward(xp, L, d, Y, width, len(lower), 0, L.shape[-1])
    blocks = _blocks(xp, Y, full, lower, clear=False)
    eye = xp.eye(L.shape[-1], dtype=L.dtype, device=_device(L))
    shifts = [xp.where(n, eye, xp.zeros_like(eye)) for n in near]
    lower_blocks = zip(blocks[len(full) :], shifts, strict=True)
    return [*blocks[: len(full)], *(x + shift for x, shift in lower_blocks)]


def _near_shifted(xp, a, L):
    """(:func:`_near`, the right-hand side solved for): a - L where near, else a; numpy
    forms a - L once, for the test and the result, and only its lower triangles for the
    test (fewer and smaller passes)."""
    if xp is not np or L.shape[-1] == 0:
        near = _near(xp, a, L)
        return near, xp.where(near, a - L, a)
    diff = a - L
    size, gap = _lower_entries(a), _lower_entries(diff)
    np.abs(size, out=size)
    np.abs(gap, out=gap)
    near = (np.max(gap, axis=-1) <= np.max(size, axis=-1))[..., None, None]
    far = ~near[..., 0, 0]
    if far.any():  # a where not near, copied into those batch entries alone
        diff[far] = a[far]
    return near, diff


def _plus_identity(Y, width, near):
    """numpy: Y as :func:`_columns` lays it out, with I added to the lower right-hand sides'
    results where ``near`` (as :func:`_near` gives it, one per lower right-hand side)."""
    n, k = len(near), Y.shape[-2]
    flat = Y.reshape(*Y.shape[:-2], Y.shape[-2] * Y.shape[-1])  # a view: Y is C-contiguous
    for r, shift in enumerate(near):
        if not shift.any():
            continue
        diagonal = flat[..., width + r :: width + n * k + n]
        np.add(diagonal, 1.0, out=diagonal, where=shift[..., 0])
    return Y


def _near(xp, a, L):
    """Per batch entry (shape (..., 1, 1)): whether the lower triangle of a - L is no larger
    than a's (max norm). There L^-1 a is computed as I + L^-1 (a - L), accurate relative
    to a - L rather than to a: for q close to p, M = L1^-1 L0 is I plus a tiny N whose
    digits the KL needs (a - L is exact when a is within a factor 2 of L). Any namespace
    (numpy takes :func:`_near_shifted`'s own pass)."""
    if L.shape[-1] == 0:  # no entries: nothing to shift (and max has no identity)
        return xp.zeros((*L.shape[:-2], 1, 1), dtype=xp.bool, device=_device(L))
    lower = _lower_mask(xp, L)
    size = xp.max(xp.where(lower, xp.abs(a), xp.zeros_like(a)), axis=(-2, -1))
    gap = xp.max(xp.where(lower, xp.abs(a - L), xp.zeros_like(a)), axis=(-2, -1))
    return (gap <= size)[..., None, None]


def _lower_entries(a):
    """numpy: the entries on and below the diagonals of a's (k, k) matrices, (..., k(k+1)/2).
    Up to k = 12 by an index array (its result is laid out batch axis last, so the max
    over the entries runs along the batch: 3-10x faster than take's at k = 2-8), beyond by
    take (index arrays gather 2-7x slower there)."""
    k = a.shape[-1]
    flat = a.reshape(*a.shape[:-2], k * k)
    if k <= 12:
        return flat[..., _lower_flat_indices(k)]
    return np.take(flat, _lower_flat_indices(k), axis=-1)


@functools.cache
def _lower_flat_indices(k):
    """Where the lower triangle of a (k, k) matrix lies in its k^2 entries (row-major)."""
    return np.flatnonzero(np.tri(k, dtype=bool))


def _solve_lower_transposed(xp, L, full, lower):
    """L^-T Y for a lower-triangular L, as :func:`_solve_lower` (here L^T X = Y is
    (L D^-1)^T X = D^-1 Y); for the ``lower`` right-hand sides only the lower triangle of
    the result is computed (it depends only on theirs) and the rest is 0."""
    d = xp.linalg.diagonal(L)[..., None]
    Y, width = _columns(xp, full, lower, d, clear=False)
    if xp is np:
        _back_in_place(np.matrix_transpose(L) / d, Y, width, len(lower), 0, L.shape[-1])
    else:
        Y = _back(xp, L, d, Y, width, len(lower), 0, L.shape[-1])
    return _blocks(xp, Y, full, lower, clear=True)


# The substitutions split rows lo:hi at mid and recurse, X1 = A^-1 Y1 then
# X2 = D^-1 (Y2 - C X1) (forward; backward mirrored): the work is a few batched matrix
# products per level, over log2(k) levels, instead of a product per row. The right-hand
# side columns are laid out as :func:`_columns` does, so that rows lo:hi only ever need
# the leading width + n * hi columns (n lower-triangular right-hand sides interleaved).
# The forward pass reads the upper triangles of the lower right-hand sides inside the
# diagonal blocks (so :func:`_columns` clears them) and writes only below the diagonal;
# the backward pass reads only below the diagonal and leaves values above it inside the
# diagonal blocks (so :func:`_blocks` clears them). The unit factor's blocks are scaled
# by d as they are used: (D^-1 L) for the forward pass, (L D^-1)^T for the backward one.


def _forward_in_place(U, X, width, n, lo, hi):
    """numpy: rows lo:hi of X overwritten by U^-1 X, U = D^-1 L (unit lower-triangular,
    divided once for all the blocks: the same quotients as :func:`_forward` forms)."""
    if hi - lo < 2:
        return
    mid = (lo + hi) // 2
    _forward_in_place(U, X, width, n, lo, mid)
    cols = width + n * mid
    X[..., mid:hi, :cols] -= U[..., mid:hi, lo:mid] @ X[..., lo:mid, :cols]
    _forward_in_place(U, X, width, n, mid, hi)


def _back_in_place(W, X, width, n, lo, hi):
    """numpy: rows lo:hi of X overwritten by U^-T X, U = L D^-1 (unit lower-triangular),
    from W = U^T = D^-1 L^T (divided once, the same quotients as :func:`_back` forms)."""
    if hi - lo < 2:
        return
    mid = (lo + hi) // 2
    _back_in_place(W, X, width, n, mid, hi)
    cols = width + n * mid
    X[..., lo:mid, :cols] -= W[..., lo:mid, mid:hi] @ X[..., mid:hi, :cols]
    _back_in_place(W, X, width, n, lo, mid)


def _forward(xp, L, d, Y, width, n, lo, hi):
    """Any namespace: rows lo:hi of U^-1 Y, given those rows of Y (already updated by the
    rows above them). Nothing is written into an array (JAX arrays are immutable): the
    blocks are joined with concat."""
    if hi - lo < 2:
        return Y
    mid = (lo + hi) // 2
    top = _forward(xp, L, d, Y[..., : mid - lo, :], width, n, lo, mid)
    cols = width + n * mid
    update = (L[..., mid:hi, lo:mid] / d[..., mid:hi, :]) @ top[..., :cols]
    bottom = _minus_leading(xp, Y[..., mid - lo :, :], update)
    return xp.concat((top, _forward(xp, L, d, bottom, width, n, mid, hi)), axis=-2)


def _back(xp, L, d, Y, width, n, lo, hi):
    """Any namespace: rows lo:hi of U^-T Y, as :func:`_forward`."""
    if hi - lo < 2:
        return Y
    mid = (lo + hi) // 2
    bottom = _back(xp, L, d, Y[..., mid - lo :, :], width, n, mid, hi)
    cols = width + n * mid
    block = xp.matrix_transpose(L[..., mid:hi, lo:mid]) / d[..., lo:mid, :]
    top = _minus_leading(xp, Y[..., : mid - lo, :], block @ bottom[..., :cols])
    return xp.concat((_back(xp, L, d, top, width, n, lo, mid), bottom), axis=-2)


def _minus_leading(xp, Y, update):
    """Y with ``update`` subtracted from its leading columns."""
    cols = update.shape[-1]
    if cols == Y.shape[-1]:
        return Y - update
    return xp.concat((Y[..., :cols] - update, Y[..., cols:]), axis=-1)


def _columns(xp, full, lower, d, clear):
    """The right-hand sides divided by d, side by side: ``full`` ones first, then the
    ``lower`` ones interleaved column by column (with ``clear``, their upper triangles
    set to 0, whatever the inputs hold there); and the width of the full ones."""
    width = sum(a.shape[-1] for a in full)
    n, k = len(lower), d.shape[-2]
    if xp is np:
        batch = np.broadcast_shapes(d.shape[:-2], *(a.shape[:-2] for a in (*full, *lower)))
        Y = np.empty((*batch, k, width + n * k))
        start = 0
        for a in full:
            np.divide(a, d, out=Y[..., start : start + a.shape[-1]])
            start += a.shape[-1]
        for r, a in enumerate(lower):
            np.divide(a, d, out=Y[..., width + r :: n])
        if n and clear:
            np.copyto(Y[..., width:], 0.0, where=_upper_mask(k, n))
        return Y, width
    parts = [a / d for a in full]
    if lower:
        stacked = xp.stack([a / d for a in lower], axis=-1)
        parts.append(_clear_upper(xp, xp.reshape(stacked, (*stacked.shape[:-2], -1)), clear))
    return (parts[0] if len(parts) == 1 else xp.concat(parts, axis=-1)), width


def _clear_upper(xp, Y, clear):
    """Any namespace: Y (..., k, n k) with the upper triangles of its n interleaved
    matrices set to 0 (by where, not a product: they may hold inf or nan)."""
    if not clear:
        return Y
    upper = _upper_mask(Y.shape[-2], Y.shape[-1] // Y.shape[-2]).copy()  # writable
    upper = xp.asarray(upper, device=_device(Y))
    return xp.where(upper, xp.zeros_like(Y), Y)


@functools.cache
def _upper_mask(k, n):
    """True above the diagonal of n interleaved (k, k) matrices: shape (k, n k) (made once
    per shape, read-only)."""
    mask = np.repeat(np.triu(np.ones((k, k), dtype=bool), 1), n, axis=-1)
    mask.flags.writeable = False
    return mask


def _blocks(xp, X, full, lower, clear):
    """:func:`_columns` undone on the solution X; with ``clear``, the lower results' upper
    triangles are set to 0 (the backward pass leaves values there that nothing needs)."""
    blocks, start = [], 0
    for a in full:
        blocks.append(X[..., start : start + a.shape[-1]])
        start += a.shape[-1]
    if lower:
        n, k = len(lower), X.shape[-2]
        rest = X[..., start:]
        if xp is np and clear:
            np.copyto(rest, 0.0, where=_upper_mask(k, n))
        elif clear:
            rest = _clear_upper(xp, rest, clear)
        rest = xp.reshape(rest, (*X.shape[:-1], k, n))
        blocks.extend(rest[..., j] for j in range(n))
    return blocks


def _tril(xp, x, k=0, scale=1.0):
    """scale times the lower triangle of x (diagonal k and below), exactly 0 above it
    (by where, not a product: an overflowed entry there is inf)."""
    mask = _tril_mask(*x.shape[-2:], k)
    if xp is np:  # a scalar 0 (no array of zeros), the scale applied in place
        out = np.where(mask, x, 0.0)
        if scale != 1.0:
            np.multiply(out, scale, out=out, where=mask)
        return out
    mask = xp.asarray(mask.copy(), device=_device(x))  # a writable copy for torch
    return xp.where(mask, x * scale if scale != 1.0 else x, xp.zeros_like(x))


@functools.cache
def _tril_mask(rows, cols, k):
    """True on and below diagonal k of a (rows, cols) matrix (numpy; made once per shape,
    read-only)."""
    mask = np.tri(rows, cols, k, dtype=bool)
    mask.flags.writeable = False
    return mask


def _plus_diagonal(xp, a, v):
    """a + Diag(v): the column vectors v (..., k, 1) added to the diagonals of a."""
    if xp is np:
        out = np.array(np.broadcast_to(a, np.broadcast_shapes(a.shape, v.shape[:-1] + (1,))))
        flat = out.reshape(*out.shape[:-2], a.shape[-1] ** 2)  # a view: out is a fresh copy
        flat[..., :: out.shape[-1] + 1] += v[..., 0]
        return out
    return a + _diagonal_matrix(xp, v)


def _log_ratio(xp, a, b):
    """ln a - ln b, as log1p((a - b) / b) where a / b is near 1 (there a - b is exact).
    numpy computes on contiguous copies (a and b are diagonals: strided views, several
    times slower to compute on) and skips ln a - ln b where no entry takes it."""
    if xp is np:
        if a.shape != b.shape:
            a, b = np.broadcast_arrays(a, b)
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    near = xp.abs(a - b) < 0.5 * b
    close = xp.log1p((a - b) / b)
    if xp is np and near.all():
        return close
    return xp.where(near, close, xp.log(a) - xp.log(b))


def _expm1_minus_x(xp, x):
    """e^x - 1 - x without cancellation: its Taylor series for |x| < _SERIES_RADIUS
    (numpy: expm1(x) - x skipped where no entry takes it)."""
    small = xp.abs(x) < _SERIES_RADIUS
    y = xp.where(small, x, xp.zeros_like(x))
    series = _series(y, xp.full_like(y, _SERIES[-1])) * y * y
    if xp is np and small.all():
        return series
    return xp.where(small, series, xp.expm1(x) - x)


def _series(y, series):
    """The Horner recursion of _SERIES at y from ``series`` (a new array holding its last
    coefficient; numpy updates it in place: the same operations as series * y + c)."""
    for c in _SERIES[-2::-1]:
        if isinstance(series, np.ndarray):
            series *= y
            series += c
        else:
            series = series * y + c
    return series


def _half_expm1_minus_x(xp, x):
    """(e^x - 1 - x) / 2, finite while it is: where e^x would overflow (x > 700), e^x / 2
    is (e^(x/2) / 2) e^(x/2), every factor finite."""
    big = x > 700.0
    if xp is np and not big.any():  # the other branch, without evaluating this one
        return 0.5 * _expm1_minus_x(xp, x)
    e = xp.exp(xp.where(big, x, xp.zeros_like(x)) / 2)
    return xp.where(big, (0.5 * e) * e - 0.5 * (1 + x), 0.5 * _expm1_minus_x(xp, x))


def _frobenius(xp, a, b):
    """<a, b>_F of each batch entry's (rows, cols) matrices: numpy as one dot product of
    the flattened matrices (np.vecdot, without the array of products a sum needs)."""
    if xp is np:
        a, b = np.broadcast_arrays(a, b)
        shape = (*a.shape[:-2], a.shape[-2] * a.shape[-1])
        return np.vecdot(a.reshape(shape), b.reshape(shape))
    return xp.sum(a * b, axis=(-2, -1))


def _diagonal_matrix(xp, v):
    """The (..., k, k) matrices with the column vectors v (..., k, 1) on their diagonals."""
    return v * xp.eye(v.shape[-2], dtype=v.dtype, device=_device(v))
