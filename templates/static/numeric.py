"""The numerical primitives of the generated numpy and array-API kernels.

Two kinds. The fast ones write into float64 buffers with numpy ufuncs (``out=``) and are
exact only inside the range the kernels check (``rows_out_of_range``; derive/numerics.py,
``fast_path_bounds``). The careful ones (``*_generic``) take any array namespace ``xp``
and are exact for every input, infinities and NaN included; they serve the array-API path
and the numpy blocks whose inputs fall outside the fast range.
"""

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

_SMALLEST_NORMAL = float(np.finfo(np.float64).smallest_normal)
_LOG2_E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: k * _LN2_HI is exact for |k| < 2**21
_LN2_LO = 1.9082149292705877e-10
# ln 2 in three parts for an exponential in twice the precision (_functions.exp_split):
# _LN2_HI + _LN2_MID + _LN2_TAIL is ln 2 to 1e-36, k * _LN2_MID exact for |k| < 2**20
# (33 bits; tests/test_primitives.py checks both against mpmath).
_LN2_MID = 1.9082149293851713e-10
_LN2_TAIL = -1.1458352726798733e-20
# Beyond |x| = this (times the power), (a - b)**power e^x is 0 or overflows for every
# nonzero float a - b.
_SCALED_EXP_LIMIT = 1500.0


def rows_out_of_range(
    checks: Iterable[tuple[NDArray[np.float64], float]],
) -> NDArray[np.bool_] | None:
    """None when every array of ``checks`` ((array, bound) pairs, each (rows, latent))
    lies within [-bound, bound]; else the mask of the rows where some element does not (a
    NaN is within no range). Two cheap passes an array when all is well."""
    bad = None
    for array, bound in checks:
        if array.size and not (array.max() <= bound and array.min() >= -bound):
            outside = ~np.all(np.abs(array) <= bound, axis=-1)
            bad = outside if bad is None else bad | outside
    return bad


def row_sums(terms: NDArray[np.float64]) -> NDArray[np.float64]:
    """The sum of each row of ``terms`` (rows, latent), as np.vecdot with a row of ones:
    the summation the kernels' c x**2 terms get from np.vecdot, at a third of the time of
    np.sum(terms, axis=-1), which reduces short rows one call of its inner loop each."""
    return np.vecdot(terms, _ones(terms.shape[-1]))


@functools.cache
def _ones(latent: int) -> NDArray[np.float64]:
    """A read-only float64 row of ``latent`` ones (one per latent size, kept)."""
    ones = np.ones(latent)
    ones.flags.writeable = False
    return ones


def expm1_minus_x(
    t: NDArray[np.float64],
    expm1_t: NDArray[np.float64],
    series: tuple[float, tuple[float, ...]],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = e^t - 1 - t, given expm1_t = expm1(t), accurate to a few ulps for finite t.

    expm1(t) - t cancels for small |t| (at t = 1e-8 it keeps no correct digit), so there the
    Taylor series ``series`` is summed instead, by Horner's rule, on those elements alone:
    gathered by their flat indices (np.take) and put back (np.put), which costs less than
    summing the series over the whole block once a tenth of it is small, and less than
    boolean indexing (measured at blocks of 8192 and 32768 elements); skipped when no |t|
    is small. ``out`` (a buffer of t's shape) must share memory with neither input: it
    serves as the work array first.
    """
    radius, coefficients = series
    np.abs(t, out=out)  # out as the work array
    # The smallest |t| (NaN ignored) decides whether any element needs the series: one
    # cheap reduction, where finding the small elements costs three times as much.
    if not np.fmin.reduce(out, axis=None, initial=np.inf) < radius:
        return np.subtract(expm1_t, t, out=out)
    small = np.flatnonzero(np.less(out, radius))
    np.subtract(expm1_t, t, out=out)
    t_small = t.take(small)
    acc = np.multiply(t_small, coefficients[-1])
    for c in coefficients[-2:0:-1]:
        acc += c
        acc *= t_small
    acc += coefficients[0]
    acc *= t_small
    acc *= t_small
    out.put(small, acc)
    return out


def two_sum_lo(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    s: NDArray[np.float64],
    work: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = x + y - s exactly, for s = fl(x + y) finite (Knuth's two-sum)."""
    np.subtract(s, x, out=work)  # the part of s that came from y
    np.subtract(s, work, out=out)  # ... and from x
    np.subtract(x, out, out=out)
    np.subtract(y, work, out=work)
    np.add(out, work, out=out)
    return out


def scaled_exp(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    x: NDArray[np.float64],
    work: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = (a - b) e^x, for |x| <= 708 and a - b finite (no factor over- or underflows)."""
    np.exp(x, out=work)
    np.subtract(a, b, out=out)
    np.multiply(out, work, out=out)
    return out


def expm1_minus_x_generic(
    xp: Any, t: Any, expm1_t: Any, series: tuple[float, tuple[float, ...]]
) -> Any:
    """:func:`expm1_minus_x` for any array library and every t: the series evaluated
    everywhere and selected where |t| < radius (the array API has no in-place update of a
    subset), and +inf at t = +inf (where expm1(t) - t is inf - inf)."""
    radius, coefficients = series
    if xp is np:  # the same steps in place: one temporary, not one a step
        acc = np.full(np.shape(t), coefficients[-1])
        for c in coefficients[-2::-1]:
            acc *= t
            acc += c
    else:
        acc = coefficients[-1]
        for c in coefficients[-2::-1]:
            acc = acc * t + c
    direct = xp.where(t == xp.inf, t, expm1_t - t)
    return xp.where(xp.abs(t) < radius, acc * t * t, direct)


def _half_difference(xp, a, b):
    """(t, lo): t = a/2 - b/2 rounded and lo its rounding error, so t + lo = (a - b)/2
    exactly; lo is 0 where t is not finite."""
    x, y = 0.5 * a, -0.5 * b
    t = x + y
    from_y = t - x
    lo = (x - (t - from_y)) + (y - from_y)
    return t, xp.where(xp.isfinite(lo), lo, xp.zeros_like(lo))


def half_expm1_generic(xp: Any, a: Any, b: Any) -> Any:
    """(e^(a - b) - 1) / 2 for every a, b: u (u/2 + 1) with u = expm1(t), t = (a - b)/2,
    plus lo (1 + u)**2 for the rounding error lo of t (wherever the first part is finite;
    where it is not, the result is +inf whatever lo is)."""
    t, lo = _half_difference(xp, a, b)
    u = xp.expm1(t)
    main = u * (0.5 * u + 1)
    e = u + 1
    return main + xp.where(xp.isfinite(main), (lo * e) * e, xp.zeros_like(main))


def half_expm1_minus_x_generic(
    xp: Any, a: Any, b: Any, series: tuple[float, tuple[float, ...]]
) -> Any:
    """(e^t - 1 - t) / 2 with t = a - b, for every a, b: u**2/2 + (u - t/2) with
    u = expm1(t/2), plus lo u (u + 2) for the rounding error lo of t/2 (wherever the first
    part is finite)."""
    t, lo = _half_difference(xp, a, b)
    u = xp.expm1(t)
    main = 0.5 * u * u + expm1_minus_x_generic(xp, t, u, series)
    return main + xp.where(xp.isfinite(main), (lo * u) * (u + 2), xp.zeros_like(main))


def scaled_exp_generic(xp: Any, a: Any, b: Any, x: Any, power: int, shift: int) -> Any:
    """2**shift (a - b)**power e^x (power 1 or 2) with no intermediate overflow or
    underflow, for every a, b, x.

    The factors' binary exponents are added as integers: a - b = m 2**j with 1 <= |m| < 2
    (its half when the difference overflows, scaled up when subnormal), x = k ln 2 + r, and
    m**power e^r, which lies in [0.7, 6), is scaled by 2**(power j + k + shift) in three
    powers of two. a - b = 0 gives 0 for every non-NaN x; an infinite or NaN a - b gives the IEEE
    product with e^x (NaN for inf * e^-inf).
    """
    full = a - b
    half = 0.5 * a - 0.5 * b
    overflowed = ~xp.isfinite(full) & xp.isfinite(half)
    d = xp.where(overflowed, half, full)
    j = xp.where(overflowed, xp.ones_like(d), xp.zeros_like(d))
    subnormal = xp.abs(d) < _SMALLEST_NORMAL
    d = xp.where(subnormal, d * 2.0**54, d)
    j = xp.where(subnormal, j - 54, j)
    regular = xp.isfinite(d) & (d != 0)
    ones = xp.ones_like(d)
    exponent = xp.floor(xp.log2(xp.abs(xp.where(regular, d, ones))))
    two = xp.full_like(d, 2.0)
    m = d * xp.pow(two, -exponent)  # in [1, 2), up to log2's rounding at a power of two
    limit = xp.full_like(x, _SCALED_EXP_LIMIT * power)
    clamped = xp.where(x > limit, limit, xp.where(x < -limit, -limit, x))
    k = xp.round(clamped * _LOG2_E)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    total = power * (j + exponent) + k + shift
    total = xp.where(total > 3000, 3000 * ones, xp.where(total < -3000, -3000 * ones, total))
    n1 = xp.trunc(total / 3)
    n2 = xp.trunc((total - n1) / 2)
    mp = m if power == 1 else m * m
    finite = mp * xp.exp(r) * xp.pow(two, n1) * xp.pow(two, n2) * xp.pow(two, total - n1 - n2)
    nonzero = xp.where(x == x, xp.ones_like(x), x)
    factor = xp.where((x < -limit) & (d != 0), xp.zeros_like(x), nonzero)
    irregular = (full if power == 1 else full * full) * factor * 2.0**shift
    return xp.where(regular, finite, irregular)
