"""Stable numpy evaluations of the functions loss terms use that numpy lacks, for the kernels
klgen generates from spec files (derive/functions.py defines them; derive/printers.py calls
them). Each writes into ``out`` (float64, the blocks' compute type) and allocates only a
work array or a mask. The ``_generic`` twins compute the same on arrays of any array-API
namespace ``xp`` (torch, CuPy, JAX...), returning new arrays.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray


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


def logsumexp_rows_generic(xp: Any, terms: Any) -> tuple[Any, Any]:
    """:func:`logsumexp_rows` and the weights of :func:`softmax_rows` on arrays of ``xp``:
    (log-sum-exp of each row, the softmax of each row)."""
    top = xp.max(terms, axis=-1, keepdims=True)
    shift = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
    exponentials = xp.exp(terms - shift)
    total = xp.sum(exponentials, axis=-1, keepdims=True)
    return xp.log(total[..., 0]) + shift[..., 0], exponentials / total
