"""The torch twins ``klgen.generated.<name>_torch``: custom operators whose backward is the
derived gradient. gradcheck in float64 for every kernel; values and gradients against the
numpy kernels over each kernel's sampled domain and the IEEE special values; the issue's
points where autograd through the formula fails; torch.compile(fullgraph=True) with no
warning; half precision rounded once; bad input refused by name."""

import functools
import importlib
import importlib.util
import logging
import os
import sys
import warnings

import numpy as np
import pytest
from kernels import SPECIALS, UNIT_INTERVAL, arg_names, spec_of
from oracle import Textbook, domain, oracle_of

from klgen.derive.package import compiled_twins, shipped_kernels
from klgen.derive.specs import SPECS

try:
    import torch
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs torch: these tests must run there
    pytest.skip("torch is not installed", allow_module_level=True)

SPEC_OF = spec_of()
NAMES = sorted(compiled_twins())
# Kernels whose mpmath oracle (consulted where the paths differ by more than MAX_ULPS) takes
# seconds a point: the comparison over the domain runs with the slow tests (kl_beta: 50 s).
SLOW_ORACLE = {"kl_beta"}
MAX_ULPS = 4  # the torch operators evaluate numpy's array-API path: a few ulps apart at most
# Kernels whose array-API path is further from the numpy blocks: kl_beta's, up to 12 ulps of
# the terms' scale from mpmath over the sampled domain (seed 0; the numpy blocks 4 there).
MAX_ULPS_OF = {"kl_beta": 16}


PATHS = ["cpu", "generic"]  # the numpy kernels on the CPU; the array-API functions elsewhere


def torch_module(name):
    return importlib.import_module(f"klgen.generated.{name}_torch")


@functools.cache
def generic_kernel(name):
    """The operators of ``name`` running the array-API functions on the CPU too, as they
    run on every other device (CUDA cannot be tested here)."""
    from klgen.generated._torch_ops import TorchKernel

    return TorchKernel("klgen_test_generic", name, arg_names(name), numpy_module(name), cpu=False)


def functions(name, path):
    """(value, grad, value_and_grad) of ``name`` on ``path``."""
    if path == "generic":
        kernel = generic_kernel(name)
        return kernel.value, kernel.grad, kernel.value_and_grad
    module = torch_module(name)
    return tuple(getattr(module, name + s) for s in ("", "_grad", "_value_and_grad"))


def numpy_module(name):
    return importlib.import_module(f"klgen.generated.{name}")


def moderate(name, shape, dtype=torch.float64, seed=0):
    """Inputs where every kernel is smooth: data in (0.1, 0.9), the rest normal."""
    generator = torch.Generator().manual_seed(seed)
    args = []
    for arg in arg_names(name):
        if (name, arg) in UNIT_INTERVAL:
            value = 0.1 + 0.8 * torch.rand(shape, generator=generator, dtype=torch.float64)
        else:
            value = torch.randn(shape, generator=generator, dtype=torch.float64)
        args.append(value.to(dtype))
    return args


def close(got, want, dtype=np.float64, ulps=MAX_ULPS):
    """Elementwise: both NaN, or equal (infinities too), or within ``ulps`` of the larger."""
    got = got.detach() if isinstance(got, torch.Tensor) else got
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    both_nan = np.isnan(got) & np.isnan(want)
    with np.errstate(invalid="ignore", over="ignore"):
        scale = np.spacing(np.maximum(np.abs(got), np.abs(want)).astype(dtype)).astype(np.float64)
        near = np.abs(got - want) <= ulps * scale
    return both_nan | (got == want) | near


def test_every_elementwise_kernel_has_a_torch_twin():
    """... running the compiled (numba) twin on the CPU where numba is installed."""
    assert set(NAMES) == {s.name for s in SPECS} | {k.name for k in shipped_kernels()}
    host = "_numba" if importlib.util.find_spec("numba") else ""
    for name in NAMES:
        module = torch_module(name)
        assert module.__all__ == [name, f"{name}_grad", f"{name}_value_and_grad"]
        assert module._cpu_kernels.__name__ == f"klgen.generated.{name}{host}"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_in_float64(name, path):
    args = [a.requires_grad_() for a in moderate(name, (3, 4))]
    assert torch.autograd.gradcheck(functions(name, path)[0], args, fast_mode=True)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_with_broadcast_arguments(name, path):
    """The last argument of shape (4,) against (2, 3, 4): its gradient sums the rows."""
    args = moderate(name, (2, 3, 4))
    args[-1] = args[-1][0, 0].clone()
    args = [a.requires_grad_() for a in args]
    assert torch.autograd.gradcheck(functions(name, path)[0], args, fast_mode=True)


@pytest.mark.parametrize("path", PATHS)
def test_float32_gradients_of_broadcast_priors_are_summed_before_they_are_rounded(path):
    """kl_diag_normal's prior (8,) against 4096 rows in float32: its gradient is the rows'
    products with the cotangent summed in float64 and rounded once, within half an ulp plus
    the rows' own roundings, 4 2^-24 sum |g_i| (numba's float32 loops: 2 ulps a row).
    Measured 0.10 of those units at most (seeds 5-7); torch's own float32 cascade sum gave
    0.9 (1.3 ulps), within the bound too: this guards the contract, not a seen failure."""
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=(4096, 8)), rng.uniform(-2, 2, (4096, 8))]
    arrays += [rng.normal(size=8), rng.uniform(-1, 1, 8)]
    args = [torch.tensor(a, dtype=torch.float32).requires_grad_() for a in arrays]
    functions("kl_diag_normal", path)[0](*args).sum().backward()
    wide = [a.astype(np.float32).astype(np.float64) for a in arrays]
    exact = numpy_module("kl_diag_normal").kl_diag_normal_grad(*wide)
    rows = numpy_module("kl_diag_normal").kl_diag_normal_grad(*np.broadcast_arrays(*wide))
    for i in (2, 3):
        got = args[i].grad.numpy().astype(np.float64)
        ulp = np.spacing(np.abs(exact[i]).astype(np.float32)).astype(np.float64)
        bound = 0.5 * ulp + 4 * 2.0**-24 * np.abs(rows[i]).sum(axis=0)
        assert np.all(np.abs(got - exact[i]) <= bound)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_eager_calls_and_the_operators_autograd_agree_bit_for_bit(name, dtype):
    """In eager mode on the CPU the functions skip the dispatcher and the operators'
    autograd layer (a torch.autograd.Function with the same backward): their values and
    gradients are those of the registered operator's, bit for bit, broadcasting included."""
    kernel = torch_module(name)._KERNEL
    args = moderate(name, (2, 3, 4), dtype)
    args[-1] = args[-1][0, :1].clone()  # shape (1, 4): broadcast over the batch
    eager = [a.clone().requires_grad_() for a in args]
    operator = [a.clone().requires_grad_() for a in args]
    cotangent = torch.randn((2, 3), generator=torch.Generator().manual_seed(1), dtype=dtype)
    value = getattr(torch_module(name), name)(*eager)
    (value * cotangent).sum().backward()
    want = kernel.fused_op(*operator)[0]
    (want * cotangent).sum().backward()
    assert type(value.grad_fn).__name__ != type(want.grad_fn).__name__  # two paths
    assert torch.equal(value, want)
    for a, b in zip(eager, operator, strict=True):
        assert torch.equal(a.grad, b.grad)


@pytest.mark.slow  # 30 s in all
@pytest.mark.parametrize("name", NAMES)
def test_operators_pass_opcheck(name):
    """torch.library.opcheck: schema, autograd registration, fake kernels (shapes, types and
    strides: compiled code asserts them) against the real ones, with dynamic shapes."""
    torch_module(name)  # registers the operators
    args = moderate(name, (2, 3))
    args[-1] = args[-1][0].clone()  # broadcast against the others
    ops = torch.ops.klgen_generated
    torch.library.opcheck(getattr(ops, name).default, args)
    torch.library.opcheck(getattr(ops, f"{name}_fused").default, [a.requires_grad_() for a in args])


def domain_points(name):
    """The sampled domain of tests/oracle.py (one point per row, latent size 1), then each
    argument at each special value with the others moderate."""
    spec = SPEC_OF[name]
    points = domain(spec, np.float64, 200)
    base = moderate(name, (1,), seed=1)
    rows = []
    for i in range(len(spec.args)):
        for special in SPECIALS:
            row = [float(b[0]) for b in base]
            row[i] = special
            rows.append(row)
    return np.concatenate([points, np.array(rows)])[:, None, :]  # (rows, 1, args)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_ORACLE else n for n in NAMES]
)
def test_values_and_gradients_match_numpy(name, path):
    """Over the whole sampled domain and the special values: the value, the autograd
    gradient (the registered backward), and the _grad and _value_and_grad functions."""
    points = domain_points(name)
    arrays = [np.ascontiguousarray(points[..., i]) for i in range(points.shape[-1])]
    want_value, want_grads = getattr(numpy_module(name), f"{name}_value_and_grad")(*arrays)
    value_of, grad_of, value_and_grad_of = functions(name, path)
    tensors = [torch.from_numpy(a).requires_grad_() for a in arrays]
    value = value_of(*tensors)
    value.sum().backward()
    fused_value, fused_grads = value_and_grad_of(*tensors)
    grads = grad_of(*tensors)
    assert within_the_terms(name, 0, points, value, want_value)
    assert within_the_terms(name, 0, points, fused_value, want_value)
    for i, want in enumerate(want_grads):
        for got in (tensors[i].grad, fused_grads[i], grads[i]):
            assert got.shape == want.shape and got.dtype == torch.float64
            assert within_the_terms(name, 1 + i, points, got, want)


def within_the_terms(name, output, points, got, want):
    """Where ``got`` and ``want`` are not within MAX_ULPS of each other, an output that
    cancels between its terms (sigmoid(l) - x): each is within MAX_ULPS of the exact value
    at the scale of the terms (tests/oracle.py), so they are within twice that of each other
    there."""
    got = got.detach().numpy()
    for row in np.flatnonzero(~close(got, want).ravel()):
        point = tuple(map(float, points[row, 0]))
        spec = SPEC_OF[name]
        oracle = oracle_of(spec if name in {s.name for s in SPECS} else Textbook.of(spec))
        _, scale = oracle.outputs(point)[output]
        limit = 2 * MAX_ULPS_OF.get(name, MAX_ULPS) * np.spacing(float(scale))
        if not abs(got.flat[row] - want.flat[row]) <= limit:
            return False
    return True


@pytest.mark.parametrize("path", PATHS)
def test_the_issues_points_where_autograd_through_the_formula_fails(path):
    """float64 logvar = 709.9: e^lv/2 - 1/2 is 1.01e308, but autograd through the formula
    computes e^lv (inf) first; |logvar| = 1e25: the same overflow, or inf - inf."""
    from klgen.generated.kl_std_normal import kl_std_normal_grad as numpy_grad

    kl_std_normal = functions("kl_std_normal", path)[0]
    logvar = np.array([[709.9, -1e25, 1e-8, -709.9]])
    mu = np.zeros_like(logvar)
    _, want = numpy_grad(mu, logvar)
    assert np.isfinite(want).all()
    lv = torch.tensor(logvar, requires_grad=True)
    kl_std_normal(torch.zeros_like(lv), lv).sum().backward()
    assert torch.isfinite(lv.grad).all() and close(lv.grad, want).all()
    assert lv.grad[0, 0] > 1e308
    naive = torch.tensor(logvar, requires_grad=True)
    (0.5 * (naive.exp() - 1 - naive)).sum().backward()
    assert not torch.isfinite(naive.grad[0, 0])  # the peer's failure this backend avoids


def test_upper_overflow_gives_inf_where_the_exact_gradient_overflows():
    from klgen.generated.kl_std_normal_torch import kl_std_normal

    lv = torch.tensor([[1e25, 711.0]], dtype=torch.float64, requires_grad=True)
    kl_std_normal(torch.zeros_like(lv), lv).sum().backward()
    assert (lv.grad == torch.inf).all()


@pytest.mark.parametrize("name", ["kl_std_normal", "nll_bernoulli"])
def test_compiled_fullgraph_with_no_warning(name, caplog):
    """One graph (fullgraph=True raises on a break), no warning while compiling or running,
    and the compiled value and gradients equal the eager ones."""
    with warnings.catch_warnings():  # torch's own deprecation warnings, importing inductor
        warnings.simplefilter("ignore", DeprecationWarning)
        import torch._inductor.compile_fx  # noqa: F401

    module = torch_module(name)
    function = getattr(module, name)
    eager = [a.requires_grad_() for a in moderate(name, (8, 5), torch.float32)]
    compiled_args = [a.detach().clone().requires_grad_() for a in eager]

    def loss(*args):
        return function(*args).mean() * 3.0

    torch._dynamo.reset()
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = torch.compile(loss, fullgraph=True)
        got = compiled(*compiled_args)
        got.backward()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    want = loss(*eager)
    want.backward()
    assert close(got, want.detach(), np.float32).all()  # inductor sums in its own order
    for a, b in zip(compiled_args, eager, strict=True):
        assert torch.equal(a.grad, b.grad)


# --- half precision --------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_half_precision_is_the_float64_result_rounded_once(name, dtype, path):
    """Half-precision inputs give the float64 kernel's result on the same (exact) values,
    rounded once into the type: equal on the CPU (to the host module it runs); on the
    array-API path, equal to the numpy kernels' or one ulp apart where the two float64
    results, a few float64 ulps apart, straddle a rounding boundary of the type."""
    args = moderate(name, (64, 8), dtype, seed=2)
    args = [
        a * 4 if (name, n) not in UNIT_INTERVAL else a
        for a, n in zip(args, arg_names(name), strict=True)
    ]
    value, grads = functions(name, path)[2](*args)
    reference = torch_module(name)._cpu_kernels if path == "cpu" else numpy_module(name)
    want_value, want_grads = getattr(reference, f"{name}_value_and_grad")(
        *[a.double().numpy() for a in args]
    )
    assert value.dtype == dtype and all(g.dtype == dtype for g in grads)
    for got, want in [(value, want_value), *zip(grads, want_grads, strict=True)]:
        rounded = torch.from_numpy(np.asarray(want)).to(dtype)
        assert (half_ulps(got, rounded) <= (0 if path == "cpu" else 1)).all()


def half_ulps(got, want):
    """|got - want| in units of the type's spacing at want (both half precision)."""
    spacing = torch.nextafter(want.abs(), torch.full_like(want, torch.inf)) - want.abs()
    return ((got.double() - want.double()).abs() / spacing.double()).nan_to_num(0.0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_precision_is_finite_whenever_the_true_value_fits(dtype):
    """dKL/dlogvar = (e^lv - 1)/2 over every logvar of the type where it fits: finite, and
    the float64 value rounded once; where e^lv alone overflows the type, the formula in the
    type is not (the reason to compute wider)."""
    from klgen.generated.kl_std_normal_torch import kl_std_normal_grad

    bits = torch.arange(0, 1 << 16, dtype=torch.int32).to(torch.int16).view(dtype)
    lv = bits[torch.isfinite(bits)]
    _, dlv = kl_std_normal_grad(torch.zeros_like(lv), lv)
    exact = torch.special.expm1(lv.double()) / 2
    fits = exact.abs() <= torch.finfo(dtype).max
    assert torch.isfinite(dlv[fits]).all()
    assert (dlv[~fits].abs() == torch.inf).all()
    assert torch.equal(dlv[fits], exact[fits].to(dtype))
    naive = (torch.exp(lv) - 1) / 2
    assert not torch.isfinite(naive[fits]).all()


@pytest.mark.parametrize("path", PATHS)
def test_half_precision_backward_is_finite_where_the_product_fits(path):
    """float16 logvar = 12: dKL/dlogvar = (e^12 - 1)/2 = 81377 exceeds float16's 65504, but
    a mean over 4 rows scales it to 20344, which fits: the gradient is kept in float32 until
    that product is rounded. Autograd through the formula in float16 overflows at e^12."""
    value = functions("kl_std_normal", path)[0]
    lv = torch.full((4, 1), 12.0, dtype=torch.float16, requires_grad=True)
    value(torch.zeros_like(lv), lv).mean().backward()
    want = torch.tensor(np.expm1(12.0) / 2 / 4).to(torch.float16)
    assert torch.isfinite(lv.grad).all() and (lv.grad == want).all()
    naive = lv.detach().clone().requires_grad_()
    (0.5 * (naive.exp() - 1 - naive)).sum(-1).mean().backward()
    assert not torch.isfinite(naive.grad).any()


# --- bad input --------------------------------------------------------------------------------


def bad_inputs(name):
    """(description, arguments, error type, words the message must contain)."""
    good = moderate(name, (2, 3))
    first = arg_names(name)[0]
    last = arg_names(name)[-1]

    def replaced(i, value):
        args = list(good)
        args[i] = value
        return args

    n = len(good) - 1
    return [
        ("int", replaced(n, good[n].to(torch.int64)), TypeError, [last, "torch.int64"]),
        ("bool", replaced(n, good[n] > 0), TypeError, [last, "torch.bool"]),
        ("complex", replaced(n, good[n].to(torch.complex128)), TypeError, [last, "complex128"]),
        ("numpy", replaced(0, good[0].numpy()), TypeError, [first, "torch.Tensor"]),
        ("scalar", replaced(n, torch.tensor(1.0, dtype=torch.float64)), ValueError, [last]),
        ("shape", replaced(n, good[n][:, :2]), ValueError, [first, last, "(2, 2)"]),
        ("device", replaced(n, good[n].to("meta")), ValueError, [first, last, "meta", "cpu"]),
    ]


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_refused_by_name(name):
    module = torch_module(name)
    for suffix in ("", "_grad", "_value_and_grad"):
        function = getattr(module, name + suffix)
        for what, args, error, words in bad_inputs(name):
            with pytest.raises(error) as raised:
                function(*args)
            assert all(w in str(raised.value) for w in words), (what, str(raised.value))


@pytest.mark.parametrize("name", NAMES)
def test_empty_batches_and_mixed_types(name):
    """An empty batch gives an empty result; float32 with float64 computes the float64."""
    module = torch_module(name)
    empty = [a[:0] for a in moderate(name, (2, 3))]
    value, grads = getattr(module, f"{name}_value_and_grad")(*empty)
    assert value.shape == (0,) and all(g.shape == (0, 3) for g in grads)
    mixed = moderate(name, (2, 3))
    mixed[0] = mixed[0].float()
    value, grads = getattr(module, f"{name}_value_and_grad")(*mixed)
    assert value.dtype == torch.float64 and grads[0].dtype == torch.float32


def test_a_second_derivative_is_refused():
    from klgen.generated.kl_std_normal_torch import kl_std_normal

    lv = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="first derivatives only"):
        torch.autograd.grad(kl_std_normal(torch.zeros_like(lv), lv).sum(), lv, create_graph=True)


# --- a user's spec file -----------------------------------------------------------------------


def test_a_users_spec_gets_a_torch_module(tmp_path):
    from klgen.derive.cli import main

    spec = tmp_path / "spec.py"
    spec.write_text(
        "import sympy as sp\nimport klgen\nx, y = sp.symbols('x y', real=True)\n"
        "KERNELS = [klgen.Kernel(name='softgap', args=(x, y), "
        "term=sp.log(1 + sp.exp(x - y)) + x * x / 2, computes='a soft gap')]\n"
    )
    out = tmp_path / "userkl"
    assert (
        main(["generate", "--spec", str(spec), "--out", str(out), "--backend", "numpy,torch"]) == 0
    )
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("userkl.softgap_torch")
        numpy_twin = importlib.import_module("userkl.softgap")
    finally:
        sys.path.remove(str(tmp_path))
    args = [torch.randn(3, 4, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    assert torch.autograd.gradcheck(module.softgap, args)
    points = torch.tensor([[-40.0, 0.5, 30.0, 700.0]], dtype=torch.float64, requires_grad=True)
    module.softgap(points, torch.zeros_like(points)).sum().backward()
    want, _ = numpy_twin.softgap_grad(points.detach().numpy(), np.zeros((1, 4)))
    assert close(points.grad, want).all()
