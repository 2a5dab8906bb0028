"""Stable numpy evaluations of the functions loss terms use that numpy lacks, for the kernels
klgen generates from spec files (derive/functions.py defines them; derive/printers.py calls
them). Each writes into ``out`` (float64, the blocks' compute type) and allocates only a
work array or a mask, except softplus_bregman and sigmoid_difference, which copy their
cases into it. The ``_generic`` twins compute the same on arrays of any array-API namespace
``xp`` (torch, CuPy, JAX...), returning new arrays."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._constants import EXPM1_MINUS_X_SERIES
from ._numeric import expm1_minus_x_generic

_SERIES = EXPM1_MINUS_X_SERIES["float64"]


def sigmoid(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = 1 / (1 + e^-x): e = e^-|x| never overflows; 1/(1 + e) for x >= 0, e/(1 + e)
    below (no 1 - tiny cancellation); within 2 ulps for every x."""
    e = np.exp(-np.abs(x))
    np.add(e, 1.0, out=out)
    np.divide(np.where(x >= 0, 1.0, e), out, out=out)
    return out


def softplus(x: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """out = log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for every finite x."""
    return np.logaddexp(0.0, x, out=out)


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
    p_term = p * expm1_minus_x_generic(xp, x, xp.expm1(x), _SERIES)
    p_far = sigmoid_generic(xp, b) - p * (1.0 + log_ratio_p)
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


def logsumexp_rows_generic(xp: Any, terms: Any) -> tuple[Any, Any]:
    """:func:`logsumexp_rows` and the weights of :func:`softmax_rows` on arrays of ``xp``:
    (log-sum-exp of each row, the softmax of each row)."""
    top = xp.max(terms, axis=-1, keepdims=True)
    shift = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
    exponentials = xp.exp(terms - shift)
    total = xp.sum(exponentials, axis=-1, keepdims=True)
    return xp.log(total[..., 0]) + shift[..., 0], exponentials / total
