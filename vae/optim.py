"""Adam (Kingma & Ba), as torch.optim.Adam computes it, on one flat parameter buffer."""

from __future__ import annotations

import math

import numpy as np

# Elements per chunk of a step: the step's dozen passes run chunk by chunk, so each chunk
# of the five arrays it touches (parameters, gradients, m, v, scratch: 640 KB in float32)
# stays in a core's L2 cache from the first pass to the last, instead of every pass
# streaming the whole buffers from memory. Every element gets the same operations, so
# the result does not depend on the chunk size.
CHUNK = 2**15


class Adam:
    """Adam with bias correction; defaults are torch.optim.Adam's (lr 1e-3, betas, eps).

    Works in place on flat arrays (a `ParamSet.flat`), so a step is a dozen vectorised
    passes whatever the number of layers, over chunks of ``chunk`` elements (see CHUNK).
    The state is `m`, `v` and the step count `t`.
    """

    def __init__(
        self, size: int, dtype=np.float32, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, chunk=CHUNK
    ):
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size, dtype=dtype)
        self.t = 0
        self.chunk = chunk
        self._scratch = np.empty(min(size, chunk), dtype=dtype)

    def step(self, param: np.ndarray, grad: np.ndarray) -> None:
        """param -= lr * m_hat / (sqrt(v_hat) + eps), with m, v moving averages of g, g^2."""
        self.t += 1
        # Bias corrections folded into scalars, as torch does:
        # lr m / (1 - b1^t) / (sqrt(v) / sqrt(1 - b2^t) + eps)
        #   = [lr sqrt(1 - b2^t) / (1 - b1^t)] m / (sqrt(v) + eps sqrt(1 - b2^t)).
        root_c2 = math.sqrt(1 - self.beta2**self.t)  # Python floats: keep float32 loops
        step_size = self.lr * root_c2 / (1 - self.beta1**self.t)
        eps = self.eps * root_c2
        for lo in range(0, param.size, self.chunk):
            part = slice(lo, lo + self.chunk)
            self._update(param[part], grad[part], self.m[part], self.v[part], step_size, eps)

    def _update(self, param, grad, m, v, step_size: float, eps: float) -> None:
        """One chunk of a step, in place."""
        tmp = self._scratch[: param.size]
        # m = b1 m + (1 - b1) g, computed as b1 (m - g) + g: no temporary.
        m -= grad
        m *= self.beta1
        m += grad
        np.square(grad, out=tmp)
        v -= tmp
        v *= self.beta2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += eps
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
