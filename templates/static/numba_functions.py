"""Scalar evaluations for the compiled (numba) kernels klgen generates from spec files: the
functions of derive/functions.py and e^t - 1 - t, each compiled inline into the loops."""

import math

import numba
import numpy as np

from ._constants import EXPM1_MINUS_X_SERIES

# Taylor coefficients of e^t - 1 - t from t**2 up, and the |t| below which they replace
# expm1(t) - t: klgen's derived float64 series, the numpy kernels' too.
_RADIUS, _SERIES = EXPM1_MINUS_X_SERIES["float64"]
# The argument reduction of e^x, as in _numeric.
_LOG2_E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: k * _LN2_HI is exact for |k| < 2**21
_LN2_LO = 1.9082149292705877e-10


@numba.njit(inline="always")
def sigmoid(x):
    e = np.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


@numba.njit(inline="always")
def softplus(x):
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@numba.njit(inline="always")
def xlogy(x, y):
    return 0.0 if x == 0 else x * np.log(y)


@numba.njit(inline="always")
def heaviside(x):
    if x != x:
        return x
    return 0.0 if x < 0 else 0.5 if x == 0 else 1.0


@numba.njit(inline="always")
def expm1_minus_x(t, expm1_t):
    """e^t - 1 - t given expm1(t): the series below _RADIUS (where expm1(t) - t cancels)."""
    if abs(t) >= _RADIUS or t != t:
        return expm1_t - t
    acc = 0.0
    for c in _SERIES[::-1]:
        acc = acc * t + c
    return acc * t * t


@numba.njit(inline="always")
def softplus_bregman(a, b):
    """softplus(b) - softplus(a) - sigmoid(a) (b - a), as _functions.softplus_bregman."""
    if a > 0:
        a, b = -a, -b
    if a == -np.inf:  # the limits: p = 0 gives softplus(b), q = 0 or 1 with 0 < p < 1 inf
        return softplus(b)
    if abs(b) == np.inf and a == a:
        return np.inf
    d = b - a
    p, r = sigmoid(a), sigmoid(-a)
    if abs(d) <= 1.0:
        log_ratio_1 = -np.log1p(p * np.expm1(d))
        log_ratio_p = -np.log1p(r * np.expm1(-d))
    else:
        log_ratio_1 = softplus(a) - softplus(b)
        log_ratio_p = d + log_ratio_1
    # p = e^a r with e^a applied last: p alone is subnormal below a = -708, p_term need not be.
    if log_ratio_p > 2.0:
        p_term = sigmoid(b) - exp_product(r * (1.0 + log_ratio_p), a)
    else:
        p_term = exp_product(r * expm1_minus_x(log_ratio_p, np.expm1(log_ratio_p)), a)
    return p_term + r * expm1_minus_x(log_ratio_1, np.expm1(log_ratio_1))


@numba.njit(inline="always")
def sigmoid_difference(x, y):
    """sigmoid(x) - sigmoid(y), as _functions.sigmoid_difference."""
    if x == y:  # 0, not NaN, at x = y = +-inf
        return 0.0
    if x > y:
        return -sigmoid(x) * sigmoid(-y) * np.expm1(y - x)
    return sigmoid(y) * sigmoid(-x) * np.expm1(x - y)


@numba.njit(inline="always")
def exp_difference(x, y):
    """e^x - e^y, as _functions.exp_difference."""
    if x == y:  # 0, not NaN, at x = y = +-inf
        return 0.0
    if x >= y:
        return -np.exp(x) * np.expm1(y - x)
    return np.exp(y) * np.expm1(x - y)


@numba.njit(inline="always")
def exp_product(m, x):
    """m e^x, x reduced to r + k ln 2 (ln 2 in two parts, so the reduction is exact) and
    2**k applied last: no overflow or underflow of e^x before the product's own."""
    if m == 0 and x == x:  # 0 for every non-NaN x, as _numeric.scaled_exp_generic
        return 0.0
    if not abs(x) < 1e4:  # +-inf, NaN and the far ends: the product is 0, inf or NaN anyway
        return m * np.exp(x)
    k = np.round(x * _LOG2_E)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    return math.ldexp(m * np.exp(r), int(k))


@numba.njit(inline="always")
def exp_bregman(a, b):
    """e^b - e^a - e^a (b - a), as _functions.exp_bregman."""
    d = b - a
    if d <= 2.0:
        return exp_product(expm1_minus_x(d, np.expm1(d)), a)
    return exp_product(1.0 - (1.0 + d) * np.exp(-d), b)


@numba.njit(inline="always")
def log_exprel(x):
    """log((e^x - 1) / x), 0 at x = 0, as _functions.log_exprel."""
    if x < -1.0:
        return np.log1p(-np.exp(x)) - np.log(-x)
    if x > 700.0:
        return x if x == np.inf else x - np.log(x)
    if abs(x) < 1e-8:
        return x / 2.0 + x * x / 24.0
    return np.log1p(expm1_minus_x(x, np.expm1(x)) / x)


@numba.njit(inline="always")
def log_exprel_slope(x):
    """e^x / (e^x - 1) - 1/x, 1/2 at x = 0, as _functions.log_exprel_slope."""
    t = abs(x)
    if t < 1e-8:
        g = 0.5 - t / 12.0
    elif t > 50.0:
        g = 1.0 / t
    else:
        expm1_t = np.expm1(t)
        g = expm1_minus_x(t, expm1_t) / t / expm1_t
    return 1.0 - g if x >= 0 else g


@numba.njit(inline="always")
def exprel(x):
    """(e^x - 1) / x, 1 at x = 0, as _functions.exprel."""
    if abs(x) < 1e-300:
        return 1.0
    if x == -np.inf:
        return 0.0
    if x == np.inf:
        return x
    return np.expm1(x) / x


@numba.njit(inline="always")
def rounded_sum(x, y):
    return x + y


@numba.njit(inline="always")
def sum_error(x, y):
    """x + y - fl(x + y) exactly (two-sum), 0 where the sum is not finite."""
    s = x + y
    if not np.isfinite(s):
        return 0.0
    from_y = s - x
    return (x - (s - from_y)) + (y - from_y)


@numba.njit(inline="always")
def small_error(error):
    return error if abs(error) < 1.0 else 0.0


@numba.njit(inline="always")
def row_sum(terms):
    total = 0.0
    for term in terms:
        total += term
    return total


@numba.njit(inline="always")
def row_logsumexp(terms):
    """log(sum_j e^terms[j]), shifted by the maximum; leaves e^(terms - shift) in terms and
    returns (the log-sum-exp, the sum of the shifted exponentials) for the weights."""
    top = terms.max() if terms.size else -np.inf
    shift = top if np.isfinite(top) else 0.0
    total = 0.0
    for j in range(terms.size):
        terms[j] = np.exp(terms[j] - shift)
        total += terms[j]
    return np.log(total) + shift, total
