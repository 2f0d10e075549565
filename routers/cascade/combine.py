"""Offline replay of "route first, escalate if unsure": a router's pick starts the cascade.

Rows are grouped by the router's pick; each group replays the strategy cut by
`plan.start_from`, exactly as the orchestrator cuts it live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from routers.cascade.plan import start_from
from routers.cascade.strategy import Strategy, replay

FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def replay_started(
    strategy: Strategy,
    models: Sequence[str],
    picks: IntArray,
    scores: FloatMatrix,
    outcomes: FloatMatrix,
    costs: FloatMatrix,
    model_cost: Mapping[str, float],
) -> tuple[float, float]:
    """(accuracy, mean cost) when row i's cascade starts at `models[picks[i]]`."""
    n = len(outcomes)
    total_score = 0.0
    total_cost = 0.0
    for column in np.unique(picks):
        rows = np.flatnonzero(picks == column)
        stages = start_from(strategy.stages, models[int(column)], model_cost)
        r = replay(Strategy(tuple(stages)), models, scores[rows], outcomes[rows], costs[rows])
        total_score += r.accuracy * len(rows)
        total_cost += r.cost_usd * len(rows)
    return total_score / n, total_cost / n
