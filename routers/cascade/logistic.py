"""An L2-regularised logistic regression head, fitted by Newton's method in numpy.

Features are standardised with the training mean and spread, so one penalty suits every
feature. Targets may be soft (RouterBench scores in [0, 1]); cross-entropy handles them.
A few hundred to a few thousand rows and ~1k features fit in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MAX_NEWTON_STEPS = 50
TOLERANCE = 1e-7


@dataclass
class LogisticHead:
    """P(y = 1 | x) = sigmoid(((x - mean) / scale) · weights + bias)."""

    weights: FloatArray
    bias: float
    mean: FloatArray
    scale: FloatArray

    def logits(self, x: FloatArray) -> FloatArray:
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        return np.asarray(z @ self.weights + self.bias, dtype=np.float64)

    def predict(self, x: FloatArray) -> FloatArray:
        """Probabilities for each row of `x`."""
        return sigmoid(self.logits(x))


def sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def fit_logistic(x: FloatArray, y: FloatArray, l2: float | FloatArray = 1.0) -> LogisticHead:
    """The head minimising cross-entropy + ½·Σ l2ᵢ·wᵢ² (the bias is not penalised).

    `l2` is one penalty for all features or one per feature (column).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    if x.ndim != 2 or len(x) != len(y) or len(y) == 0:
        raise ValueError(
            f"fit_logistic needs (n, d) features and n targets, got {x.shape}, {y.shape}"
        )
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    d = z.shape[1]
    penalty = np.zeros(d)
    penalty[:-1] = l2
    w = np.zeros(d)
    prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    w[-1] = np.log(prior / (1 - prior))
    for _ in range(MAX_NEWTON_STEPS):
        p = sigmoid(z @ w)
        grad = z.T @ (p - y) + penalty * w
        # The tiny floor keeps the Hessian invertible once the data are separated.
        h = p * (1 - p) + 1e-9
        hessian = (z.T * h) @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, grad)
        w -= step
        if float(np.max(np.abs(step))) < TOLERANCE:
            break
    return LogisticHead(weights=w[:-1], bias=float(w[-1]), mean=mean, scale=scale)
