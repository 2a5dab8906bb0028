"""Benchmark: ``klgen generate`` in a cold process (a new interpreter each run), wall time.

Three cases, each run in fresh processes, interleaved round by round so that the machine's
noise hits all alike; the median of each is printed with the load average before and after:

- ``klgen --version``: the floor (interpreter start, klgen's command line, no work);
- ``klgen generate``, warm cache: the files kept by an earlier run of the same code
  (derive/gencache.py) are compared with the folder; one untimed run fills the cache first;
- ``klgen generate``, empty cache: each run gets a new, empty cache folder, so it derives,
  renders and formats every file (the first run after any change to the code).

The cache folder is a private one ($XDG_CACHE_HOME in a temporary folder): the user's is
neither read nor written. ``klgen`` is the one beside this Python (run it with the venv's).

    .venv/bin/python bench/generate_cold.py [--runs N] [--empty-runs N] [--out DIR]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KLGEN = Path(sys.executable).parent / "klgen"


def timed(argv: list[str], cache: Path) -> float:
    """Wall seconds of one run of ``argv`` in a new process with ``cache`` as its cache."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per case (default 9)")
    parser.add_argument(
        "--empty-runs", type=int, default=3, help="of those, with an empty cache (default 3)"
    )
    parser.add_argument("--out", help="generate --out DIR (default: klgen's own generated/)")
    args = parser.parse_args()
    generate = [str(KLGEN), "generate", *(["--out", args.out] if args.out else [])]
    with tempfile.TemporaryDirectory() as scratch:
        warm = Path(scratch) / "warm"
        print(f"load average before: {os.getloadavg()}")
        fill = timed(generate, warm)
        print(f"filling the cache (a first run): {fill:.2f} s")
        cases = {
            "klgen --version (floor)": (lambda n: timed([str(KLGEN), "--version"], warm)),
            "klgen generate, warm cache": (lambda n: timed(generate, warm)),
            "klgen generate, empty cache": (lambda n: timed(generate, Path(scratch) / f"e{n}")),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for n in range(args.runs):
            for name, run in cases.items():
                if "empty" not in name or n < args.empty_runs:
                    times[name].append(run(n))
        print(f"load average after: {os.getloadavg()}")
    for name, seconds in times.items():
        spread = f"min {min(seconds):.3f}, max {max(seconds):.3f}"
        print(
            f"{name:30} median {statistics.median(seconds):7.3f} s  ({len(seconds)} runs, {spread})"
        )


if __name__ == "__main__":
    main()
