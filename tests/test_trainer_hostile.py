"""The trainer under hostile input, by class: real signals at each phase of a run, bad
flags, crafted and corrupt checkpoints, bad IDX files, a bad --out, a full disk, resuming
on other data, and the permissions of what it writes.

Whatever the input, the user gets one line on stderr, exit status 1 (2 for bad arguments,
as argparse does; 130 for SIGINT, 143 for SIGTERM), never a traceback, and nothing lost:
a checkpoint is the previous whole one or the new whole one, never half of either, and no
temporary files stay behind. Real signals and exit codes need child processes; everything
else runs in-process, with a model of 8 hidden units where the model size does not matter.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import test_vae_train
from PIL import Image

from klgen.derive.cli import main as klgen
from klgen.vae import model, train
from klgen.vae.cli import main
from klgen.vae.data import load_mnist, write_idx
from klgen.vae.train import CHECKPOINT, LOG, CheckpointError, load_checkpoint

PICTURES = ["loss.png", "reconstructions.png", "samples.png"]
OUTPUTS = sorted([CHECKPOINT, LOG, *PICTURES])
TI, TL = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
N_TRAIN, small_mnist = test_vae_train.N_TRAIN, test_vae_train.small_mnist  # and its fixture


def one_line(err: str, start: str) -> str:
    """The single line of `err`, which must begin with `start` (and hold no traceback)."""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), err
    return lines[0]


def cli(capsys, *args):
    """`python -m klgen.vae ARGS` in-process: (status, stdout, stderr)."""
    status = main(["--no-progress", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def train_one_epoch(data: Path, out: Path, mask: int) -> None:
    """`python -m klgen.vae` for one epoch on `data` into `out`, under umask `mask`."""
    previous = os.umask(mask)
    try:
        status = main(["--data", str(data), "--out", str(out), "--epochs", "1", "--no-progress"])
    finally:
        os.umask(previous)
    assert status == 0


@pytest.fixture(scope="module")
def trained(small_mnist, tmp_path_factory):
    """A run folder after one epoch on small_mnist (under the default umask 022), with the
    temporaries a killed earlier run (SIGKILL) would have left placed before it."""
    out = tmp_path_factory.mktemp("trained")
    for name in (".checkpoint.npz.0123456789abcdef.tmp", ".log.csv.k3j_x9a2.tmp"):
        (out / name).write_bytes(b"half a file")
    (out / ".notes.tmp").write_text("a user's own")
    train_one_epoch(small_mnist, out, 0o022)
    return out


@pytest.fixture
def run_dir(trained, tmp_path):
    """A copy of `trained` to spoil or continue."""
    return Path(shutil.copytree(trained, tmp_path / "run", ignore=shutil.ignore_patterns("*.tmp")))


# --- signals: real ones, to `python -m klgen.vae` and `klgen train` children ----------------

HOOK = '''
"""Pause the trainer where PAUSE says (step:N, or save:N: inside the N-th checkpoint
write), touch READY, and wait there (a signal may interrupt) until GO exists."""
import os, pathlib, time

kind, n = os.environ["PAUSE"].split(":")
ready, go = pathlib.Path(os.environ["READY"]), pathlib.Path(os.environ["READY"] + ".go")
calls = []

def pause():
    calls.append(1)
    if len(calls) == int(n):
        ready.touch()
        while not go.exists():
            time.sleep(0.005)

def wrap(owner, name, before):
    real = getattr(owner, name)
    def wrapped(*args, **kwargs):
        if before:
            pause()
        result = real(*args, **kwargs)
        if not before:
            pause()
        return result
    setattr(owner, name, wrapped)

if kind == "step":
    import klgen.vae.model
    wrap(klgen.vae.model, "loss_and_grad", before=True)
else:
    import numpy
    wrap(numpy, "savez", before=False)  # the temporary is written, not yet renamed
'''

# phase: (pause, resumes from the one-epoch checkpoint, checkpoint epoch expected after)
PHASES = {
    "first step": ("step:1", False, None),
    "first epoch, step 2": ("step:2", False, None),  # the loss curve has steps, no epochs
    "mid-epoch": ("step:2", True, 1),
    "checkpoint write": ("save:1", True, 2),  # held: the finished epoch is saved whole
}
SIGNALS = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated")}
CASES = [(s, phase) for s in SIGNALS for phase in PHASES]
CODE = str(Path(model.__file__).parent.parent)  # the children run the vae under test
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "KLGEN_NUM_THREADS")
COMMANDS = (["-m", "klgen.vae"], ["-m", "klgen", "train"])  # klgen train: derive.cli


@pytest.fixture(scope="module")
def signalled(trained, small_mnist, tmp_path_factory):
    """Each CASES child started at once, signalled where it paused, and waited for:
    {case: (out folder, status, stdout, stderr)}."""
    root = tmp_path_factory.mktemp("signals")
    (root / "hook").mkdir()
    (root / "hook" / "sitecustomize.py").write_text(HOOK)
    children = {}
    for i, (signum, phase) in enumerate(CASES):
        pause, resume, _ = PHASES[phase]
        out = root / f"run{i}"
        if resume:
            shutil.copytree(trained, out, ignore=shutil.ignore_patterns("*.tmp"))
        ready = root / f"ready{i}"
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(root / "hook"), CODE]),
            PAUSE=pause,
            READY=str(ready),
            **dict.fromkeys(THREADS, "1"),
        )  # 8 children share the cores
        args = ["--data", str(small_mnist), "--out", str(out), "--epochs", "2", "--no-progress"]
        command = [sys.executable, *COMMANDS[i % 2], *args, *(["--resume"] if resume else [])]
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        children[signum, phase] = (child, ready, out)
    results = {}
    for case, (child, ready, out) in children.items():
        deadline = time.monotonic() + 60
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(case[0])
        time.sleep(0.05)  # let a held signal be held before the pause ends
        Path(f"{ready}.go").touch()
        stdout, stderr = child.communicate(timeout=60)
        results[case] = (out, child.returncode, stdout, stderr)
    return results


@pytest.mark.parametrize(
    ("signum", "phase"), CASES, ids=[f"{signal.Signals(s).name}-{p}" for s, p in CASES]
)
def test_a_signal_stops_cleanly_at_each_phase(signalled, trained, signum, phase):
    out, status, stdout, stderr = signalled[signum, phase]
    code, word = SIGNALS[signum]
    expected_epoch = PHASES[phase][2]
    assert status == code, stderr
    line = one_line(stderr, word)
    assert sorted(p.name for p in out.iterdir()) == (OUTPUTS if expected_epoch else PICTURES)
    for name in PICTURES:
        with Image.open(out / name) as picture:
            picture.verify()  # whole PNGs
    if expected_epoch is None:
        assert line == f"{word} in epoch 1; no checkpoint was written"
        return
    checkpoint = out / CHECKPOINT
    assert load_checkpoint(checkpoint).epoch == expected_epoch
    assert f"checkpoint of epoch {expected_epoch} kept in {checkpoint}" in line
    rows = (out / LOG).read_text().splitlines()
    assert len(rows) == 1 + expected_epoch  # the log matches the checkpoint
    if expected_epoch == 1:
        assert checkpoint.read_bytes() == (trained / CHECKPOINT).read_bytes()


def test_a_second_signal_aborts_a_held_write_and_keeps_the_old_file(tmp_path):
    from klgen.vae import files  # the trainer's writer

    path = tmp_path / "file"
    path.write_bytes(b"old")

    def write(f):
        f.write(b"new, half")
        os.kill(os.getpid(), signal.SIGINT)  # held
        os.kill(os.getpid(), signal.SIGTERM)  # a second one: stop now
        f.write(b" and the rest")

    with pytest.raises(files.Interrupted) as stop, files.stop_on_signals(), files.held_signals():
        files.write_atomic(path, write)
    assert stop.value.signum == signal.SIGINT
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


# --- bad flags -----------------------------------------------------------------------

BAD_FLAGS = [
    ("--seed", "-1", "must be >= 0"),
    ("--seed", "abc", "invalid int value"),
    ("--epochs", "0", "must be positive"),
    ("--batch-size", "-2", "must be positive"),
    ("--lr", "0", "must be positive"),
    ("--lr", "inf", "must be finite"),
    ("--lr", "nan", "must be positive"),
    ("--beta", "nan", "must be >= 0"),
    ("--beta", "inf", "must be finite"),
    ("--beta", "-1", "must be >= 0"),
    ("--prior", "wide", "invalid choice"),
]


@pytest.mark.parametrize(("flag", "value", "problem"), BAD_FLAGS)
@pytest.mark.parametrize("prog", ["python -m klgen.vae", "klgen train"])
def test_a_bad_flag_is_a_usage_error_naming_it(capsys, tmp_path, prog, flag, value, problem):
    args = [f"{flag}={value}", "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_:
        main(args) if prog == "python -m klgen.vae" else klgen(["train", *args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"{prog}: error: argument {flag}: {problem}")
    assert value in err.splitlines()[-1] and not (tmp_path / "out").exists()


# --- crafted checkpoints: every field of the metadata, every array --------------------

MISSING = object()


def meta_case(path, value, field=None):
    """Set (or delete: MISSING) the metadata field `path` ("settings.seed", "history.0");
    the error must name `field` (default: `path`)."""

    def spoil(meta, arrays):
        *parents, key = path.split(".")
        for parent in parents:
            meta = meta[int(parent) if isinstance(meta, list) else parent]
        key = int(key) if isinstance(meta, list) else key
        if value is MISSING:
            del meta[key]
        else:
            meta[key] = value

    shown = "missing" if value is MISSING else repr(value)
    return pytest.param(spoil, field or path, id=f"{path}={shown}")


def array_case(name, change, label, field=None):
    """Replace (or delete: MISSING) the array `name` by change(array)."""

    def spoil(meta, arrays):
        if change is MISSING:
            del arrays[name]
        else:
            arrays[name] = change(arrays[name])

    return pytest.param(spoil, field or name, id=f"{name}:{label}")


def with_nan(array):
    array = array.copy()
    array.flat[-1] = np.nan
    return array


META_CASES = [
    *(meta_case("settings.batch_size", v) for v in (-1, 0, "abc", 1.5, True, MISSING)),
    *(meta_case("settings.lr", v) for v in (0, -1e-3, "x", float("inf"), None)),
    *(meta_case("settings.beta", v) for v in (-1.0, float("nan"), "1")),
    *(meta_case("settings.prior", v) for v in ("wide", 3)),
    *(meta_case("settings.seed", v) for v in (-1, "1", 2.0)),
    meta_case("settings.extra", 1),
    meta_case("settings", [1]),
    meta_case("settings", MISSING),
    *(meta_case("epoch", v) for v in ("2", -1, 1.5, None, 7, MISSING)),
    *(meta_case("history", v) for v in ("x", MISSING)),
    meta_case("history", [], "epoch"),  # 1 epoch done, none listed
    meta_case("history.0", {"epoch": 1}, "history[0].train_loss"),  # a row lacking losses
    meta_case("history.0.epoch", 2, "history[0].epoch"),
    meta_case("history.0.test_loss", "x", "history[0].test_loss"),
    *(meta_case("rng", v) for v in ("x", MISSING)),
    meta_case("rng", {"bit_generator": "PCG64"}, "rng.state"),
    meta_case("rng.bit_generator", "MT19937"),
    *(meta_case("rng.state.state", v) for v in (-1, 2**128, "x")),
    meta_case("rng.state.inc", 1.5),
    *(meta_case("rng.has_uint32", v) for v in ("x", 2)),
    meta_case("rng.uinteger", -5),
    *(meta_case(f"dims.{k}", v) for k, v in (("hidden", -1), ("latent", 0), ("input", "x"))),
    meta_case("dims", MISSING),
    *(meta_case("dtype", v) for v in ("float16", "int8", "xx", 3, MISSING)),
    *(meta_case("data", v) for v in ("", "abc", 5, MISSING)),
    meta_case("data_source", None),
    meta_case("unexpected", 1),
]
ARRAY_CASES = [
    array_case("param/fc1.weight", MISSING, "missing"),
    array_case("param/fc1.weight", lambda a: a.astype(np.float64), "float64"),
    array_case("param/fc1.weight", lambda a: a.astype(np.float16), "float16"),
    array_case("param/fc1.weight", lambda a: a.T, "transposed"),
    array_case("param/fc4.bias", with_nan, "NaN"),
    array_case("param/fc21.bias", lambda a: a * np.inf, "inf"),
    array_case("adam.m", MISSING, "missing"),
    array_case("adam.m", lambda a: a[:5], "short"),
    array_case("adam.m", with_nan, "NaN"),
    array_case("adam.v", lambda a: -a - 1, "negative"),
    array_case("adam.v", lambda a: a.astype(np.int32), "int32"),
    array_case("adam.t", MISSING, "missing"),
    array_case("adam.t", lambda a: np.array(-1), "-1"),
    array_case("adam.t", lambda a: np.array("abc"), "text"),
    array_case("adam.t", lambda a: np.array(1.5), "1.5"),
    array_case("adam.t", lambda a: np.array([3, 3]), "shape (2,)"),
    array_case("adam.t", lambda a: np.array(0), "0 steps", field="step_losses"),
    array_case("step_losses", MISSING, "missing"),
    array_case("step_losses", lambda a: a[:1], "short"),
    array_case("step_losses", lambda a: a.reshape(1, -1), "2-D"),
    array_case("step_losses", with_nan, "NaN"),
    array_case("step_losses", lambda a: a.astype(np.float32), "float32"),
    array_case("meta", lambda a: np.array("{not json"), "not JSON"),
    array_case("meta", lambda a: np.array("[1, 2]"), "a list"),
    array_case("meta", lambda a: np.zeros(3), "numbers"),
    array_case("meta", MISSING, "missing"),
    pytest.param(lambda meta, arrays: arrays.update(junk=np.zeros(2)), "junk", id="junk array"),
]


@pytest.fixture(scope="module")
def small_checkpoint(small_mnist, tmp_path_factory):
    """The arrays of a real checkpoint after one epoch of a model with 8 hidden units."""
    out = tmp_path_factory.mktemp("small")
    state = train.new_state(train.Settings(), model.Dims(hidden=8, latent=3))
    train.fit(state, load_mnist(small_mnist), 1, out, progress=False, say=lambda _: None)
    with np.load(out / CHECKPOINT) as saved:
        return {name: saved[name] for name in saved.files}


def write_spoiled(path, arrays, spoil):
    """Write `arrays` to `path` after spoil(meta, arrays) changed the metadata or them."""
    arrays, original = dict(arrays), arrays["meta"]
    meta = json.loads(str(original))
    spoil(meta, arrays)
    if arrays.get("meta") is original:  # the spoiling was of the metadata's content
        arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


@pytest.mark.parametrize(("spoil", "field"), META_CASES + ARRAY_CASES)
def test_a_crafted_checkpoint_names_its_field(small_checkpoint, tmp_path, spoil, field):
    path = tmp_path / CHECKPOINT
    write_spoiled(path, small_checkpoint, spoil)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"{path}: field {field} ")


def test_the_unspoiled_checkpoint_loads(small_checkpoint, tmp_path):
    """The cases above fail for their spoiling alone."""
    write_spoiled(tmp_path / CHECKPOINT, small_checkpoint, lambda meta, arrays: None)
    assert load_checkpoint(tmp_path / CHECKPOINT).epoch == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dtype", "float16"),
        ("epoch", "2"),
        ("settings.batch_size", -1),
        ("settings.batch_size", "abc"),
        ("adam.t", -1),
    ],
)
def test_the_cli_refuses_a_crafted_checkpoint_in_one_line(
    small_checkpoint,
    small_mnist,
    tmp_path,
    capsys,
    field,
    value,
):
    """The issue's cases, which gave tracebacks, 'math domain error', or trained 0 steps."""
    path = tmp_path / CHECKPOINT
    if field == "adam.t":
        spoil = array_case("adam.t", lambda a: np.array(value), "").values[0]
    else:
        spoil = meta_case(field, value).values[0]
    write_spoiled(path, small_checkpoint, spoil)
    before = path.read_bytes()
    status, out, err = cli(
        capsys, "--data", small_mnist, "--out", tmp_path, "--resume", "--epochs", "2"
    )
    assert status == 1 and "training on" not in out
    one_line(err, f"error: {path}: field {field} ")
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def truncated(size):
    return lambda data: data[: size if size >= 0 else len(data) // 2]


def flipped(data):
    return (
        data[: len(data) // 3] + bytes([data[len(data) // 3] ^ 0xFF]) + data[len(data) // 3 + 1 :]
    )


@pytest.mark.parametrize(
    "corrupt",
    [truncated(-1), truncated(100), truncated(0), flipped, lambda data: os.urandom(4096)],
    ids=["half", "100 bytes", "empty", "one byte flipped", "random"],
)
def test_a_corrupt_checkpoint_is_one_line(run_dir, small_mnist, capsys, corrupt):
    path = run_dir / CHECKPOINT
    path.write_bytes(corrupt(path.read_bytes()))
    before = path.read_bytes()
    status, out, err = cli(
        capsys, "--data", small_mnist, "--out", run_dir, "--resume", "--epochs", "2"
    )
    assert status == 1
    one_line(err, f"error: {path}: not a readable vae checkpoint (")
    assert path.read_bytes() == before


# --- bad IDX files ---------------------------------------------------------------------


def header(shape, kind=0x08):
    return bytes([0, 0, kind, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


BAD_IDX = {  # name: (spoil the folder, the file named, the problem)
    "truncated": (lambda d: (d / TI).write_bytes((d / TI).read_bytes()[:-9]), TI, "truncated data"),
    "sizes overflow": (
        lambda d: (d / TI).write_bytes(header((2**31, 2**31, 4))),
        TI,
        "truncated data: header declares shape (2147483648, 2147483648, 4)",
    ),
    "0 images": (
        lambda d: ((d / TI).write_bytes(header((0, 28, 28))), (d / TL).write_bytes(header((0,)))),
        TI,
        "holds 0 images",
    ),
    "0 test images": (
        lambda d: (
            (d / "t10k-images-idx3-ubyte").write_bytes(header((0, 28, 28))),
            (d / "t10k-labels-idx1-ubyte").write_bytes(header((0,))),
        ),
        "t10k-images-idx3-ubyte",
        "holds 0 images",
    ),
    "wrong magic": (
        lambda d: (d / TI).write_bytes(header((1, 28, 28), 0x09) + bytes(784)),
        TI,
        "wrong magic number 0x00000903",
    ),
    "label count": (
        lambda d: (d / TL).write_bytes(header((7,)) + bytes(7)),
        TI,
        f"has {N_TRAIN} images but",
    ),
}


@pytest.mark.parametrize("case", BAD_IDX)
def test_a_bad_idx_file_is_named(small_mnist, tmp_path, capsys, case):
    data = copy_data(small_mnist, tmp_path / "data")
    spoil, name, problem = BAD_IDX[case]
    spoil(data)
    status, out, err = cli(capsys, "--data", data, "--out", tmp_path / "out", "--epochs", "1")
    assert status == 1
    one_line(err, f"error: {data / name}")
    assert problem in err and "epoch 1:" not in out
    assert not (tmp_path / "out").exists()  # no empty run folder left behind


# --- a bad --out, a full disk ----------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """mount_tmpfs(options) -> a folder with a fresh tmpfs there, unmounted afterwards."""
    mounted = []

    def mount(options):
        folder = tmp_path / f"mnt{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


BAD_OUT = {  # name: (the --out to give, given tmp_path and a read-only mount), problem
    "a file": (lambda tmp, ro: tmp / "file", "is not a folder"),
    "below a file": (lambda tmp, ro: tmp / "file" / "run", "Not a directory"),
    "a device": (lambda tmp, ro: Path("/dev/full"), "is not a folder"),
    "read-only folder": (lambda tmp, ro: ro, "Read-only file system"),
    "below a read-only folder": (lambda tmp, ro: ro / "run", "Read-only file system"),
}


@pytest.mark.parametrize("case", BAD_OUT)
def test_a_bad_out_fails_before_training(small_mnist, tmp_path, tmpfs, capsys, case):
    (tmp_path / "file").write_text("a user's file")
    where, problem = BAD_OUT[case]
    out = where(tmp_path, tmpfs("ro,size=64k") if "read-only" in case else None)
    status, stdout, err = cli(capsys, "--data", small_mnist, "--out", out, "--epochs", "1")
    assert status == 1 and "training on" not in stdout
    one_line(err, f"error: --out {out}: {problem}")
    assert (tmp_path / "file").read_text() == "a user's file"


@pytest.mark.parametrize(("size", "epochs"), [("1m", 1), ("12m", 2)])
def test_a_full_disk_keeps_the_last_whole_checkpoint(
    small_mnist,
    tmpfs,
    capsys,
    size,
    epochs,
):
    """1 MB: the first checkpoint (7.8 MB) does not fit; 12 MB: the second does not."""
    out = tmpfs(f"size={size}") / "run"
    status, stdout, err = cli(capsys, "--data", small_mnist, "--out", out, "--epochs", epochs)
    assert status == 1
    line = one_line(err, f"error: {out / CHECKPOINT}: No space left on device; training stopped")
    assert leftovers(out) == []
    if epochs == 1:
        assert line.endswith("no checkpoint was written") and not (out / CHECKPOINT).exists()
    else:
        assert line.endswith(f"last good checkpoint: {out / CHECKPOINT} (epoch 1)")
        assert load_checkpoint(out / CHECKPOINT).epoch == 1
        assert len((out / LOG).read_text().splitlines()) == 2


# --- resuming on other data -------------------------------------------------------------


def copy_data(source, target, offset=0, gzipped=False):
    """`source`'s MNIST folder as plain (or gzipped) files, training images shifted by
    `offset` (0: the same data)."""
    data = load_mnist(source)
    target.mkdir()
    suffix = ".gz" if gzipped else ""
    images = np.roll(data.train_images, offset, axis=0)
    for prefix, pixels, labels in (
        ("train", images, data.train_labels),
        ("t10k", data.test_images, data.test_labels),
    ):
        write_idx(
            target / f"{prefix}-images-idx3-ubyte{suffix}",
            np.rint(pixels * 255).reshape(-1, 28, 28),
        )
        write_idx(target / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return target


@pytest.mark.parametrize("other", ["other images", "the embedded subset"])
def test_resuming_on_other_data_is_refused(run_dir, small_mnist, tmp_path, capsys, other):
    data = ["--data", copy_data(small_mnist, tmp_path / "b", offset=1)]
    data = data if other == "other images" else []
    before = (run_dir / CHECKPOINT).read_bytes()
    status, out, err = cli(capsys, *data, "--out", run_dir, "--resume", "--epochs", "2")
    assert status == 1
    line = one_line(err, f"error: {run_dir / CHECKPOINT} was trained on other data ({small_mnist}")
    assert line.endswith(f"to resume it, give --data {small_mnist}")
    assert (run_dir / CHECKPOINT).read_bytes() == before


def test_the_same_data_in_other_files_resumes(run_dir, small_mnist, tmp_path, capsys):
    """The fingerprint is of the images and labels, not of file names or compression."""
    same = copy_data(small_mnist, tmp_path / "same", gzipped=True)
    status, out, err = cli(capsys, "--data", same, "--out", run_dir, "--resume", "--epochs", "2")
    assert (status, err) == (0, "") and "epoch 2:" in out


def test_a_new_run_over_an_existing_one_is_refused(run_dir, small_mnist, capsys):
    """Without --resume or --overwrite, a trained run is not replaced by a new one."""
    before = (run_dir / CHECKPOINT).read_bytes()
    status, out, err = cli(capsys, "--data", small_mnist, "--out", run_dir, "--epochs", "1")
    assert status == 1
    one_line(err, f"error: {run_dir / CHECKPOINT} exists: --resume continues that run")
    assert (run_dir / CHECKPOINT).read_bytes() == before
    status, out, err = cli(capsys, "--out", run_dir, "--resume", "--overwrite")
    assert status == 1
    one_line(err, "error: --resume continues the run in --out, --overwrite replaces it")
    status, out, err = cli(
        capsys,
        "--data",
        small_mnist,
        "--out",
        run_dir,
        "--epochs",
        "1",
        "--seed",
        "2",
        "--overwrite",
    )
    assert (status, err) == (0, "")
    assert load_checkpoint(run_dir / CHECKPOINT).settings.seed == 2


# --- what the files look like -----------------------------------------------------------


def test_files_get_the_usual_permissions_and_old_temporaries_go(trained):
    """0o666 & ~umask as any new file (the run had umask 022), not mkstemp's 0o600; a killed
    run's temporaries are removed, a user's own .tmp file is not."""
    modes = {name: (trained / name).stat().st_mode & 0o777 for name in OUTPUTS}
    assert modes == dict.fromkeys(OUTPUTS, 0o644)
    assert leftovers(trained) == [".notes.tmp"]


def test_permissions_follow_the_umask(small_mnist, tmp_path):
    train_one_epoch(small_mnist, tmp_path, 0o027)
    assert {(tmp_path / name).stat().st_mode & 0o777 for name in OUTPUTS} == {0o640}


def test_a_symlinked_checkpoint_is_written_through(run_dir, small_mnist, tmp_path, capsys):
    """The link stays a link, and its target holds the new epoch."""
    target = tmp_path / "elsewhere.npz"
    (run_dir / CHECKPOINT).rename(target)
    (run_dir / CHECKPOINT).symlink_to(target)
    status, out, err = cli(
        capsys, "--data", small_mnist, "--out", run_dir, "--resume", "--epochs", "2"
    )
    assert (status, err) == (0, "")
    assert (run_dir / CHECKPOINT).is_symlink() and load_checkpoint(target).epoch == 2


def test_a_closed_standard_output_stops_quietly(small_mnist, tmp_path):
    """`klgen train | head -0`: exit 141 as SIGPIPE would, no message."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "klgen.vae",
            "--data",
            small_mnist,
            "--out",
            tmp_path,
            "--epochs",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=CODE),
    )
    child.stdout.close()
    assert (child.wait(timeout=60), child.stderr.read()) == (141, b"")


@pytest.mark.parametrize("command", COMMANDS, ids=["python -m klgen.vae", "klgen train"])
def test_a_bad_thread_count_is_one_line(tmp_path, command):
    """The kernels read KLGEN_NUM_THREADS when the trainer imports them."""
    done = subprocess.run(
        [sys.executable, *command, "--out", tmp_path / "run", "--epochs", "1"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=CODE, KLGEN_NUM_THREADS="abc"),
        timeout=60,
    )
    assert done.returncode == 1
    line = one_line(
        done.stderr, "python -m klgen.vae: " if command[1] == "klgen.vae" else "klgen train: "
    )
    assert "KLGEN_NUM_THREADS" in line and "'abc'" in line
    assert not (tmp_path / "run").exists()
