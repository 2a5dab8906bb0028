"""Hypothesis against the kernels: the numpy and numba backends against each other and
against mpmath, on inputs drawn from the whole float range (subnormals, the largest floats,
signed zeros, infinities and NaN, which Hypothesis favours)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernels import kernels
from oracle import oracle_of, ulps

from klgen.derive.specs import SPECS

pytest.importorskip("numba", reason="numba (optional backend) is not installed")
TYPES = {"float32": (np.float32, 32), "float64": (np.float64, 64)}


def run(spec, backend, dtype, point):
    _, _, value_and_grad = kernels(spec.name, backend)
    args = [np.full((1, 1), v, dtype) for v in point]
    with np.errstate(all="ignore"):
        kl, grads = value_and_grad(*args)
    return [kl[0], *(g[0, 0] for g in grads)]


def points(spec, width, finite):
    value = st.floats(width=width, allow_nan=not finite, allow_infinity=not finite)
    return st.tuples(*[value for _ in spec.args])


@pytest.mark.parametrize("dtype", TYPES)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_both_backends_within_4_ulps_of_mpmath(spec, dtype):
    kind, width = TYPES[dtype]

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(points(spec, width, finite=True))
    def check(point):
        exact = oracle_of(spec).outputs([float(v) for v in point])
        for backend in ("numpy", "numba"):
            got = run(spec, backend, kind, point)
            errors = [ulps(float(g), e, s, kind) for g, (e, s) in zip(got, exact, strict=True)]
            assert max(errors) <= 4, f"{backend}: ulps {errors}"

    check()


@pytest.mark.parametrize("dtype", TYPES)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_backends_agree_on_special_values(spec, dtype):
    """Infinities and NaN anywhere: the same NaNs and infinities from both backends, and
    finite results within 8 ulps of each other (each is within 4 of the exact value)."""
    kind, width = TYPES[dtype]

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(points(spec, width, finite=False))
    def check(point):
        a, b = run(spec, "numpy", kind, point), run(spec, "numba", kind, point)
        for x, y in zip(a, b, strict=True):
            if np.isfinite(x) and np.isfinite(y):
                with np.errstate(over="ignore"):  # the spacing at the largest float
                    spacing = float(np.spacing(kind(max(abs(x), abs(y)))))
                assert abs(float(x) - float(y)) <= 8 * spacing
            else:
                assert (np.isnan(x) and np.isnan(y)) or x == y, f"numpy {a} numba {b}"

    check()
