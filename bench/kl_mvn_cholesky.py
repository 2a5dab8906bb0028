"""Benchmark: full-covariance KL, value and value + grad, generated kernel vs torch.distributions.

KL(N(m0, L0 L0^T) || N(m1, L1 L1^T)) in float64 at every batch size B and dimension k
asked for (default B in {256, 4096}, k in {2, 8, 32, 128}). Two operations per peer:

- value: the generated ``kl_mvn_cholesky``; torch.distributions' MultivariateNormal KL
  with ``scale_tril`` and ``validate_args=False``, inputs without gradients;
- value + grad: the generated ``kl_mvn_cholesky_value_and_grad``; torch's KL forward and
  the autograd backward of its sum (fresh leaves each call).

Each peer runs in its own process (torch's import and thread pool do not touch the
generated kernel's), one process per peer and round, alternating (generated, torch,
torch, generated, ...) so drifting machine load hits both alike. A process times every
size, after a warm-up call, as the mean of enough calls to last --seconds, by the wall
clock and then by the process's CPU time; the printed times are the medians over --rounds
processes, with the ratio of each clock's medians. torch gets its inputs with
``torch.from_numpy`` (no copy). Both use every core: torch its intra-op threads, the
generated kernel slices of large batches over KLGEN_NUM_THREADS threads (default: the
core count). The load average is printed before and after, so a noisy run shows. Ratios
are printed, never asserted; without torch only the generated kernel is timed.

--threads N holds both to N threads (on a loaded machine torch's spinning intra-op threads
can lose whole time slices; one thread each is the steadier comparison).

    python bench/kl_mvn_cholesky.py [--rounds N] [--batch B ...] [--k K ...] [--threads N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

PEERS = ("generated", "torch")
MODES = ("value", "value+grad")


def inputs(batch, k, seed=0):
    """Means ~ N(0, 1); factors with N(0, 0.3^2) below the diagonal and e^N(0, 0.3^2) on it."""
    rng = np.random.default_rng(seed)

    def factor():
        below = np.tril(rng.normal(scale=0.3, size=(batch, k, k)), -1)
        return below + np.exp(rng.normal(scale=0.3, size=(batch, k)))[..., None] * np.eye(k)

    return rng.normal(size=(batch, k)), factor(), rng.normal(size=(batch, k)), factor()


def generated_calls():
    """The generated kernel's value and value + grad functions."""
    from klgen.generated.kl_mvn_cholesky import kl_mvn_cholesky, kl_mvn_cholesky_value_and_grad

    return {"value": kl_mvn_cholesky, "value+grad": kl_mvn_cholesky_value_and_grad}


def torch_calls(threads):
    """torch.distributions' KL (validate_args=False): the value, and the value with the
    autograd gradients of its sum; on ``threads`` intra-op threads (0: torch's default)."""
    import torch
    from torch.distributions import MultivariateNormal, kl_divergence

    if threads:
        torch.set_num_threads(threads)

    def kl(leaves):
        q = MultivariateNormal(leaves[0], scale_tril=leaves[1], validate_args=False)
        p = MultivariateNormal(leaves[2], scale_tril=leaves[3], validate_args=False)
        return kl_divergence(q, p)

    def value(*arrays):
        with torch.no_grad():
            return kl([torch.from_numpy(a) for a in arrays])

    def value_and_grad(*arrays):
        leaves = [torch.from_numpy(a).requires_grad_() for a in arrays]
        result = kl(leaves)
        result.sum().backward()
        return result, [leaf.grad for leaf in leaves]

    return {"value": value, "value+grad": value_and_grad}


def time_call(f, args, min_seconds, clock=time.perf_counter):
    """Seconds per call of f(*args) by ``clock``, over enough calls to last about
    min_seconds of it."""
    calls = 1
    while True:
        start = clock()
        for _ in range(calls):
            f(*args)
        elapsed = clock() - start
        if elapsed >= min_seconds:
            return elapsed / calls
        calls *= 2


def child(peer, sizes, seconds, threads):
    """In the child process: {"B,k,mode": seconds per call} for one peer."""
    calls = generated_calls() if peer == "generated" else torch_calls(threads)
    times = {}
    for batch, k in sizes:
        data = inputs(batch, k)
        for mode, f in calls.items():
            f(*data)  # warm up
            times[f"{batch},{k},{mode}"] = time_call(f, data, seconds)
            times[f"{batch},{k},{mode},cpu"] = time_call(f, data, seconds, time.process_time)
    return times


def run_child(peer, sizes, seconds, threads):
    """One child process timing ``peer`` at every size; its times, or None without torch.
    With ``threads``, both peers are held to that many threads (the generated kernel's
    slices and numpy's BLAS; torch's intra-op threads)."""
    spec = ";".join(f"{b},{k}" for b, k in sizes)
    command = [sys.executable, __file__, "--child", peer, "--sizes", spec]
    command += ["--seconds", str(seconds), "--threads", str(threads or 0)]
    env = dict(os.environ)
    if threads:
        env.update(KLGEN_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        if peer == "torch" and "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"{peer}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def rounds(sizes, n, seconds, threads):
    """Per peer, the list of each round's times; peers alternate, starting side swapped
    every round (generated, torch, torch, generated, ...)."""
    samples = {peer: [] for peer in PEERS}
    for r in range(n):
        for peer in PEERS if r % 2 == 0 else PEERS[::-1]:
            if samples[peer] is None:
                continue
            times = run_child(peer, sizes, seconds, threads)
            if times is None:
                print("note: torch is not installed; only the generated kernel is timed")
                samples[peer] = None
                continue
            samples[peer].append(times)
    return {peer: s for peer, s in samples.items() if s}


def report(samples, sizes):
    """One line per (B, k, mode): each peer's median wall time, generated / torch, and the
    same ratio of CPU times (all the process's threads; a busy machine's waits left out)."""
    print(
        f"{'B':>6} {'k':>4} {'operation':>11} {'generated':>12} {'torch':>12} "
        f"{'gen/torch':>10} {'cpu ratio':>10}"
    )
    for batch, k in sizes:
        for mode in MODES:
            key = f"{batch},{k},{mode}"
            median = {p: statistics.median(t[key] for t in s) for p, s in samples.items()}
            cpu = {p: statistics.median(t[key + ",cpu"] for t in s) for p, s in samples.items()}
            gen = median["generated"]
            cells = f"{gen * 1e3:9.3f} ms"
            if "torch" in median:
                cells += f" {median['torch'] * 1e3:9.3f} ms {gen / median['torch']:10.2f}"
                cells += f" {cpu['generated'] / cpu['torch']:10.2f}"
            print(f"{batch:>6} {k:>4} {mode:>11} {cells}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--k", type=int, nargs="+", default=[2, 8, 32, 128])
    parser.add_argument("--seconds", type=float, default=0.2, help="per timing, in a child")
    parser.add_argument("--threads", type=int, default=0, help="threads per peer (0: all)")
    parser.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sizes = [tuple(int(n) for n in s.split(",")) for s in args.sizes.split(";")]
        print(json.dumps(child(args.child, sizes, args.seconds, args.threads)))
        return 0
    sizes = [(b, k) for b in args.batch for k in args.k]
    if args.threads:
        threads = f"both peers {args.threads} thread(s)"
    else:
        threads = os.environ.get("KLGEN_NUM_THREADS") or os.cpu_count()
        threads = f"generated {threads} threads, torch its default intra-op threads"
    print(f"kl_mvn_cholesky, float64, median of {args.rounds} processes per peer; {threads}")
    print(f"load average before: {os.getloadavg()}")
    samples = rounds(sizes, args.rounds, args.seconds, args.threads)
    report(samples, sizes)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
