"""Benchmark: float32 arrays read and written by float64 ufunc loops directly, against
float64 copies (issue #16).

The numpy kernels copy float32 inputs into float64 buffers, compute in float64 and copy
each float64 result into its float32 output. The alternative: ufuncs read the float32
inputs with ``dtype=np.float64`` and write the float32 outputs from their last float64
operation (the same values: the float64 loop, rounded once). This script times, on arrays
of a numpy block (64 x 512, 32768 elements: the kernels' BLOCK_ELEMENTS) and of a small
call (128 x 20), by the process's CPU time (interleaved, median of --rounds rounds):

- "read k": k float64 multiplications reading one float32 array, directly (each call
  casting) against one copy into a float64 buffer and k multiplications reading it;
- "write": a float64 multiplication written into a float32 array directly against into a
  float64 buffer and then copied into the float32 array.

A ratio direct / copied below 1 means the direct form saves time. The results are checked
bit for bit equal first.

    python bench/float32_direct.py [--rounds N]
"""

import argparse
import os
import statistics
import time

import numpy as np

SHAPES = {"block": (64, 512), "small": (128, 20)}


def read_direct(x32, out, reads):
    """``reads`` float64 products of the float32 ``x32``, each call casting it."""
    for _ in range(reads):
        np.multiply(x32, 0.5, dtype=np.float64, out=out)


def read_copied(x32, out, reads, wide):
    """The same products after one copy of ``x32`` into the float64 buffer ``wide``."""
    np.copyto(wide, x32)
    for _ in range(reads):
        np.multiply(wide, 0.5, out=out)


def write_direct(a64, out32, wide):
    """A float64 product rounded into the float32 ``out32`` by the call itself."""
    np.multiply(a64, 1.5, out=out32)


def write_copied(a64, out32, wide):
    """The same product into the float64 buffer ``wide``, then copied into ``out32``."""
    np.multiply(a64, 1.5, out=wide)
    np.copyto(out32, wide, casting="same_kind")


def cpu_time(f, args, seconds=0.05):
    """CPU seconds per call of f(*args), over enough calls to last ``seconds``."""
    calls = 1
    while True:
        start = time.process_time()
        for _ in range(calls):
            f(*args)
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return elapsed / calls
        calls *= 2


def cases(shape):
    """(label, direct (f, args), copied (f, args)) of one array shape."""
    rng = np.random.default_rng(0)
    x32 = rng.normal(size=shape).astype(np.float32)
    a64 = rng.normal(size=shape)
    out, wide, out32 = np.empty(shape), np.empty(shape), np.empty(shape, np.float32)
    rows = [
        (f"read {k}", (read_direct, (x32, out, k)), (read_copied, (x32, out, k, wide)))
        for k in (1, 2, 3)
    ]
    rows.append(("write", (write_direct, (a64, out32, wide)), (write_copied, (a64, out32, wide))))
    return rows


def check_equal(shape):
    """Both forms give the same bits (the float64 loop, rounded once)."""
    for label, (f, args), (g, other) in cases(shape):
        f(*args)
        first = args[1].copy()
        g(*other)
        assert np.array_equal(first.view(np.uint8), other[1].view(np.uint8)), label


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}")
    print(f"{'shape':14} {'case':8} {'direct':>10} {'copied':>10} {'direct/copied':>14}")
    for name, shape in SHAPES.items():
        check_equal(shape)
        for label, direct, copied in cases(shape):
            times = {"direct": [], "copied": []}
            for _ in range(args.rounds):
                for key, (f, f_args) in (("direct", direct), ("copied", copied)):
                    times[key].append(cpu_time(f, f_args))
            d, c = (statistics.median(times[k]) for k in ("direct", "copied"))
            print(
                f"{name + str(shape):14} {label:8} {d * 1e6:8.2f}us {c * 1e6:8.2f}us {d / c:14.2f}"
            )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
