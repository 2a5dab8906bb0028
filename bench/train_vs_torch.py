"""Epoch time and test loss of the numpy VAE trainer (vae/) against PyTorch on the CPU.

Both train the examples/vae model on the same data (the 5,000-image subset shipped in
vae/, or --data DIR), with the same batch size, optimizer and number of epochs, each in a
fresh process with the same number of BLAS/intra-op threads; the runs alternate (torch,
numpy, numpy, torch, ...) so drifting machine load hits both alike. Prints the median
epoch time of each, their ratio, samples per second and the final test loss per image,
and the load average before and after (on a loaded machine, spinning BLAS and intra-op
threads lose whole time slices: --threads 1 is then the steadier comparison).
Nothing is asserted: the numbers are for reading.

torch is optional: without it the numpy side runs alone, with a note. The torch side
feeds batches by indexing one in-memory tensor (no DataLoader), its fastest loop.

    python bench/train_vs_torch.py [--epochs 5] [--pairs 3] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_PROJECT_SAMPLES_PER_S = 33  # the seed project's trainer, batch 64
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def numpy_worker(args) -> dict:
    """Train with vae/ and report epoch times and the final test loss."""
    import numpy as np

    from klgen.vae import model, train
    from klgen.vae.data import load_mnist

    data = load_mnist(args.data)
    state = train.new_state(train.Settings(batch_size=args.batch_size, seed=args.seed))
    grads, work = state.params.zeros_like(), model.Workspace()
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        train.train_epoch(state, data.train_images, grads, work, _NoBar())
        times.append(time.perf_counter() - start)
        state.epoch += 1
    test = train.evaluate(state.params, data.test_images, 1.0, args.seed, state.epoch)
    return {
        "epoch_seconds": times,
        "test_loss": test.total,
        "n_train": len(data.train_images),
        "version": f"numpy {np.__version__}",
    }


class _NoBar:
    """Stands in for the tqdm bar, so the timing has no terminal output in it."""

    def update(self, n):
        pass

    def set_postfix(self, **kwargs):
        pass


def torch_worker(args) -> dict:
    """PyTorch's examples/vae (model, loss, Adam), trained on the same arrays."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from klgen.vae.data import load_mnist

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def forward(self, x):
            h1 = F.relu(self.fc1(x))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + torch.randn_like(logvar) * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

    def loss_function(x, recon_x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    data = load_mnist(args.data)
    train_x = torch.from_numpy(data.train_images)
    test_x = torch.from_numpy(data.test_images)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(args.epochs):
        model.train()
        start = time.perf_counter()
        for batch in torch.randperm(len(train_x)).split(args.batch_size):
            x = train_x[batch]
            optimizer.zero_grad()
            loss = loss_function(x, *model(x))
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        test_loss = sum(loss_function(x, *model(x)).item() for x in test_x.split(1000))
    return {
        "epoch_seconds": times,
        "test_loss": test_loss / len(test_x),
        "n_train": len(train_x),
        "version": f"torch {torch.__version__}",
    }


def run_worker(kind: str, args) -> dict:
    """One training run in a fresh process with the thread count fixed by environment."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update({name: str(args.threads) for name in THREAD_VARIABLES})
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--epochs",
        str(args.epochs),
        "--threads",
        str(args.threads),
        "--batch-size",
        str(args.batch_size),
        "--seed",
        str(args.seed),
    ]
    if args.data:
        command += ["--data", str(args.data)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{kind} worker failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--pairs", type=int, default=3, help="alternating torch/numpy run pairs")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", type=Path, default=None, help="full MNIST folder (default: 5k)")
    p.add_argument("--worker", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker = numpy_worker if args.worker == "numpy" else torch_worker
        print(json.dumps(worker(args)))
        return

    kinds = ["torch", "numpy"] if torch_available() else ["numpy"]
    if kinds == ["numpy"]:
        print("note: torch is not installed (pip install torch); timing the numpy trainer only")
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    print(f"load average before: {os.getloadavg()}")
    for pair in range(args.pairs):
        for kind in kinds if pair % 2 == 0 else kinds[::-1]:
            run = run_worker(kind, args)
            runs[kind].append(run)
            print(
                f"  pair {pair + 1}: {kind:5s} epochs "
                + " ".join(f"{t:.3f}" for t in run["epoch_seconds"])
                + f" s, test loss {run['test_loss']:.2f}",
                flush=True,
            )

    print(f"load average after: {os.getloadavg()}")
    print(
        f"\n{args.epochs} epochs x {args.pairs} runs each, batch {args.batch_size},"
        f" {runs[kinds[0]][0]['n_train']} training images, {args.threads} threads"
    )
    header = (
        f"{'':8s} {'version':16s} {'median epoch s':>15s} {'samples/s':>10s}"
        f" {'test loss/image (runs)':>24s}"
    )
    print(header)
    medians = {}
    for kind in kinds:
        times = [t for run in runs[kind] for t in run["epoch_seconds"]]
        medians[kind] = statistics.median(times)
        losses = [run["test_loss"] for run in runs[kind]]
        rate = runs[kind][0]["n_train"] / medians[kind]
        print(
            f"{kind:8s} {runs[kind][0]['version']:16s} {medians[kind]:15.4f} {rate:10.0f}"
            f" {statistics.median(losses):8.2f} ({', '.join(f'{x:.2f}' for x in losses)})"
        )
    numpy_rate = runs["numpy"][0]["n_train"] / medians["numpy"]
    if "torch" in medians:
        loss_gap = statistics.median(r["test_loss"] for r in runs["numpy"]) - statistics.median(
            r["test_loss"] for r in runs["torch"]
        )
        print(
            f"epoch time numpy / torch: {medians['numpy'] / medians['torch']:.3f}"
            f" (target <= 0.9); test loss numpy - torch: {loss_gap:+.2f} nats/image"
            " (target within 1)"
        )
    print(
        f"numpy throughput / seed project's {SEED_PROJECT_SAMPLES_PER_S} samples/s:"
        f" {numpy_rate / SEED_PROJECT_SAMPLES_PER_S:.0f}x (target >= 500x)"
    )


if __name__ == "__main__":
    main()
