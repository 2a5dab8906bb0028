"""PyTorch's examples/vae on the MNIST subset klgen ships, with klgen's KL as a torch operator.

    python examples/torch_vae.py [--kl klgen|torch] [--epochs 5]

``--kl torch`` uses torch.distributions' kl_divergence instead, for comparison: the test
losses agree (tests/test_torch_vae.py). klgen's KL differentiates by its derived gradient,
finite up to logvar = 709.9 in float64, where autograd through e^logvar overflows.
"""

import argparse

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

from klgen.generated.kl_std_normal_torch import kl_std_normal
from klgen.vae.data import load_mnist


class VAE(nn.Module):
    """784-400-(20, 20) encoder, 20-400-784 decoder, as in PyTorch's examples/vae."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def kl(mu, logvar, which):
    """The summed KL(N(mu, e^logvar) || N(0, I)) of the batch."""
    if which == "klgen":
        return kl_std_normal(mu, logvar).sum()
    posterior = Normal(mu, torch.exp(0.5 * logvar))
    return kl_divergence(posterior, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum()


def loss(model, x, which):
    logits, mu, logvar = model(x)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + kl(mu, logvar, which)


def train(which="klgen", epochs=5, batch_size=128, seed=1):
    """Train with Adam(1e-3); return the test loss per image after the last epoch."""
    torch.manual_seed(seed)
    data = load_mnist()
    train_x, test_x = torch.from_numpy(data.train_images), torch.from_numpy(data.test_images)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        model.train()
        for batch in torch.randperm(len(train_x)).split(batch_size):
            optimizer.zero_grad()
            loss(model, train_x[batch], which).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            test = sum(loss(model, x, which).item() for x in test_x.split(1000)) / len(test_x)
        print(f"epoch {epoch + 1}: test loss {test:.2f} per image ({which} KL)")
    return test


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--kl", choices=("klgen", "torch"), default="klgen")
    parser.add_argument("--epochs", type=int, default=5)
    arguments = parser.parse_args()
    train(arguments.kl, arguments.epochs)
