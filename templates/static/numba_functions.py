"""Scalar evaluations for the compiled (numba) kernels klgen generates from spec files: the
functions of derive/functions.py and e^t - 1 - t, each compiled inline into the loops."""

import numba
import numpy as np

from ._constants import EXPM1_MINUS_X_SERIES

# Taylor coefficients of e^t - 1 - t from t**2 up, and the |t| below which they replace
# expm1(t) - t: klgen's derived float64 series, the numpy kernels' too.
_RADIUS, _SERIES = EXPM1_MINUS_X_SERIES["float64"]


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
    if log_ratio_p > 2.0:
        p_term = sigmoid(b) - p * (1.0 + log_ratio_p)
    else:
        p_term = p * expm1_minus_x(log_ratio_p, np.expm1(log_ratio_p))
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
