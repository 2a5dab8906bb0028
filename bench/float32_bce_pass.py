"""Why the numpy ``nll_bernoulli`` keeps float64 transcendentals for float32 inputs: its
value with the transcendental part log1p(e^-|l|) taken as one float32 exp and log1p pass,
widened and combined with the rest in float64 (that part is at most the term, so its error
is diluted except at small |l|, where it is most of the term), against the kernel, both
in float32 ulps of mpmath's value at 200 bits.

The float32 kernels' bound (tests/test_registry.py) is the float64 result rounded once:
0.5 ulp plus 2^-27. Nothing is asserted: the numbers are for reading.

    python bench/float32_bce_pass.py [--points 2000] [--seed 0]
"""

import argparse

import mpmath
import numpy as np

from klgen.generated.nll_bernoulli import nll_bernoulli


def float32_pass(logits: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The term with log1p(e^-|l|) in float32, everything else in float64, rounded once."""
    part = np.log1p(np.exp(-np.abs(logits))).astype(np.float64)
    l64, x64 = logits.astype(np.float64), x.astype(np.float64)
    term = (1 - x64) * (part + np.maximum(l64, 0)) + x64 * (part + np.maximum(-l64, 0))
    return term.astype(np.float32)


def exact(logit: float, x: float) -> mpmath.mpf:
    """-x log sigmoid(l) - (1 - x) log sigmoid(-l), at mpmath's precision."""
    lm, xm = mpmath.mpf(logit), mpmath.mpf(x)
    return xm * mpmath.log1p(mpmath.exp(-lm)) + (1 - xm) * mpmath.log1p(mpmath.exp(lm))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    mpmath.mp.prec = 200
    rng = np.random.default_rng(args.seed)
    logits = rng.normal(0, 3, (args.points, 1)).astype(np.float32)
    x = rng.uniform(0, 1, (args.points, 1)).astype(np.float32)
    peers = {"kernel": nll_bernoulli(logits, x), "float32 pass": float32_pass(logits, x)[:, 0]}
    want = [exact(float(a), float(b)) for a, b in zip(logits[:, 0], x[:, 0], strict=True)]
    ulp = np.array([np.spacing(np.float32(abs(float(w)))) for w in want], dtype=np.float64)
    print(f"{args.points} points, logits N(0, 3), x U(0, 1), float32; worst error in ulps:")
    for name, got in peers.items():
        errors = [abs(mpmath.mpf(float(g)) - w) / u for g, w, u in zip(got, want, ulp, strict=True)]
        worst = int(np.argmax(errors))
        print(f"  {name:13s} {float(errors[worst]):.3f} (logits {logits[worst, 0]:.4g})")


if __name__ == "__main__":
    main()
