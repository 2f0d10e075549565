"""Records' labelled outcomes as the project's routing dataset (RouterBench's wide format).

One row per captured traffic prompt with at least one current label; a model's score is its
current label (feedback over judge over exact), its cost what its answer cost (the client's
call or the shadow call). Models without a label on a prompt are NaN, as in the offline
datasets, so `routers.knn` training and `eval` replay take the table as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gateway.records.base import Outcome
from routers.datasets.format import RoutingDataset


def outcomes_to_routing_table(outcomes: Sequence[Outcome], models: Sequence[str] | None = None,
                              name: str = "records") -> RoutingDataset:
    """A RoutingDataset of `outcomes` over `models` (default: every labelled model, sorted)."""
    columns = list(models) if models is not None else sorted(
        {m for o in outcomes for m in o.scores})
    col = {m: j for j, m in enumerate(columns)}
    scores = np.full((len(outcomes), len(columns)), np.nan)
    costs = np.full_like(scores, np.nan)
    for i, outcome in enumerate(outcomes):
        for model, score in outcome.scores.items():
            if model in col:
                scores[i, col[model]] = score
                costs[i, col[model]] = outcome.costs.get(model, np.nan)
    return RoutingDataset(
        prompts=[o.prompt for o in outcomes],
        eval_names=[o.route for o in outcomes],
        models=columns,
        scores=scores,
        costs=costs,
        name=name,
    )
