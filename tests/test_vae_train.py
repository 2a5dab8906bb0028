"""Training runs end to end: resume bit for bit, the NaN stop, the CLI and its outputs."""

import csv
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from klgen.vae import train
from klgen.vae.cli import main
from klgen.vae.data import load_mnist, write_idx
from klgen.vae.train import CHECKPOINT, LOG, Settings, TrainingDiverged

N_TRAIN, N_TEST = 300, 100  # 3 steps of 128 per epoch (the last one short)


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    """A 'full MNIST' folder (standard names, some gzipped) with a few hundred real images."""
    folder = tmp_path_factory.mktemp("mnist")
    data = load_mnist()
    for prefix, images, labels, suffix in (
        ("train", data.train_images[:N_TRAIN], data.train_labels[:N_TRAIN], ".gz"),
        ("t10k", data.test_images[:N_TEST], data.test_labels[:N_TEST], ""),
    ):
        pixels = np.rint(images * 255).reshape(-1, 28, 28)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", pixels)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


def run(small_mnist, out, *args):
    return main(["--data", str(small_mnist), "--out", str(out), "--no-progress", *args])


def image_size(path):
    with Image.open(path) as image:
        return image.size


def checkpoint_arrays(path):
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


@pytest.mark.parametrize("prior", ["standard", "learned"])
def test_resume_is_bit_for_bit(small_mnist, tmp_path, prior):
    assert run(small_mnist, tmp_path / "straight", "--epochs", "2", "--prior", prior) == 0
    assert run(small_mnist, tmp_path / "split", "--epochs", "1", "--prior", prior) == 0
    assert run(small_mnist, tmp_path / "split", "--epochs", "2", "--resume") == 0
    straight = checkpoint_arrays(tmp_path / "straight" / CHECKPOINT)
    split = checkpoint_arrays(tmp_path / "split" / CHECKPOINT)
    assert straight.keys() == split.keys()
    assert len([k for k in straight if k.startswith("param/")]) == (
        12 if prior == "learned" else 10
    )
    for name in straight:
        if name != "meta":  # holds wall-clock seconds; its other fields are checked below
            np.testing.assert_array_equal(split[name], straight[name], err_msg=name)
    a, b = (
        train.load_checkpoint(tmp_path / "straight" / CHECKPOINT),
        train.load_checkpoint(tmp_path / "split" / CHECKPOINT),
    )
    assert a.epoch == b.epoch == 2 and a.adam.t == 2 * 3
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    no_time = [{k: v for k, v in row.items() if k != "seconds"} for row in a.history]
    assert no_time == [{k: v for k, v in row.items() if k != "seconds"} for row in b.history]
    # The resumed log holds both epochs, not just the resumed one.
    with open(tmp_path / "split" / LOG) as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]


def test_resume_refuses_changed_settings(small_mnist, tmp_path, capsys):
    assert run(small_mnist, tmp_path, "--epochs", "1", "--seed", "3") == 0
    assert run(small_mnist, tmp_path, "--epochs", "2", "--resume", "--seed", "4") == 1
    assert "trained with --seed 3" in capsys.readouterr().err
    assert run(small_mnist, tmp_path / "empty", "--resume") == 1
    assert "no checkpoint" in capsys.readouterr().err


def test_nan_stops_and_keeps_last_checkpoint(tmp_path):
    data = load_mnist()
    small = replace(
        data, train_images=data.train_images[:N_TRAIN], test_images=data.test_images[:N_TEST]
    )
    state = train.new_state(Settings())
    train.fit(state, small, epochs=1, out=tmp_path, progress=False, say=lambda _: None)
    checkpoint, log = tmp_path / CHECKPOINT, tmp_path / LOG
    saved_checkpoint, saved_log = checkpoint.read_bytes(), log.read_bytes()

    poisoned = small.train_images.copy()
    poisoned[7, 100] = np.nan
    state = train.load_checkpoint(checkpoint)
    with pytest.raises(TrainingDiverged) as err:
        train.fit(
            state,
            replace(small, train_images=poisoned),
            epochs=3,
            out=tmp_path,
            progress=False,
            say=lambda _: None,
        )
    message = str(err.value)
    assert "loss is nan at epoch 2, step " in message and "/3" in message
    assert f"last good checkpoint: {checkpoint} (epoch 1)" in message
    assert checkpoint.read_bytes() == saved_checkpoint and log.read_bytes() == saved_log
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [CHECKPOINT, LOG, "loss.png", "reconstructions.png", "samples.png"]
    )  # no temp files left behind either


def test_cli_reports_divergence_without_traceback(small_mnist, tmp_path, capsys):
    assert run(small_mnist, tmp_path, "--epochs", "2", "--lr", "1e30") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: loss is ") and "at epoch 1, step 2/3" in err
    assert "no checkpoint was written" in err and "Traceback" not in err
    assert not (tmp_path / CHECKPOINT).exists()


def test_cli_reports_bad_data_without_traceback(tmp_path, capsys):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\0\0\x08\x01" + b"\0\0\0\x09")
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'train-images-idx3-ubyte'}: wrong magic number")
    assert "Traceback" not in err


def test_cli_trains_and_draws(small_mnist, tmp_path, capsys):
    assert run(small_mnist, tmp_path, "--epochs", "2", "--prior", "learned", "--beta", "0.5") == 0
    out = capsys.readouterr().out
    assert f"pictures and log.csv in {tmp_path}/" in out and "epoch 2: train loss" in out
    with open(tmp_path / LOG) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert list(rows[0]) == list(train.LOG_COLUMNS)
    for row in rows:  # per test image: the loss is BCE + beta * KL, and training helps
        assert float(row["test_loss"]) == pytest.approx(
            float(row["test_bce"]) + 0.5 * float(row["test_kl"]), abs=2e-4
        )
    assert float(rows[1]["test_loss"]) < float(rows[0]["test_loss"]) < 545
    sizes = {
        name: image_size(tmp_path / name)
        for name in ("samples.png", "reconstructions.png", "loss.png")
    }
    assert sizes["samples.png"] == sizes["reconstructions.png"] == (484, 484)  # 8x8 tiles
    assert sizes["loss.png"] == (720, 440)
    with Image.open(tmp_path / "samples.png") as image:
        assert np.asarray(image).std() > 10  # not a blank or uniform picture


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--epochs",
        "--batch-size",
        "--lr",
        "--beta",
        "--prior",
        "--seed",
        "--data",
        "--out",
        "--resume",
    ):
        assert option in text


def test_ctrl_c_draws_pictures_and_keeps_checkpoint(small_mnist, tmp_path, monkeypatch, capsys):
    assert run(small_mnist, tmp_path, "--epochs", "1") == 0
    saved = (tmp_path / CHECKPOINT).read_bytes()
    for name in ("samples.png", "reconstructions.png", "loss.png"):
        (tmp_path / name).unlink()
    calls = []
    real_step = train.model.loss_and_grad

    def interrupted_step(*args):
        calls.append(1)
        if len(calls) == 2:  # the second step of epoch 2
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(train.model, "loss_and_grad", interrupted_step)
    assert run(small_mnist, tmp_path, "--epochs", "3", "--resume") == 130
    assert "interrupted in epoch 2; checkpoint of epoch 1 kept" in capsys.readouterr().err
    assert (tmp_path / CHECKPOINT).read_bytes() == saved
    for name in ("samples.png", "reconstructions.png", "loss.png"):
        assert image_size(tmp_path / name)[0] > 100


def test_cli_rejects_a_corrupt_checkpoint(tmp_path, capsys):
    (tmp_path / CHECKPOINT).write_bytes(b"PK\3\4 not really a zip")
    assert main(["--out", str(tmp_path), "--resume"]) == 1
    err = capsys.readouterr().err
    assert f"error: {tmp_path / CHECKPOINT}: not a readable vae checkpoint" in err


@pytest.mark.parametrize("option", ["--epochs", "--batch-size", "--lr"])
def test_cli_rejects_non_positive_numbers(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([option, "0"])
    assert exit_.value.code == 2
    assert f"argument {option}: must be positive" in capsys.readouterr().err
