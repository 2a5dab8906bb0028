"""Sums of products for the encoder-backprop kernel (kl_std_normal_encoder): a^T g in
float64 with no product or partial sum overflowing, and the limits of the exact sums where
an input is infinite or NaN. Plain Python, copied into the generated package as
``_products``; the rules it implements are stated in the kernel module's docstring.
"""

import numpy as np


def sum_of_products(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """a^T g in float64, (B, n) and (B, k) in: the limits of the exact sums (the encoder
    module's docstring states them); the finite products scaled by powers of two per column
    of a and of g, so that no product or partial sum overflows, and scaled back once."""
    a, g = a.astype(np.float64, copy=False), g.astype(np.float64, copy=False)
    size_a, size_g = _column_sizes(a), _column_sizes(g)
    if np.isfinite(size_a).all() and np.isfinite(size_g).all():
        return _scaled_products(a, g, size_a, size_g)
    finite_a, finite_g = np.where(np.isfinite(a), a, 0.0), np.where(np.isfinite(g), g, 0.0)
    result = _scaled_products(finite_a, finite_g, _column_sizes(finite_a), _column_sizes(finite_g))
    infinite_a, infinite_g = np.isinf(a), np.isinf(g)
    count = {}
    for sign in (1, -1):  # the number of products tending to sign * inf, per entry
        count[sign] = 0.0
        for s in (1, -1):
            p, q = np.sign(a) == s, np.sign(g) == s * sign
            p_inf, q_inf = (p & infinite_a).astype(float), (q & infinite_g).astype(float)
            count[sign] = count[sign] + p_inf.T @ q + p.T.astype(float) @ q_inf - p_inf.T @ q_inf
    nan = np.isnan(a).any(axis=0)[:, None] | np.isnan(g).any(axis=0)[None, :]
    result = np.where(count[1] > 0, np.inf, np.where(count[-1] > 0, -np.inf, result))
    return np.where(nan | ((count[1] > 0) & (count[-1] > 0)), np.nan, result)


def _column_sizes(a: np.ndarray) -> np.ndarray:
    """The largest magnitude in each column (NaN in a column holding one, inf in one holding
    an infinity), from two reductions: no (B, n) temporary."""
    if a.shape[0] == 0:
        return np.zeros(a.shape[1])
    return np.maximum(a.max(axis=0), -a.min(axis=0))


def _scaled_products(
    a: np.ndarray, g: np.ndarray, size_a: np.ndarray, size_g: np.ndarray
) -> np.ndarray:
    """a^T g for finite a, g, each column divided by a power of two near its largest
    magnitude first (exact), the product scaled back by ldexp (which rounds once)."""
    _, exponent_a = np.frexp(size_a)
    _, exponent_g = np.frexp(size_g)
    product = np.ldexp(a, -exponent_a).T @ np.ldexp(g, -exponent_g)
    return np.ldexp(product, exponent_a[:, None] + exponent_g[None, :])
