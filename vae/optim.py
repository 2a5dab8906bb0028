"""Adam (Kingma & Ba), as torch.optim.Adam computes it, on one flat parameter buffer."""

from __future__ import annotations

import math

import numpy as np


class Adam:
    """Adam with bias correction; defaults are torch.optim.Adam's (lr 1e-3, betas, eps).

    Works in place on flat arrays (a `ParamSet.flat`), so a step is a dozen vectorised
    passes whatever the number of layers. The state is `m`, `v` and the step count `t`.
    """

    def __init__(self, size: int, dtype=np.float32, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size, dtype=dtype)
        self.t = 0
        self._scratch = np.empty(size, dtype=dtype)

    def step(self, param: np.ndarray, grad: np.ndarray) -> None:
        """param -= lr * m_hat / (sqrt(v_hat) + eps), with m, v moving averages of g, g^2."""
        m, v, tmp = self.m, self.v, self._scratch
        self.t += 1
        # m = b1 m + (1 - b1) g, computed as b1 (m - g) + g: no temporary.
        m -= grad
        m *= self.beta1
        m += grad
        np.square(grad, out=tmp)
        v -= tmp
        v *= self.beta2
        v += tmp
        # Bias corrections folded into scalars, as torch does:
        # lr m / (1 - b1^t) / (sqrt(v) / sqrt(1 - b2^t) + eps)
        #   = [lr sqrt(1 - b2^t) / (1 - b1^t)] m / (sqrt(v) + eps sqrt(1 - b2^t)).
        root_c2 = math.sqrt(1 - self.beta2**self.t)  # Python floats: keep float32 loops
        step_size = self.lr * root_c2 / (1 - self.beta1**self.t)
        np.sqrt(v, out=tmp)
        tmp += self.eps * root_c2
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        param -= tmp

    def state(self) -> dict[str, np.ndarray]:
        """The arrays a checkpoint needs to continue bit for bit."""
        return {"adam.m": self.m, "adam.v": self.v, "adam.t": np.array(self.t)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.m[...] = state["adam.m"]
        self.v[...] = state["adam.v"]
        self.t = int(state["adam.t"])
