"""The training loop, test evaluation, checkpoints and the per-epoch log.

A run lives in one output folder: ``checkpoint.npz`` (parameters, Adam state, RNG state,
settings and history, rewritten atomically after every epoch), ``log.csv`` (one row per
epoch) and the pictures. All randomness in training -- the batch order of every epoch
and the reparameterisation noise -- comes from one generator whose state is checkpointed,
so a run resumed after epoch k ends bit-for-bit equal to an uninterrupted one.
Test evaluation draws from its own generator seeded by (seed, epoch) and so never shifts
the training stream.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import model
from .optim import Adam

CHECKPOINT = "checkpoint.npz"
LOG = "log.csv"
LOG_COLUMNS = ("epoch", "train_loss", "test_loss", "test_bce", "test_kl", "seconds")
EVAL_BATCH = 1000


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and the step."""


class CheckpointError(ValueError):
    """A checkpoint file cannot be read back (corrupt, or not written by this trainer)."""


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


def new_state(settings: Settings, dims: model.Dims | None = None, dtype=np.float32) -> State:
    """Fresh parameters and optimizer; the seed drives initialisation, then training."""
    rng = np.random.default_rng(settings.seed)
    params = model.init_params(dims or model.Dims(), settings.prior, rng, dtype)
    return State(settings, params, Adam(params.flat.size, dtype, lr=settings.lr), rng)


def _atomic_write(path: Path, write) -> None:
    """Call write(binary file) on a temp file beside `path`, then rename it over `path`.

    A crash or Ctrl-C mid-write leaves the previous file intact, never a half-written one.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_checkpoint(path: Path, state: State) -> None:
    """Write the state to `path` atomically (an .npz; parameters stored by name)."""
    meta = {
        "settings": asdict(state.settings),
        "epoch": state.epoch,
        "history": state.history,
        "rng": state.rng.bit_generator.state,
        "dims": asdict(_dims(state.params)),
        "dtype": state.params.flat.dtype.name,
    }
    arrays = {f"param/{name}": a for name, a in state.params.arrays.items()}
    arrays.update(state.adam.state())
    arrays["step_losses"] = np.asarray(state.step_losses, dtype=np.float64)
    arrays["meta"] = np.array(json.dumps(meta))
    _atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: Path) -> State:
    """The state saved by `save_checkpoint`; CheckpointError if the file is not one."""
    try:
        with open(path, "rb") as f, np.load(f) as saved:  # closed even if np.load fails
            meta = json.loads(str(saved["meta"]))
            settings = Settings(**meta["settings"])
            dims = model.Dims(**meta["dims"])
            params = model.ParamSet(model.param_shapes(dims, settings.prior), meta["dtype"])
            for name, array in params.arrays.items():
                array[...] = saved[f"param/{name}"]
            adam = Adam(params.flat.size, params.flat.dtype, lr=settings.lr)
            adam.load_state(saved)
            step_losses = saved["step_losses"].tolist()
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
    except FileNotFoundError:
        raise
    except Exception as err:  # not a zip, not an npz, missing keys, bad JSON or shapes
        raise CheckpointError(f"{path}: not a readable vae checkpoint ({err!r})") from err
    return State(settings, params, adam, rng, meta["epoch"], meta["history"], step_losses)


def _dims(params: model.ParamSet) -> model.Dims:
    hidden, latent = params.shapes["fc21.weight"]
    return model.Dims(params.shapes["fc1.weight"][0], hidden, latent)


def write_log(path: Path, history: list[dict]) -> None:
    """The per-epoch history as CSV, rewritten atomically (so it always matches the
    checkpoint, also after a resume)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    _atomic_write(path, lambda f: f.write(text.getvalue().encode()))


def evaluate(
    params: model.ParamSet, images: np.ndarray, beta: float, seed: int, epoch: int
) -> model.Losses:
    """Mean test BCE and KL per image, z sampled from a generator seeded by (seed, epoch)."""
    rng = np.random.default_rng((seed, epoch))
    bce = kl = 0.0
    latent = params.shapes["fc21.bias"][0]
    work = model.Workspace(params.flat.dtype)
    for start in range(0, len(images), EVAL_BATCH):
        x = images[start : start + EVAL_BATCH]
        eps = rng.standard_normal((len(x), latent), dtype=params.flat.dtype)
        batch_bce, batch_kl = model.evaluate(params, x, eps, work)
        bce += batch_bce
        kl += batch_kl
    return model.Losses(bce / len(images), kl / len(images), beta)


@np.errstate(over="ignore", invalid="ignore")  # a diverging run ends with the error below
def train_epoch(
    state: State, images: np.ndarray, grads: model.ParamSet, work: model.Workspace, bar
) -> float:
    """One pass over `images` in shuffled batches; returns the mean loss per image.

    Raises TrainingDiverged on a non-finite loss, before the optimizer step and before
    anything is saved.
    """
    s, p = state.settings, state.params
    epoch = state.epoch + 1
    order = state.rng.permutation(len(images))
    steps = math.ceil(len(images) / s.batch_size)
    latent = p.shapes["fc21.bias"][0]
    total = 0.0
    for step in range(steps):
        x = images[order[step * s.batch_size : (step + 1) * s.batch_size]]
        eps = state.rng.standard_normal((len(x), latent), dtype=p.flat.dtype)
        loss = model.loss_and_grad(p, x, eps, s.beta, grads, work).total
        if not math.isfinite(loss):
            raise TrainingDiverged(f"loss is {loss} at epoch {epoch}, step {step + 1}/{steps}")
        state.adam.step(p.flat, grads.flat)
        total += loss
        state.step_losses.append(loss / len(x))
        bar.update(1)
        bar.set_postfix(loss=f"{total / min(len(images), (step + 1) * s.batch_size):.2f}",
                        refresh=False)
    return total / len(images)


def run_epoch(state: State, train_images, test_images, grads, work, bar) -> dict:
    """Train one epoch and evaluate on the test set; returns the epoch's log row."""
    start = time.perf_counter()
    train_loss = train_epoch(state, train_images, grads, work, bar)
    seconds = time.perf_counter() - start
    s = state.settings
    test = evaluate(state.params, test_images, s.beta, s.seed, state.epoch + 1)
    if not math.isfinite(test.total):
        raise TrainingDiverged(
            f"test loss is {test.total} after epoch {state.epoch + 1} (last step)"
        )
    state.epoch += 1
    row = {
        "epoch": state.epoch,
        "train_loss": round(train_loss, 4),
        "test_loss": round(test.total, 4),
        "test_bce": round(test.bce, 4),
        "test_kl": round(test.kl, 4),
        "seconds": round(seconds, 3),
    }
    state.history.append(row)
    return row


def fit(state: State, data, epochs: int, out: Path, progress: bool = True, say=print) -> State:
    """Train until `state.epoch == epochs`, checkpointing and logging after every epoch.

    Writes the pictures at the end and on Ctrl-C (then re-raises KeyboardInterrupt).
    On a non-finite loss raises TrainingDiverged naming the epoch, the step and the last
    good checkpoint, which is left as it was.
    """
    from tqdm import tqdm  # the `train` extra; imported here so `import vae.train` is light

    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / CHECKPOINT
    saved = state.epoch  # the epoch of the checkpoint on disk; 0: none written by this run
    grads, work = state.params.zeros_like(), model.Workspace(state.params.flat.dtype)
    steps = math.ceil(len(data.train_images) / state.settings.batch_size)
    try:
        while state.epoch < epochs:
            desc = f"epoch {state.epoch + 1}/{epochs}"
            with tqdm(total=steps, desc=desc, unit="batch", leave=False,
                      disable=None if progress else True) as bar:
                row = run_epoch(state, data.train_images, data.test_images, grads, work, bar)
            save_checkpoint(checkpoint, state)
            saved = state.epoch
            write_log(out / LOG, state.history)
            say(f"epoch {row['epoch']}: train loss {row['train_loss']:.2f}, test loss"
                f" {row['test_loss']:.2f} (BCE {row['test_bce']:.2f}, KL {row['test_kl']:.2f})"
                f" per image, {row['seconds']:.2f} s")
    except TrainingDiverged as err:
        kept = (f"last good checkpoint: {checkpoint} (epoch {saved})" if saved
                else "no checkpoint was written")
        raise TrainingDiverged(f"{err}; training stopped, {kept}") from None
    except KeyboardInterrupt:
        kept = (f"checkpoint of epoch {saved} kept in {checkpoint} (continue with --resume)"
                if saved else "no checkpoint was written")
        say(f"interrupted in epoch {saved + 1}; {kept}")
        _pictures(state, data, out, steps, say)
        raise
    _pictures(state, data, out, steps, say)
    return state


def _pictures(state: State, data, out: Path, steps_per_epoch: int, say) -> None:
    from . import pictures  # Pillow, the `train` extra

    paths = pictures.write_all(out, state, data.test_images, steps_per_epoch)
    say("pictures: " + ", ".join(str(p) for p in paths))
