"""Benchmark: every generated kernel of this checkout against the same kernel of an earlier
commit, each timed in a process of its own.

A refactoring of the pipeline must not make a kernel slower. For each kernel (numpy and
numba, value + gradients, float64 and float32 inputs of a VAE's shape) a child process
imports ``klgen.generated`` from one of the two trees, warms up, and prints its median time
per call; the children of the two sides alternate round by round, so background load hits
both alike. Printed: the median over rounds of each side, the ratio after/before, and the
load average before and after the run (these machines are small and shared). Ratios are
printed, never asserted.

    python bench/before_after.py REV [--rounds N] [--only NAME ...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (module, function, input maker): the makers are source run in the child, with numpy as
# np, a seeded generator rng and the dtype dt.
DIAGONAL = "[rng.standard_normal((4096, 64)).astype(dt) for _ in range({n})]"
CHOLESKY = """[m0 := rng.standard_normal((1024, 32, 1)).astype(dt)[..., 0],
 L := np.tril(rng.standard_normal((1024, 32, 32)) * 0.1) + 2 * np.eye(32), m0.copy(), L.copy()]"""
ENCODER = "[rng.standard_normal((256, 128)), *rng.standard_normal((2, 256, 32))]"
KERNELS = [
    ("kl_std_normal", "kl_std_normal_value_and_grad", DIAGONAL.format(n=2), ("float64", "float32")),
    (
        "kl_std_normal_numba",
        "kl_std_normal_value_and_grad",
        DIAGONAL.format(n=2),
        ("float64", "float32"),
    ),
    (
        "kl_diag_normal",
        "kl_diag_normal_value_and_grad",
        DIAGONAL.format(n=4),
        ("float64", "float32"),
    ),
    (
        "kl_diag_normal_numba",
        "kl_diag_normal_value_and_grad",
        DIAGONAL.format(n=4),
        ("float64", "float32"),
    ),
    ("kl_mvn_cholesky", "kl_mvn_cholesky_value_and_grad", CHOLESKY, ("float64",)),
    ("kl_std_normal_encoder", "kl_std_normal_encoder_grad", ENCODER, ("float64",)),
]

# Calls before timing: a fresh process's first calls also pay for growing the heap (page
# faults), which depends on what it imported before; 30 calls reach the steady state here.
WARMUP = 30
CHILD = """
import statistics, sys, time
import numpy as np
sys.path.insert(0, {path!r})
import klgen
assert klgen.__file__.startswith({path!r}), klgen.__file__
from klgen.generated.{module} import {function} as f
rng, dt = np.random.default_rng(0), np.dtype({dtype!r})
args = {maker}
for _ in range({warmup}):
    f(*args)
times = []
for _ in range(15):
    start = time.perf_counter()
    f(*args)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def tree_of(rev: str, into: Path) -> Path:
    """A folder holding ``klgen`` as commit ``rev`` has it (git archive)."""
    package = into / "klgen"
    package.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", package], input=archive.stdout, check=True)
    return into


def this_tree(into: Path) -> Path:
    into.mkdir()
    (into / "klgen").symlink_to(ROOT)
    return into


def time_in_child(path: Path, module: str, function: str, maker: str, dtype: str) -> float:
    code = CHILD.format(
        path=str(path), module=module, function=function, maker=maker, dtype=dtype, warmup=WARMUP
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{module} ({path}): {done.stderr.strip().splitlines()[-1]}")
    return float(done.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit (e.g. a tag or a hash)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these modules")
    args = parser.parse_args(argv)
    kernels = [k for k in KERNELS if not args.only or k[0] in args.only]
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        sides = {
            args.rev: tree_of(args.rev, Path(tmp) / "before"),
            "this tree": this_tree(Path(tmp) / "after"),
        }
        print(f"{'kernel':52} {'before':>10} {'after':>10} {'after/before':>13}")
        for module, function, maker, dtypes in kernels:
            for dtype in dtypes:
                times = {side: [] for side in sides}
                for _ in range(args.rounds):
                    for side, path in sides.items():
                        times[side].append(time_in_child(path, module, function, maker, dtype))
                before, after = (statistics.median(t) * 1e3 for t in times.values())
                name = f"{module}.{function} {dtype}"
                print(f"{name:52} {before:8.3f}ms {after:8.3f}ms {after / before:13.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
