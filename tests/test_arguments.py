"""Argument handling of the diagonal kernels (issue #12): every class of input and of out=
buffer gives the right answer or one clear error naming the argument, identically on the
numpy and numba backends; KLGEN_NUM_THREADS is checked once, at import."""

import hashlib
import importlib
import inspect
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from kernels import BACKENDS, kernels

from klgen.derive.specs import SPECS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
SUFFIXES = ("", "_grad", "_value_and_grad")
SHAPE = (4, 3)
SPEC = {spec.name: spec for spec in SPECS}


def function(spec, backend, suffix):
    """The generated ``spec.name + suffix`` of ``backend``."""
    return kernels(spec.name, backend)[SUFFIXES.index(suffix)]


@cache
def oracle(spec):
    """The spec's term and gradients, lambdified from SymPy (not the generated code)."""
    term = sp.lambdify(spec.args, spec.term, "numpy")
    return term, [sp.lambdify(spec.args, g, "numpy") for g in spec.gradients]


def unbroadcast(grad, shape):
    """``grad`` summed back to an input of ``shape``: over the leading axes it lacked, then
    over each axis where it had length 1."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def expected(spec, args):
    """(kl, gradients) in float64 from the oracle, for inputs of any array-like kind."""
    arrays = [np.array(a, dtype=np.float64) for a in args]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    full = [np.broadcast_to(a, shape) for a in arrays]
    term, grads = oracle(spec)
    with np.errstate(invalid="ignore"):  # inf - inf in a row is NaN, as it should be
        return _sum_and_reduce(term, grads, full, arrays, shape)


def _sum_and_reduce(term, grads, full, arrays, shape):
    kl = np.sum(np.broadcast_to(term(*full), shape), axis=-1)
    return kl, [
        unbroadcast(np.broadcast_to(g(*full), shape), a.shape)
        for g, a in zip(grads, arrays, strict=True)
    ]


def normal(rng, shape=SHAPE, dtype=np.float64):
    return rng.normal(size=shape).astype(dtype)


def inputs(spec, rng, shape=SHAPE, dtype=np.float64):
    return [normal(rng, shape, dtype) for _ in spec.arg_names]


def replace(spec, rng, i, value):
    args = inputs(spec, rng)
    args[i] = value
    return args


def filled_memmap(path, array):
    mapped = np.memmap(path, array.dtype, "w+", shape=array.shape)
    mapped[...] = array
    return mapped


def with_nonfinite(args):
    """A NaN in row 0 and infinities in rows 1-3 (mu = +-inf, logvar = -inf: KL = inf)."""
    args[0][0, 0], args[0][1, 1], args[0][2, 2], args[1][3, 0] = np.nan, np.inf, -np.inf, -np.inf
    return args


def read_only(array):
    array.flags.writeable = False
    return array


# Inputs that must give the right answer: name -> (spec, rng, tmp_path) -> arguments.
ANSWERS = {
    "float64": lambda s, r, t: inputs(s, r),
    "float32": lambda s, r, t: inputs(s, r, dtype=np.float32),
    "float32 and float64 mixed": lambda s, r, t: replace(s, r, 1, normal(r, dtype=np.float32)),
    "one array as every input": lambda s, r, t: [normal(r)] * len(s.arg_names),
    "overlapping input views": lambda s, r, t: [
        v[i : i + 4] for v in [normal(r, (8, 3))] for i in range(len(s.arg_names))
    ],
    "Python lists": lambda s, r, t: [a.tolist() for a in inputs(s, r)],
    "one latent axis only": lambda s, r, t: inputs(s, r, (5,)),
    "empty batch": lambda s, r, t: inputs(s, r, (0, 3)),
    "empty latent axis": lambda s, r, t: inputs(s, r, (3, 0)),
    "empty batch broadcast from (1, 3)": lambda s, r, t: (
        [normal(r, (1, 3))] + inputs(s, r, (0, 3))[1:]
    ),
    "many leading axes": lambda s, r, t: inputs(s, r, (2, 1, 3, 1, 2, 1, 2, 3)),
    "broadcast batch axes": lambda s, r, t: [
        normal(r, (3, 1, 4) if i % 2 else (1, 5, 4)) for i in range(len(s.arg_names))
    ],
    "latent axis of 1 broadcast": lambda s, r, t: replace(s, r, 0, normal(r, (4, 1))),
    "last input (D,)": lambda s, r, t: replace(s, r, -1, normal(r, (3,))),
    "NaN and inf entries": lambda s, r, t: with_nonfinite(inputs(s, r)),
    "non-contiguous, transposed, reversed": lambda s, r, t: [
        normal(r, (4, 6))[:, ::2],
        normal(r, (3, 4)).T,
        *inputs(s, r)[2:],
    ][::-1],
    "read-only inputs": lambda s, r, t: [read_only(a) for a in inputs(s, r)],
    "big-endian float64": lambda s, r, t: replace(s, r, 1, normal(r).astype(">f8")),
    "big-endian float32": lambda s, r, t: [a.astype(">f4") for a in inputs(s, r)],
    "np.matrix": lambda s, r, t: [np.matrix(a) for a in inputs(s, r)],
    "np.memmap": lambda s, r, t: replace(s, r, 0, filled_memmap(t / "mu.dat", normal(r))),
    "np.recarray of floats": lambda s, r, t: replace(s, r, 0, normal(r).view(np.recarray)),
    "object with __array__": lambda s, r, t: replace(
        s, r, 0, type("Wrapped", (), {"__array__": lambda self, *a, **k: np.ones(SHAPE)})()
    ),
}

# Inputs that must be refused: name -> (arguments, error type, message naming the argument).
BAD = "must be a float32 or float64 array, got dtype"
ERRORS = {
    "0-d array": (
        lambda s, r: replace(s, r, 0, np.float64(0.5)),
        ValueError,
        "mu must have a last axis",
    ),
    "Python float": (
        lambda s, r: replace(s, r, 1, 0.5),
        ValueError,
        "logvar must have a last axis",
    ),
    **{
        f"dtype {np.dtype(d).name}": (
            lambda s, r, d=d: replace(s, r, 1, np.zeros(SHAPE, d)),
            TypeError,
            f"logvar {BAD} {np.zeros(1, d).dtype}",
        )
        for d in (np.float16, np.int64, np.bool_, np.complex128, object, np.str_, np.longdouble)
    },
    "list of ints": (lambda s, r: replace(s, r, 0, [[1, 2, 3]] * 4), TypeError, f"mu {BAD} int64"),
    "str": (lambda s, r: replace(s, r, 0, "abc"), TypeError, f"mu {BAD} <U3"),
    "None": (lambda s, r: replace(s, r, 1, None), TypeError, f"logvar {BAD} object"),
    "dict": (lambda s, r: replace(s, r, 1, {}), TypeError, f"logvar {BAD} object"),
    "ragged list": (
        lambda s, r: replace(s, r, 0, [[1.0], [1.0, 2.0]]),
        ValueError,
        "mu is not an array of numbers: ",
    ),
    "structured recarray": (
        lambda s, r: replace(s, r, 0, np.rec.fromarrays([np.zeros(4), np.zeros(4)])),
        TypeError,
        f"mu {BAD} ",
    ),
    "shapes that do not broadcast": (
        lambda s, r: replace(s, r, 1, np.zeros((4, 2))),
        ValueError,
        r"shapes do not match: mu has shape (4, 3), logvar has shape (4, 2)",
    ),
    "masked array": (
        lambda s, r: replace(s, r, 1, np.ma.masked_array(normal(r), np.eye(4, 3, dtype=bool))),
        TypeError,
        "logvar is a masked array, whose mask the kernels would ignore",
    ),
    "masked array without a mask": (
        lambda s, r: replace(s, r, 0, np.ma.masked_array(normal(r))),
        TypeError,
        "mu is a masked array",
    ),
}


def outcome(f, *args, **kwargs):
    """What ``f(*args, **kwargs)`` gives: ("result", value) or ("error", type, message)."""
    try:
        return ("result", f(*args, **kwargs))
    except Exception as err:  # noqa: BLE001 - any exception is an outcome to compare
        return ("error", type(err), str(err))


def check_answer(spec, suffix, args, got):
    """``got`` is the oracle's answer, in the inputs' float type and each argument's shape."""
    dtype = np.result_type(*(np.asarray(a).dtype.type for a in args))
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    kl, grads = expected(spec, args)
    got_kl, got_grads = (got, None) if suffix == "" else (None, got) if suffix == "_grad" else got
    wanted = []
    if got_kl is not None:
        wanted.append((got_kl, kl))
    if got_grads is not None:
        assert len(got_grads) == len(grads)
        wanted += zip(got_grads, grads, strict=True)
    for value, want in wanted:
        assert type(value) is np.ndarray and value.dtype == dtype and value.shape == want.shape
        np.testing.assert_allclose(value, want, **tolerance)


def same_outcomes(a, b):
    """The numpy and numba backends agree: the same error, or results within float32 ulps."""
    assert a[0] == b[0] and a[1:] == b[1:] if a[0] == "error" else b[0] == "result"
    if a[0] == "result":
        flat = lambda r: [r] if isinstance(r, np.ndarray) else [x for y in r for x in flat(y)]  # noqa: E731
        for x, y in zip(flat(a[1]), flat(b[1]), strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", SUFFIXES, ids=lambda s: s or "value")
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("case", ANSWERS)
def test_inputs_give_the_right_answer_on_both_backends(case, spec, suffix, tmp_path):
    args = ANSWERS[case](spec, np.random.default_rng(0), tmp_path)
    results = {}
    for backend in BACKENDS:
        results[backend] = outcome(function(spec, backend, suffix), *args)
        assert results[backend][0] == "result", results[backend]
        check_answer(spec, suffix, args, results[backend][1])
    same_outcomes(results["numpy"], results["numba"])


@pytest.mark.parametrize("suffix", SUFFIXES, ids=lambda s: s or "value")
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("case", ERRORS)
def test_bad_inputs_raise_one_clear_error_on_both_backends(case, spec, suffix):
    build, kind, message = ERRORS[case]
    results = {}
    for backend in BACKENDS:
        args = build(spec, np.random.default_rng(0))
        results[backend] = outcome(function(spec, backend, suffix), *args)
        assert results[backend][:2] == ("error", kind), results[backend]
        assert results[backend][2].startswith(message) and "\n" not in results[backend][2]
    same_outcomes(results["numpy"], results["numba"])


def fresh_outs(spec, shape=SHAPE, dtype=np.float64):
    """(kl, *gradients) buffers, filled with 7.0 so that any write shows."""
    return [np.full(shape[:-1], 7.0, dtype)] + [np.full(shape, 7.0, dtype) for _ in spec.args]


def with_out(spec, i, value, args=None):
    out = fresh_outs(spec)
    out[i] = value
    return (args or inputs(spec, np.random.default_rng(0))), tuple(out)


def aliased(spec, i, j, view=lambda b: b):
    """out[j] is ``view`` of out[i]'s memory."""
    out = fresh_outs(spec)
    out[j] = view(out[i])
    return inputs(spec, np.random.default_rng(0)), tuple(out)


def partly_overlapping(spec):
    """out[1] and out[2] share rows 2-3 of one buffer."""
    memory = np.full((6, 3), 7.0)
    out = fresh_outs(spec)
    out[1], out[2] = memory[:4], memory[2:]
    return inputs(spec, np.random.default_rng(0)), tuple(out)


def prior_last(spec, gradient=lambda args, out: np.full(3, 7.0)):
    """Inputs whose last is (D,), broadcast along the batch, and out buffers to match, the
    last one ``gradient(args, out)``."""
    args = inputs(spec, np.random.default_rng(0))
    args[-1] = args[-1][0].copy()
    out = fresh_outs(spec)
    out[-1] = gradient(args, out)
    return args, tuple(out)


def overlapping_input(spec):
    """out[2] is rows 2-5 of a buffer whose rows 0-3 are the input mu."""
    memory = np.ones((8, 3))
    args = inputs(spec, np.random.default_rng(0))
    args[0] = memory[:4]
    out = fresh_outs(spec)
    out[2] = memory[2:6]
    return args, tuple(out)


def disjoint_slices(spec):
    """The KL and the gradients side by side in one block of memory, the inputs in another."""
    n = len(spec.args)
    memory = np.full(4 + 12 * n, 7.0)
    out = [memory[:4]] + [memory[4 + 12 * i : 16 + 12 * i].reshape(SHAPE) for i in range(n)]
    return list(np.random.default_rng(0).normal(size=(n, *SHAPE))), tuple(out)


def subclassed(spec, tmp):
    """dmu an np.memmap, dlogvar an np.matrix: written through plain views of their memory."""
    args, out = with_out(spec, 1, filled_memmap(tmp / "dmu.dat", np.full(SHAPE, 7.0)))
    out = list(out)
    out[2] = np.matrix(out[2])
    return args, tuple(out)


# out= buffers that must be written and returned: name -> (spec, tmp_path) -> (args, out).
OUT_ANSWERS = {
    "tuple of arrays": lambda s, t: (inputs(s, np.random.default_rng(0)), tuple(fresh_outs(s))),
    "list of arrays": lambda s, t: (inputs(s, np.random.default_rng(0)), fresh_outs(s)),
    "float32": lambda s, t: (
        inputs(s, np.random.default_rng(0), dtype=np.float32),
        tuple(fresh_outs(s, dtype=np.float32)),
    ),
    "inputs given as lists": lambda s, t: (
        [a.tolist() for a in inputs(s, np.random.default_rng(0))],
        tuple(fresh_outs(s)),
    ),
    "last input (D,), its gradient (D,)": lambda s, t: prior_last(s),
    "one latent axis: a 0-d KL": lambda s, t: (
        inputs(s, np.random.default_rng(0), (5,)),
        tuple(fresh_outs(s, (5,))),
    ),
    "empty batch": lambda s, t: (
        inputs(s, np.random.default_rng(0), (0, 3)),
        tuple(fresh_outs(s, (0, 3))),
    ),
    "np.memmap and np.matrix gradients": subclassed,
    "every buffer a disjoint slice of one array": lambda s, t: disjoint_slices(s),
}

TUPLE_OF = "out must be a tuple of "
# out= that must be refused before anything is written: name -> (builder, type, message).
OUT_ERRORS = {
    "one entry short": (
        lambda s: (inputs(s, np.random.default_rng(0)), tuple(fresh_outs(s))[:-1]),
        ValueError,
        TUPLE_OF,
    ),
    "one entry too many": (
        lambda s: (inputs(s, np.random.default_rng(0)), (*fresh_outs(s), np.empty(3))),
        ValueError,
        TUPLE_OF,
    ),
    "one array, not a tuple": (
        lambda s: (inputs(s, np.random.default_rng(0)), np.empty(SHAPE)),
        ValueError,
        TUPLE_OF,
    ),
    "KL of the wrong shape": (
        lambda s: with_out(s, 0, np.empty(5)),
        ValueError,
        "out[0] (the KL) must have shape (4,) and dtype float64",
    ),
    "gradient of the wrong shape": (
        lambda s: with_out(s, 2, np.empty((3, 4))),
        ValueError,
        "out[2] (dlogvar) must have shape (4, 3)",
    ),
    "gradient of the wrong dtype": (
        lambda s: with_out(s, 1, np.empty(SHAPE, np.float32)),
        ValueError,
        "out[1] (dmu) must have shape (4, 3) and dtype float64",
    ),
    "read-only gradient": (
        lambda s: with_out(s, 2, read_only(np.empty(SHAPE))),
        ValueError,
        "out[2] (dlogvar) must be a writeable C-contiguous array",
    ),
    "non-contiguous gradient": (
        lambda s: with_out(s, 1, np.empty((4, 6))[:, ::2]),
        ValueError,
        "out[1] (dmu) must be a writeable C-contiguous array",
    ),
    "None as the KL": (
        lambda s: with_out(s, 0, None),
        TypeError,
        "out[0] (the KL) must be a numpy array, got NoneType",
    ),
    "None as the last gradient": (
        lambda s: with_out(s, -1, None),
        TypeError,
        lambda s: f"out[{len(s.args)}] (d{s.arg_names[-1]}) must be a numpy array, got NoneType",
    ),
    "a list as a gradient": (
        lambda s: with_out(s, 2, np.zeros(SHAPE).tolist()),
        TypeError,
        "out[2] (dlogvar) must be a numpy array, got list",
    ),
    "a masked gradient": (
        lambda s: with_out(s, 1, np.ma.masked_array(np.empty(SHAPE), np.eye(4, 3, dtype=bool))),
        TypeError,
        "out[1] (dmu) is a masked array, whose mask the kernels would ignore",
    ),
    "one buffer as two gradients": (
        lambda s: aliased(s, 1, 2),
        ValueError,
        "out[1] (dmu) and out[2] (dlogvar) overlap",
    ),
    "gradients overlapping in part": (
        partly_overlapping,
        ValueError,
        "out[1] (dmu) and out[2] (dlogvar) overlap",
    ),
    "KL inside a gradient": (
        lambda s: aliased(s, 2, 0, lambda b: b.reshape(-1)[:4]),
        ValueError,
        "out[0] (the KL) and out[2] (dlogvar) overlap",
    ),
    "broadcast input's gradient inside dmu": (
        lambda s: prior_last(s, lambda args, out: out[1][2]),
        ValueError,
        "out[1] (dmu) and out[",
    ),
    "gradient overlapping an input": (
        lambda s: (lambda a: with_out(s, 1, a[0], a))(inputs(s, np.random.default_rng(0))),
        ValueError,
        "out[1] (dmu) overlaps the input mu",
    ),
    "gradient overlapping an input in part": (
        overlapping_input,
        ValueError,
        "out[2] (dlogvar) overlaps the input mu",
    ),
    "broadcast input as its own gradient": (
        lambda s: prior_last(s, lambda args, out: args[-1]),
        ValueError,
        lambda s: f"out[{len(s.args)}] (d{s.arg_names[-1]}) overlaps the input {s.arg_names[-1]}",
    ),
}


def run_out(spec, backend, args, out):
    """value_and_grad(*args, out=out)'s outcome, and whether every out buffer kept its 7s."""
    before = [np.array(o, copy=True) if isinstance(o, np.ndarray) else None for o in out]
    got = outcome(function(spec, backend, "_value_and_grad"), *args, out=out)
    kept = all(b is None or np.array_equal(o, b) for o, b in zip(out, before, strict=True))
    return got, kept


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("case", OUT_ANSWERS)
def test_out_buffers_are_written_and_returned_on_both_backends(case, spec, tmp_path):
    results = {}
    for backend in BACKENDS:
        args, out = OUT_ANSWERS[case](spec, tmp_path)
        results[backend], _ = run_out(spec, backend, args, out)
        assert results[backend][0] == "result", results[backend]
        kl, grads = results[backend][1]
        assert kl is out[0] and all(g is o for g, o in zip(grads, out[1:], strict=True))
        check_answer(
            spec, "_value_and_grad", args, (np.asarray(kl), [np.asarray(g) for g in grads])
        )
    same_outcomes(results["numpy"], results["numba"])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("case", OUT_ERRORS)
def test_bad_out_buffers_are_refused_before_any_write_on_both_backends(case, spec):
    build, kind, message = OUT_ERRORS[case]
    if callable(message):
        message = message(spec)
    results = {}
    for backend in BACKENDS:
        results[backend], kept = run_out(spec, backend, *build(spec))
        assert results[backend][:2] == ("error", kind), results[backend]
        assert results[backend][2].startswith(message) and "\n" not in results[backend][2]
        assert kept, "a refused out= was written"
    same_outcomes(results["numpy"], results["numba"])


# Every diagonal module of both backends, with its number of inputs.
MODULES = {f"klgen.generated.{s.name}{b}": len(s.args) for s in SPECS for b in ("", "_numba")}


def thread_digests(modules):
    """value_and_grad of each module on ~300k-element inputs (threaded) of both float types:
    a sha256 digest of each result, and the inputs and results, by "module-dtype-part"."""
    rng = np.random.default_rng(0)
    digests, arrays = {}, {}
    for module, count in modules.items():
        name = module.split(".")[-1].removesuffix("_numba")
        f = getattr(importlib.import_module(module), name + "_value_and_grad")
        for dtype in (np.float32, np.float64):
            args = [rng.uniform(-3, 3, (3001, 100)).astype(dtype) for _ in range(count)]
            kl, grads = f(*args)
            key = f"{module}-{np.dtype(dtype).name}"
            arrays.update({f"{key}-in{i}": a for i, a in enumerate(args)})
            for i, result in enumerate((kl, *grads)):
                arrays[f"{key}-out{i}"] = result
                digests[f"{key}-out{i}"] = hashlib.sha256(result.tobytes()).hexdigest()
    return digests, arrays


# A child process with KLGEN_NUM_THREADS set (or unset) imports every diagonal module of both
# backends and prints, as JSON, each import's error, else its thread count; given "run" it
# also prints its pool size and thread_digests (same code, same inputs as here).
CHILD = f"""
import hashlib, importlib, json, sys
import numpy as np
errors = {{}}
for module in {MODULES!r}:
    try:
        importlib.import_module(module)
    except Exception as err:
        errors[module] = [type(err).__name__, str(err)]
if errors:
    print(json.dumps({{"errors": errors}}))
    raise SystemExit
runtime = importlib.import_module("klgen.generated._runtime")
found = {{"threads": runtime.NUM_THREADS}}
{inspect.getsource(thread_digests)}
if sys.argv[1:]:
    digests, _ = thread_digests({MODULES!r})
    found.update(pool=runtime._pool and runtime._pool._max_workers, digests=digests)
print(json.dumps(found))
"""


def children(settings, arguments=()):
    """Run CHILD once per KLGEN_NUM_THREADS setting (None: unset), all at once, with
    ``arguments``; their JSON by setting."""
    running = {}
    for setting in settings:
        env = {k: v for k, v in os.environ.items() if k != "KLGEN_NUM_THREADS"}
        if setting is not None:
            env["KLGEN_NUM_THREADS"] = setting
        args = [sys.executable, "-c", CHILD, *arguments]
        running[setting] = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE)
    return {s: json.loads(p.communicate(timeout=120)[0]) for s, p in running.items()}


def test_thread_count_settings_are_checked_at_import_naming_the_variable():
    bad = ["-1", "0", "abc", "2.5", " ", "1e3", "+2", "1025", "99999999999999999999999"]
    found = children([*bad, None, ""])  # None (unset) and "" mean the core count
    for setting in bad:
        assert len(found[setting]["errors"]) == len(MODULES), (setting, found[setting])
        for kind, message in found[setting]["errors"].values():
            assert kind == "ValueError"
            assert message == (
                "KLGEN_NUM_THREADS must be a whole number from 1 to 1024 "
                f"(or unset for the core count), got {setting!r}"
            )
    assert found[None] == found[""] == {"threads": os.cpu_count()}


def test_thread_counts_give_the_one_thread_results_bit_for_bit(monkeypatch):
    found = children(["2", "3"], ["run"])  # while this process computes on one thread:
    kernels("kl_std_normal", "numba")  # (numba installed, or the test skips)
    monkeypatch.setattr(importlib.import_module("klgen.generated._runtime"), "NUM_THREADS", 1)
    digests, arrays = thread_digests(MODULES)
    for setting in ("2", "3"):
        assert found[setting]["threads"] == found[setting]["pool"] == int(setting)
        assert found[setting]["digests"] == digests, setting
    for key in sorted({key.rsplit("-", 1)[0] for key in arrays}):  # and the results are right
        spec = SPEC[key.split("-")[0].split(".")[-1].removesuffix("_numba")]
        args = [arrays[f"{key}-in{i}"] for i in range(len(spec.args))]
        kl, *grads = (arrays[f"{key}-out{i}"] for i in range(len(spec.args) + 1))
        check_answer(spec, "_value_and_grad", args, (kl, grads))
