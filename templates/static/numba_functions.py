"""Scalar evaluations for the compiled (numba) kernels klgen generates from spec files: the
functions of derive/functions.py and e^t - 1 - t, compiled inline into the loops or, the
larger ones, called from them. Those take numpy's error model, as the loops do: IEEE results
(inf, NaN) where a divisor is 0, never Python's ZeroDivisionError (which kl_dirichlet's numba
rows raised at special values in one CI run, from a helper compiled with Python's model)."""

import math

import numba
import numpy as np

from ._constants import EXPM1_MINUS_X_SERIES, HELPER_SERIES_RADIUS
from ._numeric import _LN2_MID, _LN2_TAIL

# Taylor coefficients of e^t - 1 - t from t**2 up, and the |t| below which they replace
# expm1(t) - t: klgen's derived float64 series at the helpers' radius.
_RADIUS, _SERIES = EXPM1_MINUS_X_SERIES[HELPER_SERIES_RADIUS]["float64"]
# The argument reduction of e^x, as in _numeric.
_LOG2_E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: k * _LN2_HI is exact for |k| < 2**21
_LN2_LO = 1.9082149292705877e-10
# softplus_bregman's bound on -a and on b - a, as _functions' _BREGMAN_LIMIT.
_BREGMAN_LIMIT = 700.0


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
    """softplus(b) - softplus(a) - sigmoid(a) (b - a), as _functions.softplus_bregman: one
    case per element."""
    if a > 0:
        a, b = -a, -b
    if a == -np.inf:  # the limits: p = 0 gives softplus(b), q = 0 or 1 with 0 < p < 1 inf
        return softplus(b)
    if abs(b) == np.inf and a == a:
        return np.inf
    d, d_lo = _two_sum(b, -a)
    if d == np.inf:  # a < -8e307: p = 0, as at a = -inf
        return softplus(b)
    e = np.exp(a)
    p, r = e / (1.0 + e), 1.0 / (1.0 + e)
    if d > _BREGMAN_LIMIT:  # e^d would overflow: the softplus differ by about d
        log_ratio_1 = softplus(a) - softplus(b)
    else:
        up = np.expm1(d)
        log_ratio_1 = -np.log1p(p * (up + (1.0 + up) * d_lo))
    log_ratio_p, lo = _two_sum(d, log_ratio_1)
    lo = lo + d_lo
    if log_ratio_p > 2.0:
        p_term = sigmoid(b) - _weighted(1.0 + (log_ratio_p + lo), a, p, r)
    else:
        gap_p, expm1_p = _gap_and_expm1(log_ratio_p)
        p_term = _weighted(gap_p + expm1_p * lo, a, p, r)
    return p_term + r * _gap_and_expm1(log_ratio_1)[0]


@numba.njit(inline="always")
def _gap_and_expm1(t):
    """(e^t - 1 - t, e^t - 1) for |t| <= 2 or so: the series below _RADIUS (and e^t - 1 as
    t plus it: no expm1 call), expm1(t) - t beyond."""
    if abs(t) < _RADIUS:
        gap = expm1_minus_x(t, 0.0)
        return gap, t + gap
    expm1_t = np.expm1(t)
    return expm1_t - t, expm1_t


@numba.njit(inline="always")
def _weighted(m, a, p, r):
    """p m, as e^a (r m) with e^a applied last where p = sigmoid(a) is subnormal."""
    if a < -_BREGMAN_LIMIT:
        return exp_product(r * m, a)
    return p * m


@numba.njit(inline="always")
def sigmoid_difference(x, y):
    """sigmoid(x) - sigmoid(y), as _functions.sigmoid_difference: sigmoid(hi) sigmoid(-lo)
    (1 - e^-|x - y|) over one denominator, signed as x - y."""
    if x == y:  # 0, not NaN, at x = y = +-inf
        return 0.0
    hi, lo = (x, y) if x > y else (y, x)
    e_hi, e_lo = np.exp(-abs(hi)), np.exp(-abs(lo))
    weights = (1.0 if hi >= 0 else e_hi) * (e_lo if lo >= 0 else 1.0)
    value = weights / ((1.0 + e_hi) * (1.0 + e_lo)) * -np.expm1(-abs(x - y))
    return value if x > y else -value


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
    if abs(m) > 2.0**1000:  # m e^r itself would overflow: halved, as _functions'
        return math.ldexp(0.5 * m * np.exp(r), int(k) + 1)
    return math.ldexp(m * np.exp(r), int(k))


@numba.njit(inline="always")
def exp_bregman(a, b):
    """e^b - e^a - e^a (b - a), as _functions.exp_bregman."""
    d = b - a
    if d <= 2.0:
        return exp_product(expm1_minus_x(d, np.expm1(d)), a)
    return exp_product(1.0 - (1.0 + d) * np.exp(-d), b)


@numba.njit(inline="always")
def exp_gap(x, y, t, u, v, c):
    """e^b - e^(x - y) (1 + t) for b = u - v + c = x - y + t, as _functions.exp_gap."""
    if x - y == -np.inf:  # a weight of 0: the limit e^b
        return _exp_of_shifted_sum(1.0, u, v, c)
    if t <= 2.0:
        return exp_of_difference(expm1_minus_x(t, np.expm1(t)), x, y)
    tangent = 0.0 if t == np.inf else (1.0 + t) * np.exp(-t)
    return _exp_of_shifted_sum(1.0 - tangent, u, v, c)


@numba.njit(inline="always")
def _exp_of_shifted_sum(m, u, v, c):
    """m e^(u - v + c) with the roundings added back, as _functions'."""
    hi, lo = _two_sum(u, -v)
    top, more = _two_sum(hi, c)
    error = lo + more
    if error == 0.0 or not abs(error) < 1.0:
        return exp_product(m, top)
    return exp_product(m + m * error, top)


@numba.njit(inline="always")
def exp_of_difference(m, x, y):
    """m e^(x - y) with the rounding of x - y added back, as _functions.exp_of_difference."""
    hi, lo = _two_sum(x, -y)
    if hi == -np.inf:  # a category of probability 0 contributes nothing
        return 0.0
    if lo == 0.0 or not abs(lo) < 1.0:  # exact, or |x - y| beyond 2^52 (e^hi 0 or inf)
        return exp_product(m, hi)
    return exp_product(m + m * lo, hi)


@numba.njit(inline="always")
def difference_of_differences(a, b, c, e, f):
    """((a - b) - (c - e)) - f with the roundings added back, as _functions'."""
    x, x_error = _two_sum(a, -b)
    y, y_error = _two_sum(c, -e)
    z, z_error = _two_sum(x, -y)
    w, w_error = _two_sum(z, -f)
    if not np.isfinite(x):
        x_error = 0.0
    if not np.isfinite(y):
        y_error = 0.0
    if not (np.isfinite(z) and np.isfinite(w)):
        return w
    return w + ((w_error + z_error) + (x_error - y_error))


@numba.njit(inline="always")
def difference_of_differences_error(a, b, c, e, f):
    """The rounding error of difference_of_differences(a, b, c, e, f), as _functions'."""
    x, x_error = _two_sum(a, -b)
    y, y_error = _two_sum(c, -e)
    z, z_error = _two_sum(x, -y)
    w, w_error = _two_sum(z, -f)
    if not (np.isfinite(z) and np.isfinite(w)):
        return 0.0
    if not np.isfinite(x):
        x_error = 0.0
    if not np.isfinite(y):
        y_error = 0.0
    total, error = _two_sum(w, (w_error + z_error) + (x_error - y_error))
    return error if np.isfinite(total) else 0.0


@numba.njit(inline="always")
def exp_of_difference_error(m, m_error, x, y):
    """(m + m_error) e^(x - y) - exp_of_difference(m, x, y), as _functions'."""
    hi, lo = _two_sum(x, -y)
    weight, rounding = m, m_error
    if lo != 0.0 and abs(lo) < 1.0:
        shift = m * lo
        weight = m + shift
        rounding = ((m - weight) + shift) + m_error
    size = abs(weight)
    if not (abs(hi) <= 745.0 and 0.0 < size < np.inf):
        return 0.0
    scale = -600 if size > 2.0**600 else 600 if size < 2.0**-600 else 0
    scaled = math.ldexp(weight, scale)
    k = np.round(hi * _LOG2_E)
    reduced, reduced_lo = _two_sum(hi - k * _LN2_HI, -(k * _LN2_LO))
    e = np.exp(reduced)
    product, product_lo = _two_product(scaled, e)
    remainder = _exp_remainder(reduced, reduced_lo, e)
    correction = product_lo + (scaled * remainder + math.ldexp(rounding, scale) * e)
    error = math.ldexp(correction, int(k) - scale)
    return error if np.isfinite(error) else 0.0


_EXP_TAIL = tuple(1.0 / math.factorial(n) for n in range(16, 2, -1))


@numba.njit(inline="always")
def _exp_remainder(r, r_lo, e):
    """e^(r + r_lo) - e for |r| <= ln(2)/2, e = exp(r) rounded, as _functions'."""
    square, square_lo = _two_product(r, r)
    tail = 0.0
    for c in _EXP_TAIL:
        tail = tail * r + c
    first, first_lo = _two_sum(1.0 - e, r)
    second, second_lo = _two_sum(first, 0.5 * square)
    carried = r_lo * (1.0 + r + 0.5 * square)  # r_lo e^r
    rest = (first_lo + second_lo) + (0.5 * square_lo + r * square * tail + carried)
    return second + rest


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
    s, error = _two_sum(x, y)
    return error if np.isfinite(s) else 0.0


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


# The Gamma KL's helpers, as _functions' (which say why): the shift below _SHIFTED and
# Stirling's series above it, with B_2, ..., B_20.
_SHIFTED = 12
_BERNOULLI = np.array(
    [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798]
    + [-174611 / 330]
)


@numba.njit(inline="always")
def _gap(t):
    return expm1_minus_x(t, np.expm1(t))


@numba.njit(inline="always")
def _gap_of(t, difference, bottom):
    """E(t) for t = log(top / bottom), difference = top - bottom, as _functions'."""
    return _gap(t) if abs(t) <= 1.0 else difference / bottom - t


@numba.njit(inline="always")
def _ell(u):
    """1/u - log1p(1/u), as _functions'."""
    v = 1.0 / u
    return _gap(np.log1p(v)) if v <= 1.0 else v - np.log1p(v)


@numba.njit(inline="always")
def _h(u):
    """(u + 1) log1p(1/u) - 1, as _functions'."""
    v = 1.0 / u
    return (1.0 + v) * _gap(-np.log1p(v)) * u


@numba.njit(inline="always")
def _shifted(a, b):
    """(x, y, y - x, n, X, Y, log(Y/X)), as _functions._shifted."""
    x, y, d = np.exp(a), np.exp(b), b - a
    difference = x * np.expm1(d) if abs(d) <= 1.0 else y - x
    n, big_x, big_y, t = _shifted_at(x, y, difference, d)
    return x, y, difference, n, big_x, big_y, t


@numba.njit(inline="always")
def _shifted_at(x, y, difference, d):
    """(n, X, Y, t) for x, y given with y - x and d = log(y/x), as _functions'."""
    low = min(x, y)
    n = math.ceil(_SHIFTED - low) if low < _SHIFTED else 0
    if n == 0:
        return 0, x, y, d
    big_x, big_y = x + n, y + n
    ratio = difference / big_x
    t = np.log1p(ratio) if abs(ratio) <= 0.5 else np.log(big_y / big_x)
    return n, big_x, big_y, t


@numba.njit(inline="always")
def stirling_bregman(a, b):
    """f(e^b) - f(e^a) - f'(e^a) (e^b - e^a), f(x) = lgamma(x) - x log x + x, as
    _functions.stirling_bregman_generic."""
    if a == b:  # 0, not NaN, where e^a = e^b = 0
        return 0.0
    x, y, difference, n, big_x, big_y, t = _shifted(a, b)
    return _bregman_at(x, y, difference, b - a, n, big_x, big_y, t)


@numba.njit(error_model="numpy")
def _bregman_at(x, y, difference, d, n, big_x, big_y, t):
    """f's gap between x and y given y - x, d = log(y/x) and the shift, as _functions'."""
    if x == 0.0 or y == 0.0:  # below a = -745, as _functions' (and no division by 0)
        if x == 0.0 and y == 0.0 and d < np.inf:
            return _gap(d)
        return np.inf if x == 0.0 else np.nan
    near = abs(t) <= 1.0
    inverse_x, inverse_y = 1.0 / big_x, 1.0 / big_y
    gap_t, expm1_t = _gap(t), difference / big_x
    total = 0.0  # the series, then h's gaps from the smallest, as _functions'
    for j in range(_BERNOULLI.size - 1, -1, -1):
        m = 2 * j + 1
        power_x = inverse_x**m
        if near:
            term = power_x * (_gap(-m * t) + m * gap_t)
        else:
            term = inverse_y**m - power_x + m * power_x * expm1_t
        total += _BERNOULLI[j] / ((m + 1) * m) * term
    total += 0.5 * _gap_of(t, difference, big_x)
    for i in range(n - 1, -1, -1):
        u, w = x + i, y + i
        z = -(difference / (u + 1.0)) / w
        if abs(z) <= 0.5:
            first = (difference / u) * (difference / w) / (u + 1.0)
            total += first - (w + 1.0) * _gap(np.log1p(z))
        elif i == 0 and max(x, y) < 0.5:
            rest = (w + 1.0) * np.log1p(difference / (u + 1.0)) - w * d
            total += _gap_of(d, difference, u) + rest
        else:
            total += difference * _ell(u) + _h(w) - _h(u)
    return total


@numba.njit(inline="always")
def stirling_bregman_pair(x, y, difference, d):
    """f's gap between concentrations x and y given y - x and log(y/x), as _functions'."""
    if difference == 0.0:
        return 0.0
    n, big_x, big_y, t = _shifted_at(x, y, difference, d)
    return _bregman_at(x, y, difference, d, n, big_x, big_y, t)


@numba.njit(inline="always")
def stirling_slope_difference_pair(x, y, difference, d):
    """f'(y) - f'(x) for concentrations given with y - x and log(y/x), as _functions'."""
    if difference == 0.0:
        return 0.0
    n, big_x, big_y, t = _shifted_at(x, y, difference, d)
    return _slope_difference_at(x, y, difference, n, big_x, big_y, t)


@numba.njit(inline="always")
def stirling_slope_difference(a, b):
    """f'(e^b) - f'(e^a), f'(x) = psi(x) - log x, as _functions'."""
    if a == b:
        return 0.0
    x, y, difference, n, big_x, big_y, t = _shifted(a, b)
    if x == 0.0 or y == 0.0:  # -1/y + 1/x beyond the largest float
        return np.inf if b > a else -np.inf
    return _slope_difference_at(x, y, difference, n, big_x, big_y, t)


@numba.njit(error_model="numpy")
def _slope_difference_at(x, y, difference, n, big_x, big_y, t):
    """f'(y) - f'(x) given y - x and the shift, as _functions' (the smallest terms first)."""
    inverse_x, inverse_y = 1.0 / big_x, 1.0 / big_y
    near = abs(t) <= 1.0
    total = 0.0
    for j in range(_BERNOULLI.size - 1, -1, -1):
        m = 2 * j + 2
        if near:
            term = -(inverse_x**m) * np.expm1(-m * t)
        else:
            term = inverse_x**m - inverse_y**m
        total += _BERNOULLI[j] / m * term
    total += 0.5 * (difference / big_x) / big_y
    for i in range(n - 1, -1, -1):
        u, w = x + i, y + i
        z = -(difference / (u + 1.0)) / w
        if abs(z) <= 0.5:
            total -= z / u + _gap(np.log1p(z))
        else:
            total -= _ell(w) - _ell(u)
    return total


@numba.njit(inline="always")
def stirling_curvature(a):
    """e^a psi'(e^a) - 1, as _functions'."""
    x = np.exp(a)
    if x == 0.0:  # about 1/x
        return np.inf
    return _curvature_at(x)


@numba.njit(inline="always")
def stirling_curvature_at(x):
    """x f''(x) at a concentration x > 0, as _functions'."""
    return _curvature_at(x)


# As _functions': below it, the first term of x f''(x) as 1/x - 1/(x + 1).
_TINY_CURVATURE = 1.0 / 64.0


@numba.njit(error_model="numpy")
def _curvature_at(x):
    """x f''(x) at x > 0, as _functions'."""
    n = math.ceil(_SHIFTED - x) if x < _SHIFTED else 0
    inverse = 1.0 / (x + n)
    series = 0.0
    for j in range(_BERNOULLI.size - 1, -1, -1):  # the smallest terms first
        series += _BERNOULLI[j] * inverse ** (2 * j + 2)
    total = x * inverse * (series + 0.5 * inverse)
    for i in range(n - 1, 0, -1):
        u = x + i
        total += (x / u) / (u * (u + 1.0))
    if x < _TINY_CURVATURE:  # 1/(x (x + 1)) as 1/x - 1/(x + 1), as _functions'
        return (total - 1.0 / (x + 1.0)) + 1.0 / x
    return total + 1.0 / (x * (x + 1.0)) if n > 0 else total


@numba.njit(error_model="numpy")
def _curvature_difference_at(x, y, difference, n, big_x, big_y, t, weight, scale):
    """weight scale (f''(y) - f''(x)), as _functions._curvature_difference_of."""
    factor = (weight / big_x) * (scale / big_x)
    inverse_x, inverse_y = 1.0 / big_x, 1.0 / big_y
    near = abs(t) <= 1.0
    total = 0.0
    for j in range(_BERNOULLI.size - 1, -1, -1):
        m = 2 * j + 3
        if near:
            term = inverse_x ** (m - 2) * np.expm1(-m * t)
        else:
            term = inverse_y ** (m - 2) * (big_x / big_y) ** 2 - inverse_x ** (m - 2)
        total += _BERNOULLI[j] * factor * term
    total -= 0.5 * factor * (difference / big_y) * (big_x / big_y + 1.0)
    for i in range(n - 1, -1, -1):
        u, w = x + i, y + i
        spread = (w * w + w * u + u * u + w + u) / w
        total -= (weight / u) * (difference / u) * (spread / w) / ((u + 1.0) * (w + 1.0)) * scale
    return total


# The Beta KL's helpers, as _functions' (which say why): every exactly equal form, the one
# with the smallest terms kept. They and the Stirling evaluations they call many times are
# compiled as functions of their own, not inlined (inlined, a kernel took minutes to
# compile). A pair is (x, y, y - x, log(y/x), n, X, Y, t). Their log-concentrations lie
# within (_LOG_TINY, _LOG_MAX), where e^x is positive and finite.
_LOG_MAX, _LOG_TINY = 709.0, -744.0


@numba.njit(inline="always")
def _pair(x, y, difference, d):
    n, big_x, big_y, t = _shifted_at(x, y, difference, d)
    return x, y, difference, d, n, big_x, big_y, t


@numba.njit(inline="always")
def _pair_of_logs(a, b):
    x, y, difference = _shifted(a, b)[:3]
    return _pair(x, y, difference, b - a)


@numba.njit(inline="always")
def _pair_of_sums(first, second):
    s, s_p, difference = first[0] + second[0], first[1] + second[1], first[2] + second[2]
    ratio = difference / s
    d = np.log1p(ratio) if abs(ratio) <= 0.5 else np.log(s_p) - np.log(s)
    return _pair(s, s_p, difference, d)


@numba.njit(inline="always")
def _pair_with_sum(x, u, log_x, log_u):
    return _pair(x, x + u, u, softplus(log_u - log_x))


@numba.njit(inline="always")
def _bregman_of(pair):
    x, y, difference, d, n, big_x, big_y, t = pair
    if difference == 0.0:
        return 0.0
    return _bregman_at(x, y, difference, d, n, big_x, big_y, t)


@numba.njit(inline="always")
def _slope_of(pair):
    x, y, difference, _, n, big_x, big_y, t = pair
    return _slope_difference_at(x, y, difference, n, big_x, big_y, t)


@numba.njit(error_model="numpy")
def _decomposed(big, big_s, big_p_s_p, small_p, difference_s):
    """F(big, big_p) - F(s, s_p) in the form small where the other concentration is, and
    its terms' size, as _functions'."""
    t1, t2 = _bregman_of(big_s), -_bregman_of(big_p_s_p)
    t3, t4 = -_slope_of(big) * small_p, _slope_of(big_s) * difference_s
    return t1 + t2 + t3 + t4, abs(t1) + abs(t2) + abs(t3) + abs(t4)


@numba.njit(inline="always")
def _concentrations(x, y, u, v):
    """Whether e^x, e^y, e^u, e^v are all positive and finite (else the helpers give NaN)."""
    return max(x, y, u, v) < _LOG_MAX and min(x, y, u, v) > _LOG_TINY


@numba.njit(error_model="numpy")
def beta_stirling_gap(x, y, u, v):
    """F(a, a_p) + F(b, b_p) - F(s, s_p), as _functions.beta_stirling_gap_generic."""
    if not _concentrations(x, y, u, v):
        return np.nan
    if x == u and y == v:
        return 0.0
    first, second = _pair_of_logs(x, u), _pair_of_logs(y, v)
    a, b, a_p, b_p = first[0], second[0], first[1], second[1]
    if _close(a, b, a_p, b_p, first[2]):
        return _bregman_of(second) + _gap_difference(a, b, first[2], second[2])
    if _close(b, a, b_p, a_p, second[2]):
        return _bregman_of(first) + _gap_difference(b, a, second[2], first[2])
    sums = _pair_of_sums(first, second)
    gap_a, gap_b, gap_s = _bregman_of(first), _bregman_of(second), _bregman_of(sums)
    value, size = gap_a + gap_b - gap_s, gap_a + gap_b + gap_s
    rest, rest_size = _decomposed(
        first, _pair_with_sum(a, b, x, y), _pair_with_sum(a_p, b_p, u, v), b_p, sums[2]
    )
    if gap_b + rest_size < size:
        value, size = gap_b + rest, gap_b + rest_size
    rest, rest_size = _decomposed(
        second, _pair_with_sum(b, a, y, x), _pair_with_sum(b_p, a_p, v, u), a_p, sums[2]
    )
    if gap_a + rest_size < size:
        value = gap_a + rest
    return value


@numba.njit(inline="always")
def _close(a, b, a_p, b_p, delta_a):
    """Whether b, b_p < a/8 and a_p within a/8 of a, as _functions'."""
    low = min(a, a_p)
    return max(b, b_p) <= low / 8.0 and abs(delta_a) <= low / 8.0


_LEGENDRE = np.polynomial.legendre.leggauss(8)
_NODES = (1.0 + _LEGENDRE[0]) / 2.0
_NODE_WEIGHTS = _LEGENDRE[1] / 2.0 * (1.0 - _NODES)


@numba.njit(error_model="numpy")
def _gap_difference(a, b, delta_a, delta_b):
    """F(a, a_p) - F(s, s_p) by Taylor's remainder, as _functions._gap_difference."""
    total = 0.0
    for j in range(_NODES.size):
        t = _NODES[j]
        a_t, b_t = a + t * delta_a, b + t * delta_b
        s_t = a_t + b_t
        n, big_x, big_y, log_ratio = _shifted_at(a_t, s_t, b_t, np.log1p(b_t / a_t))
        curvatures = a_t * _curvature_difference_at(
            a_t, s_t, b_t, n, big_x, big_y, log_ratio, delta_a, delta_a / a_t
        )
        cross = (delta_b / s_t) * (2.0 * delta_a + delta_b) * _curvature_at(s_t)
        total -= _NODE_WEIGHTS[j] * (curvatures + cross)
    return total


@numba.njit(error_model="numpy")
def stirling_gap_difference(x, b, h, k):
    """F(x, x + h) - F(x + b, x + b + h + k), as _functions.stirling_gap_difference_generic."""
    if not _close(x, b, x + h, b + k, h):
        return np.nan
    return _gap_difference(x, b, h, k)


# As _functions': p and w carry about twice the roundings of q and r.
_ROUNDED_TWICE = 2.0


@numba.njit(error_model="numpy")
def beta_stirling_slope(x, y, u, v):
    """a dK/da, as _functions.beta_stirling_slope_generic (p and w counted twice in the
    forms' sizes)."""
    if not _concentrations(x, y, u, v):
        return np.nan
    if x == u and y == v:
        return 0.0
    first, second = _pair_of_logs(x, u), _pair_of_logs(y, v)
    sums = _pair_of_sums(first, second)
    a, s, difference_s = first[0], sums[0], sums[2]
    curvature_a = _curvature_at(a)
    b = second[0]  # a / s, halved where s overflows, as _functions'
    weight = a / s if s < np.inf else (0.5 * a) / (0.5 * a + 0.5 * b)
    p = weight * _curvature_at(s) * difference_s
    q = -curvature_a * first[2]
    x_s, y_s, d_s, _, n_s, big_x_s, big_y_s, t_s = _pair_with_sum(a, second[0], x, y)
    r = curvature_a * second[2]
    w = _curvature_difference_at(x_s, y_s, d_s, n_s, big_x_s, big_y_s, t_s, a, difference_s)
    direct_size = _ROUNDED_TWICE * abs(p) + abs(q)
    return p + q if direct_size <= abs(r) + _ROUNDED_TWICE * abs(w) else r + w


@numba.njit(error_model="numpy")
def beta_stirling_slope_p(x, y, u, v):
    """a_p dK/da_p, as _functions.beta_stirling_slope_p_generic."""
    if not _concentrations(x, y, u, v):
        return np.nan
    if x == u and y == v:
        return 0.0
    first, second = _pair_of_logs(x, u), _pair_of_logs(y, v)
    a, b, a_p, b_p = first[0], second[0], first[1], second[1]
    if _close(a, b, a_p, b_p, first[2]):
        return _slope_second_difference(a, b, a_p, b_p, first[2], second[2], a_p)
    sums = _pair_of_sums(first, second)
    p, q = _slope_of(first), -_slope_of(sums)
    r, w = _slope_of(_pair_with_sum(a, b, x, y)), -_slope_of(_pair_with_sum(a_p, b_p, u, v))
    return a_p * (p + q if abs(p) + abs(q) <= abs(r) + abs(w) else r + w)


@numba.njit(error_model="numpy")
def _slope_second_difference(a, b, a_p, b_p, delta_a, delta_b, weight):
    """weight (f'(a_p) - f'(a) - f'(s_p) + f'(s)), as _functions._slope_second_difference."""
    delta_s = delta_a + delta_b
    s, s_p = a + b, a_p + b_p
    low = min(a, a_p)
    n = math.ceil(_SHIFTED - low) if low < _SHIFTED else 0
    total = 0.0
    for i in range(n):
        u, u_p, w, w_p = a + i, a_p + i, s + i, s_p + i
        below = (u_p + 1.0) * (w + 1.0)
        q = delta_a * (u + 1.0) / w_p + (delta_a / u) * (u + w + 1.0)
        q += (delta_a / u) * u_p * (delta_s / w_p)
        rational = ((delta_b / w_p) * (u / w) * (u + 1.0) - (b / w) * q) / below
        y = ((b / w_p) * (delta_a / u) * (u + w_p + 1.0) - (delta_b / w_p) * (u + 1.0)) / below
        total += weight * _gap(np.log1p(y)) - (weight / u_p) * rational
    p_a, p_ap, p_s, p_sp = 1.0 / (a + n), 1.0 / (a_p + n), 1.0 / (s + n), 1.0 / (s_p + n)
    pair, pair_p, pair_s, triple, triple_p = 1.0, 1.0, 1.0, 1.0, 1.0
    power_s, power_sp = 1.0, 1.0
    for m in range(1, 2 * _BERNOULLI.size + 1):
        if m > 1:
            power_s, power_sp = power_s * p_s, power_sp * p_sp
            pair = p_a * pair + power_s
            pair_p = p_ap * pair_p + power_s
            pair_s = p_s * pair_s + power_sp
            triple = p_a * triple + pair_p
            triple_p = p_ap * triple_p + pair_s
        if m == 1 or m % 2 == 0:
            c = -0.5 if m == 1 else -_BERNOULLI[m // 2 - 1] / m
            first = (weight * p_a) * (delta_b * p_s) * pair
            second = (delta_a * p_a) * triple + (delta_s * p_sp) * triple_p
            total += c * (first - (weight * p_ap) * (b_p * p_s) * second)
    return total


# The Beta KL's Bernoulli part, as _functions' (which says why): a logit is a pair (hi, lo).


@numba.njit(inline="always")
def _logit(x, y):
    hi, lo = _two_sum(x, -y)
    return hi, lo if np.isfinite(lo) else 0.0


@numba.njit(inline="always")
def _sigmoid_of(hi, lo):
    return sigmoid(hi) * (1.0 + sigmoid(-hi) * lo)


@numba.njit(inline="always")
def _softplus_of(hi, lo):
    return softplus(hi) + sigmoid(hi) * lo


@numba.njit(error_model="numpy")
def _log_ratios(x, y, u, v):
    """(r_1, r_2, sigmoid(l), sigmoid(-l), sigmoid(l_p), sigmoid(-l_p)), as
    _functions._log_ratios."""
    hi, lo = _logit(x, y)
    hi_p, lo_p = _logit(u, v)
    shift = difference_sum(u, x, v, y)
    p, q = _sigmoid_of(hi, lo), _sigmoid_of(-hi, -lo)
    p_p, q_p = _sigmoid_of(hi_p, lo_p), _sigmoid_of(-hi_p, -lo_p)
    if abs(shift) <= 1.0:
        return -np.log1p(q_p * np.expm1(-shift)), -np.log1p(p_p * np.expm1(shift)), p, q, p_p, q_p
    r_1 = _softplus_of(-hi_p, -lo_p) - _softplus_of(-hi, -lo)
    r_2 = _softplus_of(hi_p, lo_p) - _softplus_of(hi, lo)
    if hi < 0 and hi_p < 0:
        r_1 = shift + r_2
    elif hi > 0 and hi_p > 0:
        r_2 = r_1 - shift
    return r_1, r_2, p, q, p_p, q_p


@numba.njit(inline="always")
def _weighted_gap(r, u, v, top, bottom, slope):
    """e^u E(r) (e^u expm1(r) for ``slope``), e^u e^r = e^v top / bottom, as _functions'."""
    if r <= 1.0:
        return exp_product(np.expm1(r) if slope else _gap(r), u)
    return exp_product(top / bottom, v) - exp_product(1.0 if slope else 1.0 + r, u)


@numba.njit(error_model="numpy")
def _weighted_log_ratio(r_1, p_p, q_p, shift, u, v):
    """a_p r_1, as _functions._weighted_log_ratio."""
    if abs(shift) > 1.0 or p_p <= q_p:
        return exp_product(r_1, u)
    m = np.expm1(-shift)
    z = q_p * m
    ratio = 1.0 if z == 0.0 else np.log1p(z) / z
    return -exp_product(p_p * m * ratio, v)


@numba.njit(error_model="numpy")
def beta_weighted_log_ratio(x, y, u, v):
    """a_p log pi/pi_p, as _functions.beta_weighted_log_ratio_generic."""
    if not _concentrations(x, y, u, v):
        return np.nan
    if x == u and y == v:
        return 0.0
    r_1, _, _, _, p_p, q_p = _log_ratios(x, y, u, v)
    return _weighted_log_ratio(r_1, p_p, q_p, difference_sum(u, x, v, y), u, v)


@numba.njit(error_model="numpy")
def beta_bernoulli_gap(x, y, u, v):
    """a_p E(r_1) + b_p E(r_2), as _functions.beta_bernoulli_gap_generic."""
    if not _concentrations(x, y, u, v):
        return np.nan
    if x == u and y == v:
        return 0.0
    r_1, r_2, p, q, p_p, q_p = _log_ratios(x, y, u, v)
    return _weighted_gap(r_1, u, v, p, q_p, False) + _weighted_gap(r_2, v, u, q, p_p, False)


@numba.njit(error_model="numpy")
def beta_bernoulli_slope(x, y, u, v):
    """a_p expm1(r_1), as _functions.beta_bernoulli_slope_generic."""
    if not _concentrations(x, y, u, v):
        return np.nan
    if x == u and y == v:
        return 0.0
    r_1, _, p, _, p_p, q_p = _log_ratios(x, y, u, v)
    shift = difference_sum(u, x, v, y)
    if abs(shift) <= 1.0:
        return _weighted_log_ratio(r_1, p_p, q_p, shift, u, v) + exp_product(_gap(r_1), u)
    return _weighted_gap(r_1, u, v, p, q_p, True)


@numba.njit(inline="always")
def _two_sum(a, b):
    s = a + b
    from_b = s - a
    return s, (a - (s - from_b)) + (b - from_b)


@numba.njit(inline="always")
def _split(a):
    c = 134217729.0 * a
    high = c - (c - a)
    return high, a - high


@numba.njit(inline="always")
def _two_product(a, b):
    """(a b rounded, its rounding error), as _functions' (Dekker)."""
    p = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    return p, ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low


@numba.njit(inline="always")
def exp_split(x):
    """(k, hi, lo), e^x = 2**k (1 + hi + lo) in twice the precision, as _functions'."""
    k = np.round(x * _LOG2_E)
    reduced, reduced_lo = _two_sum(x - k * _LN2_HI, -(k * _LN2_MID))
    h, low = reduced * 0.0625, (reduced_lo - k * _LN2_TAIL) * 0.0625
    square, square_lo = _two_product(h, h)
    series = 1.0 / 40320.0 + h / 362880.0
    for n in (5040.0, 720.0, 120.0, 24.0, 6.0):
        series = 1.0 / n + h * series
    hi, hi_lo = _two_sum(h, 0.5 * square)
    lo = hi_lo + (0.5 * square_lo + (h * square * series + low * (1.0 + h + 0.5 * square)))
    hi, lo = _two_sum(hi, lo)
    for _ in range(4):
        top, top_lo = _two_product(hi, hi)
        new, new_lo = _two_sum(2.0 * hi, top)
        hi, lo = _two_sum(new, new_lo + (top_lo + 2.0 * lo * (1.0 + hi)))
    return k, hi, lo


@numba.njit(inline="always")
def product_error(m, x):
    """m e^x - exp_product(m, x), as _functions'."""
    value = exp_product(m, x)
    if not (abs(x) <= 745.0 and np.isfinite(value) and value != 0):
        return 0.0
    scaled = m * 2.0**-600 if abs(m) > 2.0**600 else m * 2.0**600 if abs(m) < 2.0**-600 else m
    k, exp_hi, exp_lo = exp_split(x)
    rounded = scaled * np.exp((x - k * _LN2_HI) - k * _LN2_LO)
    one, one_lo = _two_sum(1.0, exp_hi)
    product, product_lo = _two_product(scaled, one)
    error = (product - rounded) + (product_lo + scaled * (one_lo + exp_lo))
    correction = value * (error / rounded)
    return correction if np.isfinite(correction) else 0.0


@numba.njit(inline="always")
def difference_sum(a, b, c, d):
    """(b - a) + (c - d) with the roundings' errors added back, as _functions'."""
    first, first_lo = _two_sum(b, -a)
    second, second_lo = _two_sum(c, -d)
    total, total_lo = _two_sum(first, second)
    lo = (first_lo + second_lo) + total_lo
    return total + lo if np.isfinite(lo) else total


@numba.njit(inline="always")
def _exp_of_sum(m, b, c, d):
    """m e^(b + c - d), the exponent summed exactly, as _functions'."""
    s, s_lo = _two_sum(c, -d)
    hi, hi_lo = _two_sum(b, s)
    return exp_product(m * (1.0 + (s_lo + hi_lo)), hi)


@numba.njit(inline="always")
def exp_bregman_split(a, b, c, d):
    """e^a E(D), D = (b - a) + (c - d), as _functions'."""
    shift = difference_sum(a, b, c, d)
    if shift <= 2.0:
        return exp_product(_gap(shift), a)
    return _exp_of_sum(1.0 - (1.0 + shift) * np.exp(-shift), b, c, d)


@numba.njit(inline="always")
def exp_difference_split(a, b, c, d):
    """e^(b + c - d) - e^a, as _functions'."""
    shift = difference_sum(a, b, c, d)
    if abs(shift) <= 1.0:
        return exp_product(np.expm1(shift), a)
    return _exp_of_sum(1.0, b, c, d) - np.exp(a)


@numba.njit(inline="always")
def exp_difference_ratio(a, b, c, d, s):
    """(e^(b + c - d) - e^a) / s, as _functions'."""
    shift = difference_sum(a, b, c, d)
    if abs(shift) <= 1.0 and s < 1.0:
        return exp_product(np.expm1(shift) / s, a)
    return exp_difference_split(a, b, c, d) / s
