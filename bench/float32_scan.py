"""Every float32 logvar (all 2**32 bit patterns), through kl_std_normal_value_and_grad with
mu = 0: the KL term and dlogvar in float32 ulps against a float64 reference (the float64
kernel, itself within 4 float64 ulps, so 2**-29 float32 ulps of error at most), and where
the results overflow.

    python bench/float32_scan.py [--backend numba|numpy] [--chunk-bits 24]

Prints the worst error of each output and where, the count of NaN results that disagree
with the reference, and the logvar beyond which each output is +inf.
"""

import argparse
import importlib
import time

import numpy as np

MAX32 = float(np.finfo(np.float32).max)


def ulps32(got, reference):
    """|got - reference| in float32 ulps at the reference (float64), elementwise; 0 where
    both are the same infinity or both NaN, inf where their kinds differ."""
    with np.errstate(all="ignore"):
        rounded = reference.astype(np.float32)
        spacing = np.spacing(np.abs(rounded)).astype(np.float64)
        error = np.abs(got.astype(np.float64) - reference) / spacing
        same_special = (np.isnan(got) & np.isnan(reference)) | (got == reference)
        # Beyond the largest float32 (by more than 4 ulps) the result must be that infinity.
        overflowing = np.abs(reference) > MAX32 * (1 + 4 * 2.0**-24)
        right_infinity = got == np.sign(reference) * np.inf
    error = np.where(overflowing, np.where(right_infinity, 0, np.inf), error)
    return np.where(same_special, 0.0, error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["numba", "numpy"], default="numba")
    parser.add_argument("--chunk-bits", type=int, default=24)
    args = parser.parse_args()
    suffix = "_numba" if args.backend == "numba" else ""
    kernel = importlib.import_module(f"klgen.generated.kl_std_normal{suffix}")
    reference = importlib.import_module("klgen.generated.kl_std_normal_numba")
    f32 = kernel.kl_std_normal_value_and_grad
    f64 = reference.kl_std_normal_value_and_grad
    chunk = 1 << args.chunk_bits
    worst = {"value": (0.0, None), "dlogvar": (0.0, None)}
    # The +inf boundaries: the largest negative and the smallest positive logvar giving +inf.
    below = {"value": None, "dlogvar": None}
    above = {"value": None, "dlogvar": None}
    mismatched_kind = {"value": 0, "dlogvar": 0}
    start = time.perf_counter()
    for first in range(0, 1 << 32, chunk):
        bits = np.arange(first, first + chunk, dtype=np.uint64).astype(np.uint32)
        lv = bits.view(np.float32).reshape(-1, 1)
        mu = np.zeros_like(lv)
        kl, (_, dlv) = f32(mu, lv)
        kl64, (_, dlv64) = f64(mu.astype(np.float64), lv.astype(np.float64))
        for name, got, ref in (("value", kl, kl64), ("dlogvar", dlv[:, 0], dlv64[:, 0])):
            error = ulps32(got, ref)
            i = int(np.argmax(error))
            if error[i] > worst[name][0]:
                worst[name] = (float(error[i]), float(lv[i, 0]))
            kinds = np.isnan(got) != np.isnan(ref)
            mismatched_kind[name] += int(np.count_nonzero(kinds))
            infinite = lv[:, 0][got == np.inf]
            if np.any(infinite < 0):
                found = float(infinite[infinite < 0].max())
                below[name] = found if below[name] is None else max(below[name], found)
            if np.any(infinite > 0):
                found = float(infinite[infinite > 0].min())
                above[name] = found if above[name] is None else min(above[name], found)
    took = time.perf_counter() - start
    print(f"kl_std_normal ({args.backend}), float32, all 2**32 logvar with mu = 0: {took:.0f} s")
    for name in worst:
        error, where = worst[name]
        print(f"    {name:8s} worst {error:.3f} ulps at logvar = {where!r}")
        print(
            f"    {name:8s} NaN where the reference is not (or not where it is): "
            f"{mismatched_kind[name]}"
        )
        where = [f"logvar <= {below[name]!r}"] if below[name] is not None else []
        where += [f"logvar >= {above[name]!r}"] if above[name] is not None else []
        print(f"    {name:8s} +inf for {' and '.join(where) or 'no logvar'}")


if __name__ == "__main__":
    main()
