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
import math
import time
from pathlib import Path

import numpy as np

from . import files, model
from .checkpoint import (  # noqa: F401 (re-exported: the trainer's API)
    CHECKPOINT,
    LOG_COLUMNS,
    CheckpointError,
    Settings,
    State,
    load_checkpoint,
    save_checkpoint,
)
from .data import fingerprint
from .optim import Adam

LOG = "log.csv"
PICTURES = ("samples.png", "reconstructions.png", "loss.png")
EVAL_BATCH = 1000


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and the step."""


class OutputError(RuntimeError):
    """A file of the run could not be written; the message names it and what was kept."""


def new_state(settings: Settings, dims: model.Dims | None = None, dtype=np.float32) -> State:
    """Fresh parameters and optimizer; the seed drives initialisation, then training."""
    rng = np.random.default_rng(settings.seed)
    params = model.init_params(dims or model.Dims(), settings.prior, rng, dtype)
    return State(settings, params, Adam(params.flat.size, dtype, lr=settings.lr), rng)


def write_log(path: Path, history: list[dict]) -> None:
    """The per-epoch history as CSV, rewritten atomically (so it always matches the
    checkpoint, also after a resume)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    files.write_atomic(path, lambda f: f.write(text.getvalue().encode()))


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
        bar.set_postfix(
            loss=f"{total / min(len(images), (step + 1) * s.batch_size):.2f}", refresh=False
        )
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

    Writes the pictures at the end and on SIGINT/SIGTERM (then raises `files.Interrupted`
    saying what was kept). A signal while an epoch's checkpoint and log are written waits
    for them. On a non-finite loss raises TrainingDiverged, on a failed write (a full disk)
    OutputError, each naming the last good checkpoint, which is left as it was.
    """
    from tqdm import tqdm  # the `train` extra; imported here so `import vae.train` is light

    out.mkdir(parents=True, exist_ok=True)
    files.remove_leftovers(out, (CHECKPOINT, LOG, *PICTURES))
    if not state.data:  # a new run: remember its data, so --resume can refuse others
        state.data, state.data_source = fingerprint(data), data.source
    checkpoint = out / CHECKPOINT
    saved = state.epoch  # the epoch of the checkpoint on disk; 0: none written by this run
    grads, work = state.params.zeros_like(), model.Workspace(state.params.flat.dtype)
    steps = math.ceil(len(data.train_images) / state.settings.batch_size)
    try:
        while state.epoch < epochs:
            desc = f"epoch {state.epoch + 1}/{epochs}"
            with tqdm(
                total=steps,
                desc=desc,
                unit="batch",
                leave=False,
                disable=None if progress else True,
            ) as bar:
                row = run_epoch(state, data.train_images, data.test_images, grads, work, bar)
            with files.held_signals():  # a finished epoch is saved whole, then we stop
                save_checkpoint(checkpoint, state)
                saved = state.epoch
                write_log(out / LOG, state.history)
            say(
                f"epoch {row['epoch']}: train loss {row['train_loss']:.2f}, test loss"
                f" {row['test_loss']:.2f} (BCE {row['test_bce']:.2f}, KL {row['test_kl']:.2f})"
                f" per image, {row['seconds']:.2f} s"
            )
    except TrainingDiverged as err:
        raise TrainingDiverged(f"{err}; training stopped, {_kept(checkpoint, saved)}") from None
    except OSError as err:
        raise OutputError(
            f"{err.filename}: {err.strerror}; training stopped, {_kept(checkpoint, saved)}"
        ) from None
    except KeyboardInterrupt as stop:
        _pictures(state, data, out, steps, say)
        raise _interrupted(stop, checkpoint, saved, epochs) from None
    _pictures(state, data, out, steps, say)
    return state


def _kept(checkpoint: Path, saved: int) -> str:
    return (
        f"last good checkpoint: {checkpoint} (epoch {saved})"
        if saved
        else ("no checkpoint was written")
    )


def _interrupted(stop: KeyboardInterrupt, checkpoint: Path, saved: int, epochs: int):
    """The `files.Interrupted` to raise for `stop`, saying what was kept."""
    signum = stop.signum if isinstance(stop, files.Interrupted) else files.SIGNALS[0]
    kept = (
        f"checkpoint of epoch {saved} kept in {checkpoint} (continue with --resume)"
        if saved
        else "no checkpoint was written"
    )
    when = f"in epoch {saved + 1}" if saved < epochs else f"after epoch {saved}"
    return files.Interrupted(signum, f"{files.word(signum)} {when}; {kept}")


def _pictures(state: State, data, out: Path, steps_per_epoch: int, say) -> None:
    from . import pictures  # Pillow, the `train` extra

    paths = pictures.write_all(out, state, data.test_images, steps_per_epoch)
    say("pictures: " + ", ".join(str(p) for p in paths))
