"""A run's state and its checkpoint file: save, load, and validate every field on load.

A checkpoint is an .npz: the parameters by name (``param/fc1.weight``, ...), Adam's
``adam.m``, ``adam.v`` and ``adam.t``, ``step_losses`` and ``meta``, a JSON object with the
settings, epoch, history, RNG state, layer widths, dtype and a fingerprint of the data.
Loading checks each of them -- presence, type, shape, range, and that they agree with one
another -- so a damaged or crafted file gives one `CheckpointError` naming the field,
never a traceback later or a run that silently trains nothing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import model
from .data import EMBEDDED_DIR
from .files import write_atomic
from .optim import Adam

CHECKPOINT = "checkpoint.npz"
LOG_COLUMNS = ("epoch", "train_loss", "test_loss", "test_bce", "test_kl", "seconds")
DTYPES = ("float32", "float64")


class CheckpointError(ValueError):
    """A checkpoint file cannot be read back (corrupt, or not written by this trainer)."""


class _Invalid(Exception):
    """One field of a checkpoint is wrong: (field name, what is wrong)."""


@dataclass(frozen=True)
class Settings:
    """What a run is trained with; stored in the checkpoint so --resume continues alike."""

    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    prior: str = "standard"
    seed: int = 1


@dataclass
class State:
    """Everything a checkpoint holds: enough to continue a run exactly."""

    settings: Settings
    params: model.ParamSet
    adam: Adam
    rng: np.random.Generator
    epoch: int = 0  # epochs completed
    history: list[dict] = field(default_factory=list)  # one LOG_COLUMNS row per epoch
    step_losses: list[float] = field(default_factory=list)  # train loss per image, each step
    data: str = ""  # data.fingerprint() of the data trained on; "" until training starts
    data_source: str = ""  # the folder those data came from (for messages)


def dims_of(params: model.ParamSet) -> model.Dims:
    hidden, latent = params.shapes["fc21.weight"]
    return model.Dims(params.shapes["fc1.weight"][0], hidden, latent)


def save_checkpoint(path: Path, state: State) -> None:
    """Write the state to `path` atomically (an .npz; parameters stored by name)."""
    meta = {
        "settings": asdict(state.settings),
        "epoch": state.epoch,
        "history": state.history,
        "rng": state.rng.bit_generator.state,
        "dims": asdict(dims_of(state.params)),
        "dtype": state.params.flat.dtype.name,
        "data": state.data,
        "data_source": state.data_source,
    }
    arrays = {f"param/{name}": a for name, a in state.params.arrays.items()}
    arrays.update(state.adam.state())
    arrays["step_losses"] = np.asarray(state.step_losses, dtype=np.float64)
    arrays["meta"] = np.array(json.dumps(meta))
    write_atomic(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: Path) -> State:
    """The state saved by `save_checkpoint`; CheckpointError naming the field if the file
    is not one (or was altered)."""
    try:
        with open(path, "rb") as f, np.load(f) as saved:  # closed even if np.load fails
            arrays = {name: saved[name] for name in saved.files}
    except FileNotFoundError:
        raise
    except Exception as err:  # not a zip, not an npz, a bad CRC, pickled objects, ...
        raise CheckpointError(f"{path}: not a readable vae checkpoint ({err})") from None
    try:
        return _state(arrays)
    except _Invalid as err:
        name, problem = err.args
        raise CheckpointError(
            f"{path}: field {name} {problem}; not a checkpoint this"
            " trainer wrote, or it was altered"
        ) from None


def _state(arrays: dict[str, np.ndarray]) -> State:
    meta = _meta(arrays)
    settings = _settings(meta["settings"])
    epoch = _integer(meta["epoch"], "epoch", 0)
    history = _history(meta["history"], epoch)
    rng = _rng(meta["rng"])
    dims = model.Dims(**_keys(meta["dims"], "dims", [f.name for f in fields(model.Dims)]))
    for name, value in asdict(dims).items():
        _integer(value, f"dims.{name}", 1)
    dtype = _choice(meta["dtype"], "dtype", DTYPES)
    if not (isinstance(meta["data"], str) and re.fullmatch("[0-9a-f]{64}", meta["data"])):
        raise _Invalid("data", f"must be a SHA-256 hex digest, got {meta['data']!r}")
    if not isinstance(meta["data_source"], str):
        raise _Invalid("data_source", f"must be a string, got {meta['data_source']!r}")
    params, adam, step_losses = _arrays(
        arrays, model.param_shapes(dims, settings.prior), dtype, settings.lr
    )
    return State(
        settings, params, adam, rng, epoch, history, step_losses, meta["data"], meta["data_source"]
    )


def _arrays(arrays: dict[str, np.ndarray], shapes: dict, dtype: str, lr: float):
    """The parameters, Adam and the step losses, each array checked before use (and before
    anything of the sizes the metadata claim is allocated)."""
    size = sum(math.prod(shape) for shape in shapes.values())
    expected = {f"param/{name}": shape for name, shape in shapes.items()}
    expected.update({"adam.m": (size,), "adam.v": (size,)})
    unknown = sorted(arrays.keys() - {*expected, "adam.t", "step_losses"})
    if unknown:
        raise _Invalid(unknown[0], "is not part of a checkpoint (unknown array)")
    for name, shape in expected.items():
        _array(arrays, name, shape, dtype)
    if (arrays["adam.v"] < 0).any():
        raise _Invalid("adam.v", "has negative entries (a mean of squares)")
    steps = _integer(_array(arrays, "adam.t", (), "int").item(), "adam.t", 0)
    step_losses = _array(arrays, "step_losses", (steps,), "float64", " (one loss per adam.t)")
    params = model.ParamSet(shapes, dtype)
    for name, array in params.arrays.items():
        array[...] = arrays[f"param/{name}"]
    adam = Adam(params.flat.size, params.flat.dtype, lr=lr)
    adam.load_state(arrays)
    return params, adam, step_losses.tolist()


def _meta(arrays: dict[str, np.ndarray]) -> dict:
    meta = arrays.pop("meta", None)
    if meta is None or meta.shape != () or meta.dtype.kind != "U":
        raise _Invalid("meta", "must be a JSON string" + (" (missing)" if meta is None else ""))
    try:
        meta = json.loads(str(meta))
    except ValueError as err:
        raise _Invalid("meta", f"is not valid JSON ({err})") from None
    names = ("settings", "epoch", "history", "rng", "dims", "dtype", "data", "data_source")
    return _keys(meta, "meta", names)


def _keys(value, name: str, names) -> dict:
    """`value` as a dict with exactly the keys `names` (fields are named ``name.key``)."""
    if not isinstance(value, dict):
        raise _Invalid(name, f"must be an object, got {value!r:.60}")
    prefix = "" if name == "meta" else f"{name}."
    for key in names:
        if key not in value:
            raise _Invalid(prefix + key, "is missing")
    unknown = sorted(value.keys() - set(names))
    if unknown:
        raise _Invalid(prefix + unknown[0], "is not part of a checkpoint (unknown field)")
    return value


def _integer(value, name: str, low: int, high: int | None = None) -> int:
    """`value`, an int (not a bool or float) with low <= value < high."""
    if type(value) is not int or value < low or high is not None and value >= high:
        bound = f">= {low}" if high is None else f"in [{low}, {high})"
        raise _Invalid(name, f"must be an integer {bound}, got {value!r}")
    return value


def _number(value, name: str, low: float, strict: bool) -> float:
    ok = type(value) in (int, float) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise _Invalid(name, f"must be a finite number {bound}, got {value!r}")
    return float(value)


def _choice(value, name: str, choices) -> str:
    if value not in choices or not isinstance(value, str):
        raise _Invalid(name, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def _settings(value) -> Settings:
    s = _keys(value, "settings", [f.name for f in fields(Settings)])
    return Settings(
        batch_size=_integer(s["batch_size"], "settings.batch_size", 1),
        lr=_number(s["lr"], "settings.lr", 0, strict=True),
        beta=_number(s["beta"], "settings.beta", 0, strict=False),
        prior=_choice(s["prior"], "settings.prior", model.PRIORS),
        seed=_integer(s["seed"], "settings.seed", 0),
    )


def _history(value, epoch: int) -> list[dict]:
    """One LOG_COLUMNS row per completed epoch, numbered 1, 2, ..."""
    if not isinstance(value, list):
        raise _Invalid("history", f"must be a list of rows, got {value!r:.60}")
    if len(value) != epoch:
        raise _Invalid("epoch", f"({epoch}) disagrees with history, which lists {len(value)}")
    for i, row in enumerate(value):
        _keys(row, f"history[{i}]", LOG_COLUMNS)
        if row["epoch"] != i + 1 or type(row["epoch"]) is not int:
            raise _Invalid(f"history[{i}].epoch", f"must be {i + 1}, got {row['epoch']!r}")
        for column in LOG_COLUMNS[1:]:
            _number(row[column], f"history[{i}].{column}", -math.inf, strict=False)
    return value


def _rng(value) -> np.random.Generator:
    """The PCG64 generator of a saved ``bit_generator.state``, each number in its range."""
    saved = _keys(value, "rng", ("bit_generator", "state", "has_uint32", "uinteger"))
    _choice(saved["bit_generator"], "rng.bit_generator", ("PCG64",))
    for key in _keys(saved["state"], "rng.state", ("state", "inc")):
        _integer(saved["state"][key], f"rng.state.{key}", 0, 2**128)
    _integer(saved["has_uint32"], "rng.has_uint32", 0, 2)
    _integer(saved["uinteger"], "rng.uinteger", 0, 2**32)
    rng = np.random.default_rng()
    rng.bit_generator.state = saved
    return rng


def _array(arrays: dict, name: str, shape: tuple, dtype: str, why: str = "") -> np.ndarray:
    """arrays[name], checked: present, of `dtype` ("int": any integer type), of `shape`
    (`why` says where that comes from), and finite."""
    if name not in arrays:
        raise _Invalid(name, "is missing")
    array = arrays[name]
    if dtype == "int" and array.dtype.kind not in "iu" or dtype != "int" and array.dtype != dtype:
        raise _Invalid(name, f"must be {'integer' if dtype == 'int' else dtype}, got {array.dtype}")
    if array.shape != shape:
        raise _Invalid(name, f"must have shape {shape}{why}, got {array.shape}")
    if dtype != "int" and not np.isfinite(array).all():
        raise _Invalid(name, "holds NaN or infinite values")
    return array


def check_data(state: State, path: Path, data, fingerprint: str) -> None:
    """Raise CheckpointError unless the checkpoint at `path` (loaded as `state`) can go on
    training on `data`: the same data (`fingerprint`), images of the model's input width,
    and an Adam step count of whole epochs over them."""
    if fingerprint != state.data:
        same = (
            "omit --data (the embedded subset)"
            if state.data_source == str(EMBEDDED_DIR)
            else f"give --data {state.data_source}"
        )
        raise CheckpointError(
            f"{path} was trained on other data ({state.data_source}, fingerprint"
            f" {state.data[:12]}) than {data.source} (fingerprint {fingerprint[:12]});"
            f" to resume it, {same}"
        )
    width = state.params.shapes["fc1.weight"][0]
    if data.train_images.shape[1] != width:
        raise CheckpointError(
            f"{path}: field dims.input {width} does not match the"
            f" {data.train_images.shape[1]} pixels of the images"
        )
    steps = state.epoch * math.ceil(len(data.train_images) / state.settings.batch_size)
    if state.adam.t != steps:
        raise CheckpointError(
            f"{path}: field adam.t must be {steps} ({state.epoch} epochs"
            f" of the data), got {state.adam.t}"
        )
