"""Stable numpy evaluations of the functions loss terms use that numpy lacks, for the kernels
klgen generates from spec files (derive/functions.py defines them; derive/printers.py calls
them). Each writes into ``out`` (float64, the blocks' compute type) and allocates only a
work array or a mask, except the rewrites' forms (softplus_bregman, sigmoid_difference,
exp_difference, exp_bregman, log_exprel and its slope, exprel, sum_error, small_error),
which copy their cases into it.
The ``_generic`` twins compute the same on arrays of any array-API namespace ``xp`` (torch,
CuPy, JAX...), returning new arrays."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._constants import EXPM1_MINUS_X_SERIES
from ._numeric import _LN2_HI, _LN2_LO, _LOG2_E, expm1_minus_x_generic, scaled_exp_generic
from ._numeric import _SCALED_EXP_LIMIT as _EXP_LIMIT  # beyond, m e^x is 0 or +-inf

_SERIES = EXPM1_MINUS_X_SERIES["float64"]


def sigmoid(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = 1 / (1 + e^-x): e = e^-|x| never overflows; 1/(1 + e) for x >= 0, e/(1 + e)
    below (no 1 - tiny cancellation); within 2 ulps for every x."""
    e = np.exp(-np.abs(x))
    np.add(e, 1.0, out=out)
    np.divide(np.where(x >= 0, 1.0, e), out, out=out)
    return out


def softplus(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for every finite x (in six
    vectorised passes: np.logaddexp(0, x) computes the same in a scalar loop, 3x slower)."""
    work = np.abs(x)
    np.negative(work, out=work)
    np.exp(work, out=work)
    np.log1p(work, out=work)
    np.maximum(x, 0.0, out=out)
    return np.add(out, work, out=out)


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
    negative, p E(log q/p) + (1 - p) E(log (1 - q)/(1 - p)) with E(x) = e^x - 1 - x (the
    terms of p (q/p - 1) + (1 - p) ((1 - q)/(1 - p) - 1) = 0 added), each log ratio taken
    as a log1p of an expm1 of d = b - a while |d| <= 1 and as a difference of softplus
    beyond, and p E(x) as q - p (1 + x) above x = 2 (where e^x would spread x's rounding).
    """
    np.copyto(out, softplus_bregman_generic(np, a, b))  # its cases, on new arrays
    return out


def sigmoid_difference(
    x: NDArray[np.float64], y: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = sigmoid(x) - sigmoid(y) = sigmoid(y) sigmoid(-x) expm1(x - y), or for x > y
    its mirror -sigmoid(x) sigmoid(-y) expm1(y - x): expm1 of a number <= 0 (no overflow),
    and no cancellation where x is near y or both are large (there sigmoid(x) - sigmoid(y)
    rounds to 0 or keeps no correct digit)."""
    np.copyto(out, sigmoid_difference_generic(np, x, y))
    return out


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


def exp_product(
    m: NDArray[np.float64], x: NDArray[np.float64], out: NDArray[np.float64]
) -> NDArray[np.float64]:
    """out = m e^x with x = r + k ln 2 (ln 2 in two parts: the reduction is exact) and 2**k
    applied last by ldexp, which rounds once: no overflow or underflow of e^x where the
    product is finite. Beyond |x| = 1500 the product is 0 or +-inf for every nonzero finite
    m (0 for m = 0), as IEEE gives it; NaN stays NaN."""
    regular = np.abs(x) <= _EXP_LIMIT
    x_regular = np.where(regular, x, 0.0)
    k = np.rint(x_regular * _LOG2_E)
    np.exp((x_regular - k * _LN2_HI) - k * _LN2_LO, out=out)
    np.multiply(out, m, out=out)
    np.ldexp(out, k.astype(np.int32), out=out)
    if not regular.all():
        with np.errstate(invalid="ignore"):
            far = np.where((m == 0) & (x == x), 0.0, m * np.exp(x))
        np.copyto(out, far, where=~regular)
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
    """:func:`softplus_bregman` on arrays of ``xp``."""
    flip = a > 0
    a, b = xp.where(flip, -a, a), xp.where(flip, -b, b)
    d = b - a
    p, r = sigmoid_generic(xp, a), sigmoid_generic(xp, -a)
    near = xp.abs(d) <= 1.0
    d_near = xp.where(near, d, xp.zeros_like(d))
    far_1 = softplus_generic(xp, a) - softplus_generic(xp, b)
    log_ratio_1 = xp.where(near, -xp.log1p(p * xp.expm1(d_near)), far_1)
    log_ratio_p = xp.where(near, -xp.log1p(r * xp.expm1(-d_near)), d + log_ratio_1)
    far = log_ratio_p > 2.0
    x = xp.where(far, xp.zeros_like(d), log_ratio_p)
    # p = e^a r with e^a applied last: p alone is subnormal below a = -708, p_term need not be.
    p_term = exp_product_generic(xp, r * expm1_minus_x_generic(xp, x, xp.expm1(x), _SERIES), a)
    p_far = sigmoid_generic(xp, b) - exp_product_generic(xp, r * (1.0 + log_ratio_p), a)
    r_term = r * expm1_minus_x_generic(xp, log_ratio_1, xp.expm1(log_ratio_1), _SERIES)
    finite = xp.where(far, p_far, p_term) + r_term
    # The limits: p = 0 gives softplus(b); q = 0 or 1 with 0 < p < 1 gives +inf.
    infinite = xp.where(xp.isinf(b) & (a == a), xp.abs(b), finite)
    return xp.where(a == -xp.inf, softplus_generic(xp, b), infinite)


def sigmoid_difference_generic(xp: Any, x: Any, y: Any) -> Any:
    """:func:`sigmoid_difference` on arrays of ``xp``."""
    d = x - y
    mirror = d > 0
    u, v = xp.where(mirror, x, y), xp.where(mirror, y, x)  # v - u <= 0
    sign = xp.where(mirror, -xp.ones_like(d), xp.ones_like(d))
    difference = sign * sigmoid_generic(xp, u) * sigmoid_generic(xp, -v) * xp.expm1(v - u)
    return xp.where(x == y, xp.zeros_like(d), difference)  # 0, not NaN, at x = y = +-inf


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


def exp_product_generic(xp: Any, m: Any, x: Any) -> Any:
    """:func:`exp_product` on arrays of ``xp`` (numpy itself, as the numpy helpers here call
    it, gets :func:`exp_product`'s ldexp: eight times faster than the array API's powers)."""
    if xp is np:
        m, x = np.broadcast_arrays(np.asarray(m, np.float64), np.asarray(x, np.float64))
        return exp_product(m, x, np.empty(m.shape))
    return scaled_exp_generic(xp, m, xp.zeros_like(m), x, 1, 0)


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
    s = x + y
    from_y = s - x
    error = (x - (s - from_y)) + (y - from_y)
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
