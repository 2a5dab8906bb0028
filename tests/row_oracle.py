"""mpmath as the oracle of the categorical KL (specs/categorical.py), a kernel of row
statistics: exact values and gradients of whole rows, and the sampled domain of rows.

The exact outputs are the textbook's, KL = sum_j p_j log(p_j/q_j) with log p_j/q_j =
(logits_j - L) - (logits_p_j - L_p) (L, L_p the log-sum-exps, with log1p), dKL/dlogits_j = p_j (log
p_j/q_j - KL) and dKL/dlogits_p_j = q_j - p_j, evaluated by mpmath on the exact binary
inputs at a precision doubled until two evaluations agree to 30 digits and the KL is
resolved below the precision of its largest term. Errors are counted in ulps (tests/oracle.py's
``ulps``) of the exact value, or, for the gradients (which change sign), of the sum of the
sizes of their textbook terms: p_j (|log p_j/q_j| + KL), and p_j + q_j.
"""

import mpmath
import numpy as np
from oracle import MAX_DPS, TINY, log_uniform, ulps

DPS = 60


def categorical(logits, logits_p) -> list:
    """[(exact, scale)] for the KL, then dKL/dlogits_j and dKL/dlogits_p_j for each j, at
    one row (sequences of Python floats)."""
    a = [mpmath.mpf(float(v)) for v in logits]
    b = [mpmath.mpf(float(v)) for v in logits_p]
    dps, previous = DPS, None
    while True:
        with mpmath.workdps(dps):
            current, largest = _categorical(a, b)
        kl = current[0][0]
        resolved = kl == 0 or abs(kl) > largest * mpmath.mpf(10) ** (30 - dps)
        if previous is not None and resolved and _agree(current, previous) or dps >= MAX_DPS:
            return current
        previous, dps = current, dps * 2


def _log_softmax(x):
    """log softmax(x)_j = (x_j - max) - log1p(sum of the other e^(x_k - max)): the
    log1p keeps the tiny difference from the maximum's own log-probability (at a margin of
    569, e^-569 = 1e-247, which log(1 + e^-569) would need 250 digits to see)."""
    top = max(range(len(x)), key=lambda j: x[j])
    others = mpmath.fsum(mpmath.exp(v - x[top]) for j, v in enumerate(x) if j != top)
    return [(v - x[top]) - mpmath.log1p(others) for v in x]


def _categorical(logits, logits_p):
    log_p, log_q = _log_softmax(logits), _log_softmax(logits_p)
    ratio = [a - b for a, b in zip(log_p, log_q, strict=True)]
    p = [mpmath.exp(a) for a in log_p]
    q = [mpmath.exp(b) for b in log_q]
    terms = [pj * r for pj, r in zip(p, ratio, strict=True)]
    kl = mpmath.fsum(terms)
    outputs = [(kl, abs(kl))]
    outputs += [(pj * (r - kl), pj * (abs(r) + abs(kl))) for pj, r in zip(p, ratio, strict=True)]
    outputs += [(qj - pj, pj + qj) for pj, qj in zip(p, q, strict=True)]
    return outputs, max((abs(t) for t in terms), default=mpmath.mpf(0))


def _agree(a, b) -> bool:
    return all(
        abs(x - y) <= max(abs(x) * mpmath.mpf(10) ** -30, TINY)
        for (x, _), (y, _) in zip(a, b, strict=True)
    )


def exact_rows(logits, logits_p) -> list:
    """The oracle's outputs for every row of two (rows, K) arrays."""
    return [categorical(a, b) for a, b in zip(logits, logits_p, strict=True)]


def domain(dtype, n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n rows of k categories (logits, logits_p), a fifth of each kind: every logit
    log-uniform over the type's whole range of both signs; moderate (normal, scale 0.1 to
    30); near +-1e4; q close to p (relative steps of 1e-12 to 1e-3, and q = p shifted by a
    constant); and moderate beside huge (one category's logits near +-1e4 or log-uniform,
    the others moderate)."""
    rng = np.random.default_rng(seed)
    logits = np.empty((n, k))
    logits_p = np.empty((n, k))
    for row in range(n):
        kind = row % 5
        if kind == 0:
            a, b = (log_uniform(rng, k, np.float64) for _ in range(2))
        elif kind == 1:
            scale = rng.choice([0.1, 1.0, 5.0, 30.0])
            a, b = rng.normal(scale=scale, size=(2, k))
        elif kind == 2:
            a, b = rng.choice([-1e4, 1e4], (2, k)) + rng.normal(
                scale=rng.choice([1.0, 50.0]), size=(2, k)
            )
        elif kind == 3:
            a = rng.normal(scale=rng.choice([1.0, 30.0, 1e4]), size=k)
            step = 10.0 ** rng.uniform(-12, -3)
            b = (
                a * (1 + step * rng.normal(size=k))
                if rng.random() < 0.7
                else a + rng.normal() * 1e3
            )
        else:
            a, b = rng.normal(scale=3.0, size=(2, k))
            j = rng.integers(k)
            a[j] = (
                rng.choice([-1e4, 1e4]) + rng.normal()
                if rng.random() < 0.5
                else log_uniform(rng, 1, np.float64)[0]
            )
        logits[row], logits_p[row] = a, b
    with np.errstate(over="ignore"):
        logits, logits_p = logits.astype(dtype), logits_p.astype(dtype)
    finite = np.all(np.isfinite(logits) & np.isfinite(logits_p), axis=1)
    return logits[finite], logits_p[finite]


def worst_errors(function, logits, logits_p, dtype, exact):
    """(worst ulps, row) for the value, dlogits and dlogits_p of ``function`` (a
    value_and_grad on (rows, K) arrays) over the rows; errors where the exact output is
    subnormal are at most those of the smallest normal's spacing."""
    with np.errstate(all="ignore"):
        value, (dl, dlp) = function(logits, logits_p)
    k = logits.shape[1]
    worst = [(0.0, None)] * 3
    for row, outputs in enumerate(exact):
        got = [value[row], *dl[row], *dlp[row]]
        for i, ((want, scale), have) in enumerate(zip(outputs, got, strict=True)):
            error = ulps(float(have), want, scale, dtype)
            which = 0 if i == 0 else 1 if i <= k else 2
            if error > worst[which][0]:
                worst[which] = (error, row)
    return worst
