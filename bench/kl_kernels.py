"""Benchmark: KL(N(mu, diag(exp(logvar))) || N(0, I)) value + gradients, generated vs peers.

Every implementation returns (kl per row, dmu, dlogvar). All run in this one process, warmed
up, interleaved round by round (so machine noise hits all alike); the median per-call time of
each is printed with its ratio to the naive formula. Peers that are not installed (torch,
jax, numba) are skipped with a note. Ratios are printed, never asserted.

Two input distributions: "randn" (mu, logvar ~ N(0, 1): two thirds of the log-variances
within 1 of zero, where the generated kernels must sum a series to stay accurate) and "wide"
(logvar ~ N(-4, 1), as in a trained VAE's active dimensions: few series elements). Also
printed: the memory floor (one pass reading mu and logvar and writing one array), one
np.expm1 pass over logvar (a lower bound for any numpy kernel of the accurate KL), the peak
extra memory of the generated kernel at L, and the generated kernels' accuracy at
logvar = 1e-8 next to each peer's.

Rows marked "out=" write into output buffers kept across calls, as a training loop would;
the others allocate their outputs each call (at L the page faults of fresh outputs cost about
a floor pass per array).

Last, the full-covariance kernel against torch.distributions (bench/kl_mvn_cholesky.py).
The numpy kernels' speed targets (both diagonal kernels, float32 and float64, each peer in a
process of its own, and the time per element as the batch grows) are bench/numpy_targets.py's.

    python bench/kl_kernels.py [--rounds N] [--sizes S L]
"""

import argparse
import statistics
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from kl_mvn_cholesky import main as mvn_cholesky_benchmark
from kl_mvn_cholesky import time_call

from klgen.generated.kl_std_normal import kl_std_normal_value_and_grad

SIZES = {"S": ((128, 20), np.float32), "L": ((16384, 512), np.float64)}


def naive(mu, logvar):
    """The formula every VAE codebase types."""
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)
    return kl, mu, 0.5 * (np.exp(logvar) - 1)


def generated(mu, logvar):
    kl, (dmu, dlogvar) = kl_std_normal_value_and_grad(mu, logvar)
    return kl, dmu, dlogvar


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


_OUT = {}


def reused_outputs(name, mu):
    """Output buffers kept across calls (as a training loop would), one set per peer and shape:
    fresh 64 MiB outputs cost their page faults, about a floor pass each."""
    key = (name, mu.shape, mu.dtype)
    if key not in _OUT:
        _OUT[key] = (np.empty(mu.shape[:-1], mu.dtype), np.empty_like(mu), np.empty_like(mu))
    return _OUT[key]


def numba_generated_peers():
    """The same spec compiled by numba (klgen's optional backend): allocating its outputs,
    and writing into reused buffers (``out=``)."""
    from klgen.generated.kl_std_normal_numba import kl_std_normal_value_and_grad as compiled

    def run(mu, logvar):
        kl, (dmu, dlogvar) = compiled(mu, logvar)
        return kl, dmu, dlogvar

    def run_out(mu, logvar):
        kl, (dmu, dlogvar) = compiled(mu, logvar, out=reused_outputs("generated", mu))
        return kl, dmu, dlogvar

    return run, run_out


def numba_naive_peers():
    """A numba loop of the naive formula, parallel over rows: allocating its outputs, and
    writing into reused buffers."""
    import numba

    @numba.njit(parallel=True, cache=True)
    def loop(mu, logvar, kl, dlogvar):
        for i in numba.prange(mu.shape[0]):
            acc = 0.0
            for j in range(mu.shape[1]):
                e = np.exp(logvar[i, j])
                acc += 0.5 * (mu[i, j] * mu[i, j] + e - 1 - logvar[i, j])
                dlogvar[i, j] = 0.5 * (e - 1)
            kl[i] = acc

    def run(mu, logvar):
        kl, dlogvar = np.empty(mu.shape[:-1], mu.dtype), np.empty_like(logvar)
        loop(mu, logvar, kl, dlogvar)
        return kl, mu.copy(), dlogvar

    def run_out(mu, logvar):
        kl, dmu, dlogvar = reused_outputs("numba naive", mu)
        loop(mu, logvar, kl, dlogvar)
        np.copyto(dmu, mu)
        return kl, dmu, dlogvar

    return run, run_out


def torch_peer():
    """torch autograd: value forward, gradients by backward (CPU)."""
    import torch

    def run(mu, logvar):
        m = torch.from_numpy(mu).requires_grad_()
        v = torch.from_numpy(logvar).requires_grad_()
        kl = -0.5 * torch.sum(1 + v - m**2 - torch.exp(v), dim=-1)
        kl.sum().backward()
        return kl.detach().numpy(), m.grad.numpy(), v.grad.numpy()

    return run


def jax_peer():
    """jax.jit(value_and_grad) of the summed KL, per-row values alongside."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def rows(mu, logvar):
        kl = -0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar), axis=-1)
        return kl.sum(), kl

    f = jax.jit(jax.value_and_grad(rows, argnums=(0, 1), has_aux=True))

    def run(mu, logvar):
        (_, kl), (dmu, dlv) = f(mu, logvar)
        kl.block_until_ready()
        return np.asarray(kl), np.asarray(dmu), np.asarray(dlv)

    return run


EXPM1_PASS = "np.expm1 pass (bound)"
_POOL = ThreadPoolExecutor(2)
_PASS_OUT = {}


def one_pass(ufunc, *inputs):
    """``ufunc(*inputs)`` into a preallocated array, in two threads for large inputs; small
    ones in one call, where starting threads would cost more than the pass."""
    out = _PASS_OUT.setdefault((ufunc, inputs[0].shape, inputs[0].dtype), np.empty_like(inputs[0]))
    if out.size < 1 << 18:
        return ufunc(*inputs, out=out), None, None
    half = out.shape[0] // 2
    parts = [slice(0, half), slice(half, None)]
    for f in [_POOL.submit(ufunc, *(a[p] for a in inputs), out=out[p]) for p in parts]:
        f.result()
    return out, None, None


def floor(mu, logvar):
    """One pass reading mu and logvar and writing one array: the memory-traffic floor of any
    kernel that reads both inputs."""
    return one_pass(np.add, mu, logvar)


def expm1_pass(mu, logvar):
    """One np.expm1 pass over logvar: less than any numpy kernel of the accurate KL must do,
    since it needs expm1 of the log-variances and more passes besides."""
    return one_pass(np.expm1, logvar)


def peers():
    """name -> callable, for every implementation that can run here."""
    found = {"generated (numpy)": generated, "naive numpy": naive}
    optional = {  # names -> a maker of that many callables
        ("generated (numba)", "generated (numba, out=)"): numba_generated_peers,
        ("sympy.lambdify(cse)",): lambda: (lambdify_peer(),),
        ("numba naive loop", "numba naive loop, out="): numba_naive_peers,
        ("torch autograd",): lambda: (torch_peer(),),
        ("jax.jit(value_and_grad)",): lambda: (jax_peer(),),
    }
    for names, make in optional.items():
        try:
            found.update(zip(names, make(), strict=True))
        except ImportError as err:
            print(f"note: {', '.join(names)} skipped ({err.name} not installed)")
    return found


def bench(shape, dtype, logvar_mean, impls, rounds):
    rng = np.random.default_rng(0)
    mu = rng.normal(size=shape).astype(dtype)
    logvar = rng.normal(logvar_mean, 1.0, size=shape).astype(dtype)
    min_seconds = 0.02 if np.prod(shape) < 1e5 else 0.3
    for f in impls.values():  # warm up (compile) and check they agree
        np.testing.assert_allclose(f(mu, logvar)[0], naive(mu, logvar)[0], rtol=1e-3)
    bounds = [("floor", floor), (EXPM1_PASS, expm1_pass)]
    times = {name: [] for name in [*impls, *dict(bounds)]}
    for _ in range(rounds):
        for name, f in [*impls.items(), *bounds]:
            times[name].append(time_call(f, (mu, logvar), min_seconds))
    return {name: statistics.median(t) for name, t in times.items()}


def report(title, medians):
    base = medians["naive numpy"]
    print(f"\n{title}: median time per call")
    for name, t in sorted(medians.items(), key=lambda kv: kv[1]):
        unit, scale = ("us", 1e6) if t < 1e-3 else ("ms", 1e3)
        print(f"  {name:26s} {t * scale:9.2f} {unit}   {t / base:5.2f}x naive")
    not_peers = ("generated", "floor", EXPM1_PASS)
    fastest_peer = min(t for n, t in medians.items() if not n.startswith(not_peers))
    for name in [n for n in medians if n.startswith("generated")]:
        t = medians[name]
        print(
            f"  {name}: {t / base:.2f}x naive, {t / fastest_peer:.2f}x the fastest peer, "
            f"{t / medians['floor']:.1f}x the floor"
        )


def peak_extra_memory(shape, dtype):
    """Peak bytes allocated by one generated call beyond its outputs, and one (B, D) array."""
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    out = (np.empty(shape[:-1], dtype), np.empty(shape, dtype), np.empty(shape, dtype))
    tracemalloc.start()
    kl_std_normal_value_and_grad(mu, logvar, out=out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, mu.nbytes


def accuracy(impls):
    """Each implementation's per-element term at logvar = 1e-8 (exact: 2.5e-17 + ...)."""
    import mpmath

    mpmath.mp.dps = 50
    lv = 1e-8
    exact = float((mpmath.expm1(mpmath.mpf(lv)) - mpmath.mpf(lv)) / 2)
    mu, logvar = np.zeros((1, 1)), np.full((1, 1), lv)
    print(f"\nper-element KL at logvar = 1e-8, mu = 0 (exact {exact:.6e}), float64:")
    for name, f in impls.items():
        got = float(np.asarray(f(mu, logvar)[0])[0])
        print(f"  {name:26s} {got: .6e}   relative error {abs(got - exact) / exact:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args()
    impls = peers()
    for label in args.sizes:
        shape, dtype = SIZES[label]
        for dist, mean in (("randn", 0.0), ("wide", -4.0)):
            title = f"{label} = {shape}, {np.dtype(dtype).name}, logvar {dist}"
            report(title, bench(shape, dtype, mean, impls, args.rounds))
    if "L" in args.sizes:
        peak, array = peak_extra_memory(*SIZES["L"])
        print(
            f"\npeak extra memory at L with out=: {peak / 2**20:.1f} MiB "
            f"(one (B, D) array: {array / 2**20:.0f} MiB)"
        )
    accuracy(impls)
    print()
    mvn_cholesky_benchmark(["--rounds", str(args.rounds)])


if __name__ == "__main__":
    main()
