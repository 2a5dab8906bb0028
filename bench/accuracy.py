"""Worst errors in ulps of every elementwise kernel output against mpmath, per backend and
dtype, over the sampled domain of tests/oracle.py (every argument log-uniform over its whole
range, differences, overflow boundaries, q close to p).

    python bench/accuracy.py [--points N]
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from oracle import domain, worst_errors  # noqa: E402

from klgen.derive.specs import SPECS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4000, help="points per kernel and dtype")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for spec in SPECS:
        outputs = ["value", *(f"d{n}" for n in spec.arg_names)]
        for dtype in (np.float32, np.float64):
            points = domain(spec, dtype, args.points, args.seed)
            for backend in ("numpy", "numba"):
                suffix = "" if backend == "numpy" else "_numba"
                module = importlib.import_module(f"klgen.generated.{spec.name}{suffix}")
                kernel = getattr(module, spec.name + "_value_and_grad")
                start = time.perf_counter()
                worst = worst_errors(spec, kernel, points, dtype)
                took = time.perf_counter() - start
                label = f"{spec.name} {backend} {dtype.__name__}"
                print(f"{label} ({len(points)} points, {took:.0f} s)")
                for name, (error, point) in zip(outputs, worst, strict=True):
                    where = "" if point is None else " at " + ", ".join(f"{v:.4g}" for v in point)
                    print(f"    {name:10s} {error:10.3g} ulps{where}")


if __name__ == "__main__":
    main()
