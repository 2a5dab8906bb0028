"""The JAX twins ``klgen.generated.<name>_jax``: custom_vjp functions, JAX-native (the
formulas printed in jax.numpy: NATIVE, whose float32 accuracy tests/test_jax_native.py
checks against mpmath) or over the numpy kernels. check_grads in float64 for every kernel;
with x64 off, float32 results of the callback twins are the numpy float32 kernels'
(float64 inside, rounded once: within 4 ulps of mpmath, where the array-API path in JAX's
float32 was 5.8e-4 off); jit, vmap and grad; half precision rounded once; bad input
refused by name."""

import importlib
import os

import mpmath
import numpy as np
import pytest
from kernels import SPECIALS, UNIT_INTERVAL, arg_names, spec_of
from oracle import domain

from klgen.derive.package import compiled_twins

NAMES = sorted(compiled_twins())
# The twins whose formulas are printed in jax.numpy (the others call the numpy kernels).
NATIVE = ["kl_diag_normal", "kl_std_normal"]
CALLBACK = [name for name in NAMES if name not in NATIVE]

try:
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs jax (the test extra): these tests must run there
    pytest.skip("jax is not installed", allow_module_level=True)


def _x64():
    """x64 on for a block: jax.enable_x64 (newer jax), else jax.experimental.enable_x64."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64()
    from jax.experimental import enable_x64

    return enable_x64()


def jax_module(name):
    return importlib.import_module(f"klgen.generated.{name}_jax")


def host_module(name):
    """The module the JAX twin calls: numpy's."""
    return importlib.import_module(f"klgen.generated.{name}")


def functions(name):
    module = jax_module(name)
    return tuple(getattr(module, name + s) for s in ("", "_grad", "_value_and_grad"))


def moderate(name, shape, dtype, seed=0):
    """numpy inputs where every kernel is smooth: data in (0.1, 0.9), the rest normal."""
    rng = np.random.default_rng(seed)
    return [
        (rng.uniform(0.1, 0.9, shape) if (name, a) in UNIT_INTERVAL else rng.normal(size=shape))
        .astype(np.float64)
        .astype(dtype)
        for a in arg_names(name)
    ]


def test_x64_is_off_by_default():
    """The x64-off tests below run with JAX's default: no float64 at all."""
    assert jnp.asarray(np.zeros(1)).dtype == jnp.float32


@pytest.mark.parametrize("name", NAMES)
def test_check_grads_in_float64(name):
    with _x64():
        args = moderate(name, (3, 4), np.float64)
        check_grads(functions(name)[0], args, order=1, modes=["rev"])
        broadcast = [*args[:-1], args[-1][0]]  # the last argument of shape (4,)
        check_grads(functions(name)[0], broadcast, order=1, modes=["rev"])


def domain_points(name, dtype):
    """tests/oracle.py's sampled domain in ``dtype`` (one point per row) and each argument
    at each special value with the others moderate."""
    points = domain(spec_of()[name], dtype, 200)
    base = moderate(name, (1,), dtype, seed=1)
    rows = []
    for i in range(points.shape[1]):
        for special in SPECIALS:
            row = [b[0] for b in base]
            row[i] = special
            rows.append(row)
    points = np.concatenate([points, np.array(rows, dtype)])
    return [np.ascontiguousarray(points[:, i : i + 1]) for i in range(points.shape[1])]


@pytest.mark.parametrize("name", CALLBACK)
def test_float32_with_x64_off_is_the_numpy_float32_kernel(name):
    """Value, grad through jax.grad and the _value_and_grad function: equal to the numpy
    float32 kernels (float64 rounded once, whose accuracy against mpmath
    tests/test_registry.py and tests/test_accuracy.py check) over the whole domain and the
    special values."""
    arrays = [flushed(a) for a in domain_points(name, np.float32)]  # as XLA reads them
    want_value, want_grads = getattr(host_module(name), f"{name}_value_and_grad")(*arrays)
    value_of, _, value_and_grad_of = functions(name)
    inputs = [jnp.asarray(a) for a in arrays]
    value, grads = value_and_grad_of(*inputs)
    autograd = jax.grad(lambda *a: value_of(*a).sum(), argnums=tuple(range(len(inputs))))(*inputs)
    assert value.dtype == jnp.float32
    np.testing.assert_array_equal(value_of(*inputs), flushed(want_value))
    np.testing.assert_array_equal(value, flushed(want_value))
    for got, again, want in zip(grads, autograd, want_grads, strict=True):
        assert got.dtype == again.dtype == jnp.float32
        np.testing.assert_array_equal(got, flushed(want))
        np.testing.assert_array_equal(again, flushed(want))


def flushed(want):
    """``want`` with its subnormal numbers zero (of their sign), as XLA's CPU gives them."""
    subnormal = np.abs(want) < np.finfo(want.dtype).smallest_normal
    return np.where(subnormal, np.copysign(0.0, want).astype(want.dtype), want)


def test_the_issues_float32_point_against_mpmath():
    """logvar = 1e-4 in float32 with x64 off: the KL and its gradients within 4 ulps of
    mpmath (float64 formulas run in float32 were 5.8e-4 off in relative terms)."""
    from klgen.generated.kl_std_normal_jax import kl_std_normal, kl_std_normal_value_and_grad

    for lv in [1e-4, 1e-8, -1e-3, 30.0, 88.0]:
        mu = jnp.asarray([[0.75]], jnp.float32)
        logvar = jnp.asarray([[lv]], jnp.float32)
        value, (dmu, dlv) = kl_std_normal_value_and_grad(mu, logvar)
        x = mpmath.mpf(float(logvar[0, 0]))
        with mpmath.workdps(50):
            exact = [(mpmath.mpf(0.75) ** 2 + mpmath.expm1(x) - x) / 2, mpmath.expm1(x) / 2]
        for got, want in [(value[0], exact[0]), (dlv[0, 0], exact[1])]:
            spacing = float(np.spacing(abs(np.float32(float(want)))))
            assert abs(float(got) - float(want)) <= 4 * spacing, (lv, float(got), want)
        assert float(dmu[0, 0]) == 0.75
        grad = jax.grad(lambda a, b: kl_std_normal(a, b).sum(), argnums=1)(mu, logvar)
        assert grad[0, 0] == dlv[0, 0]


def test_the_issues_float64_points_where_autograd_through_the_formula_fails():
    from klgen.generated.kl_std_normal import kl_std_normal_grad as numpy_grad
    from klgen.generated.kl_std_normal_jax import kl_std_normal

    with _x64():
        logvar = np.array([[709.9, -1e25, 1e-8, -709.9]])
        _, want = numpy_grad(np.zeros_like(logvar), logvar)
        lv = jnp.asarray(logvar)
        got = jax.grad(lambda a: kl_std_normal(jnp.zeros_like(a), a).sum())(lv)
        assert np.isfinite(got).all() and got[0, 0] > 1e308
        # The numpy kernel's derived gradient, within 4 ulps (each is within 4 of mpmath).
        np.testing.assert_allclose(got, want, rtol=4 * np.finfo(np.float64).eps, atol=0)
        naive = jax.grad(lambda a: (0.5 * (jnp.exp(a) - 1 - a)).sum())(lv)
        assert not np.isfinite(naive[0, 0])


@pytest.mark.parametrize("name", ["kl_std_normal", "kl_diag_normal", "nll_gaussian"])
def test_jit_vmap_and_grad_agree_with_the_plain_calls(name):
    value_of, _, value_and_grad_of = functions(name)
    args = [jnp.asarray(a) for a in moderate(name, (3, 5, 4), np.float32)]
    argnums = tuple(range(len(args)))

    def loss(*a):
        return (value_of(*a) ** 2).mean()

    want_value, want_grads = value_and_grad_of(*args)
    np.testing.assert_array_equal(jax.jit(value_of)(*args), want_value)
    batched = jax.vmap(value_of, in_axes=(0,) * (len(args) - 1) + (None,))
    np.testing.assert_array_equal(
        batched(*args[:-1], args[-1][0]), value_of(*args[:-1], args[-1][0])
    )
    eager = jax.grad(loss, argnums)(*args)
    compiled = jax.jit(jax.grad(loss, argnums))(*args)
    per_example = jax.vmap(jax.grad(loss, argnums))(*args)
    chain = 2 * want_value / want_value.size  # d mean(v**2) / dv
    for e, c, p, g in zip(eager, compiled, per_example, want_grads, strict=True):
        np.testing.assert_allclose(e, c, rtol=1e-6)
        np.testing.assert_allclose(e, chain[..., None] * g, rtol=1e-6)
        assert p.shape == e.shape


# Values beyond the half precision type's range round to +-inf there, as intended.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_half_precision_is_the_float64_result_rounded_once(name, dtype):
    args = [a * 4 for a in moderate(name, (64, 8), np.float64, seed=2)]
    args = [
        a / 4 if (name, n) in UNIT_INTERVAL else a
        for a, n in zip(args, arg_names(name), strict=True)
    ]
    half = [jnp.asarray(a, dtype) for a in args]
    value, grads = functions(name)[2](*half)
    want_value, want_grads = getattr(host_module(name), f"{name}_value_and_grad")(
        *[np.asarray(h, np.float64) for h in half]
    )
    assert value.dtype == dtype and all(g.dtype == dtype for g in grads)
    np.testing.assert_array_equal(value, want_value.astype(dtype))
    for got, want in zip(grads, want_grads, strict=True):
        np.testing.assert_array_equal(got, want.astype(dtype))


# Values beyond the half precision type's range round to +-inf there, as intended.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16], ids=lambda d: d.__name__)
def test_half_precision_is_finite_whenever_the_true_value_fits(dtype):
    """Every finite logvar of the type (bfloat16's subnormal ones flushed, as XLA on the CPU
    reads them; it keeps float16's). The float32 result rounded into the type is the exact
    value rounded, but where the exact value lies within 4 float32 ulps of a tie of the
    type: there the float32 rounding may fall on either side (one ulp of the type)."""
    from klgen.generated.kl_std_normal_jax import kl_std_normal_grad

    bits = np.arange(1 << 16, dtype=np.uint16).view(dtype)
    bits = bits[np.isfinite(bits)]
    lv = jnp.asarray(flushed(bits) if dtype == jnp.bfloat16 else bits)[:, None]
    _, dlv = kl_std_normal_grad(jnp.zeros_like(lv), lv)
    exact = np.expm1(np.asarray(lv, np.float64)) / 2
    fits = np.abs(exact) <= float(jnp.finfo(dtype).max)
    dlv = np.asarray(dlv)
    assert np.isfinite(dlv[fits]).all() and np.isinf(dlv[~fits]).all()
    want = exact[fits].astype(dtype)
    smallest = np.finfo(np.float32).smallest_normal  # bfloat16's too
    flushed_there = (dtype == jnp.bfloat16) & (np.abs(want) <= smallest) & (dlv[fits] == 0)
    assert ((dlv[fits] == want) | flushed_there | at_a_tie(exact[fits], dlv[fits], dtype)).all()


def at_a_tie(exact, got, dtype):
    """Where ``got`` (of ``dtype``) is a neighbour of ``exact`` rounded and ``exact`` lies
    within 4 float32 ulps of the midpoint between them."""
    want = exact.astype(dtype).astype(np.float64)
    got = got.astype(np.float64)
    step = np.abs(np.nextafter(want.astype(dtype), got.astype(dtype)).astype(np.float64) - want)
    midpoint = (want + got) / 2
    near = np.abs(exact - midpoint) <= 4 * np.spacing(np.abs(midpoint).astype(np.float32))
    return (np.abs(got - want) == step) & near


def bad_inputs(name):
    good = [jnp.asarray(a) for a in moderate(name, (2, 3), np.float32)]
    first, last = arg_names(name)[0], arg_names(name)[-1]
    n = len(good) - 1

    def replaced(i, value):
        return [*good[:i], value, *good[i + 1 :]]

    return [
        ("int", replaced(n, good[n].astype(jnp.int32)), TypeError, [last, "int32"]),
        ("bool", replaced(n, good[n] > 0), TypeError, [last, "bool"]),
        ("complex", replaced(n, good[n].astype(jnp.complex64)), TypeError, [last, "complex64"]),
        ("list", replaced(0, [[1.0, 2.0, 3.0]]), TypeError, [first, "list"]),
        ("scalar", replaced(n, jnp.float32(1.0)), ValueError, [last]),
        ("shape", replaced(n, good[n][:, :2]), ValueError, [first, last, "(2, 2)"]),
    ]


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_refused_by_name(name):
    for function in functions(name):
        for what, args, error, words in bad_inputs(name):
            with pytest.raises(error) as raised:
                function(*args)
            assert all(w in str(raised.value) for w in words), (what, str(raised.value))


def test_a_users_spec_gets_a_jax_module(tmp_path):
    import sys

    from klgen.derive.cli import main

    spec = tmp_path / "spec.py"
    spec.write_text(
        "import sympy as sp\nimport klgen\nx, y = sp.symbols('x y', real=True)\n"
        "KERNELS = [klgen.Kernel(name='gap', args=(x, y), "
        "term=sp.exp(x - y) - (x - y) + x * x / 2, computes='a gap')]\n"
    )
    out = tmp_path / "userjax"
    assert main(["generate", "--spec", str(spec), "--out", str(out), "--backend", "numpy,jax"]) == 0
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("userjax.gap_jax")
        numpy_twin = importlib.import_module("userjax.gap")
    finally:
        sys.path.remove(str(tmp_path))
    with _x64():
        args = [np.random.default_rng(3).normal(size=(3, 4)) for _ in range(2)]
        check_grads(module.gap, args, order=1, modes=["rev"])
        got = jax.grad(lambda a, b: module.gap(a, b).sum(), argnums=(0, 1))(*args)
        for g, want in zip(got, numpy_twin.gap_grad(*args), strict=True):
            np.testing.assert_array_equal(g, want)
