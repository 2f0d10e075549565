"""Training the CSCR projection on frozen MiniLM vectors with the cost-spectrum InfoNCE.

Torch runs on the CPU with `threads` threads, 1 by default: the steps are small (a
256-prompt batch through a 384x256 MLP), so a second thread saves little, and on a loaded
machine its per-op barriers cost far more (2,000 prompts at load 7: 21.3 s with 2 threads,
3.3 s with 1, the same weights; bench/learning/projection_threads.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.knn.loss import cost_bands, cost_spectrum_info_nce
from routers.knn.projection import Projection, Vectors

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of the projection and the loss (CSCR's defaults for τ_min, α, γ)."""

    hidden: int = 256
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    tau_min: float = 0.05
    alpha: float = 0.25
    gamma: float = 0.2
    n_bands: int | None = None
    seed: int = 0
    threads: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    """The trained projection and how training went."""

    projection: Projection
    losses: list[float]
    seconds: float
    bands: list[list[int]]


def normalised_model_costs(costs: FloatMatrix, scores: FloatMatrix) -> FloatMatrix:
    """Mean recorded cost per model (where the outcome is known), min-max scaled to [0, 1]."""
    known = ~np.isnan(scores) & ~np.isnan(costs)
    mean = np.where(known, costs, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    spread = mean.max() - mean.min()
    return (mean - mean.min()) / spread if spread > 0 else np.zeros_like(mean)


def train_projection(
    raw: Vectors,
    scores: FloatMatrix,
    costs: FloatMatrix,
    descriptors: Vectors,
    config: TrainConfig = TrainConfig(),
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """A projection trained so prompts point at the descriptors of cheap correct models.

    `on_epoch(epoch, mean loss)` is called after each epoch (progress bars)."""
    import torch

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    cost_norm = normalised_model_costs(costs, scores)
    bands = cost_bands(cost_norm, config.n_bands)
    dim = raw.shape[1]
    first = torch.nn.Linear(dim, config.hidden)
    second = torch.nn.Linear(config.hidden, dim)
    torch.nn.init.zeros_(second.weight)
    torch.nn.init.zeros_(second.bias)
    act = torch.nn.GELU(approximate="tanh")
    params = list(first.parameters()) + list(second.parameters())
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    x_all = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
    y_all = torch.from_numpy(scores.astype(np.float32))
    e = torch.from_numpy(np.ascontiguousarray(descriptors, dtype=np.float32))
    c = torch.from_numpy(cost_norm.astype(np.float32))
    generator = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    for _ in range(config.epochs):
        order = torch.randperm(len(x_all), generator=generator)
        total, steps = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            x = x_all[batch]
            z = torch.nn.functional.normalize(x + second(act(first(x))), dim=1)
            loss = cost_spectrum_info_nce(
                z, e, y_all[batch], c, bands, config.tau_min, config.alpha, config.gamma
            )
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            total, steps = total + float(loss.detach()), steps + 1
        losses.append(total / max(steps, 1))
        if on_epoch is not None:
            on_epoch(len(losses), losses[-1])
    projection = Projection(
        w1=first.weight.detach().numpy().copy(),
        b1=first.bias.detach().numpy().copy(),
        w2=second.weight.detach().numpy().copy(),
        b2=second.bias.detach().numpy().copy(),
    )
    return TrainResult(projection, losses, time.perf_counter() - started, bands)
