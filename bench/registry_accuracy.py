"""Worst errors in ulps of every shipped kernel (specs/) against mpmath, klgen's and, where
torch has the same quantity, torch's at the same points.

The points are tests/oracle.py's sampled domain (every argument log-uniform over its whole
range, moderate values, differences small and huge, the exponentials' boundaries, q close
to p); the exact values are the spec's textbook term and its derivatives, evaluated by
mpmath on the exact binary inputs. Errors are in ulps of each exact output (results below
the smallest normal in ulps of the smallest normal). torch (2.13.0 here, optional) runs its
own formula on the float64 inputs with autograd for the gradients; pointwise, how many of
klgen's outputs are worse than torch's (beyond half an ulp), and by how much.

A kernel of row statistics is sampled as whole rows (kl_categorical: rows of 5 categories,
tests/row_oracle.py; kl_dirichlet: rows of 4 components, tests/dirichlet_oracle.py, whose
mpmath takes seconds a row where concentrations are tiny: use --points 50 or so): each
oracle module has its domain, its mpmath outputs and its errors per output over the rows.

    python bench/registry_accuracy.py [--points N] [--seed S] [--only NAME ...]
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import dirichlet_oracle  # noqa: E402
import row_oracle  # noqa: E402
from oracle import Textbook, domain, errors, exact_outputs, worst_errors  # noqa: E402
from peers import torch_peers  # noqa: E402

from klgen.derive.package import shipped_kernels  # noqa: E402


def pointwise(label, mine, theirs) -> None:
    """Where ``mine`` (a table of errors in ulps, points by outputs) exceeds ``theirs`` and
    half an ulp: how many outputs, how many by more than 1 ulp, by how much at most."""
    over = mine - np.maximum(theirs, 0.5)
    worse = over > 0
    margin = over[worse].max() if worse.any() else 0.0
    print(
        f"  {label} worse than torch (and half an ulp) at {worse.sum()} of {mine.size} outputs,"
        f" {(over > 1).sum()} by more than 1 ulp, by at most {margin:.3g}"
    )


def report(label, names, worst, took):
    print(f"{label} ({took:.0f} s)")
    for name, (error, point) in zip(names, worst, strict=True):
        print(f"    {name:12} {error:12.3g} ulps  at {point}")


# A kernel of row statistics: (its oracle module, the elements of a sampled row).
ROW_ORACLES = {"kl_categorical": (row_oracle, 5), "kl_dirichlet": (dirichlet_oracle, 4)}


def rows_report(kernel, points, seed, peers) -> None:
    """Worst errors of a kernel of row statistics over ``points`` rows, klgen's backends and
    torch's formula (where all its outputs of a row are finite, too)."""
    names = ["value", *(f"d{n}" for n in kernel.arg_names)]
    oracle, size = ROW_ORACLES[kernel.name]
    row_worst_errors = oracle.worst_errors
    for dtype in (np.float64, np.float32):
        logits, logits_p = oracle.domain(dtype, points, size, seed)
        start = time.perf_counter()
        exact = oracle.exact_rows(logits, logits_p)
        took = time.perf_counter() - start
        size_text = f"{len(logits)} rows of {size}"
        print(f"{kernel.name} {dtype.__name__}: {size_text}, mpmath {took:.0f} s")
        functions = {}
        for backend in ("numpy", "numba"):
            suffix = "" if backend == "numpy" else "_numba"
            module = importlib.import_module(f"klgen.generated.{kernel.name}{suffix}")
            functions[f"klgen {backend}"] = getattr(module, kernel.name + "_value_and_grad")
        if kernel.name in peers and dtype == np.float64:
            functions["torch"] = peers[kernel.name]
        for label, function in functions.items():
            start = time.perf_counter()
            worst = row_worst_errors(function, logits, logits_p, dtype, exact)
            rows = [None if r is None else (list(logits[r]), list(logits_p[r])) for _, r in worst]
            report(
                label,
                names,
                [(e, r) for (e, _), r in zip(worst, rows, strict=True)],
                time.perf_counter() - start,
            )
            if label == "torch":
                with np.errstate(all="ignore"):
                    value, grads = function(logits, logits_p)
                finite = np.isfinite(value) & np.all(
                    [np.isfinite(g).all(axis=1) for g in grads], axis=0
                )
                kept = [e for e, keep in zip(exact, finite, strict=True) if keep]
                worst = row_worst_errors(function, logits[finite], logits_p[finite], dtype, kept)
                report(f"  torch where finite ({finite.sum()} rows)", names, worst, 0)


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
        if kernel.statistics:
            rows_report(kernel, args.points, args.seed, peers)
            continue
        spec = Textbook.of(kernel)
        names = ["value", *(f"d{n}" for n in kernel.arg_names)]
        for dtype in (np.float64, np.float32):
            points = domain(spec, dtype, args.points, args.seed)
            start = time.perf_counter()
            exact = exact_outputs(spec, points)
            took = time.perf_counter() - start
            print(f"{kernel.name} {dtype.__name__}: {len(points)} points, mpmath {took:.0f} s")
            tables = {}
            for backend in ("numpy", "numba"):
                suffix = "" if backend == "numpy" else "_numba"
                module = importlib.import_module(f"klgen.generated.{kernel.name}{suffix}")
                function = getattr(module, kernel.name + "_value_and_grad")
                start = time.perf_counter()
                worst = worst_errors(spec, function, points, dtype, exact)
                report(f"  klgen {backend}", names, worst, time.perf_counter() - start)
                tables[backend] = errors(spec, function, points, dtype, exact)
            if kernel.name in peers and dtype == np.float64:
                start = time.perf_counter()
                worst = worst_errors(spec, peers[kernel.name], points, dtype, exact)
                report("  torch", names, worst, time.perf_counter() - start)
                theirs = errors(spec, peers[kernel.name], points, dtype, exact)
                for backend, mine in tables.items():
                    pointwise(f"klgen {backend}", mine, theirs)
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
