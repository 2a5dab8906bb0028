"""Benchmark: issue #16's speed targets for the default numpy kernels, each peer in its own process.

The generated numpy ``value_and_grad`` of kl_std_normal and kl_diag_normal against the naive
formula a VAE codebase types (value and gradients, numpy, the exponentials shared), at
S = (128, 20) and L = (16384, 512), float32 and float64, with two logvar distributions:
"randn" (every argument ~ N(0, 1): most log-variance differences within 1 of zero, where the
generated kernels sum a series to stay accurate) and "wide" (logvar ~ N(-4, 1), the prior's
logvar_p ~ N(0, 1), as in a trained VAE's active dimensions). The numba twin is timed too
when numba is installed (it must stay ahead of every peer).

Each peer runs in a child process of its own (one per peer and round, alternating the order
every round, so drifting machine load hits all alike); a child times every case after a
warm-up as the median of five timings of enough calls to last --seconds / 5 each, by the
wall clock and then by the process's CPU time, allocating its outputs each call as a user's
call does. Printed: the median over rounds, the ratio to the naive formula by each clock,
each target with its bound and met / NOT MET by each, and the load average before and after
(this machine is small and shared: with a load above its two cores the wall-clock ratios
mostly measure the other processes).

--sweep instead times the generated numpy kernel (and the naive formula) at D = 64 for
B = 1, 2, 4, ... 2**20 rows and prints the time per element and its ratio to the previous B
(the target: no step up of more than 10%; a step down is the fixed cost spreading out), by
CPU time (the process's own, all threads: a busy machine's waits left out).

    python bench/numpy_targets.py [--rounds N] [--seconds S]
    python bench/numpy_targets.py --sweep [--dtype float32] [--rounds N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

PEERS = ("generated", "naive", "numba")
SHAPES = {"S": (128, 20), "L": (16384, 512)}
# (kernel, shape label, dtype, logvar distribution)
CASES = [
    (kernel, label, dtype, dist)
    for kernel in ("kl_std_normal", "kl_diag_normal")
    for label, dtype, dist in (
        ("S", "float32", "randn"),
        ("L", "float32", "randn"),
        ("L", "float64", "randn"),
        ("L", "float64", "wide"),
    )
]
# (shape label, dtype, distribution) -> the largest generated / naive time ratio allowed
TARGETS = {
    ("S", "float32", "randn"): 1.0,
    ("L", "float32", "randn"): 0.8,
    ("L", "float64", "randn"): 1.2,
    ("L", "float64", "wide"): 0.8,
}
SWEEP_LATENT = 64
SWEEP_ROWS = [2**k for k in range(21)]


def inputs(kernel, shape, dtype, dist, seed=0):
    """The kernel's arguments: means ~ N(0, 1); logvar ~ N(0, 1) ("randn") or N(-4, 1)
    ("wide"); kl_diag_normal's prior logvar_p ~ N(0, 1) in both."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=shape).astype(dtype)
    logvar = rng.normal(0.0 if dist == "randn" else -4.0, 1.0, size=shape).astype(dtype)
    if kernel == "kl_std_normal":
        return mu, logvar
    return mu, logvar, rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)


def naive_std_normal(mu, logvar):
    """The formula every VAE codebase types, with its gradients; e^logvar formed once."""
    e = np.exp(logvar)
    kl = -0.5 * np.sum(1 + logvar - mu**2 - e, axis=-1)
    return kl, (mu.copy(), 0.5 * (e - 1))


def naive_diag_normal(mu, logvar, mu_p, logvar_p):
    """KL(N(mu, e^logvar) || N(mu_p, e^logvar_p)) as typed, with its gradients; each
    exponential formed once."""
    ratio = np.exp(logvar - logvar_p)
    d = mu - mu_p
    dmu = d * np.exp(-logvar_p)
    kl = 0.5 * np.sum(logvar_p - logvar + ratio + d * dmu - 1, axis=-1)
    return kl, (dmu, 0.5 * (ratio - 1), -dmu, 0.5 * (1 - ratio - d * dmu))


def function(peer, kernel):
    """The value_and_grad callable of ``peer`` for ``kernel``."""
    if peer == "naive":
        return {"kl_std_normal": naive_std_normal, "kl_diag_normal": naive_diag_normal}[kernel]
    module = f"klgen.generated.{kernel}" + ("_numba" if peer == "numba" else "")
    return getattr(__import__(module, fromlist=["_"]), f"{kernel}_value_and_grad")


def time_call(f, args, seconds, clock=time.perf_counter):
    """Seconds per call of f(*args) by ``clock``: the median of five timings of enough
    calls to last ``seconds`` / 5 each."""
    calls = 1
    while True:
        start = clock()
        for _ in range(calls):
            f(*args)
        elapsed = clock() - start
        if elapsed >= seconds / 5:
            break
        calls *= 2
    samples = []
    for _ in range(5):
        start = clock()
        for _ in range(calls):
            f(*args)
        samples.append((clock() - start) / calls)
    return statistics.median(samples)


def child(peer, cases, seconds):
    """In the child process: {case key: seconds per call} for one peer."""
    times = {}
    for kernel, shape, dtype, dist in cases:
        f = function(peer, kernel)
        args = inputs(kernel, tuple(shape), dtype, dist)
        for _ in range(3):  # warm up (compile, grow the heap)
            f(*args)
        key = json.dumps([kernel, shape, dtype, dist])
        times[key] = time_call(f, args, seconds)
        times["cpu " + key] = time_call(f, args, seconds, time.process_time)
    return times


def run_child(peer, cases, seconds):
    """One child process timing ``peer`` on ``cases``; None when numba is not installed."""
    command = [sys.executable, __file__, "--child", peer, "--seconds", str(seconds)]
    done = subprocess.run(command, input=json.dumps(cases), capture_output=True, text=True)
    if done.returncode != 0:
        if peer == "numba" and "No module named 'numba'" in done.stderr:
            return None
        raise RuntimeError(f"{peer}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def rounds(peers, cases, n, seconds):
    """Per peer, the median over ``n`` rounds of each case's time; the peers' order is
    reversed every round."""
    samples = {peer: [] for peer in peers}
    for r in range(n):
        for peer in peers if r % 2 == 0 else peers[::-1]:
            if samples[peer] is None:
                continue
            times = run_child(peer, cases, seconds)
            if times is None:
                print(f"note: {peer} skipped (numba is not installed)")
            samples[peer] = None if times is None else [*samples[peer], times]
    return {
        peer: {key: statistics.median(t[key] for t in s) for key in s[0]}
        for peer, s in samples.items()
        if s
    }


def report_targets(medians):
    """One line per case: each peer's wall time and its ratio to naive, the same ratio of
    CPU times (the process's own time: a busy machine's waits left out), the target and its
    verdict by each clock."""
    print(
        f"{'kernel':15} {'case':4} {'dtype':8} {'logvar':6} {'naive':>10} {'generated':>10} "
        f"{'gen/naive':>9} {'cpu ratio':>9} {'target':>7} {'wall':7} {'cpu':7} "
        f"{'numba/naive':>11}"
    )
    for kernel, label, dtype, dist in CASES:
        key = json.dumps([kernel, SHAPES[label], dtype, dist])
        naive, generated = medians["naive"][key], medians["generated"][key]
        cpu = medians["generated"]["cpu " + key] / medians["naive"]["cpu " + key]
        bound = TARGETS[(label, dtype, dist)]
        ratio = generated / naive
        wall, by_cpu = ("met" if r <= bound else "NOT MET" for r in (ratio, cpu))
        numba = f"{medians['numba'][key] / naive:11.2f}" if "numba" in medians else ""
        print(
            f"{kernel:15} {label:4} {dtype:8} {dist:6} {naive * 1e3:8.3f}ms "
            f"{generated * 1e3:8.3f}ms {ratio:9.2f} {cpu:9.2f} {'<=' + str(bound):>7} "
            f"{wall:7} {by_cpu:7} {numba}"
        )


def report_sweep(medians, dtype):
    """Per B: time per element of each peer, and the generated kernel's step from the
    previous B (the target: every step <= 1.10)."""
    print(f"kl_std_normal_value_and_grad, D = {SWEEP_LATENT}, {dtype}: CPU ns per element")
    print(f"{'B':>8} {'naive':>9} {'generated':>10} {'gen step':>9}")
    previous, worst = None, 0.0
    for rows in SWEEP_ROWS:
        key = "cpu " + json.dumps(["kl_std_normal", [rows, SWEEP_LATENT], dtype, "randn"])
        per = {p: m[key] / (rows * SWEEP_LATENT) * 1e9 for p, m in medians.items()}
        step = "" if previous is None else f"{per['generated'] / previous:9.2f}"
        if previous is not None:
            worst = max(worst, per["generated"] / previous)
        previous = per["generated"]
        print(f"{rows:>8} {per['naive']:9.3f} {per['generated']:10.3f} {step}")
    verdict = "met" if worst <= 1.10 else "NOT MET"
    print(f"largest step up of the generated kernel: {worst:.2f} (target <= 1.10: {verdict})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.25, help="per case, in a child")
    parser.add_argument("--sweep", action="store_true", help="the B sweep at D = 64")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, json.load(sys.stdin), args.seconds)))
        return 0
    threads = os.environ.get("KLGEN_NUM_THREADS") or os.cpu_count()
    print(f"median of {args.rounds} processes per peer; KLGEN_NUM_THREADS {threads}")
    print(f"load average before: {os.getloadavg()}")
    if args.sweep:
        cases = [("kl_std_normal", [b, SWEEP_LATENT], args.dtype, "randn") for b in SWEEP_ROWS]
        report_sweep(rounds(PEERS[:2], cases, args.rounds, args.seconds), args.dtype)
    else:
        cases = [(k, SHAPES[label], dt, dist) for k, label, dt, dist in CASES]
        report_targets(rounds(PEERS, cases, args.rounds, args.seconds))
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
