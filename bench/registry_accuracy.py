"""Worst errors in ulps of every shipped kernel (specs/) against mpmath, klgen's and, where
torch has the same quantity, torch's at the same points.

The points are tests/oracle.py's sampled domain (every argument log-uniform over its whole
range, moderate values, differences small and huge, the exponentials' boundaries, q close
to p); the exact values are the spec's textbook term and its derivatives, evaluated by
mpmath on the exact binary inputs. Errors are in ulps of each exact output (results below
the smallest normal in ulps of the smallest normal). torch (2.13.0 here, optional) runs its
own formula on the float64 inputs with autograd for the gradients.

    python bench/registry_accuracy.py [--points N] [--seed S] [--only NAME ...]
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from oracle import Textbook, domain, exact_outputs, worst_errors  # noqa: E402
from peers import torch_peers  # noqa: E402

from klgen.derive.package import shipped_kernels  # noqa: E402


def report(label, names, worst, took):
    print(f"{label} ({took:.0f} s)")
    for name, (error, point) in zip(names, worst, strict=True):
        print(f"    {name:12} {error:12.3g} ulps  at {point}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000, help="points per kernel and dtype")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these kernels")
    args = parser.parse_args()
    peers = torch_peers()
    for kernel in shipped_kernels():
        if args.only and kernel.name not in args.only:
            continue
        spec = Textbook.of(kernel)
        names = ["value", *(f"d{n}" for n in kernel.arg_names)]
        for dtype in (np.float64, np.float32):
            points = domain(spec, dtype, args.points, args.seed)
            start = time.perf_counter()
            exact = exact_outputs(spec, points)
            took = time.perf_counter() - start
            print(f"{kernel.name} {dtype.__name__}: {len(points)} points, mpmath {took:.0f} s")
            for backend in ("numpy", "numba"):
                suffix = "" if backend == "numpy" else "_numba"
                module = importlib.import_module(f"klgen.generated.{kernel.name}{suffix}")
                function = getattr(module, kernel.name + "_value_and_grad")
                start = time.perf_counter()
                worst = worst_errors(spec, function, points, dtype, exact)
                report(f"  klgen {backend}", names, worst, time.perf_counter() - start)
            if kernel.name in peers and dtype == np.float64:
                start = time.perf_counter()
                worst = worst_errors(spec, peers[kernel.name], points, dtype, exact)
                report("  torch", names, worst, time.perf_counter() - start)
                # Where torch's results are all finite: its errors beside its infinities.
                arrays = [np.ascontiguousarray(points[:, i : i + 1]) for i in range(len(names) - 1)]
                with np.errstate(all="ignore"):
                    value, grads = peers[kernel.name](*arrays)
                finite = np.isfinite(value) & np.all([np.isfinite(g[:, 0]) for g in grads], axis=0)
                kept = [e for e, keep in zip(exact, finite, strict=True) if keep]
                worst = worst_errors(spec, peers[kernel.name], points[finite], dtype, kept)
                report(f"  torch where finite ({finite.sum()} points)", names, worst, 0)


if __name__ == "__main__":
    main()
