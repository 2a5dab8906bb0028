"""The numpy kernels' one-block path for small calls (issue #16) gives the bits of the
blocked loop: every kernel that runs in row blocks, float32 and float64, all three
functions, on random rows with IEEE special values, the largest floats and tiny values
(where the e^t - 1 - t series is summed) scattered among them.

A large call goes through the row-block loop of ``for_row_blocks``; slices of it of a
hundred rows go through ``_one_block`` (both checked by counting its calls). Each slice's
results must equal the large call's rows bit for bit, zero signs included (NaN signs
aside: :func:`bits`): the rows are computed independently, so blocking must not change them.
"""

import importlib

import numpy as np
import pytest
from kernels import SPECIALS, UNIT_INTERVAL, arg_names, kernels, spec_of

from klgen.generated import _runtime

LATENT = 8
# Enough rows for several blocks of the loop (BLOCK_ELEMENTS // LATENT rows each).
ROWS = 3 * _runtime.BLOCK_ELEMENTS // LATENT + 100
SLICE = 100  # rows per small call
SLICES = 12  # small calls compared, spread over the large call's blocks
# The kernels that run in row blocks (the row modules, kl_categorical, have loops of their
# own).
BLOCKED = [
    name
    for name in sorted(spec_of())
    if hasattr(importlib.import_module(f"klgen.generated.{name}"), "for_row_blocks")
]


def hostile_inputs(name, dtype, seed):
    """One (ROWS, LATENT) array per argument: N(0, 1) (U(0, 1) for data in [0, 1]), with
    a few elements each replaced by a tiny value, a special value or the largest float."""
    rng = np.random.default_rng(seed)
    largest = np.finfo(dtype).max
    replacements = np.array([*SPECIALS, largest, -largest, 1e-7, -3e-9, 2e-17])
    arrays = []
    for arg in arg_names(name):
        unit = (name, arg) in UNIT_INTERVAL
        values = rng.uniform(size=(ROWS, LATENT)) if unit else rng.normal(size=(ROWS, LATENT))
        where = rng.random((ROWS, LATENT)) < 0.002
        values[where] = rng.choice(replacements, size=where.sum())
        arrays.append(values.astype(dtype))
    return arrays


def bits(array):
    """The array's bytes as unsigned integers (equal bits, not equal values: zero signs
    count), with every NaN as one pattern: a NaN's sign bit from inf - inf differs between
    numpy's vector loops and their scalar tails, so it hangs on where a row falls in its
    block (in the blocked loop before issue #16 too), and no result gives it a meaning."""
    pattern = array.view(np.uint32 if array.dtype == np.float32 else np.uint64).copy()
    pattern[np.isnan(array)] = 1
    return pattern


def as_list(result):
    """(value, grads) or grads or value as a flat list of arrays."""
    if isinstance(result, np.ndarray):
        return [result]
    return [r for part in result for r in as_list(part)]


# The Beta and Gamma helpers' recurrences take seconds on the large call: the slow run's.
HEAVY = {"kl_beta", "kl_gamma"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in BLOCKED]
)
def test_a_small_call_gives_the_bits_of_the_blocked_loop(name, dtype, monkeypatch):
    calls = []
    one_block = _runtime._one_block
    monkeypatch.setattr(_runtime, "_one_block", lambda *a: calls.append(1) or one_block(*a))
    args = hostile_inputs(name, dtype, seed=sorted(spec_of()).index(name))
    starts = np.linspace(0, ROWS - SLICE, SLICES).astype(int)
    for function in kernels(name, "numpy"):
        with np.errstate(all="ignore"):
            whole = as_list(function(*args))
            assert not calls, "the large call must go through the block loop"
            for start in starts:
                part = [np.ascontiguousarray(a[start : start + SLICE]) for a in args]
                small = as_list(function(*part))
                for got, want in zip(small, whole, strict=True):
                    np.testing.assert_array_equal(bits(got), bits(want[start : start + SLICE]))
        assert len(calls) == SLICES, "each small call must take the one-block path"
        calls.clear()
