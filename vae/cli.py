"""The trainer's command line (``python -m klgen.vae``, ``klgen train``): train the numpy VAE on
MNIST and draw what it learned."""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

from . import files
from .checkpoint import check_data
from .data import MnistFormatError, fingerprint, load_mnist
from .model import PRIORS
from .train import (
    CHECKPOINT,
    CheckpointError,
    OutputError,
    Settings,
    TrainingDiverged,
    fit,
    load_checkpoint,
    new_state,
)

DEFAULTS = Settings()


def number(kind, low=0, strict=True):
    """An argparse type: a finite `kind` (int or float) that is > `low` (`strict`) or >= it."""

    def parse(text: str):
        value = kind(text)
        if strict and not value > low or not value >= low:
            raise argparse.ArgumentTypeError(
                ("must be positive" if strict and low == 0 else f"must be >= {low}")
                + (" and finite" if kind is float else "")
                + f", got {text}"
            )
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error messages
    return parse


def parser(prog: str = "python -m klgen.vae") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Train the PyTorch examples/vae model (784-400-20 encoder, 20-400-784 decoder,\n"
            "Adam) in numpy on MNIST, with the KL divergence and its gradients taken from the\n"
            "kernels klgen generates. Writes checkpoint.npz and log.csv after every epoch,\n"
            "and samples.png, reconstructions.png and loss.png at the end and on Ctrl-C."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} --epochs 3                      # quick start: a few seconds\n"
            f"  {prog} --epochs 10 --resume            # continue that run to epoch 10\n"
            f"  {prog} --data ~/mnist --prior learned  # full MNIST, learned prior"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--epochs",
        type=number(int),
        default=10,
        metavar="N",
        help="train until this many epochs are done in all (default: %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=number(int),
        default=None,
        metavar="N",
        help=f"images per step (default: {DEFAULTS.batch_size})",
    )
    p.add_argument(
        "--lr",
        type=number(float),
        default=None,
        help=f"Adam learning rate (default: {DEFAULTS.lr:g})",
    )
    p.add_argument(
        "--beta",
        type=number(float, strict=False),
        default=None,
        help=f"weight of the KL term, loss = BCE + beta KL (default: {DEFAULTS.beta:g})",
    )
    p.add_argument(
        "--prior",
        choices=PRIORS,
        default=None,
        help="standard: N(0, I); learned: a trainable diagonal Gaussian"
        f" (default: {DEFAULTS.prior})",
    )
    p.add_argument(
        "--seed",
        type=number(int, strict=False),
        default=None,
        help=f"seeds initialisation, batch order and noise (default: {DEFAULTS.seed})",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder with full MNIST (train-images-idx3-ubyte[.gz], ...); default:"
        " the 5,000-image training subset and 10,000 test images shipped in vae/",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/vae"),
        metavar="DIR",
        help="output folder for checkpoint, log and pictures (default: %(default)s)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from DIR/checkpoint.npz with its settings (bit-for-bit as if"
        " never stopped); --epochs is the new total",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start a new run in DIR even though it holds one (its checkpoint is"
        " replaced after the first epoch); without it that is refused",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def settings_from(args: argparse.Namespace, saved: Settings | None) -> Settings:
    """The run's settings: the checkpoint's (`saved`) on --resume, else the options or the
    defaults.

    Resuming with a setting that differs from the checkpoint's is an error, since it would
    silently break the promise that a resumed run equals an uninterrupted one.
    """
    given = {
        name: getattr(args, name) for name in asdict(DEFAULTS) if getattr(args, name) is not None
    }
    if saved is None:
        return replace(DEFAULTS, **given)
    for name, value in given.items():
        if getattr(saved, name) != value:
            flag = "--" + name.replace("_", "-")
            raise ValueError(
                f"{args.out / CHECKPOINT} was trained with {flag}"
                f" {getattr(saved, name)}; drop {flag} {value} to resume it"
            )
    return saved


def main(argv: list[str] | None = None, prog: str = "python -m klgen.vae") -> int:
    """Run the trainer with command-line arguments `argv`; returns the exit status: 0, 1 for
    an error (one line on stderr), 2 for bad arguments, 130 for SIGINT, 143 for SIGTERM.

    `prog` is the command name shown in --help and usage errors (e.g. ``klgen train``).
    """
    args = parser(prog).parse_args(argv)
    try:
        with files.stop_on_signals():
            state = train(args)
    except (
        MnistFormatError,
        TrainingDiverged,
        CheckpointError,
        OutputError,
        FileNotFoundError,
        ValueError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of stdout (say `| head`) is gone: stop, as SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141
    except OSError as err:  # writing the pictures after training, or stdout (a full disk)
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        stop = stop if isinstance(stop, files.Interrupted) else files.Interrupted()
        print(stop.message or stop.word, file=sys.stderr)
        return 128 + stop.signum
    print(f"done: {state.epoch} epochs; pictures and log.csv in {args.out}/")
    return 0


def train(args: argparse.Namespace):
    """Check the output folder, load or start the run and its data, and train it."""
    checkpoint = args.out / CHECKPOINT
    if args.resume and not checkpoint.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}")
    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out, --overwrite replaces it: give one")
    if not (args.resume or args.overwrite) and os.path.lexists(checkpoint):
        raise OutputError(
            f"{checkpoint} exists: --resume continues that run, --overwrite"
            " starts a new one in its place, or choose another --out"
        )
    data = load_mnist(args.data)  # before --out is made: a bad --data leaves no folder behind
    try:
        files.prepare_folder(args.out)
    except OSError as err:
        raise OutputError(f"--out {err.filename}: {err.strerror}") from None
    if args.resume:
        state = load_checkpoint(checkpoint)
        settings = settings_from(args, state.settings)
    else:
        settings = settings_from(args, None)
        state = new_state(settings)
    if args.resume:
        check_data(state, checkpoint, data, fingerprint(data))
    print(
        f"training on {len(data.train_images)} images from {data.source}, testing on"
        f" {len(data.test_images)}; " + ", ".join(f"{k} {v}" for k, v in asdict(settings).items())
    )
    if state.epoch >= args.epochs:
        print(f"already trained {state.epoch} epochs (>= --epochs {args.epochs})")
    return fit(state, data, args.epochs, args.out, progress=not args.no_progress)
