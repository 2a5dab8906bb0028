"""Stable numpy evaluations of the functions loss terms use that numpy lacks, for the kernels
klgen generates from spec files (derive/functions.py defines them; derive/printers.py calls
them). Each writes into ``out`` (float64, the blocks' compute type) and allocates only a
work array or a mask, except the rewrites' forms (softplus_bregman, sigmoid_difference,
exp_difference, exp_bregman, log_exprel and its slope, exprel, sum_error, small_error, and
the Gamma KL's stirling_bregman and the others below), which copy their cases into it
(softplus_bregman and sigmoid_difference chunk by chunk, :func:`_in_chunks`). The
``_generic`` twins compute the same on arrays of any array-API namespace ``xp`` (torch,
CuPy, JAX...), returning new arrays."""

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._constants import EXPM1_MINUS_X_SERIES, HELPER_SERIES_RADIUS
from ._numeric import (
    _LN2_HI,
    _LN2_LO,
    _LN2_MID,
    _LN2_TAIL,
    _LOG2_E,
    expm1_minus_x_generic,
    scaled_exp_generic,
)
from ._numeric import _SCALED_EXP_LIMIT as _EXP_LIMIT  # beyond, m e^x is 0 or +-inf

_SERIES = EXPM1_MINUS_X_SERIES[HELPER_SERIES_RADIUS]["float64"]
# softplus_bregman's bound on -a and on d = b - a: beyond, p = e^a / (1 + e^a) is subnormal
# or e^d near overflow, and the generic form takes other terms; and the elements of one pass
# of its numpy formula (64 KiB a temporary).
_BREGMAN_LIMIT = 700.0
_CHUNK = 8192


def xlogy(
    x: NDArray[np.float64], y: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = x log(y), and 0 where x = 0 whatever y (the entropy convention)."""
    np.log(y, out=out)
    np.multiply(x, out, out=out)
    np.copyto(out, 0.0, where=np.equal(x, 0.0))
    return out


def heaviside(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = 0 below 0, 1/2 at 0, 1 above (SymPy's Heaviside, the derivative of Max)."""
    return np.heaviside(x, 0.5, out=out)


def softplus_bregman(
    a: NDArray[np.float64], b: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = softplus(b) - softplus(a) - sigmoid(a) (b - a), the KL divergence between
    Bernoulli(p = sigmoid(a)) and Bernoulli(q = sigmoid(b)), without its cancellation near
    b = a (where typed as it reads it keeps no correct digit).

    It is even in (a, b), so a <= 0 (p <= 1/2). Then it is the sum of two terms that are never
    negative, p E(x_p) + (1 - p) E(x_1) with E(x) = e^x - 1 - x, x_p = log q/p and x_1 =
    log (1 - q)/(1 - p) (the terms of p (q/p - 1) + (1 - p) ((1 - q)/(1 - p) - 1) = 0
    added). x_1 is -log1p(p expm1(d)), d = b - a, and x_p = d + x_1 with the roundings of
    both sums carried (E(x + lo) = E(x) + expm1(x) lo): an error of x_1 then moves the two
    terms by p expm1(x_p) + (1 - p) expm1(x_1) = 0 times itself, so that only E's own
    evaluation, the weights' and the sum's roundings remain (E doubles a log ratio's relative
    rounding: taken from two roundings each, the log ratios put 4.6 ulps into the value). p
    E(x_p) is q - p (1 + x_p) above x_p = 2 (where e^x would spread x's rounding).

    Its elements pass in chunks (:func:`_in_chunks`) through the formula for logits and
    differences within 700; the others (infinite, p subnormal, e^d beyond float64) through
    :func:`softplus_bregman_generic` alone.
    """
    return _in_chunks(_softplus_bregman_chunk, out, a, b)


def _softplus_bregman_chunk(a: NDArray[np.float64], b: NDArray[np.float64]) -> Any:
    """:func:`softplus_bregman` on one chunk: the regular formula, the rare elements again."""
    value = _softplus_bregman_regular(a, b)
    rare = ~((np.abs(a) <= _BREGMAN_LIMIT) & (np.abs(b - a) <= _BREGMAN_LIMIT))
    if rare.any():
        value[rare] = softplus_bregman_generic(np, a[rare], b[rare])
    return value


def _in_chunks(formula: Any, out: NDArray[np.float64], *arrays: Any) -> NDArray[np.float64]:
    """out = formula(*arrays), each array broadcast to out's shape, computed on consecutive
    chunks of _CHUNK elements: a formula's temporaries then take 64 KiB, which the
    allocator reuses (a block's, 256 KiB, took fresh pages from the kernel each time, which
    cost more than their arithmetic: kl_bernoulli's helpers 2 to 4 times their time). An out
    that is not C-contiguous is computed whole."""
    if not out.flags.c_contiguous:
        np.copyto(out, formula(*(np.broadcast_to(a, out.shape) for a in arrays)))
        return out
    flat = out.reshape(-1)
    arrays = tuple(np.broadcast_to(a, out.shape).reshape(-1) for a in arrays)
    for start in range(0, flat.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        flat[part] = formula(*(a[part] for a in arrays))
    return out


def _softplus_bregman_regular(a: NDArray[np.float64], b: NDArray[np.float64]) -> Any:
    """:func:`softplus_bregman` where |a| and |b - a| are within 700 (no limit, no
    subnormal p, no overflow of e^d): no case to select but x_p's."""
    a, b = -np.abs(a), np.copysign(1.0, -a) * b  # at a = 0 too (KL(0, b) = KL(0, -b))
    d, d_lo = _two_sum(b, -a)
    e = np.exp(a)
    p, r = e / (1.0 + e), 1.0 / (1.0 + e)
    up = np.expm1(d)
    log_ratio_1 = -np.log1p(p * (up + (1.0 + up) * d_lo))  # e^(d + d_lo) - 1 to first order
    return _bregman_terms(np, b, d, d_lo, p, r, log_ratio_1, lambda m: p * m)


def sigmoid_difference(
    x: NDArray[np.float64], y: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = sigmoid(x) - sigmoid(y) = sigmoid(y) sigmoid(-x) expm1(x - y), or for x > y
    its mirror -sigmoid(x) sigmoid(-y) expm1(y - x): expm1 of a number <= 0 (no overflow),
    and no cancellation where x is near y or both are large (there sigmoid(x) - sigmoid(y)
    rounds to 0 or keeps no correct digit). In chunks (:func:`_in_chunks`), each sigmoid as
    max(e, sign)/(1 + e), e = e^-|x| (no select), over one denominator."""
    return _in_chunks(functools.partial(sigmoid_difference_generic, np), out, x, y)


def exp_difference(
    x: NDArray[np.float64], y: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = e^x - e^y = e^max(x, y) (1 - e^-|x - y|), signed: expm1 of a number <= 0, so
    no cancellation where x is near y and no overflow of a factor while the result is
    finite."""
    np.copyto(out, exp_difference_generic(np, x, y))
    return out


def exp_bregman(
    a: NDArray[np.float64], b: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = e^b - e^a - e^a (b - a), the KL divergence between Poisson distributions of
    log-rates a and b: e^a (e^d - 1 - d), d = b - a, while d <= 2 (the series of e^d - 1 - d
    near 0: no cancellation near b = a), e^b (1 - (1 + d) e^-d) beyond (the second term
    below 0.41 of the first, and e^d would overflow where the result need not)."""
    np.copyto(out, exp_bregman_generic(np, a, b))
    return out


def exp_gap(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    t: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    c: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = e^b - e^(x - y) (1 + t) for b = u - v + c = x - y + t: e^(x - y) (e^t - 1 - t)
    by :func:`exp_of_difference` and the series while t <= 2 (exactly 0 at t = 0), e^b (1 -
    (1 + t) e^-t) beyond (the second term below 0.41 of the first; b with the roundings of
    u - v and of adding c added back; a weight that underflows beside an e^t that overflows
    gives their product)."""
    np.copyto(out, exp_gap_generic(np, x, y, t, u, v, c))
    return out


def exp_of_difference(
    m: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = m e^(x - y), the rounding of x - y added back (e^(hi + lo) = e^hi (1 + lo)) and
    e^hi applied as :func:`exp_product` does (no overflow or underflow of a factor)."""
    np.copyto(out, exp_of_difference_generic(np, m, x, y))
    return out


def difference_of_differences(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    c: NDArray[np.float64],
    e: NDArray[np.float64],
    f: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = ((a - b) - (c - e)) - f, with the roundings of every subtraction added back
    (two-sum): within an ulp or two however close the differences are."""
    np.copyto(out, difference_of_differences_generic(np, a, b, c, e, f))
    return out


def difference_of_differences_error(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    c: NDArray[np.float64],
    e: NDArray[np.float64],
    f: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = ((a - b) - (c - e)) - f less :func:`difference_of_differences` of the same: the
    rounding error of that float (of its last addition), 0 where it is not finite."""
    np.copyto(out, difference_of_differences_error_generic(np, a, b, c, e, f))
    return out


def exp_of_difference_error(
    m: NDArray[np.float64],
    m_error: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = (m + m_error) e^(x - y) - exp_of_difference(m, x, y): its rounding errors and
    m's (m_error) carried through, with e^x's own to 3e-18 relative (:func:`_exp_remainder`);
    0 where that is not finite."""
    np.copyto(out, exp_of_difference_error_generic(np, m, m_error, x, y))
    return out


def exp_product(
    m: NDArray[np.float64], x: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = m e^x with x = r + k ln 2 (ln 2 in two parts: the reduction is exact) and 2**k
    applied last by ldexp, which rounds once: no overflow or underflow of e^x where the
    product is finite. Beyond |x| = 1500 the product is 0 or +-inf for every nonzero finite
    m (0 for m = 0), as IEEE gives it; NaN stays NaN. An m above 2**1000 is halved first
    (and k raised by one): m e^r itself would overflow for e^r > 1 (kl_bernoulli at logits
    712, logits_p 1.3e308, where the KL is 0.13)."""
    regular = np.abs(x) <= _EXP_LIMIT
    x_regular = np.where(regular, x, 0.0)
    huge = np.abs(m) > 2.0**1000
    k = np.rint(x_regular * _LOG2_E)
    np.exp((x_regular - k * _LN2_HI) - k * _LN2_LO, out=out)
    np.multiply(out, np.where(huge, 0.5 * m, m), out=out)
    np.ldexp(out, (k + huge).astype(np.int32), out=out)
    if not regular.all():
        with np.errstate(invalid="ignore"):
            far = np.where((m == 0) & (x == x), 0.0, m * np.exp(x))
        np.copyto(out, far, where=~regular)
    return out


def product_error(
    m: NDArray[np.float64], x: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = m e^x - exp_product(m, x): the rounding error of :func:`exp_product` (its e^r's
    and its product's), from e^x in twice the precision (:func:`exp_split`); 0 where the
    product is 0, not finite, or |x| beyond 745."""
    np.copyto(out, product_error_generic(np, m, x))
    return out


def log_exprel(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = log((e^x - 1) / x), 0 at x = 0 (the continuous Bernoulli's log-normaliser):
    x/2 + x^2/24 below |x| = 1e-8 (where (e^x - 1 - x)/x underflows), log1p((e^x - 1 - x)/x)
    from -1 to 700 (the series of e^x - 1 - x near 0: no 0/0, no lost digit), log1p(-e^x) -
    log(-x) below -1 (two terms <= 0) and x - log x above 700 (where e^x overflows)."""
    np.copyto(out, log_exprel_generic(np, x))
    return out


def log_exprel_slope(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = e^x / (e^x - 1) - 1/x, 1/2 at x = 0 (the derivative of :func:`log_exprel`): 1 -
    g(x) for x >= 0 and g(-x) below, g(t) = (e^t - 1 - t) / (t (e^t - 1)) in (0, 1/2] (1/2 -
    t/12 below 1e-8, 1/t above 50, where the rest is below e^-50): neither form cancels."""
    np.copyto(out, log_exprel_slope_generic(np, x))
    return out


def exprel(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = (e^x - 1) / x, 1 at x = 0 (and below |x| = 1e-300, where the quotient is 1 to
    the last bit), 0 at -inf, inf at +inf."""
    np.copyto(out, exprel_generic(np, x))
    return out


def rounded_sum(
    x: NDArray[np.float64], y: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = fl(x + y): the one addition whose error :func:`sum_error` gives."""
    return np.add(x, y, out=out)


def sum_error(
    x: NDArray[np.float64], y: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = x + y - fl(x + y) exactly (Knuth's two-sum: six additions, no branch), 0 where
    fl(x + y) is not finite."""
    np.copyto(out, sum_error_generic(np, x, y))
    return out


def small_error(error: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = error where |error| < 1, else 0 (NaN too): a correction of an exponent that
    only matters where it is small."""
    np.copyto(out, small_error_generic(np, error))
    return out


def logsumexp_rows(terms: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out[i] = log(sum_j e^terms[i, j]), shifted by the row maximum (no overflow); a row of
    -inf gives -inf, a row holding +inf gives +inf."""
    shift = _row_shift(terms)
    np.log(np.sum(np.exp(terms - shift), axis=-1), out=out)
    np.add(out, shift[:, 0], out=out)
    return out


def softmax_rows(terms: NDArray[np.float64]) -> NDArray[np.float64]:
    """terms[i, j] = e^terms[i, j] / sum_k e^terms[i, k] in place: the weights of the
    log-sum-exp's gradient, from the shifted exponentials (no difference with the rounded
    log-sum-exp, which would cost digits at large |terms|); NaN in a row holding +inf or of
    -inf only."""
    np.subtract(terms, _row_shift(terms), out=terms)
    np.exp(terms, out=terms)
    np.divide(terms, np.sum(terms, axis=-1, keepdims=True), out=terms)
    return terms


def _row_shift(terms):
    """Each row's maximum (0 where it is not finite), as a (rows, 1) column."""
    top = np.max(terms, axis=-1, keepdims=True)
    return np.where(np.isfinite(top), top, 0.0)


def sigmoid_generic(xp: Any, x: Any) -> Any:
    """:func:`sigmoid` on arrays of ``xp``."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus_generic(xp: Any, x: Any) -> Any:
    """:func:`softplus` on arrays of ``xp``."""
    return xp.logaddexp(xp.zeros_like(x), x)


def xlogy_generic(xp: Any, x: Any, y: Any) -> Any:
    """:func:`xlogy` on arrays of ``xp``: 0 where x = 0 whatever y."""
    product = x * xp.log(y)
    return xp.where(x == 0, xp.zeros_like(product), product)


def heaviside_generic(xp: Any, x: Any) -> Any:
    """:func:`heaviside` on arrays of ``xp`` (NaN stays NaN)."""
    step = xp.astype(x > 0, xp.float64) + 0.5 * xp.astype(x == 0, xp.float64)
    return xp.where(xp.isnan(x), x, step)


def softplus_bregman_generic(xp: Any, a: Any, b: Any) -> Any:
    """:func:`softplus_bregman` on arrays of ``xp``, every case selected by ``where``: beyond
    d = 700, x_1 is the difference of softplus (e^d would overflow; there is no cancellation);
    below a = -700, p m is e^a (r m) with e^a applied last (p alone is subnormal)."""
    flip = a > 0
    a, b = xp.where(flip, -a, a), xp.where(flip, -b, b)
    d, d_lo = _two_sum(b, -a)
    e = xp.exp(a)
    p, r = e / (1.0 + e), 1.0 / (1.0 + e)
    overflow = d > _BREGMAN_LIMIT
    up = xp.expm1(xp.where(overflow, xp.zeros_like(d), d))
    log_ratio_1 = xp.where(
        overflow,
        softplus_generic(xp, a) - softplus_generic(xp, b),
        -xp.log1p(p * (up + (1.0 + up) * d_lo)),
    )
    deep = a < -_BREGMAN_LIMIT

    def weighted(m: Any) -> Any:  # p m
        return xp.where(deep, exp_product_generic(xp, r * m, a), p * m)

    finite = _bregman_terms(xp, b, d, d_lo, p, r, log_ratio_1, weighted)
    # The limits: q = 0 or 1 with 0 < p < 1 gives +inf; p = 0 gives softplus(b), as does a d
    # beyond float64 (where a < -8e307: p = 0).
    infinite = xp.where(xp.isinf(b) & (a == a), xp.abs(b), finite)
    return xp.where((a == -xp.inf) | (d == xp.inf), softplus_generic(xp, b), infinite)


def _bregman_terms(
    xp: Any, b: Any, d: Any, d_lo: Any, p: Any, r: Any, log_ratio_1: Any, weighted: Any
) -> Any:
    """p E(x_p) + r E(x_1) given x_1 = log_ratio_1, x_p = d + x_1 (d + d_lo = b - a) carried
    as a rounded sum and its error, and ``weighted(m)`` = p m; p E(x_p) as q - p (1 + x_p)
    where x_p > 2."""
    log_ratio_p, lo = _two_sum(d, log_ratio_1)
    lo = lo + d_lo
    expm1_p = xp.expm1(log_ratio_p)
    gap_p = expm1_minus_x_generic(xp, log_ratio_p, expm1_p, _SERIES) + expm1_p * lo
    p_far = sigmoid_generic(xp, b) - weighted(1.0 + (log_ratio_p + lo))
    gap_1 = expm1_minus_x_generic(xp, log_ratio_1, xp.expm1(log_ratio_1), _SERIES)
    return xp.where(log_ratio_p > 2.0, p_far, weighted(gap_p)) + r * gap_1


def sigmoid_difference_generic(xp: Any, x: Any, y: Any) -> Any:
    """:func:`sigmoid_difference` on arrays of ``xp``: sigmoid(hi) sigmoid(-lo) (1 -
    e^-|x - y|), hi and lo the larger and the smaller of x and y, signed as x - y; 0 where
    x = y (also infinite)."""
    d = x - y
    hi, lo = xp.maximum(x, y), xp.minimum(x, y)
    e_hi, e_lo = xp.exp(-xp.abs(hi)), xp.exp(-xp.abs(lo))
    weights = xp.maximum(e_hi, xp.sign(hi)) * xp.maximum(e_lo, -xp.sign(lo))
    value = weights / ((1.0 + e_hi) * (1.0 + e_lo)) * -xp.expm1(-xp.abs(d))
    return xp.where(x == y, xp.zeros_like(d), xp.copysign(value, d))


def exp_difference_generic(xp: Any, x: Any, y: Any) -> Any:
    """:func:`exp_difference` on arrays of ``xp``."""
    top = xp.where(x >= y, x, y)
    sign = xp.where(x >= y, xp.ones_like(top), -xp.ones_like(top))
    difference = -sign * xp.exp(top) * xp.expm1(-xp.abs(x - y))
    return xp.where(x == y, xp.zeros_like(top), difference)  # 0, not NaN, at x = y = inf


def exp_bregman_generic(xp: Any, a: Any, b: Any) -> Any:
    """:func:`exp_bregman` on arrays of ``xp``: each form a factor times e^a or e^b with the
    exponents added as integers (scaled_exp_generic), so that it neither overflows nor
    underflows before the result does."""
    d = b - a
    zeros, ones = xp.zeros_like(d), xp.ones_like(d)
    near = d <= 2.0
    d_near = xp.where(near, d, zeros)
    gap = expm1_minus_x_generic(xp, d_near, xp.expm1(d_near), _SERIES)
    d_far = xp.where(near, xp.full_like(d, 3.0), d)
    tangent = (1.0 + d_far) * xp.exp(-d_far)  # e^a (1 + d) / e^b, below 0.41
    near_value = scaled_exp_generic(xp, gap, zeros, a, 1, 0)
    return xp.where(near, near_value, scaled_exp_generic(xp, ones, tangent, b, 1, 0))


def exp_gap_generic(xp: Any, x: Any, y: Any, t: Any, u: Any, v: Any, c: Any) -> Any:
    """:func:`exp_gap` on arrays of ``xp``; a weight e^(x - y) of exactly 0 (x = -inf: a
    category of probability 0) gives the limit e^b, 0 where b is -inf too."""
    zeros, ones = xp.zeros_like(t), xp.ones_like(t)
    near = t <= 2.0
    t_near = xp.where(near, t, zeros)
    gap = expm1_minus_x_generic(xp, t_near, xp.expm1(t_near), _SERIES)
    t_far = xp.where(near | (t == xp.inf), xp.full_like(t, 3.0), t)
    tangent = xp.where(t == xp.inf, zeros, (1.0 + t_far) * xp.exp(-t_far))
    near_value = exp_of_difference_generic(xp, gap, x, y)
    value = xp.where(near, near_value, _exp_of_shifted_sum_generic(xp, 1.0 - tangent, u, v, c))
    return xp.where(x - y == -xp.inf, _exp_of_shifted_sum_generic(xp, ones, u, v, c), value)


def _exp_of_shifted_sum_generic(xp: Any, m: Any, u: Any, v: Any, c: Any) -> Any:
    """m e^(u - v + c), the roundings of u - v and of adding c added back (e^(hi + lo) = e^hi
    (1 + lo)), as :func:`exp_of_difference_generic` does for one difference."""
    hi, lo = _two_sum(u, -v)
    top, more = _two_sum(hi, c)
    error = lo + more
    exact = ~(xp.abs(error) < 1.0) | (error == 0.0)
    return exp_product_generic(xp, xp.where(exact, m, m + m * error), top)


def exp_of_difference_generic(xp: Any, m: Any, x: Any, y: Any) -> Any:
    """:func:`exp_of_difference` on arrays of ``xp``: 0 where x - y is -inf (whatever m: a
    category of probability 0 contributes nothing); the rounding's error left out where it
    is not below 1 (|x - y| beyond 2^52, where e^(x - y) is 0 or inf anyway)."""
    hi, lo = _two_sum(x, -y)
    exact = ~(xp.abs(lo) < 1.0) | (lo == 0.0)  # m itself: an infinite m times lo = 0
    value = exp_product_generic(xp, xp.where(exact, m, m + m * lo), hi)
    return xp.where(hi == -xp.inf, xp.zeros_like(value), value)


def difference_of_differences_generic(xp: Any, a: Any, b: Any, c: Any, e: Any, f: Any) -> Any:
    """:func:`difference_of_differences` on arrays of ``xp``: x = a - b, y = c - e, x - y and
    then less f, each rounding's error kept (two-sum) and their sum added last; the errors
    are 0 where a difference is not finite."""
    w, errors = _difference_of_differences_parts(xp, a, b, c, e, f)
    return w + errors


def difference_of_differences_error_generic(xp: Any, a: Any, b: Any, c: Any, e: Any, f: Any) -> Any:
    """:func:`difference_of_differences_error` on arrays of ``xp``: the rounding error of
    the last addition, w + errors (two-sum; the errors' own sum rounds at eps^2 of the
    differences); 0 where the result is not finite."""
    w, errors = _difference_of_differences_parts(xp, a, b, c, e, f)
    total, error = _two_sum(w, errors)
    return xp.where(xp.isfinite(total), error, xp.zeros_like(error))


def _difference_of_differences_parts(xp: Any, *args: Any) -> tuple[Any, Any]:
    """(w, errors): ((a - b) - (c - e)) - f rounded step by step, and the sum of those
    steps' rounding errors (0 where a difference is not finite)."""
    a, b, c, e, f = args
    x, x_error = _two_sum(a, -b)
    y, y_error = _two_sum(c, -e)
    z, z_error = _two_sum(x, -y)
    w, w_error = _two_sum(z, -f)
    zeros = xp.zeros_like(w)
    x_error = xp.where(xp.isfinite(x), x_error, zeros)
    y_error = xp.where(xp.isfinite(y), y_error, zeros)
    errors = (w_error + z_error) + (x_error - y_error)
    return w, xp.where(xp.isfinite(z) & xp.isfinite(w), errors, zeros)


def exp_of_difference_error_generic(xp: Any, m: Any, m_error: Any, x: Any, y: Any) -> Any:
    """:func:`exp_of_difference_error` on arrays of ``xp``: exp_of_difference(m, x, y) is
    exp_product(w, hi) = 2**k fl(w e) with hi + lo = x - y (two-sum), w = fl(m + m lo) (m
    where lo is 0 or not below 1) and e = exp(r), r = hi - k ln 2 rounded. The exact (m +
    m_error) e^(hi + lo) less it is, to second order in the errors, 2**k (w e - fl(w e) + w
    (e^r - e) + dw e), dw = (m + m lo - w) + m_error (two-sums, Dekker's product, e^r - e by
    :func:`_exp_remainder`), with w scaled by 2**-600 or 2**600 where it is huge or tiny (the
    split of its product would overflow or underflow) and 2**k applied last. 0 where w is 0
    or not finite (x - y = -inf, an infinite m) and where |x - y| > 745."""
    hi, lo = _two_sum(x, -y)
    exact = ~(xp.abs(lo) < 1.0) | (lo == 0.0)
    shift = m * lo
    weight = m + shift
    rounding = xp.where(exact, m_error, ((m - weight) + shift) + m_error)
    weight = xp.where(exact, m, weight)
    zeros = xp.zeros_like(weight)
    size = xp.abs(weight)
    regular = (xp.abs(hi) <= 745.0) & (size < xp.inf) & (size > 0)
    hi = xp.where(regular, hi, zeros)
    scale = xp.where(size > 2.0**600, zeros - 600, xp.where(size < 2.0**-600, zeros + 600, zeros))
    scaled = xp.where(regular, _times_power_of_two(xp, weight, scale), zeros + 1.0)
    k = xp.round(hi * _LOG2_E)
    reduced, reduced_lo = _two_sum(hi - k * _LN2_HI, -(k * _LN2_LO))
    e = xp.exp(reduced)  # exp_product's, less 2**k
    product, product_lo = _two_product(scaled, e)
    remainder = _exp_remainder(reduced, reduced_lo, e)
    rounding = _times_power_of_two(xp, rounding, scale)
    error = _times_power_of_two(xp, product_lo + (scaled * remainder + rounding * e), k - scale)
    return xp.where(regular & xp.isfinite(error), error, zeros)


def _times_power_of_two(xp: Any, v: Any, k: Any) -> Any:
    """v 2**k for integral float k (ldexp: exact unless the result is subnormal); 2**k as
    the product of two halves elsewhere, each a normal float for |k| < 2000."""
    if xp is np:
        return np.ldexp(v, k.astype(np.int32))
    half = xp.floor(k / 2)
    return v * xp.pow(xp.full_like(v, 2.0), half) * xp.pow(xp.full_like(v, 2.0), k - half)


# 1/n! for n = 16 down to 3: e^r - 1 - r - r^2/2 = r^3 (1/3! + r/4! + ...), whose terms
# beyond r^16/16! are below 1e-21 of e^r for |r| <= ln(2)/2.
_EXP_TAIL = tuple(1.0 / math.factorial(n) for n in range(16, 2, -1))


def _exp_remainder(r: Any, r_lo: Any, e: Any) -> Any:
    """e^(r + r_lo) - e for |r| <= ln(2)/2, r_lo below an ulp of r and e = exp(r) rounded
    (1 - e exact, as e is within a factor 2 of 1): 1 - e + r + r^2/2 summed by two-sums
    with r^2 an exact product, the rest r^3 (1/3! + r/4! + ...) in float64 (below 0.0075,
    so its few roundings are below 0.03 of an ulp of e) and r_lo e^r as r_lo (1 + r +
    r^2/2): the rounding error of an exp to within a few percent (e^r itself to 3e-18)."""
    square, square_lo = _two_product(r, r)
    tail = _EXP_TAIL[0]
    for c in _EXP_TAIL[1:]:
        tail = tail * r + c
    first, first_lo = _two_sum(1.0 - e, r)
    second, second_lo = _two_sum(first, 0.5 * square)
    carried = r_lo * (1.0 + r + 0.5 * square)  # r_lo e^r
    rest = (first_lo + second_lo) + (0.5 * square_lo + r * square * tail + carried)
    return second + rest


def compensated_row_sum_generic(xp: Any, terms: Any) -> Any:
    """The sum over the last axis (kept, as a column) in twice the precision: the halves
    added pairwise level by level, each addition's rounding error kept (two-sum) and all
    of them summed and added last (Ogita, Rump and Oishi's Sum2, in a pairwise order): the
    sum as if rounded once, where a plain sum of terms that cancel keeps eps of the largest
    partial sum. An infinite or NaN partial sum gives the plain sum's result."""
    errors = xp.zeros_like(terms[..., :1])
    while terms.shape[-1] > 1:
        half = terms.shape[-1] // 2
        total, error = _two_sum(terms[..., :half], terms[..., half : 2 * half])
        error = xp.where(xp.isfinite(total), error, xp.zeros_like(error))
        errors = errors + xp.sum(error, axis=-1, keepdims=True)
        terms = xp.concat([total, terms[..., 2 * half :]], axis=-1)
    return terms + errors


def exp_product_generic(xp: Any, m: Any, x: Any) -> Any:
    """:func:`exp_product` on arrays of ``xp`` (numpy itself, as the numpy helpers here call
    it, gets :func:`exp_product`'s ldexp: eight times faster than the array API's powers)."""
    if xp is np:
        m, x = np.broadcast_arrays(np.asarray(m, np.float64), np.asarray(x, np.float64))
        return exp_product(m, x, np.empty(m.shape))
    return scaled_exp_generic(xp, m, xp.zeros_like(m), x, 1, 0)


def product_error_generic(xp: Any, m: Any, x: Any) -> Any:
    """:func:`product_error` on arrays of ``xp``: m e^r (1 + lo) in twice the precision less
    fl(m fl(e^r)), by the same reduction x = r + k ln 2 as exp_product's (their 2**k is
    exact), as a relative correction of m e^x. m is scaled by a power of two where it is
    huge or tiny (the split of its product would overflow or underflow)."""
    zeros = xp.zeros_like(m + x)
    value = exp_product_generic(xp, m, x)
    regular = (xp.abs(x) <= 745.0) & xp.isfinite(value) & (value != 0)
    x = xp.where(regular, x, zeros)
    m = xp.where(regular, m, zeros + 1.0)
    power = xp.where(xp.abs(m) > 2.0**600, zeros + 2.0**-600, zeros + 1.0)
    scaled = m * xp.where(xp.abs(m) < 2.0**-600, zeros + 2.0**600, power)
    k, exp_hi, exp_lo = exp_split(xp, x)
    rounded = scaled * xp.exp((x - k * _LN2_HI) - k * _LN2_LO)  # exp_product's, less 2**k
    one, one_lo = _two_sum(1.0, exp_hi)
    product, product_lo = _two_product(scaled, one)
    error = (product - rounded) + (product_lo + scaled * (one_lo + exp_lo))
    correction = value * (error / rounded)
    return xp.where(regular & xp.isfinite(correction), correction, zeros)


def exp_split(xp: Any, x: Any) -> tuple[Any, Any, Any]:
    """(k, hi, lo) with e^x = 2**k (1 + hi + lo) to about 1e-21 relative, for |x| <= 745:
    x = k ln 2 + r with r in twice the precision (ln 2 in three parts), e^(r/16) - 1 from its
    series to r^9 (r^2 as an exact product), then squared four times, E -> 2E + E^2, in
    twice the precision (each squaring doubles the relative error: 16 of the series'
    1e-22). The exponentials of e^x's own rounding (eps relative), where a product with it
    sits in an exponent of hundreds, need this (kl_laplace's |d| e^-log_scale)."""
    k = xp.round(x * _LOG2_E)
    reduced, reduced_lo = _two_sum(x - k * _LN2_HI, -(k * _LN2_MID))  # both exact
    h, low = reduced * 0.0625, (reduced_lo - k * _LN2_TAIL) * 0.0625
    square, square_lo = _two_product(h, h)
    series = 1.0 / 40320.0 + h / 362880.0
    for n in (5040.0, 720.0, 120.0, 24.0, 6.0):
        series = 1.0 / n + h * series
    hi, hi_lo = _two_sum(h, 0.5 * square)
    lo = hi_lo + (0.5 * square_lo + (h * square * series + low * (1.0 + h + 0.5 * square)))
    hi, lo = _two_sum(hi, lo)  # renormalized: lo below an ulp of hi, so lo^2 is negligible
    for _ in range(4):
        top, top_lo = _two_product(hi, hi)
        new, new_lo = _two_sum(2.0 * hi, top)
        hi, lo = _two_sum(new, new_lo + (top_lo + 2.0 * lo * (1.0 + hi)))
    return k, hi, lo


def _split(a: Any) -> tuple[Any, Any]:
    """(high, low), a = high + low exactly, each of 26 bits or fewer (Dekker's split)."""
    c = 134217729.0 * a
    high = c - (c - a)
    return high, a - high


def _two_product(a: Any, b: Any) -> tuple[Any, Any]:
    """(p, e): p = a b rounded and e its rounding error (Dekker), p + e = a b exactly for
    |a|, |b| below 2**996 and a b above 2**-969."""
    p = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    return p, ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low


def log_exprel_generic(xp: Any, x: Any) -> Any:
    """:func:`log_exprel` on arrays of ``xp``."""
    zeros = xp.zeros_like(x)
    middle = (x >= -1.0) & (x <= 700.0) & (xp.abs(x) >= 1e-8)
    t = xp.where(middle, x, xp.ones_like(x))  # no 0/0 or overflow in the branches not taken
    gap = expm1_minus_x_generic(xp, t, xp.expm1(t), _SERIES)
    low = xp.where(x < -1.0, x, -xp.ones_like(x))
    high = xp.where(x > 700.0, x, xp.ones_like(x))
    result = xp.where(middle, xp.log1p(gap / t), x / 2.0 + x * x / 24.0)
    result = xp.where(x < -1.0, xp.log1p(-xp.exp(low)) - xp.log(-low), result)
    result = xp.where(x > 700.0, high - xp.log(high), result)
    return xp.where(x == xp.inf, x, result + zeros)


def log_exprel_slope_generic(xp: Any, x: Any) -> Any:
    """:func:`log_exprel_slope` on arrays of ``xp``."""
    t = xp.abs(x)
    middle = (t >= 1e-8) & (t <= 50.0)
    u = xp.where(middle, t, xp.ones_like(t))
    expm1_u = xp.expm1(u)
    g = expm1_minus_x_generic(xp, u, expm1_u, _SERIES) / u / expm1_u
    g = xp.where(middle, g, xp.where(t < 1e-8, 0.5 - t / 12.0, 1.0 / t))
    return xp.where(x >= 0, 1.0 - g, g)


def exprel_generic(xp: Any, x: Any) -> Any:
    """:func:`exprel` on arrays of ``xp``."""
    tiny = xp.abs(x) < 1e-300
    t = xp.where(tiny | xp.isinf(x), xp.ones_like(x), x)
    quotient = xp.expm1(t) / t
    quotient = xp.where(x == -xp.inf, xp.zeros_like(x), quotient)
    quotient = xp.where(x == xp.inf, x, quotient)
    return xp.where(tiny, xp.ones_like(x), quotient)


def rounded_sum_generic(xp: Any, x: Any, y: Any) -> Any:
    """:func:`rounded_sum` on arrays of ``xp``."""
    return x + y


def sum_error_generic(xp: Any, x: Any, y: Any) -> Any:
    """:func:`sum_error` on arrays of ``xp``."""
    s, error = _two_sum(x, y)
    return xp.where(xp.isfinite(s), error, xp.zeros_like(s))


def small_error_generic(xp: Any, error: Any) -> Any:
    """:func:`small_error` on arrays of ``xp``."""
    return xp.where(xp.abs(error) < 1.0, error, xp.zeros_like(error))


def logsumexp_rows_generic(xp: Any, terms: Any) -> tuple[Any, Any]:
    """:func:`logsumexp_rows` and the weights of :func:`softmax_rows` on arrays of ``xp``:
    (log-sum-exp of each row, the softmax of each row)."""
    top = xp.max(terms, axis=-1, keepdims=True)
    shift = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
    exponentials = xp.exp(terms - shift)
    total = xp.sum(exponentials, axis=-1, keepdims=True)
    return xp.log(total[..., 0]) + shift[..., 0], exponentials / total


# --- The Gamma KL: lgamma's tangent gap in log-coordinates -----------------------------------
# f(x) = lgamma(x) - x log x + x. Below x = _SHIFTED the helpers step x up by an integer n with
# f(x) = f(x + n) + sum_{i < n} h(x + i), h(u) = (u + 1) log(1 + 1/u) - 1 (from lgamma(x + 1) =
# lgamma(x) + log x), so that f' = psi - log and f'' = psi' - 1/x get the same sums of h' = -l,
# l(u) = 1/u - log(1 + 1/u), and of h'' = 1/(u^2 (u + 1)), all of one sign; above it they use
# Stirling's series f(x) = log(2 pi)/2 - log(x)/2 + sum_k B_2k / (2k (2k - 1) x^(2k - 1)).
# _BERNOULLI holds B_2, ..., B_20 (tests/test_registry.py checks them against sympy.bernoulli):
# the first term left out changes a result by less than 1e-18 of itself at x = 12.
_SHIFTED = 12
_BERNOULLI = (
    1 / 6,
    -1 / 30,
    1 / 42,
    -1 / 30,
    5 / 66,
    -691 / 2730,
    7 / 6,
    -3617 / 510,
    43867 / 798,
    -174611 / 330,
)


def _gap(xp: Any, t: Any) -> Any:
    """E(t) = e^t - 1 - t, without its cancellation near 0."""
    return expm1_minus_x_generic(xp, t, xp.expm1(t), _SERIES)


def _shifted(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    """The common start of the Stirling helpers: x = e^a, y = e^b, y - x (as x expm1(b - a)
    where |b - a| <= 1), the shift n (0 where min(x, y) >= _SHIFTED, else the integer taking
    it there), X = x + n, Y = y + n and t = log(Y/X)."""
    x, y = xp.exp(a), xp.exp(b)
    near = xp.abs(b - a) <= 1.0  # beyond, e^(b - a) would spread the rounding of b - a
    difference = xp.where(near, x * xp.expm1(xp.where(near, b - a, xp.zeros_like(a))), y - x)
    return (x, y, difference, *_shifted_at(xp, x, y, difference, b - a))


def _shifted_at(xp: Any, x: Any, y: Any, difference: Any, d: Any) -> tuple[Any, ...]:
    """(n, X, Y, t) of :func:`_shifted` for x, y given with y - x and log(y/x) = d."""
    low = xp.minimum(x, y)
    n = xp.where(low < _SHIFTED, xp.ceil(_SHIFTED - low), xp.zeros_like(low))
    big_x, big_y = x + n, y + n
    t = xp.where(n > 0, _log_ratio(xp, difference, big_y, big_x), d)
    return n, big_x, big_y, t


def _log_ratio(xp: Any, difference: Any, top: Any, bottom: Any) -> Any:
    """log(top / bottom) given difference = top - bottom: log1p(difference / bottom) where
    the ratio is near 1, the log of the quotient elsewhere."""
    ratio = difference / bottom
    near = xp.abs(ratio) <= 0.5
    return xp.where(
        near, xp.log1p(xp.where(near, ratio, xp.zeros_like(ratio))), xp.log(top / bottom)
    )


def _gap_of(xp: Any, t: Any, difference: Any, bottom: Any) -> Any:
    """E(t) for t = log(top / bottom), difference = top - bottom: as difference / bottom - t
    where |t| > 1 (e^t of the rounded t would carry t times its rounding)."""
    near = xp.abs(t) <= 1.0
    return xp.where(near, _gap(xp, xp.where(near, t, xp.zeros_like(t))), difference / bottom - t)


def _ell(xp: Any, u: Any) -> Any:
    """l(u) = 1/u - log1p(1/u) > 0: as v - log1p(v), v = 1/u, above v = 1, and below as
    E(log1p(v)) (v = e^s - 1 for s = log1p(v)), where v and log1p(v) would cancel."""
    v = 1.0 / u
    small = v <= 1.0
    return xp.where(
        small, _gap(xp, xp.log1p(xp.where(small, v, xp.zeros_like(v)))), v - xp.log1p(v)
    )


def _h(xp: Any, u: Any) -> Any:
    """h(u) = (u + 1) log1p(1/u) - 1 > 0, as (1 + v) E(-s) / v with v = 1/u, s = log1p(v)
    (the same, with e^-s = 1/(1 + v)): no 1 - 1 cancellation at large u."""
    v = 1.0 / u
    return (1.0 + v) * _gap(xp, -xp.log1p(v)) * u


def _z(xp: Any, difference: Any, u: Any, w: Any) -> Any:
    """z = (u - w) / ((u + 1) w), w - u = difference: (w + 1) u / ((u + 1) w) = 1 + z."""
    return -(difference / (u + 1.0)) / w


def stirling_bregman_generic(xp: Any, a: Any, b: Any) -> Any:
    """f(e^b) - f(e^a) - f'(e^a) (e^b - e^a), f(x) = lgamma(x) - x log x + x: the sum over
    i < n of h's gaps between u = x + i and w = y + i, then f's gap between X and Y from
    Stirling's series, E(t)/2 + sum_k c_k X^-m (E(-m t) + m E(t)) (E(t) = e^t - 1 - t,
    t = log(Y/X), m = 2k - 1). h's gap is (w - u) l(u) + h(w) - h(u) = (w - u)/u + (w + 1)
    log1p(z), written (w - u)^2 / (u w (u + 1)) - (w + 1) E(log1p(z)) where |z| <= 1/2 (the
    second at most half the first), and E(d) + (w + 1) log1p((w - u)/(u + 1)) - w d where
    u, w < 1/2 (where h(w) - h(u) ~ log(u/w) would cancel): every term of one sign, and within
    each a cancellation of a few bits at most."""
    x, y, difference, n, big_x, big_y, t = _shifted(xp, a, b)
    value = _bregman_at(xp, x, y, difference, b - a, n, big_x, big_y, t)
    return xp.where(a == b, xp.zeros_like(t), value)  # 0, not NaN, where e^a = e^b = 0


def _bregman_at(xp: Any, x: Any, y: Any, difference: Any, d: Any, *shifted: Any) -> Any:
    """f's gap between x and y (``stirling_bregman_generic``'s evaluation) given y - x, d =
    log(y/x) and (n, X, Y, t) of :func:`_shifted_at`: the series first, then h's gaps from
    the last (the smallest) to the first, each added whole (all are positive: the small
    ones rounded at the size of the large ones had put up to 2.5 ulps into F)."""
    n, big_x, big_y, t = shifted
    zeros = xp.zeros_like(t)
    near = xp.abs(t) <= 1.0
    t_near = xp.where(near, t, zeros)
    inverse_x, inverse_y = 1.0 / big_x, 1.0 / big_y
    gap_t, expm1_t = _gap(xp, t_near), difference / big_x  # e^t - 1 = (Y - X)/X
    series = zeros
    for k, bernoulli in reversed(list(enumerate(_BERNOULLI, start=1))):
        m = 2 * k - 1
        power_x = inverse_x**m
        close = power_x * (_gap(xp, -m * t_near) + m * gap_t)
        far = inverse_y**m - power_x + m * power_x * expm1_t
        series = series + bernoulli / (2 * k * m) * xp.where(near, close, far)
    total = series + 0.5 * _gap_of(xp, t, difference, big_x)
    for i in reversed(range(_SHIFTED)):
        on = n > i
        u, w = xp.where(on, x + i, 1.0 + zeros), xp.where(on, y + i, 1.0 + zeros)
        delta = xp.where(on, difference, zeros)
        z = _z(xp, delta, u, w)
        near = xp.abs(z) <= 0.5
        z_near = xp.where(near, z, zeros)
        close = (delta / u) * (delta / w) / (u + 1.0) - (w + 1.0) * _gap(xp, xp.log1p(z_near))
        far = delta * _ell(xp, u) + _h(xp, w) - _h(xp, u)
        if i == 0:  # u, w < 1/2: log1p(z) = log1p(w) - log1p(u) - d, and E(d) holds the rest
            tiny = xp.maximum(x, y) < 0.5
            d_tiny = xp.where(tiny, d, zeros)
            rest = (w + 1.0) * xp.log1p(delta / (u + 1.0)) - w * d_tiny
            far = xp.where(tiny, _gap_of(xp, d_tiny, delta, u) + rest, far)
        total = total + xp.where(near, close, far)
    # Below a = -745 (e^a = 0, beyond the log-concentrations' range): E(b - a) where both
    # underflow (the rest is below 1e-300), +inf where e^a alone does (about e^b / e^a), NaN
    # where e^b alone does.
    underflow = xp.where(y == 0, _gap(xp, d), xp.full_like(t, xp.inf))
    return xp.where(x == 0, underflow, xp.where(y == 0, xp.full_like(t, xp.nan), total))


def stirling_slope_difference_generic(xp: Any, a: Any, b: Any) -> Any:
    """f'(e^b) - f'(e^a), f'(x) = psi(x) - log x = f'(X) - sum_{i < n} l(x + i): the
    differences l(w) - l(u) (u = x + i, w = y + i) as z/u + E(log1p(z)) where |z| <= 1/2
    (no cancellation beyond 2x), and f'(Y) - f'(X) = (Y - X)/(2XY) + sum_k B_2k/(2k)
    (X^-2k - Y^-2k): each a multiple of y - x, so none cancels where b is near a."""
    x, y, difference, n, big_x, big_y, t = _shifted(xp, a, b)
    total = _slope_difference_at(xp, x, y, difference, n, big_x, big_y, t)
    # Below a = -745: -1/y + 1/x, beyond the largest float.
    infinite = xp.where(b > a, xp.full_like(t, xp.inf), xp.full_like(t, -xp.inf))
    zeros = xp.zeros_like(t)
    return xp.where(a == b, zeros, xp.where((x == 0) | (y == 0), infinite, total))


def _slope_difference_at(xp: Any, x: Any, y: Any, difference: Any, *shifted: Any) -> Any:
    """f'(y) - f'(x) (``stirling_slope_difference_generic``'s evaluation) given y - x and
    (n, X, Y, t) of :func:`_shifted_at`, summed from the smallest terms as
    :func:`_bregman_at`."""
    n, big_x, big_y, t = shifted
    zeros = xp.zeros_like(t)
    near = xp.abs(t) <= 1.0
    t_near = xp.where(near, t, zeros)
    inverse_x, inverse_y = 1.0 / big_x, 1.0 / big_y
    total = zeros
    for k, bernoulli in reversed(list(enumerate(_BERNOULLI, start=1))):
        m = 2 * k
        close = -(inverse_x**m) * xp.expm1(-m * t_near)
        total = total + bernoulli / m * xp.where(near, close, inverse_x**m - inverse_y**m)
    total = total + 0.5 * (difference / big_x) / big_y
    for i in reversed(range(_SHIFTED)):
        on = n > i
        u, w = xp.where(on, x + i, 1.0 + zeros), xp.where(on, y + i, 1.0 + zeros)
        z = _z(xp, xp.where(on, difference, zeros), u, w)
        near = xp.abs(z) <= 0.5
        close = z / u + _gap(xp, xp.log1p(xp.where(near, z, zeros)))
        total = total - xp.where(near, close, _ell(xp, w) - _ell(xp, u))
    return total


def stirling_bregman_pair_generic(xp: Any, x: Any, y: Any, difference: Any, d: Any) -> Any:
    """f's gap between concentrations x and y given y - x and d = log(y/x) (the Dirichlet
    KL's sums: ``stirling_bregman_generic``'s evaluation from them); 0 where y = x."""
    shifted = _shifted_at(xp, x, y, difference, d)
    value = _bregman_at(xp, x, y, difference, d, *shifted)
    return xp.where(difference == 0, xp.zeros_like(value), value)


def stirling_slope_difference_pair_generic(xp: Any, x: Any, y: Any, difference: Any, d: Any) -> Any:
    """f'(y) - f'(x) for concentrations given as ``stirling_bregman_pair_generic``'s."""
    shifted = _shifted_at(xp, x, y, difference, d)
    total = _slope_difference_at(xp, x, y, difference, *shifted)
    return xp.where(difference == 0, xp.zeros_like(total), total)


def stirling_curvature_at_generic(xp: Any, x: Any) -> Any:
    """x f''(x) at a concentration x > 0 (``stirling_curvature_generic`` less its exp)."""
    return _curvature_at(xp, x)


def stirling_curvature_generic(xp: Any, a: Any) -> Any:
    """e^a psi'(e^a) - 1 = x f''(x) = (x/X) (X psi'(X) - 1) + sum_{i < n} x / ((x + i)^2
    (x + i + 1)) (x = e^a, X = x + n >= 12), X psi'(X) - 1 = 1/(2X) + sum_k B_2k / X^2k from
    Stirling's series: every term positive (no 1 - 1 cancellation at large x, where the
    result is about 1/(2x))."""
    x = xp.exp(a)
    return xp.where(x == 0, xp.full_like(x, xp.inf), _curvature_at(xp, x))  # about 1/x there


# Below it, x f''(x)'s first term 1/(x (x + 1)) (three roundings, near all of it) is taken as
# 1/x - 1/(x + 1), added last: one rounding of 1/x and the sum's (0.95 -> about 0.5 ulps at
# x = 2.6e-9; gamma's dlog_concentration 2.3 -> 1.4 ulps at (-20.0, 26.1, -4.9, 26.1)).
_TINY_CURVATURE = 1.0 / 64.0


def _curvature_at(xp: Any, x: Any) -> Any:
    """x f''(x) (``stirling_curvature_generic``'s evaluation) at x > 0."""
    n = xp.where(x < _SHIFTED, xp.ceil(_SHIFTED - x), xp.zeros_like(x))
    inverse = 1.0 / (x + n)
    series = xp.zeros_like(x)
    for k, bernoulli in reversed(list(enumerate(_BERNOULLI, start=1))):  # the smallest first
        series = series + bernoulli * inverse ** (2 * k)
    total = x * inverse * (series + 0.5 * inverse)
    for i in reversed(range(1, _SHIFTED)):
        u = x + i
        total = total + xp.where(n > i, (x / u) / (u * (u + 1.0)), xp.zeros_like(x))
    tiny = x < _TINY_CURVATURE  # n > 0 there and elsewhere x < 12
    first = xp.where(n > 0, 1.0 / (x * (x + 1.0)), xp.zeros_like(x))
    return xp.where(tiny, (total - 1.0 / (x + 1.0)) + 1.0 / x, total + first)


def exp_bregman_split_generic(xp: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    """e^a E(D), D = (b - a) + (c - d), while D <= 2; beyond, e^(b + c - d) (1 - (1 + D) e^-D)
    with e^(b + c - d) as a product of e^b, e^c and e^-d (each exponent exact)."""
    shift = difference_sum_generic(xp, a, b, c, d)
    near = shift <= 2.0
    zeros = xp.zeros_like(shift)
    near_value = exp_product_generic(xp, _gap(xp, xp.where(near, shift, zeros)), a)
    far_shift = xp.where(near, xp.full_like(shift, 3.0), shift)
    tangent = 1.0 - (1.0 + far_shift) * xp.exp(-far_shift)
    return xp.where(near, near_value, _exp_of_sum(xp, tangent, b, c, d))


def exp_difference_split_generic(xp: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    """e^(b + c - d) - e^a: e^a expm1(D) while |D| <= 1, beyond e^b e^c e^-d - e^a (the two
    at least a factor e apart)."""
    shift = difference_sum_generic(xp, a, b, c, d)
    near = xp.abs(shift) <= 1.0
    near_value = exp_product_generic(xp, xp.expm1(xp.where(near, shift, xp.zeros_like(shift))), a)
    far_value = _exp_of_sum(xp, xp.ones_like(shift), b, c, d) - xp.exp(a)
    return xp.where(near, near_value, far_value)


def exp_difference_ratio_generic(xp: Any, a: Any, b: Any, c: Any, d: Any, s: Any) -> Any:
    """(e^(b + c - d) - e^a) / s: (e^a / s) expm1(D), e^a applied last (exp_product), where
    |D| <= 1 and s < 1 (no subnormal e^a expm1(D) at tiny e^a); elsewhere
    :func:`exp_difference_split_generic` over s."""
    shift = difference_sum_generic(xp, a, b, c, d)
    near = (xp.abs(shift) <= 1.0) & (s < 1.0)
    step = xp.expm1(xp.where(near, shift, xp.zeros_like(shift))) / s
    near_value = exp_product_generic(xp, step, a)
    return xp.where(near, near_value, exp_difference_split_generic(xp, a, b, c, d) / s)


def difference_sum_generic(xp: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    """(b - a) + (c - d), its three roundings' errors added back (Knuth's two-sum): 0 exactly
    where b = a and c = d, and accurate where the two differences cancel (a Gamma of the
    prior's mean, D = log(a/a_p) - log(b/b_p))."""
    first, first_lo = _two_sum(b, -a)
    second, second_lo = _two_sum(c, -d)
    total, total_lo = _two_sum(first, second)
    lo = (first_lo + second_lo) + total_lo
    return total + xp.where(xp.isfinite(lo), lo, xp.zeros_like(lo))


def _exp_of_sum(xp: Any, m: Any, b: Any, c: Any, d: Any) -> Any:
    """m e^(b + c - d) with b + c - d summed exactly (two two-sums, hi + lo) and 2**k applied
    last: no rounding of the exponent spread by e^x, and no overflow of a part."""
    s, s_lo = _two_sum(c, -d)
    hi, hi_lo = _two_sum(b, s)
    return exp_product_generic(xp, m * (1.0 + (s_lo + hi_lo)), hi)


# --- The Beta KL: K = F(a, a_p) + F(b, b_p) - F(s, s_p), F f's gap, s = a + b ----------------
# Typed so, K cancels where one concentration is far below the other (b << a: s ~ a). Exact
# algebra gives two other forms, each a sum of terms that are small where b << a:
# F(a, a_p) - F(s, s_p) = F(a, s) - F(a_p, s_p) - (f'(a_p) - f'(a)) b_p + (f'(s) - f'(a))
# (s_p - s), and the same with a and b exchanged. Each helper evaluates every form and keeps
# the one whose terms are smallest (its rounding error is eps times their sum).


def _pair(xp: Any, x: Any, y: Any, difference: Any, d: Any) -> tuple[Any, ...]:
    """(x, y, y - x, log(y/x), n, X, Y, t): a pair of concentrations as the Stirling
    helpers' evaluations take it."""
    return (x, y, difference, d, *_shifted_at(xp, x, y, difference, d))


def _pair_of_logs(xp: Any, a: Any, b: Any) -> tuple[Any, ...]:
    """:func:`_pair` of e^a and e^b."""
    x, y, difference = _shifted(xp, a, b)[:3]
    return _pair(xp, x, y, difference, b - a)


def _pair_of_sums(xp: Any, a: tuple, b: tuple) -> tuple[Any, ...]:
    """:func:`_pair` of x + u and y + v, for pairs a = (x, y, y - x, ...) and b = (u, v, ...):
    (y + v) - (x + u) as the sum of the two differences."""
    s, s_p = a[0] + b[0], a[1] + b[1]
    difference = a[2] + b[2]
    return _pair(xp, s, s_p, difference, _log_ratio_of(xp, difference, s_p, s))


def _pair_with_sum(xp: Any, x: Any, u: Any, log_x: Any, log_u: Any) -> tuple[Any, ...]:
    """:func:`_pair` of x and x + u (difference u, log ratio softplus(log u - log x))."""
    return _pair(xp, x, x + u, u, softplus_generic(xp, log_u - log_x))


def _log_ratio_of(xp: Any, difference: Any, top: Any, bottom: Any) -> Any:
    """log(top / bottom) given difference = top - bottom, as log1p near 1 and as the
    difference of the logarithms elsewhere (the quotient may overflow)."""
    ratio = difference / bottom
    near = xp.abs(ratio) <= 0.5
    far = xp.log(top) - xp.log(bottom)
    return xp.where(near, xp.log1p(xp.where(near, ratio, xp.zeros_like(ratio))), far)


def _bregman_of(xp: Any, pair: tuple) -> Any:
    x, y, difference, d, *shifted = pair
    return xp.where(difference == 0, 0.0 * d, _bregman_at(xp, x, y, difference, d, *shifted))


def _slope_of(xp: Any, pair: tuple) -> Any:
    x, y, difference, _, *shifted = pair
    return _slope_difference_at(xp, x, y, difference, *shifted)


def _curvature_difference_of(xp: Any, pair: tuple, weight: Any, scale: Any) -> Any:
    """weight scale (f''(y) - f''(x)), each term a multiple of y - x: h''(u) = 1/(u^2 (u + 1))
    over the shift, h''(w) - h''(u) = -(w - u)(w^2 + w u + u^2 + w + u) / (u^2 (u + 1) w^2
    (w + 1)), then Stirling's f''(X) = 1/(2 X^2) + sum_k B_2k X^-(2k+1) between X and Y,
    with weight/X and scale/X taken first (f''' ~ 1/x^3 underflows where weight/X scale/X
    X^-1 does not: a dK/da at a = 1e151)."""
    x, y, difference, _, n, big_x, big_y, t = pair
    zeros = xp.zeros_like(t)
    factor = (weight / big_x) * (scale / big_x)
    near = xp.abs(t) <= 1.0
    t_near = xp.where(near, t, zeros)
    inverse_x, inverse_y = 1.0 / big_x, 1.0 / big_y
    total = zeros  # the smallest terms first, as _bregman_at
    for k, bernoulli in reversed(list(enumerate(_BERNOULLI, start=1))):
        m = 2 * k + 1
        close = inverse_x ** (m - 2) * xp.expm1(-m * t_near)
        far = inverse_y ** (m - 2) * (big_x / big_y) ** 2 - inverse_x ** (m - 2)
        total = total + bernoulli * factor * xp.where(near, close, far)
    total = total - 0.5 * factor * (difference / big_y) * (big_x / big_y + 1.0)
    for i in reversed(range(_SHIFTED)):
        on = n > i
        u, w = xp.where(on, x + i, 1.0 + zeros), xp.where(on, y + i, 1.0 + zeros)
        delta = xp.where(on, difference, zeros)
        # weight/u and delta/u first: 1/u^2 overflowed at u = e^-515 (a dK/db 1e-13 off)
        spread = (w * w + w * u + u * u + w + u) / w
        term = (weight / u) * (delta / u) * (spread / w) / ((u + 1.0) * (w + 1.0))
        total = total - term * scale
    return total


def _beta_pairs(xp: Any, x: Any, y: Any, u: Any, v: Any) -> dict:
    """The pairs the Beta helpers take: (a, a_p), (b, b_p), (s, s_p), (a, s), (a_p, s_p),
    (b, s), (b_p, s_p) for a = e^x, b = e^y, a_p = e^u, b_p = e^v."""
    first, second = _pair_of_logs(xp, x, u), _pair_of_logs(xp, y, v)
    a, b, a_p, b_p = first[0], second[0], first[1], second[1]
    return {
        "a": first,
        "b": second,
        "s": _pair_of_sums(xp, first, second),
        "a_s": _pair_with_sum(xp, a, b, x, y),
        "a_p_s_p": _pair_with_sum(xp, a_p, b_p, u, v),
        "b_s": _pair_with_sum(xp, b, a, y, x),
        "b_p_s_p": _pair_with_sum(xp, b_p, a_p, v, u),
    }


# Log-concentrations within (_LOG_TINY, _LOG_MAX), where e^x is positive and finite: beyond,
# (and for NaN) the Beta helpers give NaN.
_LOG_MAX, _LOG_TINY = 709.0, -744.0


def _beta_result(xp: Any, value: Any, x: Any, y: Any, u: Any, v: Any) -> Any:
    """``value``, exactly 0 where q = p, NaN where a concentration is 0, inf or NaN."""
    top = xp.maximum(xp.maximum(x, y), xp.maximum(u, v))
    bottom = xp.minimum(xp.minimum(x, y), xp.minimum(u, v))
    inside = (top < _LOG_MAX) & (bottom > _LOG_TINY)
    value = xp.where((x == u) & (y == v), xp.zeros_like(value), value)
    return xp.where(inside, value, xp.full_like(value, xp.nan))


def _smallest(xp: Any, forms: list) -> Any:
    """The value of the (value, terms' size) form with the smallest terms."""
    value, size = forms[0]
    for other, other_size in forms[1:]:
        better = other_size < size
        value, size = xp.where(better, other, value), xp.where(better, other_size, size)
    return value


def _decomposed(xp: Any, pairs: dict, big: str, small: str) -> tuple[Any, Any]:
    """F(big, big_p) - F(s, s_p) = F(big, s) - F(big_p, s_p) - (f'(big_p) - f'(big)) small_p
    + (f'(s) - f'(big)) (s_p - s), and its terms' size."""
    terms = (
        _bregman_of(xp, pairs[f"{big}_s"]),
        -_bregman_of(xp, pairs[f"{big}_p_s_p"]),
        -_slope_of(xp, pairs[big]) * pairs[small][1],
        _slope_of(xp, pairs[f"{big}_s"]) * pairs["s"][2],
    )
    return sum(terms), sum(xp.abs(t) for t in terms)


def beta_stirling_gap_generic(xp: Any, x: Any, y: Any, u: Any, v: Any) -> Any:
    """F(a, a_p) + F(b, b_p) - F(s, s_p), F f's gap (``stirling_bregman``), a = e^x, b = e^y,
    a_p = e^u, b_p = e^v, s = a + b, s_p = a_p + b_p: the form among the three above with
    the smallest terms; but where b and b_p are below a/8 and a_p within a/8 of a (or the
    same with a and b exchanged), F(b, b_p) + F(a, a_p) - F(s, s_p) with the difference
    integrated (``_gap_difference``): there the decomposed form's terms are of first order
    in b (a_p - a) and the result of second order."""
    pairs = _beta_pairs(xp, x, y, u, v)
    gaps = {k: _bregman_of(xp, pairs[k]) for k in ("a", "b", "s")}
    direct = gaps["a"] + gaps["b"] - gaps["s"]
    forms = [(direct, gaps["a"] + gaps["b"] + gaps["s"])]
    for big, small in (("a", "b"), ("b", "a")):
        rest, size = _decomposed(xp, pairs, big, small)
        forms.append((gaps[small] + rest, gaps[small] + size))
    value = _smallest(xp, forms)
    for big, small in (("a", "b"), ("b", "a")):
        (c, c_p, delta_c), (e, e_p, delta_e) = pairs[big][:3], pairs[small][:3]
        close = _close(xp, c, e, c_p, e_p, delta_c)
        ones = xp.ones_like(c)
        c, c_p = xp.where(close, c, ones), xp.where(close, c_p, ones)
        e, e_p = xp.where(close, e, ones / 8.0), xp.where(close, e_p, ones / 8.0)
        delta_c, delta_e = (xp.where(close, d, 0.0 * ones) for d in (delta_c, delta_e))
        difference = _gap_difference(xp, c, e, delta_c, delta_e)
        value = xp.where(close, gaps[small] + difference, value)
    return _beta_result(xp, value, x, y, u, v)


def _close(xp: Any, a: Any, b: Any, a_p: Any, b_p: Any, delta_a: Any) -> Any:
    """Whether b and b_p are below a/8 and a_p within a/8 of a: where the Beta helpers take
    second differences."""
    low = xp.minimum(a, a_p)
    return (xp.maximum(b, b_p) <= low / 8.0) & (xp.abs(delta_a) <= low / 8.0)


# Gauss-Legendre nodes on [0, 1] and their weights times 1 - t: the integral of (1 - t) g(t)
# over [0, 1] for g analytic beyond t = -8 (the Beta helpers' second differences), to 1e-20 of
# its size with 8 nodes.
_LEGENDRE = np.polynomial.legendre.leggauss(8)
_NODES = (1.0 + _LEGENDRE[0]) / 2.0
_NODE_WEIGHTS = _LEGENDRE[1] / 2.0 * (1.0 - _NODES)


def _gap_difference(xp: Any, a: Any, b: Any, delta_a: Any, delta_b: Any) -> Any:
    """F(a, a_p) - F(s, s_p), F f's gap, a_p = a + delta_a, s = a + b, s_p = s + delta_a +
    delta_b, for b, b_p and |delta_a| below a/8: Taylor's remainder F(x, x + h) = h^2
    int_0^1 (1 - t) f''(x + t h) dt, at each node delta_a^2 (f''(a_t) - f''(s_t)) - delta_b
    (2 delta_a + delta_b) f''(s_t) (a_t = a + t delta_a, s_t - a_t = b + t delta_b), the
    first a difference of curvatures in multiples of s_t - a_t: of second order in the
    differences where the gaps' own difference cancels."""
    total = xp.zeros_like(a)
    for t, weight in zip(_NODES.tolist(), _NODE_WEIGHTS.tolist(), strict=True):
        a_t, b_t = a + t * delta_a, b + t * delta_b
        s_t = a_t + b_t
        pair = _pair(xp, a_t, s_t, b_t, xp.log1p(b_t / a_t))
        # delta_a^2 (f''(s_t) - f''(a_t)), delta_a^2 taken as a_t delta_a (delta_a / a_t): no
        # overflow of the square where the result underflows (a = e^600)
        curvatures = a_t * _curvature_difference_of(xp, pair, delta_a, delta_a / a_t)
        cross = (delta_b / s_t) * (2.0 * delta_a + delta_b) * _curvature_at(xp, s_t)
        total = total - weight * (curvatures + cross)
    return total


def stirling_gap_difference_generic(xp: Any, x: Any, b: Any, h: Any, k: Any) -> Any:
    """F(x, x + h) - F(s, s + h + k), s = x + b (the Dirichlet KL's dominant component x and
    the others' sum b): :func:`_gap_difference` where b, b + k and |h| are below x/8, NaN
    elsewhere (where its quadrature is not accurate)."""
    close = _close(xp, x, b, x + h, b + k, h)
    ones = xp.ones_like(x)
    x, b = xp.where(close, x, ones), xp.where(close, b, ones / 8.0)
    h, k = xp.where(close, h, 0.0 * ones), xp.where(close, k, 0.0 * ones)
    return xp.where(close, _gap_difference(xp, x, b, h, k), xp.full_like(ones, xp.nan))


# In a dK/da's forms, the terms a f''(s) (s_p - s) a/s and a (f''(s) - f''(a)) (s_p - s)
# carry about twice the roundings of a f''(a) times a difference (a quotient and two
# products, or the curvatures' difference): counted twice in the forms' sizes, so that of two
# forms of one size the one with the fewer roundings is taken (b dK/db at (8.45, -17.0,
# -521.2, 499.8): 3.7 -> 1.7 ulps, torch 0.7; at (-38.2, -19.8, -6.9, -19.7) the other way).
_ROUNDED_TWICE = 2.0


def beta_stirling_slope_generic(xp: Any, x: Any, y: Any, u: Any, v: Any) -> Any:
    """a dK/da for K = beta_stirling_gap(x, y, u, v), a = e^x: a f''(s) (s_p - s) - a f''(a)
    (a_p - a), or a f''(a) (b_p - b) + a (f''(s) - f''(a)) (s_p - s) (small where b << a),
    whichever has the smaller terms (the first and the last counted twice: _ROUNDED_TWICE);
    a f''(a) as ``stirling_curvature``."""
    pairs = _beta_pairs(xp, x, y, u, v)
    a, s, difference_s = pairs["a"][0], pairs["s"][0], pairs["s"][2]
    curvature_a = _curvature_at(xp, a)
    # a / s, halved where s overflows: e^(x - log s) carried log s's rounding, |log s| eps
    weight = xp.where(xp.isinf(s), (0.5 * a) / (0.5 * a + 0.5 * pairs["b"][0]), a / s)
    direct = (weight * _curvature_at(xp, s) * difference_s, -curvature_a * pairs["a"][2])
    decomposed = (
        curvature_a * pairs["b"][2],
        _curvature_difference_of(xp, pairs["a_s"], a, difference_s),
    )
    (p, q), (r, w) = direct, decomposed
    forms = [
        (p + q, _ROUNDED_TWICE * xp.abs(p) + xp.abs(q)),
        (r + w, xp.abs(r) + _ROUNDED_TWICE * xp.abs(w)),
    ]
    return _beta_result(xp, _smallest(xp, forms), x, y, u, v)


def beta_stirling_slope_p_generic(xp: Any, x: Any, y: Any, u: Any, v: Any) -> Any:
    """a_p dK/da_p for K = beta_stirling_gap(x, y, u, v), a_p = e^u: a_p ((f'(a_p) - f'(a)) -
    (f'(s_p) - f'(s))), or a_p ((f'(s) - f'(a)) - (f'(s_p) - f'(a_p))) (small where b << a),
    whichever has the smaller terms; but where b and b_p are below a/8 and a_p within a/8 of
    a, a_p times the second difference of f' (``_slope_second_difference``): there the
    second form's terms are first order in b and their difference of second order (b (a_p -
    a) f'''(a) where b_p = b)."""
    pairs = _beta_pairs(xp, x, y, u, v)
    (a, a_p, delta_a), (b, b_p, delta_b) = pairs["a"][:3], pairs["b"][:3]
    direct = (_slope_of(xp, pairs["a"]), -_slope_of(xp, pairs["s"]))
    decomposed = (_slope_of(xp, pairs["a_s"]), -_slope_of(xp, pairs["a_p_s_p"]))
    forms = [(a_p * (p + q), a_p * (xp.abs(p) + xp.abs(q))) for p, q in (direct, decomposed)]
    close = _close(xp, a, b, a_p, b_p, delta_a)
    ones = xp.ones_like(a)
    # elsewhere a, a_p = 1 and b, b_p = 1/8, a_p = a, b_p = b: no overflow nor NaN
    a, a_p = xp.where(close, a, ones), xp.where(close, a_p, ones)
    b, b_p = xp.where(close, b, ones / 8.0), xp.where(close, b_p, ones / 8.0)
    delta_a, delta_b = (xp.where(close, d, 0.0 * ones) for d in (delta_a, delta_b))
    second = _slope_second_difference(xp, a, b, a_p, b_p, delta_a, delta_b, a_p)
    value = xp.where(close, second, _smallest(xp, forms))
    return _beta_result(xp, value, x, y, u, v)


def _slope_second_difference(
    xp: Any, a: Any, b: Any, a_p: Any, b_p: Any, delta_a: Any, delta_b: Any, weight: Any
) -> Any:
    """weight (f'(a_p) - f'(a) - f'(s_p) + f'(s)), f' = psi - log, s = a + b, s_p = a_p + b_p,
    given delta_a = a_p - a and delta_b = b_p - b, for b, b_p and |delta_a| below a/8. f'(x) =
    f'(x + n) - sum_{i < n} l(x + i), l(u) = 1/u - log1p(1/u), and each l's second
    difference is R - E(log1p(y)) in closed form (R's numerator delta_b u^2 (u + 1) - b
    delta_a Q, Q = u (u + 1) + S (u + s + 1) + u_p delta_s at the shifted points;
    tests/test_registry.py checks the identities with SymPy); Stirling's f'(X) = -1/(2X) -
    sum_k B_2k/(2k) X^-2k is taken by divided differences, -delta_b phi[a, s] - b_p (delta_a
    phi[a, a_p, s] + delta_s phi[a_p, s, s_p]), those of X^-m products of reciprocals and of
    their complete homogeneous sums (every term positive). Each term is a multiple of
    delta_a b or of delta_b: none cancels where both are small (a = 1, b = 4e-18, a_p = a (1 +
    1e-13): 1e13 ulps as a difference of first differences)."""
    zeros = xp.zeros_like(a)
    delta_s = delta_a + delta_b
    s, s_p = a + b, a_p + b_p
    low = xp.minimum(a, a_p)
    n = xp.where(low < _SHIFTED, xp.ceil(_SHIFTED - low), zeros)
    total = zeros
    for i in range(_SHIFTED):
        on = n > i
        u, u_p = xp.where(on, a + i, 1.0 + zeros), xp.where(on, a_p + i, 1.0 + zeros)
        w, w_p = xp.where(on, s + i, 1.0 + zeros), xp.where(on, s_p + i, 1.0 + zeros)
        da, db, ds, small = (xp.where(on, d, zeros) for d in (delta_a, delta_b, delta_s, b))
        below = (u_p + 1.0) * (w + 1.0)
        q = da * (u + 1.0) / w_p + (da / u) * (u + w + 1.0) + (da / u) * u_p * (ds / w_p)
        rational = ((db / w_p) * (u / w) * (u + 1.0) - (small / w) * q) / below
        y = ((small / w_p) * (da / u) * (u + w_p + 1.0) - (db / w_p) * (u + 1.0)) / below
        total = total - (weight / u_p) * rational + weight * _gap(xp, xp.log1p(y))
    p_a, p_ap, p_s, p_sp = (1.0 / (z + n) for z in (a, a_p, s, s_p))
    # H_r of reciprocals, the complete homogeneous sums of degree r = m - 1: H_r(p, ...) = p
    # H_(r-1)(p, ...) + H_r(...), all positive.
    pair, pair_p, pair_s, triple, triple_p = (1.0 + zeros for _ in range(5))
    power_s, power_sp = 1.0 + zeros, 1.0 + zeros
    coefficients = {1: -0.5} | {2 * k: -c / (2 * k) for k, c in enumerate(_BERNOULLI, start=1)}
    for m in range(1, 2 * len(_BERNOULLI) + 1):
        if m > 1:
            power_s, power_sp = power_s * p_s, power_sp * p_sp
            pair = p_a * pair + power_s  # H(p_a, p_s)
            pair_p = p_ap * pair_p + power_s  # H(p_ap, p_s)
            pair_s = p_s * pair_s + power_sp  # H(p_s, p_sp)
            triple = p_a * triple + pair_p  # H(p_a, p_ap, p_s)
            triple_p = p_ap * triple_p + pair_s  # H(p_ap, p_s, p_sp)
        if m in coefficients:
            first = (weight * p_a) * (delta_b * p_s) * pair
            second = (delta_a * p_a) * triple + (delta_s * p_sp) * triple_p
            total = total + coefficients[m] * (first - (weight * p_ap) * (b_p * p_s) * second)
    return total


# --- The Beta KL's Bernoulli part, s_p KL(Bernoulli(pi_p) || Bernoulli(pi)) ----------------
# pi = a/s = sigmoid(l), pi_p = sigmoid(l_p), l = x - y, l_p = u - v (log-concentrations): it is
# a_p E(r_1) + b_p E(r_2), r_1 = log pi/pi_p, r_2 = log (1 - pi)/(1 - pi_p), E(t) = e^t - 1 - t
# (the first-order terms sum to s_p (pi - pi_p) + s_p (pi_p - pi) = 0), with gradients a_p
# expm1(r_1), b_p expm1(r_2), -a_p r_1, -b_p r_2. The log ratios come from the logits'
# difference D = r_1 - r_2 = l - l_p summed from the arguments' differences, and l, l_p are
# carried with their rounding errors: nothing multiplies back the rounding of a huge logit
# (s_p e^-l_p rounded carried |l_p| eps).


def _logit(xp: Any, x: Any, y: Any) -> tuple[Any, Any]:
    """x - y as (hi, lo), hi + lo exact (lo 0 where hi is not finite)."""
    hi, lo = _two_sum(x, -y)
    return hi, xp.where(xp.isfinite(lo), lo, xp.zeros_like(lo))


def _sigmoid_of(xp: Any, logit: tuple) -> Any:
    """sigmoid(hi + lo) = sigmoid(hi) (1 + sigmoid(-hi) lo) to second order in lo."""
    hi, lo = logit
    return sigmoid_generic(xp, hi) * (1.0 + sigmoid_generic(xp, -hi) * lo)


def _softplus_of(xp: Any, logit: tuple) -> Any:
    """softplus(hi + lo) = softplus(hi) + sigmoid(hi) lo to second order in lo."""
    hi, lo = logit
    return softplus_generic(xp, hi) + sigmoid_generic(xp, hi) * lo


def _negated(logit: tuple) -> tuple:
    return -logit[0], -logit[1]


def _log_ratios(xp: Any, x: Any, y: Any, u: Any, v: Any) -> tuple[Any, ...]:
    """(r_1, r_2, l, l_p, D), the logits as pairs (hi, lo). Where |D| <= 1, r_1 = -log1p((1 -
    pi_p) expm1(-D)) and r_2 = -log1p(pi_p expm1(D)) (each exact where D is small); beyond,
    the differences of softplus, r_1 = softplus(-l_p) - softplus(-l) and r_2 = softplus(l_p)
    - softplus(l), the one whose softplus terms are near their logits (both logits of its
    sign) taken from the other and D instead (r_1 - r_2 = D)."""
    logit, logit_p = _logit(xp, x, y), _logit(xp, u, v)
    shift = difference_sum_generic(xp, u, x, v, y)  # D = (x - u) + (v - y)
    near = xp.abs(shift) <= 1.0
    d_near = xp.where(near, shift, xp.zeros_like(shift))
    near_1 = -xp.log1p(_sigmoid_of(xp, _negated(logit_p)) * xp.expm1(-d_near))
    near_2 = -xp.log1p(_sigmoid_of(xp, logit_p) * xp.expm1(d_near))
    far_1 = _softplus_of(xp, _negated(logit_p)) - _softplus_of(xp, _negated(logit))
    far_2 = _softplus_of(xp, logit_p) - _softplus_of(xp, logit)
    negative = (logit[0] < 0) & (logit_p[0] < 0)
    positive = (logit[0] > 0) & (logit_p[0] > 0)
    far_1, far_2 = (
        xp.where(negative, shift + far_2, far_1),
        xp.where(positive, far_1 - shift, far_2),
    )
    return xp.where(near, near_1, far_1), xp.where(near, near_2, far_2), logit, logit_p, shift


def beta_weighted_log_ratio_generic(xp: Any, x: Any, y: Any, u: Any, v: Any) -> Any:
    """a_p r_1 = e^u log pi/pi_p, pi = e^x/(e^x + e^y), pi_p = e^u/(e^u + e^v) (above)."""
    r_1, _, _, logit_p, shift = _log_ratios(xp, x, y, u, v)
    return _beta_result(xp, _weighted_log_ratio(xp, r_1, logit_p, shift, u, v), x, y, u, v)


def _weighted_log_ratio(xp: Any, r_1: Any, logit_p: tuple, shift: Any, u: Any, v: Any) -> Any:
    """a_p r_1: where |D| <= 1 and l_p > 0, r_1 = -log1p(z), z = (1 - pi_p) expm1(-D), and a_p
    (1 - pi_p) = b_p pi_p, so a_p r_1 = -b_p pi_p expm1(-D) log1p(z)/z with b_p applied last
    (r_1 alone underflows where l_p > 745 and a_p r_1 need not: 5e-143 at (600, -300, 600 +
    1e-12, -300)); elsewhere a_p r_1 (1 - pi_p >= 1/2 or |D| > 1: r_1 is not that small)."""
    near = (xp.abs(shift) <= 1.0) & (logit_p[0] > 0)
    m = xp.expm1(-xp.where(near, shift, xp.zeros_like(shift)))
    z = _sigmoid_of(xp, _negated(logit_p)) * m
    zero = z == 0.0
    ratio = xp.where(zero, xp.ones_like(z), xp.log1p(z) / xp.where(zero, xp.ones_like(z), z))
    scaled = -exp_product_generic(xp, _sigmoid_of(xp, logit_p) * m * ratio, v)
    return xp.where(near, scaled, exp_product_generic(xp, r_1, u))


def _weighted_gap(xp: Any, r: Any, u: Any, v: Any, ratio: tuple, slope: bool) -> Any:
    """e^u E(r) (e^u expm1(r) for ``slope``), r = log pi/pi_p: while r <= 1 from E's series;
    beyond, e^u e^r = s_p pi = e^v pi / (1 - pi_p) (``ratio`` = (pi, 1 - pi_p); r > 1 needs
    pi_p < 1/e), less e^u (1 + r) (e^u alone): no e^r, which r's own rounding (|r| eps) would
    spread."""
    near = r <= 1.0
    r_near = xp.where(near, r, xp.zeros_like(r))
    small = xp.expm1(r_near) if slope else _gap(xp, r_near)
    rest = xp.ones_like(r) if slope else 1.0 + r
    top, bottom = ratio
    ratio = top / xp.where(near, xp.ones_like(r), bottom)  # bottom > 1 - 1/e where r > 1
    far = exp_product_generic(xp, ratio, v) - exp_product_generic(xp, rest, u)
    return xp.where(near, exp_product_generic(xp, small, u), far)


def beta_bernoulli_gap_generic(xp: Any, x: Any, y: Any, u: Any, v: Any) -> Any:
    """a_p E(r_1) + b_p E(r_2) = s_p KL(Bernoulli(pi_p) || Bernoulli(pi)) (above): two terms
    that are never negative."""
    r_1, r_2, logit, logit_p, _ = _log_ratios(xp, x, y, u, v)
    ratio_1 = _sigmoid_of(xp, logit), _sigmoid_of(xp, _negated(logit_p))
    ratio_2 = _sigmoid_of(xp, _negated(logit)), _sigmoid_of(xp, logit_p)
    value = _weighted_gap(xp, r_1, u, v, ratio_1, False)
    value = value + _weighted_gap(xp, r_2, v, u, ratio_2, False)
    return _beta_result(xp, value, x, y, u, v)


def beta_bernoulli_slope_generic(xp: Any, x: Any, y: Any, u: Any, v: Any) -> Any:
    """a_p expm1(r_1) = s_p pi - a_p, the Bernoulli part's gradient in x (above)."""
    r_1, _, logit, logit_p, shift = _log_ratios(xp, x, y, u, v)
    ratio = _sigmoid_of(xp, logit), _sigmoid_of(xp, _negated(logit_p))
    # where |D| <= 1, a_p r_1 + a_p E(r_1): a_p r_1 with b_p applied last (above)
    weighted = _weighted_log_ratio(xp, r_1, logit_p, shift, u, v)
    near = weighted + exp_product_generic(xp, _gap(xp, xp.minimum(r_1, 1.0)), u)
    far = _weighted_gap(xp, r_1, u, v, ratio, True)
    return _beta_result(xp, xp.where(xp.abs(shift) <= 1.0, near, far), x, y, u, v)


def beta_bernoulli_gap(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`beta_bernoulli_gap_generic`."""
    np.copyto(out, beta_bernoulli_gap_generic(np, x, y, u, v))
    return out


def beta_bernoulli_slope(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`beta_bernoulli_slope_generic`."""
    np.copyto(out, beta_bernoulli_slope_generic(np, x, y, u, v))
    return out


def beta_weighted_log_ratio(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`beta_weighted_log_ratio_generic`."""
    np.copyto(out, beta_weighted_log_ratio_generic(np, x, y, u, v))
    return out


def beta_stirling_gap(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`beta_stirling_gap_generic`."""
    np.copyto(out, beta_stirling_gap_generic(np, x, y, u, v))
    return out


def beta_stirling_slope(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`beta_stirling_slope_generic`."""
    np.copyto(out, beta_stirling_slope_generic(np, x, y, u, v))
    return out


def beta_stirling_slope_p(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.float64],
    v: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`beta_stirling_slope_p_generic`."""
    np.copyto(out, beta_stirling_slope_p_generic(np, x, y, u, v))
    return out


def _two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """(s, e): s = a + b rounded and e its rounding error (Knuth), s + e = a + b exactly."""
    s = a + b
    from_b = s - a
    return s, (a - (s - from_b)) + (b - from_b)


def stirling_bregman(
    a: NDArray[np.float64], b: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = :func:`stirling_bregman_generic` (its cases, on new arrays)."""
    np.copyto(out, stirling_bregman_generic(np, a, b))
    return out


def stirling_slope_difference(
    a: NDArray[np.float64], b: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = :func:`stirling_slope_difference_generic`."""
    np.copyto(out, stirling_slope_difference_generic(np, a, b))
    return out


def stirling_curvature(a: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = :func:`stirling_curvature_generic`."""
    np.copyto(out, stirling_curvature_generic(np, a))
    return out


def exp_bregman_split(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    c: NDArray[np.float64],
    d: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`exp_bregman_split_generic`."""
    np.copyto(out, exp_bregman_split_generic(np, a, b, c, d))
    return out


def exp_difference_split(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    c: NDArray[np.float64],
    d: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`exp_difference_split_generic`."""
    np.copyto(out, exp_difference_split_generic(np, a, b, c, d))
    return out


def difference_sum(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    c: NDArray[np.float64],
    d: NDArray[np.float64],
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """out = :func:`difference_sum_generic`."""
    np.copyto(out, difference_sum_generic(np, a, b, c, d))
    return out
