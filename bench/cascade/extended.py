"""A cascade's Pareto set as an eval candidate, replayed on precomputed validation columns
(`routers.cascade.parallel`: real models and parallel stages)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from routers.cascade.parallel import Extended, extended, replay_strategy
from routers.cascade.strategy import Strategy

__all__ = ["ComposedCandidate", "Extended", "StrategiesCandidate", "extended",
           "replay_strategy"]


class StrategiesCandidate:
    """A cascade's Pareto set as an eval candidate on precomputed validation columns."""

    kind = "cascade"

    def __init__(self, name: str, strategies: Sequence[Strategy], ext: Extended, n_models: int):
        self.name = name
        self.strategies = sorted(strategies, key=lambda s: s.cost_usd)
        self.ext = ext
        self.n_models = n_models

    def sweep(self, dataset: Any) -> list[Any]:
        from eval.sweep import Outcomes as Steps

        return [
            Steps(float(i), *replay_strategy(s, self.ext, self.n_models))
            for i, s in enumerate(self.strategies)
        ]


class ComposedCandidate:
    """The composed route (k-NN picks the start, the scorer gates escalation): the settings
    on its training Pareto set, replayed on validation columns with validation estimates."""

    kind = "cascade"

    def __init__(self, name: str, settings: Sequence[Any], ext: Extended, models: Sequence[str],
                 quality: Any, cost: Any):
        self.name = name
        self.settings = list(settings)
        self.ext, self.models, self.quality, self.cost = ext, list(models), quality, cost

    def sweep(self, dataset: Any) -> list[Any]:
        from eval.sweep import Outcomes as Steps
        from routers.cascade.composed import replay_composed

        return [
            Steps(float(i), *replay_composed(s, self.ext, self.models, self.quality, self.cost))
            for i, s in enumerate(self.settings)
        ]
