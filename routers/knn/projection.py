"""The CSCR projection applied with numpy: a residual two-layer MLP on frozen MiniLM vectors.

y = normalise(x + W2 · gelu(W1 · x + b1) + b2). The second layer starts at zero, so an
untrained projection is the identity and training can only move away from raw MiniLM where
the loss asks for it. Serving needs no torch for this step: the weights are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


def normalise_rows(x: Vectors) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _gelu(x: Vectors) -> Vectors:
    # The tanh form, as torch.nn.GELU(approximate="tanh") computes it.
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
    return (0.5 * x * (1.0 + np.tanh(inner))).astype(np.float32)


@dataclass(frozen=True)
class Projection:
    """Weights of the residual MLP; `apply` maps (n, d) unit vectors to (n, d) unit vectors."""

    w1: Vectors  # (hidden, d)
    b1: Vectors  # (hidden,)
    w2: Vectors  # (d, hidden)
    b2: Vectors  # (d,)

    @classmethod
    def identity(cls, dim: int, hidden: int = 1) -> Projection:
        return cls(
            w1=np.zeros((hidden, dim), np.float32),
            b1=np.zeros(hidden, np.float32),
            w2=np.zeros((dim, hidden), np.float32),
            b2=np.zeros(dim, np.float32),
        )

    @property
    def dim(self) -> int:
        return int(self.w2.shape[0])

    def apply(self, x: Vectors) -> Vectors:
        hidden = _gelu(x @ self.w1.T + self.b1)
        return normalise_rows(x + hidden @ self.w2.T + self.b2)

    def save(self, path: Path) -> None:
        np.savez(path, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2)

    @classmethod
    def load(cls, path: Path) -> Projection:
        with np.load(path) as data:
            return cls(
                w1=data["w1"].astype(np.float32),
                b1=data["b1"].astype(np.float32),
                w2=data["w2"].astype(np.float32),
                b2=data["b2"].astype(np.float32),
            )
