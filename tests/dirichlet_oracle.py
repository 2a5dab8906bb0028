"""mpmath as the oracle of the Dirichlet KL (specs/dirichlet.py), a kernel of row statistics:
exact values and gradients of whole rows, and the sampled domain of rows.

The exact outputs are the textbook's, with a = e^log_alpha, b = e^log_alpha_p, a0, b0 their
sums: KL = lgamma(a0) - sum_j lgamma(a_j) - lgamma(b0) + sum_j lgamma(b_j) + sum_j (a_j -
b_j)(psi(a_j) - psi(a0)), dKL/dlog_alpha_j = a_j (psi'(a0) (b0 - a0) - psi'(a_j) (b_j -
a_j)) and dKL/dlog_alpha_p_j = b_j ((psi(b_j) - psi(a_j)) - (psi(b0) - psi(a0))), evaluated
by mpmath on the exact binary inputs, the precision doubled until two evaluations agree to 30
digits and the KL is resolved below the precision of its largest term. Errors are counted in
ulps (tests/oracle.py's ``ulps``) of the exact value, or, for the gradients (which change
sign), of the sum of the sizes of their textbook terms: b_j (|psi(b_j) - psi(a_j)| + |psi(b0) -
psi(a0)|), and a_j (psi'(a0) sum_k |b_k - a_k| + psi'(a_j) |b_j - a_j|), b0 - a0 being the
sum of the components' differences (which cancel between components: 1 - 1 where a
concentration of 1 moves to another component).
"""

import mpmath
import numpy as np
from oracle import MAX_DPS, TINY, log_uniform, ulps

DPS = 40
# psi and loggamma at hundreds of digits take mpmath long: the doubling stops here (the
# textbook terms of e^700 concentrations need about 2 * 304 + 30 digits).
TOP_DPS = 1280


def dirichlet(log_alpha, log_alpha_p) -> list:
    """[(exact, scale)] for the KL, then dKL/dlog_alpha_j and dKL/dlog_alpha_p_j for each
    j, at one row (sequences of Python floats). q = p, and a row of one component (a point
    mass, whatever its concentration), give exactly 0 for every output."""
    x = [mpmath.mpf(float(v)) for v in log_alpha]
    y = [mpmath.mpf(float(v)) for v in log_alpha_p]
    if x == y or len(x) == 1:
        return [(mpmath.mpf(0), mpmath.mpf(0))] * (1 + 2 * len(x))
    tiny = max((-int(mpmath.floor(mpmath.log10(abs(v)))) for v in x + y if v), default=0)
    dps, previous = DPS + min(tiny, 300), None
    while True:
        with mpmath.workdps(dps):
            current, largest = _dirichlet(x, y)
        done = previous is not None and _resolved(current, largest, dps)
        if done and _agree(current, previous) or dps >= min(TOP_DPS, MAX_DPS):
            return current
        previous, dps = current, dps * 2


def _resolved(outputs, largest, dps) -> bool:
    """Whether every output stands above the precision of its largest textbook term (or
    what could be lost is below 1e-400, zero for every float type)."""
    return all(
        abs(value) > bound or bound < TINY
        for (value, _), top in zip(outputs, largest, strict=True)
        for bound in [top * mpmath.mpf(10) ** (30 - dps)]
    )


def _dirichlet(x, y):
    """The outputs as (exact, scale), and each output's largest textbook term."""
    a = [mpmath.exp(v) for v in x]
    b = [mpmath.exp(v) for v in y]
    a0, b0 = mpmath.fsum(a), mpmath.fsum(b)
    b0_less_a0 = mpmath.fsum(bj - aj for aj, bj in zip(a, b, strict=True))
    psi_a0, psi_b0 = mpmath.digamma(a0), mpmath.digamma(b0)
    terms = [mpmath.loggamma(a0), -mpmath.loggamma(b0)]
    for aj, bj in zip(a, b, strict=True):
        terms += [-mpmath.loggamma(aj), mpmath.loggamma(bj), (aj - bj) * mpmath.digamma(aj)]
        terms.append(-(aj - bj) * psi_a0)
    kl = mpmath.fsum(terms)
    outputs, largest = [(kl, abs(kl))], [max(abs(t) for t in terms)]
    curve0 = mpmath.psi(1, a0) * b0_less_a0
    moved = mpmath.psi(1, a0) * mpmath.fsum(abs(bj - aj) for aj, bj in zip(a, b, strict=True))
    for aj, bj in zip(a, b, strict=True):
        own = mpmath.psi(1, aj) * (bj - aj)
        outputs.append((aj * (curve0 - own), aj * (moved + abs(own))))
        largest.append(aj * max(abs(curve0), abs(own)))
    for aj, bj in zip(a, b, strict=True):
        own, whole = mpmath.digamma(bj) - mpmath.digamma(aj), psi_b0 - psi_a0
        outputs.append((bj * (own - whole), bj * (abs(own) + abs(whole))))
        digammas = (mpmath.digamma(bj), mpmath.digamma(aj), psi_b0, psi_a0)
        largest.append(bj * max(abs(v) for v in digammas))
    return outputs, largest


def _agree(a, b) -> bool:
    return all(
        abs(x - y) <= max(abs(x) * mpmath.mpf(10) ** -30, TINY)
        for (x, _), (y, _) in zip(a, b, strict=True)
    )


def exact_rows(log_alpha, log_alpha_p) -> list:
    """The oracle's outputs for every row of two (rows, K) arrays."""
    return [dirichlet(a, b) for a, b in zip(log_alpha, log_alpha_p, strict=True)]


def domain(dtype, n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n rows of k components (log_alpha, log_alpha_p), a fifth of each kind: every
    log-concentration log-uniform over the type's whole range of both signs, within +-700
    (concentrations 1e-304 to 1e304, as kl_gamma's); moderate (normal, scale 0.1 to 30); q
    close to p (relative steps of 1e-12 to 1e-3); tiny or huge concentrations (all near
    -700 or 700, or spread over the range); and components orders of magnitude apart (one
    far above or below the others, with q close to p or not)."""
    rng = np.random.default_rng(seed)
    rows = np.empty((n, 2, k))
    for row in range(n):
        kind = row % 5
        if kind == 0:
            a, b = (np.clip(log_uniform(rng, k, np.float64), -700, 700) for _ in range(2))
        elif kind == 1:
            a, b = rng.normal(scale=rng.choice([0.1, 1.0, 5.0, 30.0]), size=(2, k))
        elif kind == 2:
            a = rng.normal(scale=rng.choice([1.0, 30.0, 300.0]), size=k)
            b = a * (1 + 10.0 ** rng.uniform(-12, -3) * rng.normal(size=k))
        elif kind == 3:
            centre = rng.choice([-700.0, -300.0, 300.0, 700.0]) * rng.uniform(0.9, 1.0)
            a, b = centre + rng.normal(scale=rng.choice([0.01, 1.0, 10.0]), size=(2, k))
        else:
            a = rng.normal(scale=2.0, size=k)
            b = a + rng.normal(scale=rng.choice([1e-9, 1e-3, 1.0]), size=k)
            j = rng.integers(k)
            far = rng.choice([-1.0, 1.0]) * rng.uniform(5, 300)
            a[j] += far
            b[j] += far + rng.normal(scale=rng.choice([0.0, 1e-6, 1.0]))
        rows[row] = np.clip(a, -700, 700), np.clip(b, -700, 700)
    rows = rows.astype(dtype)
    return np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1])


def worst_errors(function, log_alpha, log_alpha_p, dtype, exact):
    """(worst ulps, row) for the value, dlog_alpha and dlog_alpha_p of ``function`` (a
    value_and_grad on (rows, K) arrays) over the rows; errors where the exact output is
    subnormal are at most those of the smallest normal's spacing."""
    with np.errstate(all="ignore"):
        value, (da, db) = function(log_alpha, log_alpha_p)
    k = log_alpha.shape[1]
    worst = [(0.0, None)] * 3
    for row, outputs in enumerate(exact):
        got = [value[row], *da[row], *db[row]]
        for i, ((want, scale), have) in enumerate(zip(outputs, got, strict=True)):
            error = ulps(float(have), want, scale, dtype)
            which = 0 if i == 0 else 1 if i <= k else 2
            if error > worst[which][0]:
                worst[which] = (error, row)
    return worst
