"""Cascade columns with signals, for the search (training) and for replays on held-out rows.

Columns are the real models plus parallel stages "a&b" (cost of both, the returned answer's
outcome). Stage scores after an earlier stage come from `Scored.after`; a parallel stage
as predecessor means agreement with the answer it returned (as the orchestrator serves it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routers.cascade.search import Outcomes
from routers.cascade.signals import Scored
from routers.cascade.strategy import Strategy, parallel_name

IntArray = npt.NDArray[np.int64]


@dataclass
class Extended:
    outcomes: Outcomes
    calls: list[list[int]]  # real models each column calls


def extended(
    models: Sequence[str], scored: Scored, labels: np.ndarray, costs: np.ndarray,
    pairs: Sequence[tuple[int, int]],
) -> Extended:
    n, m = labels.shape
    names = list(models)
    scores = [scored.first[:, j] for j in range(m)]
    outs = [labels[:, j] for j in range(m)]
    cost = [costs[:, j] for j in range(m)]
    calls = [[j] for j in range(m)]
    conditional: dict[tuple[int, int], np.ndarray] = dict(scored.after)
    rows = np.arange(n)
    for a, b in pairs:
        score, returned = scored.pairs[(a, b)]
        col = len(names)
        names.append(parallel_name([models[a], models[b]]))
        scores.append(score)
        outs.append(labels[rows, returned])
        cost.append(costs[:, a] + costs[:, b])
        calls.append([a, b])
        for c in range(m):
            if c in (a, b) or (a, c) not in scored.after:
                continue
            after_a, after_b = scored.after[(a, c)], scored.after[(b, c)]
            conditional[(col, c)] = np.where(returned == a, after_a, after_b)
    o = Outcomes(
        names,
        np.column_stack(scores),
        np.column_stack(outs),
        np.column_stack(cost),
        conditional or None,
    )
    return Extended(o, calls)


def replay_strategy(
    strategy: Strategy, ext: Extended, n_models: int, rows: IntArray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cost, score, calls) per row of `strategy` on `ext`'s rows (or on `rows` of them)."""
    o = ext.outcomes
    rows = np.arange(len(o.outcomes)) if rows is None else rows
    n = len(rows)
    pending = np.ones(n, dtype=bool)
    cost = np.zeros(n)
    score = np.zeros(n)
    calls = np.zeros((n, n_models), dtype=bool)
    previous: int | None = None
    for stage in strategy.stages:
        j = o.models.index(stage.model)
        cost[pending] += o.costs[rows, j][pending]
        for real in ext.calls[j]:
            calls[pending, real] = True
        if stage.accept_at is None:
            accept = pending.copy()
        else:
            s = o.stage_scores(j, previous)[rows]
            accept = pending & (s >= stage.accept_at)
        score[accept] = o.outcomes[rows, j][accept]
        pending &= ~accept
        previous = j
    return cost, score, calls
