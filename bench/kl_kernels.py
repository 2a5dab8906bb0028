"""Benchmark: KL(N(mu, diag(exp(logvar))) || N(0, I)) value + gradients, generated vs peers.

Every implementation returns (kl per row, dmu, dlogvar). All run in this one process, warmed
up, interleaved round by round (so machine noise hits all alike), and the median per-call time
of each is printed with its ratio to the naive formula. Inputs: mu ~ N(0, 1) and
logvar ~ N(0, 1), i.e. about two thirds of the log-variances within 1 of zero, where the
generated kernel must use its series. Ratios are printed, never asserted.

    python bench/kl_kernels.py [--rounds N]
"""

import argparse
import statistics
import time

import numpy as np

from generated.kl_std_normal import kl_std_normal_value_and_grad

SIZES = {"S": ((128, 20), np.float32), "L": ((16384, 512), np.float64)}


def naive(mu, logvar):
    """The formula every VAE codebase types."""
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)
    return kl, mu, 0.5 * (np.exp(logvar) - 1)


def lambdify_peer():
    """sympy.lambdify(cse=True) of the same value and gradient expressions."""
    import sympy as sp

    mu, lv = sp.symbols("mu logvar")
    term = (mu**2 + sp.exp(lv) - 1 - lv) / 2
    f = sp.lambdify((mu, lv), [term, sp.diff(term, mu), sp.diff(term, lv)], "numpy", cse=True)

    def run(m, v):
        t, dmu, dlv = f(m, v)
        return np.sum(t, axis=-1), dmu, dlv

    return run


def generated(mu, logvar):
    kl, (dmu, dlogvar) = kl_std_normal_value_and_grad(mu, logvar)
    return kl, dmu, dlogvar


def generated_numba():
    """The same spec compiled by numba (optional backend), compiled before timing."""
    from generated.kl_std_normal_numba import kl_std_normal_value_and_grad as compiled

    def run(mu, logvar):
        kl, (dmu, dlogvar) = compiled(mu, logvar)
        return kl, dmu, dlogvar

    return run


def peers():
    """name -> callable, for every implementation that can run here."""
    found = {"generated": generated, "naive numpy": naive}
    try:
        found["generated (numba)"] = generated_numba()
    except ImportError:
        print("note: numba not installed, the compiled generated kernel is skipped")
    try:
        found["sympy.lambdify(cse)"] = lambdify_peer()
    except ImportError:
        print("note: sympy not installed, lambdify peer skipped")
    return found


def time_call(f, args, min_seconds):
    """Seconds per call of f(*args), over enough calls to last about min_seconds."""
    calls, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            f(*args)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls
        calls *= 2


def bench_size(label, shape, dtype, impls, rounds):
    rng = np.random.default_rng(0)
    mu = rng.normal(size=shape).astype(dtype)
    logvar = rng.normal(size=shape).astype(dtype)
    min_seconds = 0.02 if label == "S" else 0.3
    for f in impls.values():  # warm up and check the peers agree
        np.testing.assert_allclose(f(mu, logvar)[0], naive(mu, logvar)[0], rtol=1e-4)
    times = {name: [] for name in impls}
    for _ in range(rounds):
        for name, f in impls.items():
            times[name].append(time_call(f, (mu, logvar), min_seconds))
    return {name: statistics.median(t) for name, t in times.items()}


def report(label, shape, dtype, medians):
    base = medians["naive numpy"]
    print(f"\n{label} = {shape}, {np.dtype(dtype).name}: median time per call")
    for name, t in sorted(medians.items(), key=lambda kv: kv[1]):
        unit, scale = ("us", 1e6) if t < 1e-3 else ("ms", 1e3)
        print(f"  {name:24s} {t * scale:9.2f} {unit}   {t / base:5.2f}x naive")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    impls = peers()
    targets = {"S": 0.75, "L": 0.3}
    for label, (shape, dtype) in SIZES.items():
        medians = bench_size(label, shape, dtype, impls, args.rounds)
        report(label, shape, dtype, medians)
        ratio = medians["generated"] / medians["naive numpy"]
        met = "met" if ratio <= targets[label] else "NOT met"
        print(f"  target generated <= {targets[label]}x naive: {ratio:.2f}x, {met}")


if __name__ == "__main__":
    main()
