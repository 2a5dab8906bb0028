"""Benchmark: the trainer's BCE (vae/model.py ``bce_and_grad``: the generated
``nll_bernoulli_value_and_grad``, numpy, and its numba twin when installed) against the
float32 formula the trainer used before it (log(1 + e^-|l|) + max(l, 0) - x l, below),
value and dlogits of a batch of MNIST-sized logits, and a whole training step
(``loss_and_grad``) with each of them, every peer timed in a process of its own on one
thread.

The children alternate round by round, so background load hits them alike. Printed per
shape: the median over rounds of each peer's median call time, as wall time and as the
process's CPU time (which a loaded machine inflates far less: a child descheduled mid-call
keeps its CPU time), the ratios to the float32 formula, and the load average before and
after. Ratios are printed, never asserted.

    python bench/trainer_bce.py [--rounds N] [--batches 128 512]
"""

import argparse
import os
import statistics
import subprocess
import sys

PIXELS, LATENT = 784, 20
# The float32 BCE the trainer had before it called the kernel: 2^-24 absolute per pixel.
FORMULA_BCE = """
def formula_bce(logits, x, work, grad):
    t = np.abs(logits, out=work("bce", logits.shape))
    np.negative(t, out=t)
    np.exp(t, out=t)
    t += 1
    np.log(t, out=t)
    term = np.maximum(logits, 0, out=work("bce_term", logits.shape))
    t += term
    t -= np.multiply(x, logits, out=term)
    total = t.sum()
    model.sigmoid(logits, out=grad)
    grad -= x
    return float(total)
"""
CHILD = """
import statistics, time
import numpy as np
from klgen.vae import model, train
rng, batch, side = np.random.default_rng(0), {batch}, {side!r}
logits = rng.normal(-2, 4, (batch, {pixels})).astype(np.float32)
x = rng.uniform(0, 1, (batch, {pixels})).astype(np.float32)
work, grad = model.Workspace(), np.empty_like(logits)
if "numba" in side:
    from klgen.generated.nll_bernoulli_numba import nll_bernoulli_value_and_grad

    model.nll_bernoulli_value_and_grad = nll_bernoulli_value_and_grad
{formula}
bce = formula_bce if side.endswith("formula") else model.bce_and_grad
if side.startswith("step"):
    model.bce_and_grad = bce
    params = train.new_state(train.Settings(batch_size=batch, seed=1)).params
    grads, eps = params.zeros_like(), rng.standard_normal((batch, {latent}), dtype=np.float32)
    images = rng.uniform(0, 1, (batch, {pixels})).astype(np.float32)

    def call():
        model.loss_and_grad(params, images, eps, 1.0, grads, work)
else:

    def call():
        bce(logits, x, work, grad)
for _ in range(5):
    call()
walls, cpus = [], []
for _ in range(31):
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
print(statistics.median(walls), statistics.median(cpus))
"""
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def time_in_child(batch: int, side: str) -> tuple[float, float]:
    """(wall, CPU) median seconds of one call of ``side`` at ``batch`` rows, in a child."""
    code = CHILD.format(batch=batch, side=side, pixels=PIXELS, latent=LATENT, formula=FORMULA_BCE)
    env = os.environ | THREADS | {"KLGEN_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{side} at {batch}: {done.stderr.strip().splitlines()[-1]}")
    wall, cpu = map(float, done.stdout.split())
    return wall, cpu


def sides() -> list[str]:
    found = subprocess.run([sys.executable, "-c", "import numba"], capture_output=True)
    kernels = ["numpy", "numba"] if found.returncode == 0 else ["numpy"]
    return ["formula", *kernels, "step formula", "step numpy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 512])
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}  one thread, float32, {PIXELS} pixels")
    print(f"{'batch':>5}  {'peer':<13}{'wall ms':>10}{'CPU ms':>10}{'CPU / formula':>15}")
    for batch in args.batches:
        peers = sides()
        runs = {side: [] for side in peers}
        for _ in range(args.rounds):
            for side in peers:
                runs[side].append(time_in_child(batch, side))
        medians = {s: [statistics.median(t[i] for t in runs[s]) for i in (0, 1)] for s in peers}
        for side, (wall, cpu) in medians.items():
            base = medians["step formula" if side.startswith("step") else "formula"][1]
            print(f"{batch:>5}  {side:<13}{wall * 1e3:>10.3f}{cpu * 1e3:>10.3f}{cpu / base:>15.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
