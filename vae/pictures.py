"""What the model learned, as PNGs: samples, reconstructions and the loss curve (Pillow only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import model
from .files import write_atomic

SIDE = 28  # MNIST images are 28 x 28
SCALE = 2  # pixels per MNIST pixel in the grids
PAD = 2  # grey gap between tiles


def grid(images: np.ndarray, cols: int) -> Image.Image:
    """Tile (N, 784) pixel values in [0, 1] into a white-on-black grayscale grid."""
    rows = -(-len(images) // cols)
    cell = SIDE + PAD
    canvas = np.full((rows * cell + PAD, cols * cell + PAD), 0.3, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        top, left = PAD + r * cell, PAD + c * cell
        canvas[top : top + SIDE, left : left + SIDE] = image.reshape(SIDE, SIDE)
    pixels = (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
    picture = Image.fromarray(pixels, mode="L")
    return picture.resize((picture.width * SCALE, picture.height * SCALE), Image.NEAREST)


def samples(params: model.ParamSet, seed: int, n: int = 64) -> Image.Image:
    """n images decoded from z drawn from the prior (N(0, I) or the learned one), 8 a row."""
    latent = params.shapes["fc21.bias"][0]
    eps = np.random.default_rng(seed).standard_normal((n, latent), dtype=params.flat.dtype)
    return grid(model.sample(params, eps), cols=8)


def reconstructions(params: model.ParamSet, images: np.ndarray, n: int = 32) -> Image.Image:
    """n test images, each with its reconstruction to its right (4 pairs a row)."""
    originals = images[:n]
    pairs = np.stack([originals, model.reconstruct(params, originals)], axis=1)
    return grid(pairs.reshape(2 * len(originals), -1), cols=8)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one fixed-size bitmap font
        return ImageFont.load_default()


def _ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high] (steps of 1, 2 or 5 times a power of ten)."""
    raw = (high - low) / count
    power = 10 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = np.ceil(low / step) * step
    return [float(t) for t in np.arange(first, high + step / 2, step) if t <= high]


def loss_curve(history: list[dict], step_losses: list[float], steps_per_epoch: int):
    """Training loss per image at every step (light), and train and test loss per epoch.

    The y axis starts at the lowest loss and is cut above the late training losses, so the
    first steps (near 540 nats for an untrained model) don't flatten the rest of the curve.
    """
    width, height = 720, 440
    left, right, top, bottom = 70, 20, 40, 50
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    font = _font(13)
    draw.text((left, 12), "loss per image (nats): BCE + beta KL", fill="black", font=font)
    steps = np.asarray(step_losses, dtype=np.float64)
    epochs = [row["epoch"] for row in history]
    tests = [row["test_loss"] for row in history]
    trains = [row["train_loss"] for row in history]
    if len(steps) == 0:
        return picture
    x_step = (np.arange(len(steps)) + 1) / steps_per_epoch
    y_low = min([steps.min(), *tests])  # lists: an interrupted first epoch has no rows yet
    y_high = max([np.percentile(steps[len(steps) // 10 :], 99), *tests, *trains])
    if y_high <= y_low:
        y_high = y_low + 1
    margin = 0.05 * (y_high - y_low)
    y_low, y_high = y_low - margin, y_high + margin
    x_high = max(x_step[-1], max(epochs, default=0), 1)

    def xy(x, y):
        px = left + (width - left - right) * x / x_high
        py = top + (height - top - bottom) * (1 - (min(y, y_high) - y_low) / (y_high - y_low))
        return px, py

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for y in _ticks(y_low, y_high):
        _, py = xy(0, y)
        draw.line([left - 4, py, left, py], fill="black")
        draw.text((left - 8, py), f"{y:g}", fill="black", font=font, anchor="rm")
    for x in _ticks(0, x_high):
        px, _ = xy(x, y_low)
        draw.line([px, height - bottom, px, height - bottom + 4], fill="black")
        draw.text((px, height - bottom + 8), f"{x:g}", fill="black", font=font, anchor="ma")
    draw.text(
        ((left + width - right) / 2, height - 18), "epoch", fill="black", font=font, anchor="ma"
    )
    draw.line([xy(x, y) for x, y in zip(x_step, steps, strict=True)], fill=(160, 190, 230))
    # A train mean averages over its epoch, so it sits mid-epoch; a test loss at its end.
    for values, shift, colour, label, row in (
        (trains, 0.5, (30, 80, 200), "train, epoch mean", 0),
        (tests, 0.0, (230, 110, 20), "test, after each epoch", 1),
    ):
        points = [xy(x - shift, y) for x, y in zip(epochs, values, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        legend_y = top + 12 + 18 * row
        draw.line(
            [width - right - 200, legend_y, width - right - 175, legend_y], fill=colour, width=2
        )
        draw.text((width - right - 168, legend_y), label, fill="black", font=font, anchor="lm")
    draw.text(
        (width - right - 168, top + 48), "train, each step", fill="black", font=font, anchor="lm"
    )
    draw.line([width - right - 200, top + 48, width - right - 175, top + 48], fill=(160, 190, 230))
    return picture


def write_all(out: Path, state, test_images: np.ndarray, steps_per_epoch: int) -> list[Path]:
    """Save samples.png, reconstructions.png and loss.png into `out` (each atomically: a
    signal or a full disk leaves the previous picture); return their paths."""
    pictures = {
        out / "samples.png": samples(state.params, state.settings.seed),
        out / "reconstructions.png": reconstructions(state.params, test_images),
        out / "loss.png": loss_curve(state.history, state.step_losses, steps_per_epoch),
    }
    for path, picture in pictures.items():
        write_atomic(path, lambda f, picture=picture: picture.save(f, format="PNG"))
    return list(pictures)
