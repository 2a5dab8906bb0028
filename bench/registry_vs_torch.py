"""Benchmark: every shipped kernel (specs/) against torch's own formula for the same quantity,
value and gradients at (4096, 64) float32, each side timed in a process of its own.

klgen runs ``NAME_value_and_grad`` (numpy, and numba when installed); torch (2.13.0 here,
CPU) its formula from tests/peers.py with autograd for the gradients. The children of the
sides alternate round by round, so background load hits them alike. Printed per kernel: the
median over rounds of each side's median call time, the ratios to torch, and the load
average before and after. Ratios are printed, never asserted.

    python bench/registry_vs_torch.py [--rounds N] [--only NAME ...]
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPE = (4096, 64)
KERNELS = {  # name -> the inputs' maker (numpy as np, rng, the shape); x of nll_bernoulli in [0, 1]
    "kl_bernoulli": "[rng.normal(0, 3, shape), rng.normal(0, 3, shape)]",
    "nll_bernoulli": "[rng.normal(0, 3, shape), rng.uniform(0, 1, shape)]",
    "nll_gaussian": "[rng.normal(0, 1, shape), rng.normal(0, 1, shape), rng.normal(0, 1, shape)]",
    "kl_poisson": "[rng.normal(0, 1, shape), rng.normal(0, 1, shape)]",
    "kl_gamma": "[rng.normal(0, 1, shape) for _ in range(4)]",
    "kl_beta": "[rng.normal(0, 1, shape) for _ in range(4)]",
    "kl_laplace": "[rng.normal(0, 1, shape) for _ in range(4)]",
    "nll_continuous_bernoulli": "[rng.normal(0, 3, shape), rng.uniform(0, 1, shape)]",
    "kl_categorical": "[rng.normal(0, 3, shape), rng.normal(0, 3, shape)]",  # 64 categories
    "kl_dirichlet": "[rng.normal(0, 1, shape), rng.normal(0, 1, shape)]",  # 64 components
}
CHILD = """
import statistics, sys, time
import numpy as np
sys.path.insert(0, {tests!r})
rng, shape = np.random.default_rng(0), {shape!r}
args = [a.astype(np.float32) for a in {maker}]
if {side!r} == "torch":
    import torch
    from peers import formulas
    formula = formulas()[{name!r}]
    tensors = [torch.tensor(a, requires_grad=True) for a in args]

    def call():
        value = formula(*tensors).sum(-1)
        return value, torch.autograd.grad(value.sum(), tensors)
else:
    import importlib
    suffix = "" if {side!r} == "numpy" else "_numba"
    module = importlib.import_module("klgen.generated.{name}" + suffix)
    function = getattr(module, "{name}_value_and_grad")

    def call():
        return function(*args)
for _ in range(5):
    call()
times = []
for _ in range(21):
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def time_in_child(name: str, side: str) -> float:
    code = CHILD.format(
        tests=str(ROOT / "tests"), shape=SHAPE, maker=KERNELS[name], side=side, name=name
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name} ({side}): {done.stderr.strip().splitlines()[-1]}")
    return float(done.stdout)


def available(module: str) -> bool:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return done.returncode == 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these kernels")
    args = parser.parse_args(argv)
    if not available("torch"):
        raise SystemExit("torch is not installed: pip install torch==2.13.0")
    sides = ["numpy", *(["numba"] if available("numba") else []), "torch"]
    print(f"load average before: {os.getloadavg()}  shape {SHAPE} float32, value + gradients")
    header = "".join(f"{s:>11}" for s in sides)
    names = args.only or list(KERNELS)
    width = max(map(len, names)) + 2
    print(f"{'kernel':{width}}{header}" + "".join(f"{s + '/torch':>14}" for s in sides[:-1]))
    for name in names:
        times = {side: [] for side in sides}
        for _ in range(args.rounds):
            for side in sides:
                times[side].append(time_in_child(name, side))
        median = {side: statistics.median(t) * 1e3 for side, t in times.items()}
        cells = "".join(f"{median[s]:9.2f}ms" for s in sides)
        ratios = "".join(f"{median[s] / median['torch']:14.2f}" for s in sides[:-1])
        print(f"{name:{width}}{cells}{ratios}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
