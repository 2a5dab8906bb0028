"""Benchmark: full-covariance KL value + gradients, generated kernel vs torch.distributions.

KL(N(m0, L0 L0^T) || N(m1, L1 L1^T)) at B = 1024, k = 32, float64. The generated kernel's
``kl_mvn_cholesky_value_and_grad`` is timed against torch.distributions' MultivariateNormal
KL with ``scale_tril`` (value, then autograd backward of the sum), both in this process,
warmed up and interleaved round by round so machine noise hits both alike. torch gets its
inputs with ``torch.from_numpy`` (no copy), fresh leaves each call. Both use every core:
torch its intra-op threads (torch.get_num_threads()), the generated kernel slices of the
batch over KLGEN_NUM_THREADS threads (default: the core count; set it to 1 to time one
thread). Median per-call times and their ratio are printed, never asserted. torch is
optional: without it only the generated kernel is timed, with a note.

    python bench/kl_mvn_cholesky.py [--rounds N] [--batch B] [--k K]
"""

import argparse
import os
import statistics
import time

import numpy as np

from klgen.generated.kl_mvn_cholesky import kl_mvn_cholesky_value_and_grad


def inputs(batch, k, seed=0):
    """Means ~ N(0, 1); factors with N(0, 0.3^2) below the diagonal and e^N(0, 0.3^2) on it."""
    rng = np.random.default_rng(seed)

    def factor():
        below = np.tril(rng.normal(scale=0.3, size=(batch, k, k)), -1)
        return below + np.exp(rng.normal(scale=0.3, size=(batch, k)))[..., None] * np.eye(k)

    return rng.normal(size=(batch, k)), factor(), rng.normal(size=(batch, k)), factor()


def generated(m0, L0, m1, L1):
    return kl_mvn_cholesky_value_and_grad(m0, L0, m1, L1)


def torch_peer():
    """torch.distributions' KL and autograd gradients, or None when torch is missing."""
    try:
        import torch
        from torch.distributions import MultivariateNormal, kl_divergence
    except ImportError:
        return None

    def run(m0, L0, m1, L1):
        leaves = [torch.from_numpy(a).requires_grad_() for a in (m0, L0, m1, L1)]
        q = MultivariateNormal(leaves[0], scale_tril=leaves[1])
        p = MultivariateNormal(leaves[2], scale_tril=leaves[3])
        kl = kl_divergence(q, p)
        kl.sum().backward()
        return kl, [leaf.grad for leaf in leaves]

    run.threads = torch.get_num_threads()
    return run


def time_call(f, args, min_seconds):
    """Seconds per call of f(*args), over enough calls to last about min_seconds."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            f(*args)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls
        calls *= 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--k", type=int, default=32)
    args = parser.parse_args(argv)
    data = inputs(args.batch, args.k)
    peers = {"generated": generated}
    torch_run = torch_peer()
    if torch_run is None:
        print("note: torch is not installed; only the generated kernel is timed")
    else:
        peers["torch.distributions"] = torch_run
    for f in peers.values():  # warm up (and let torch load its kernels)
        f(*data)
    times = {name: [] for name in peers}
    for _ in range(args.rounds):
        for name, f in peers.items():
            times[name].append(time_call(f, data, 0.2))
    print(
        f"kl_mvn_cholesky value + grad, B={args.batch}, k={args.k}, float64 "
        f"(median of {args.rounds} rounds)"
    )
    threads = os.environ.get("KLGEN_NUM_THREADS") or os.cpu_count()
    torch_threads = "" if torch_run is None else f", torch {torch_run.threads} threads"
    print(f"  threads: generated {threads}{torch_threads}")
    base = statistics.median(times["generated"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:22s} {median * 1e3:8.2f} ms   {median / base:5.2f} x generated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
