"""Which stages one request runs: the strategy, cut to the allowed models and a start model.

Kept apart from the orchestrator so the offline replay of "route first, then cascade"
(bench/cascade) and live serving make the same choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from routers.cascade.strategy import Stage, Strategy, stage_models


def allowed_stages(strategy: Strategy, allowed: Sequence[str]) -> list[Stage]:
    """The strategy's stages whose models are all allowed (every model of a parallel stage);
    the last one kept becomes final."""
    kept = [s for s in strategy.stages if all(m in allowed for m in stage_models(s.model))]
    if kept and kept[-1].accept_at is not None:
        kept[-1] = Stage(kept[-1].model)
    return kept


def start_from(stages: Sequence[Stage], start: str, cost: Mapping[str, float]) -> list[Stage]:
    """The stages from `start` on: route first, escalate if unsure.

    When `start` is a stage, the cascade begins there (cheaper stages are skipped). When it
    is not, the cascade begins at the first stage costing at least as much as `start` would
    (a router that picks an expensive model says the cheap stages would be wasted), or at
    the final stage if none does. `cost` is each model's expected cost for this request.
    """
    models = [s.model for s in stages]
    if start in models:
        return list(stages[models.index(start) :])
    floor = cost.get(start)
    if floor is None:
        return list(stages)
    for i, stage in enumerate(stages):
        if stage_cost(stage, cost) >= floor:
            return list(stages[i:])
    return list(stages[-1:])


def stage_cost(stage: Stage, cost: Mapping[str, float]) -> float:
    """A stage's expected cost: its model's, or the sum over a parallel stage's models."""
    return sum(cost.get(m, float("inf")) for m in stage_models(stage.model))
