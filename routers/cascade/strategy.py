"""A cascade strategy (ordered models, acceptance thresholds) and its offline replay.

A strategy calls its stages in order and stops at the first answer whose score reaches the
stage's `accept_at`; the last stage is always accepted. Every stage called is paid for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A parallel stage ("a&b") calls its models at once and answers with one of their answers
# (see `signals.py`); its name joins theirs with this separator.
PARALLEL = "&"


def stage_models(name: str) -> list[str]:
    """The models a stage calls: one, or those of a parallel stage "a&b"."""
    return name.split(PARALLEL) if PARALLEL in name else [name]


def parallel_name(models: Sequence[str]) -> str:
    return PARALLEL.join(models)


@dataclass(frozen=True, slots=True)
class Stage:
    """One model of a cascade; `accept_at` is None for the final stage."""

    model: str
    accept_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model}
        if self.accept_at is not None:
            out["accept_at"] = self.accept_at
        return out


@dataclass(frozen=True, slots=True)
class Strategy:
    """Stages in calling order, with the accuracy and mean cost measured where it was fitted."""

    stages: tuple[Stage, ...]
    accuracy: float = float("nan")
    cost_usd: float = float("nan")

    @property
    def models(self) -> list[str]:
        return [s.model for s in self.stages]

    def describe(self) -> str:
        parts = [
            f"{s.model}≥{s.accept_at:.3f}" if s.accept_at is not None else s.model
            for s in self.stages
        ]
        return " → ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "stages": [s.to_json() for s in self.stages],
            "accuracy": self.accuracy,
            "cost_usd": self.cost_usd,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Strategy:
        raw = list(data["stages"])
        if not raw:
            raise ValueError("a cascade strategy needs at least one stage")
        stages = tuple(
            Stage(str(s["model"]), None if i == len(raw) - 1 else float(s["accept_at"]))
            for i, s in enumerate(raw)
        )
        return cls(stages, float(data.get("accuracy", "nan")), float(data.get("cost_usd", "nan")))


@dataclass(frozen=True)
class Replay:
    """A strategy replayed on recorded outcomes: means, and the answering stage per row."""

    accuracy: float
    cost_usd: float
    answered_by: IntArray  # index into strategy.stages
    stage_share: tuple[float, ...]  # share of rows answered at each stage


def replay(
    strategy: Strategy,
    models: Sequence[str],
    scores: FloatMatrix,
    outcomes: FloatMatrix,
    costs: FloatMatrix,
) -> Replay:
    """Replays `strategy` row by row; `scores`, `outcomes`, `costs` are (n, len(models)).

    A NaN score at a non-final stage (no answer to score) escalates.
    """
    n = len(outcomes)
    cols = [list(models).index(m) for m in strategy.models]
    pending = np.ones(n, dtype=bool)
    answered_by = np.full(n, len(cols) - 1, dtype=np.int64)
    total_score = np.zeros(n)
    total_cost = np.zeros(n)
    for k, (stage, j) in enumerate(zip(strategy.stages, cols)):
        total_cost[pending] += costs[pending, j]
        if stage.accept_at is None:
            accept = pending.copy()
        else:
            s = scores[:, j]
            accept = pending & ~np.isnan(s) & (np.nan_to_num(s, nan=-1.0) >= stage.accept_at)
        total_score[accept] = outcomes[accept, j]
        answered_by[accept] = k
        pending &= ~accept
    share = tuple(float(np.mean(answered_by == k)) for k in range(len(cols))) if n else ()
    return Replay(
        accuracy=float(total_score.mean()) if n else float("nan"),
        cost_usd=float(total_cost.mean()) if n else float("nan"),
        answered_by=answered_by,
        stage_share=share,
    )
