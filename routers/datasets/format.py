"""Routing data in RouterBench's wide format, held as arrays.

One row per prompt: `prompt`, `eval_name`, and for every model M the columns `M` (score in
[0, 1]), optionally `M|model_response` and `M|total_cost` (USD). Unknown outcomes are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float64]


@dataclass
class RoutingDataset:
    """Per-prompt, per-model outcomes. `scores` and `costs` are (n_prompts, n_models)."""

    prompts: list[str]
    eval_names: list[str]
    models: list[str]
    scores: FloatMatrix
    costs: FloatMatrix
    responses: dict[str, list[str | None]] = field(default_factory=dict)
    name: str = "dataset"

    def __post_init__(self) -> None:
        n, m = len(self.prompts), len(self.models)
        if self.scores.shape != (n, m) or self.costs.shape != (n, m):
            raise ValueError(
                f"{self.name}: scores {self.scores.shape} and costs {self.costs.shape} "
                f"must both be ({n}, {m})"
            )
        if len(self.eval_names) != n:
            raise ValueError(f"{self.name}: {len(self.eval_names)} eval_names for {n} prompts")

    def __len__(self) -> int:
        return len(self.prompts)

    def subset(self, rows: Sequence[int] | npt.NDArray[np.int64]) -> RoutingDataset:
        idx = np.asarray(rows, dtype=np.int64)
        return RoutingDataset(
            prompts=[self.prompts[i] for i in idx],
            eval_names=[self.eval_names[i] for i in idx],
            models=list(self.models),
            scores=self.scores[idx],
            costs=self.costs[idx],
            responses={m: [r[i] for i in idx] for m, r in self.responses.items()},
            name=self.name,
        )

    def with_models(self, models: Sequence[str]) -> RoutingDataset:
        """The same prompts restricted to (and ordered as) `models`; unknown names raise."""
        missing = [m for m in models if m not in self.models]
        if missing:
            raise ValueError(f"{self.name}: no such models {missing}")
        cols = np.asarray([self.models.index(m) for m in models], dtype=np.int64)
        return RoutingDataset(
            prompts=list(self.prompts),
            eval_names=list(self.eval_names),
            models=list(models),
            scores=self.scores[:, cols],
            costs=self.costs[:, cols],
            responses={m: r for m, r in self.responses.items() if m in models},
            name=self.name,
        )


def concat(datasets: Sequence[RoutingDataset], name: str | None = None) -> RoutingDataset:
    """All rows of `datasets` stacked; a model missing from one part gets NaN outcomes there."""
    if not datasets:
        raise ValueError("concat needs at least one dataset")
    models: list[str] = []
    for ds in datasets:
        models.extend(m for m in ds.models if m not in models)
    n = sum(len(ds) for ds in datasets)
    scores = np.full((n, len(models)), np.nan)
    costs = np.full((n, len(models)), np.nan)
    responses: dict[str, list[str | None]] = {}
    row = 0
    for ds in datasets:
        cols = [models.index(m) for m in ds.models]
        scores[row : row + len(ds), cols] = ds.scores
        costs[row : row + len(ds), cols] = ds.costs
        row += len(ds)
    for m in models:
        if any(m in ds.responses for ds in datasets):
            responses[m] = [
                r for ds in datasets for r in ds.responses.get(m, [None] * len(ds))
            ]
    return RoutingDataset(
        prompts=[p for ds in datasets for p in ds.prompts],
        eval_names=[e for ds in datasets for e in ds.eval_names],
        models=models,
        scores=scores,
        costs=costs,
        responses=responses,
        name=name or "+".join(ds.name for ds in datasets),
    )
