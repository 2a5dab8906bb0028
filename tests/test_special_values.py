"""IEEE special values in every argument of every elementwise kernel, both backends, both
types, all three functions: what each returns is the limit of the exact formula, computed
here by mpmath, not typed by hand.

For +-inf in one argument (the others finite) the expected output is the limit of the
textbook expression as that argument tends to +-inf: evaluated at +-10**350 and
+-10**700, it is +-inf when both lie beyond the largest float with one sign, the common
value when they agree, and NaN otherwise. +-0 and +-largest float are ordinary inputs
(exact value, +-inf where it overflows). A NaN gives NaN in the outputs whose expression
contains that argument and nothing else: other elements, rows and outputs keep their values.
The README's table of these results is rendered from the same computation and compared.
"""

import functools
import re
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
from kernels import BACKENDS, kernels
from oracle import oracle_of, ulps

from klgen.derive.specs import SPECS, KernelSpec

ROOT = Path(__file__).resolve().parent.parent
VALUES = ["+0", "-0", "+inf", "-inf", "nan", "+max", "-max"]
# The other arguments: ordinary values, prior and posterior apart, and q = p.
BASES = {
    2: [(0.5, -0.3), (-1.25, 0.75)],
    4: [(0.5, -0.3, -0.2, 0.7), (-1.25, 0.75, 0.375, -0.625), (0.3, 0.3, 0.3, 0.3)],
}
HUGE = [mpmath.mpf(10) ** 350, mpmath.mpf(10) ** 700]


def outputs_of(spec: KernelSpec) -> list[str]:
    return ["KL", *(f"d{name}" for name in spec.arg_names)]


@functools.cache
def expected(spec: KernelSpec, argument: int, value: str, base: tuple, dtype) -> tuple:
    """Per output: ("nan",), ("inf", sign) or ("finite", exact, scale)."""
    info = np.finfo(dtype)
    largest = mpmath.mpf(float(info.max))
    oracle = oracle_of(spec)
    point = [mpmath.mpf(float(dtype(b))) for b in base]
    if value == "nan":
        symbol = spec.args[argument]
        exprs = (spec.term, *spec.gradients)
        at = dict(enumerate(oracle.outputs(point)))
        return tuple(
            ("nan",) if symbol in e.free_symbols else ("finite", *at[i])
            for i, e in enumerate(exprs)
        )
    if value.endswith("inf"):
        sign = -1 if value[0] == "-" else 1
        results = []
        for huge in HUGE:
            point[argument] = sign * huge
            results.append(oracle.outputs(point))
        return tuple(_limit(first, second, largest) for first, second in zip(*results, strict=True))
    point[argument] = {"+0": 0.0, "-0": -0.0, "+max": largest, "-max": -largest}[value]
    return tuple(_finite(v, s, largest) for v, s in oracle.outputs(point))


def _limit(first, second, largest):
    (a, _), (b, scale_b) = first, second
    if abs(a) > largest and abs(b) > largest and mpmath.sign(a) == mpmath.sign(b):
        return ("inf", int(mpmath.sign(a)))
    if abs(a - b) <= mpmath.mpf(10) ** -30 * max(abs(a), abs(b), mpmath.mpf(10) ** -300):
        return _finite(b, scale_b, largest)
    return ("nan",)


def _finite(value, scale, largest):
    return ("inf", int(mpmath.sign(value))) if abs(value) > largest else ("finite", value, scale)


def input_value(value: str, dtype):
    info = np.finfo(dtype)
    named = {"+max": info.max, "-max": -info.max, "+0": 0.0, "-0": -0.0}
    return dtype(named[value] if value in named else float(value))


def cases(spec):
    return [
        (argument, value, base)
        for argument in range(len(spec.args))
        for value in VALUES
        for base in BASES[len(spec.args)]
    ]


def run_rows(spec, backend, dtype, rows):
    """(kl, *gradients) per row, each row one latent element; the three functions must
    agree exactly."""
    value, grad, value_and_grad = kernels(spec.name, backend)
    args = [np.ascontiguousarray(np.array(rows, dtype)[:, i : i + 1]) for i in range(len(rows[0]))]
    with np.errstate(all="ignore"):
        kl, grads = value_and_grad(*args)
        alone, separate = value(*args), grad(*args)
    np.testing.assert_array_equal(alone, kl)
    for a, b in zip(separate, grads, strict=True):
        np.testing.assert_array_equal(a, b)
    return np.column_stack([kl, *(g[:, 0] for g in grads)])


def matches(got, want, dtype) -> bool:
    if want[0] == "nan":
        return bool(np.isnan(got))
    if want[0] == "inf":
        return got == want[1] * np.inf
    return ulps(float(got), want[1], want[2], dtype) <= 4


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_special_values_give_the_limits(spec, dtype, backend):
    all_cases = cases(spec)
    rows = []
    for argument, value, base in all_cases:
        row = [dtype(b) for b in base]
        row[argument] = input_value(value, dtype)
        rows.append(row)
    got = run_rows(spec, backend, dtype, rows)
    wrong = []
    for (argument, value, base), row in zip(all_cases, got, strict=True):
        wants = expected(spec, argument, value, base, dtype)
        for name, g, want in zip(outputs_of(spec), row, wants, strict=True):
            if not matches(g, want, dtype):
                wrong.append(
                    f"{spec.arg_names[argument]}={value} at {base}: {name} = {g}, want {want}"
                )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_a_nan_stays_in_its_element(spec, backend):
    """NaN in one element: that row's KL and that element's gradients are NaN (those that
    depend on the argument); every other row is as without it, bit for bit, and the other
    elements of its row to within 4 ulps (the numpy kernels recompute a row with a value
    outside their fast range by the careful helpers)."""
    rng = np.random.default_rng(3)
    args = [rng.normal(size=(3, 4)) for _ in spec.args]
    _, _, value_and_grad = kernels(spec.name, backend)
    clean_kl, clean_grads = value_and_grad(*args)
    for i in range(len(args)):
        poisoned = [a.copy() for a in args]
        poisoned[i][1, 2] = np.nan
        kl, grads = value_and_grad(*poisoned)
        assert np.isnan(kl[1]) and np.array_equal(np.delete(kl, 1), np.delete(clean_kl, 1))
        for j, (g, clean) in enumerate(zip(grads, clean_grads, strict=True)):
            depends = spec.args[i] in spec.gradients[j].free_symbols
            assert np.isnan(g[1, 2]) == depends
            np.testing.assert_array_equal(np.delete(g, 1, axis=0), np.delete(clean, 1, axis=0))
            for column in (c for c in range(4) if c != 2):
                point = [float(a[1, column]) for a in args]
                exact, scale = oracle_of(spec).outputs(point)[1 + j]
                assert ulps(float(g[1, column]), exact, scale, np.float64) <= 4


def describe(want) -> str:
    if want[0] == "nan":
        return "NaN"
    if want[0] == "inf":
        return "+inf" if want[1] > 0 else "-inf"
    value = want[1]
    for text, number in (("0", 0), ("1/2", 0.5), ("-1/2", -0.5)):
        if abs(value - number) <= mpmath.mpf(10) ** -30:
            return text
    return "finite"


def merge(descriptions) -> str:
    """One cell for the results at several bases: a constant, "finite" (a finite value
    that depends on the other arguments), or the alternatives joined by "or"."""
    kinds = list(dict.fromkeys(descriptions))
    if len(kinds) > 1 and all(k not in ("+inf", "-inf", "NaN") for k in kinds):
        return "finite"
    return " or ".join(kinds)


def readme_table() -> str:
    """The markdown table of what every kernel returns for +-inf in one argument ("finite":
    a value that depends on the other arguments; "a or b": which, depends on them too)."""
    lines = ["| kernel | argument | KL | gradients |", "|---|---|---|---|"]
    for spec in SPECS:
        names = outputs_of(spec)
        for argument, name in enumerate(spec.arg_names):
            for value in ("+inf", "-inf"):
                per_base = [
                    [describe(w) for w in expected(spec, argument, value, b, np.float64)]
                    for b in BASES[len(spec.args)]
                ]
                cells = [merge(c) for c in zip(*per_base, strict=True)]
                gradients = ", ".join(f"{n} {c}" for n, c in zip(names[1:], cells[1:], strict=True))
                lines.append(f"| `{spec.name}` | {name} = {value} | {cells[0]} | {gradients} |")
    return "\n".join(lines)


def test_the_readme_table_is_the_computed_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "README's special-values table is out of date:\n" + (
        readme_table()
    )


def test_the_docstrings_and_the_readme_state_the_same_rule():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    rule = "Special values:"
    for spec in SPECS:
        for backend in BACKENDS:
            # Stated once, in the module's docstring, which the functions' docstrings cite.
            doc = sys.modules[kernels(spec.name, backend)[0].__module__].__doc__
            paragraph = re.search(r"Special values:.*?(?:\n\s*\n|$)", doc, re.S).group(0)
            assert rule in paragraph and " ".join(paragraph.split()) in readme
