"""Benchmark: the std-normal KL forward + backward in torch and JAX, klgen's against the peers.

torch peers: klgen's operator (generated.kl_std_normal_torch), the formula every VAE types
(-0.5 * sum(1 + lv - mu^2 - e^lv), differentiated by autograd) and torch.distributions'
kl_divergence, each eager and under torch.compile (fullgraph=True but for kl_divergence,
whose dispatch breaks the graph). JAX peers: klgen's function
(generated.kl_std_normal_jax) and the formula, each as jit(value_and_grad). Shapes (128, 20)
and (16384, 512), float32 (JAX with its default x64 off). Each peer runs in its own process
(fresh caches, one thread count: torch's set_num_threads; XLA sizes its thread pool by the
CPUs a process may run on, so a JAX worker is confined to ``--threads`` CPUs), alternating
round by round so background load hits all alike; printed: the median time of a forward +
backward, its ratio to the formula's in the same framework and mode, and each peer's float32
error at logvar = 1e-8 in ulps against mpmath (KL = (e^lv - 1 - lv)/2 = lv^2/4 there),
with the load average before and after.

    python bench/frameworks.py [--rounds 3] [--threads 2] [--frameworks torch,jax]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SHAPES = ((128, 20), (16384, 512))
PEERS = [
    ("torch", p, m) for p in ("klgen", "formula", "distributions") for m in ("eager", "compiled")
]
PEERS += [("jax", p, "jit") for p in ("klgen", "formula")]
REPEATS = {(128, 20): 200, (16384, 512): 5}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def torch_loss(peer: str, mode: str):
    """The summed KL of a batch as a function of (mu, logvar), for ``peer``."""
    import torch
    from torch.distributions import Normal, kl_divergence

    from klgen.generated.kl_std_normal_torch import kl_std_normal

    def klgen(mu, logvar):
        return kl_std_normal(mu, logvar).sum()

    def formula(mu, logvar):
        return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

    def distributions(mu, logvar):
        # validate_args=False: the checks are data-dependent branches torch.compile refuses.
        prior = Normal(torch.zeros_like(mu), torch.ones_like(mu), validate_args=False)
        posterior = Normal(mu, torch.exp(0.5 * logvar), validate_args=False)
        return kl_divergence(posterior, prior).sum()

    loss = {"klgen": klgen, "formula": formula, "distributions": distributions}[peer]
    if mode == "eager":
        return loss
    # kl_divergence's dispatch on the types breaks the graph (min over its registry's
    # matches): that peer is compiled around it, the others whole.
    return torch.compile(loss, fullgraph=peer != "distributions")


def torch_worker(peer: str, mode: str, shape) -> dict:
    import torch

    loss = torch_loss(peer, mode)
    mu = torch.randn(shape, requires_grad=True)
    logvar = torch.randn(shape, requires_grad=True)

    def step():
        mu.grad = logvar.grad = None
        loss(mu, logvar).backward()

    at = torch.tensor([[0.0, 1e-8]], requires_grad=True)
    value = loss(at[:, :1], at[:, 1:])
    return {"seconds": timed(step, REPEATS[shape]), "value": value.item()}


def jax_worker(peer: str, shape) -> dict:
    import jax
    import jax.numpy as jnp

    from klgen.generated.kl_std_normal_jax import kl_std_normal

    def klgen(mu, logvar):
        return kl_std_normal(mu, logvar).sum()

    def formula(mu, logvar):
        return -0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar))

    loss = {"klgen": klgen, "formula": formula}[peer]
    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    keys = jax.random.split(jax.random.key(0))
    mu, logvar = (jax.random.normal(k, shape) for k in keys)

    def run():
        jax.block_until_ready(step(mu, logvar))

    value, _ = step(jnp.zeros((1, 1)), jnp.full((1, 1), 1e-8))
    return {"seconds": timed(run, REPEATS[shape]), "value": float(value)}


def timed(step, repeats: int) -> float:
    """The median time of ``step`` over ``repeats`` calls, after three warm-up calls."""
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def error_ulps(value: float) -> float:
    """|value - KL| in float32 ulps of KL at mu = 0, logvar = fl32(1e-8)."""
    import mpmath
    import numpy as np

    lv = mpmath.mpf(float(np.float32(1e-8)))
    with mpmath.workdps(50):
        exact = (mpmath.expm1(lv) - lv) / 2
    spacing = float(np.spacing(np.float32(float(exact))))
    return float(abs(mpmath.mpf(value) - exact) / spacing)


def run(framework: str, peer: str, mode: str, shape, threads: int) -> dict:
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    command = [sys.executable, __file__, "--worker", framework, peer, mode]
    command += ["--shape", ",".join(map(str, shape)), "--threads", str(threads)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", nargs=3)
    parser.add_argument("--shape")
    parser.add_argument("--frameworks", default="torch,jax", help="whose peers to run")
    args = parser.parse_args()
    if args.worker:
        framework, peer, mode = args.worker
        shape = tuple(int(n) for n in args.shape.split(","))
        if framework == "torch":
            import torch

            torch.set_num_threads(args.threads)
            print(json.dumps(torch_worker(peer, mode, shape)))
        else:
            # Before jax is imported: XLA splits a fusion it deems costly over the CPUs it
            # may use, and on a 2-core machine under load the halves wait for each other
            # (klgen's (128, 20) step: 3x the formula's CPU time on two CPUs, 1.0-1.1x on one).
            os.sched_setaffinity(0, range(min(args.threads, os.cpu_count() or 1)))
            print(json.dumps(jax_worker(peer, shape)))
        return
    peers = [p for p in PEERS if p[0] in args.frameworks.split(",")]
    print(f"load average before: {os.getloadavg()}  float32, forward + backward")
    for shape in SHAPES:
        results: dict = {p: [] for p in peers}
        for _ in range(args.rounds):
            for key in peers:
                results[key].append(run(*key, shape, args.threads))
        print(f"\n{shape}: median ms, ratio to the formula, error at logvar = 1e-8 (ulps)")
        for framework, peer, mode in peers:
            ms = 1e3 * statistics.median(r["seconds"] for r in results[framework, peer, mode])
            base = results[framework, "formula", mode]
            ratio = ms / (1e3 * statistics.median(r["seconds"] for r in base))
            error = error_ulps(results[framework, peer, mode][0]["value"])
            name = f"{framework} {peer} ({mode})"
            print(f"  {name:32} {ms:10.3f} ms  x{ratio:5.2f}  {error:10.3g} ulps")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
