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
