"""Cascade columns with signals, for the search (training) and for replays on held-out rows.

Columns are the real models plus parallel stages "a&b" or vote stages "a&b&c" (cost of
every member, the returned answer's outcome). Stage scores after an earlier stage come from `Scored.after`; a parallel stage
as predecessor means agreement with the answer it returned (as the orchestrator serves it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routers.cascade.search import Outcomes
from routers.cascade.signals import Group, Scored
from routers.cascade.strategy import Strategy, parallel_name

IntArray = npt.NDArray[np.int64]


@dataclass
class Extended:
    outcomes: Outcomes
    calls: list[list[int]]  # real models each column calls


def extended(
    models: Sequence[str], scored: Scored, labels: np.ndarray, costs: np.ndarray,
    pairs: Sequence[Group],
) -> Extended:
    n, m = labels.shape
    names = list(models)
    scores = [scored.first[:, j] for j in range(m)]
    outs = [labels[:, j] for j in range(m)]
    cost = [costs[:, j] for j in range(m)]
    calls = [[j] for j in range(m)]
    conditional: dict[tuple[int, int], np.ndarray] = dict(scored.after)
    rows = np.arange(n)
    for group in pairs:
        members = tuple(group)
        score, returned = scored.pairs[members]
        col = len(names)
        names.append(parallel_name([models[j] for j in members]))
        scores.append(score)
        outs.append(labels[rows, returned])
        cost.append(costs[:, list(members)].sum(axis=1))
        calls.append(list(members))
        for c in range(m):
            if c in members or any((j, c) not in scored.after for j in members):
                continue
            # A later stage agrees (or not) with the answer the parallel stage returned.
            after = np.full(n, np.nan)
            for j in members:
                after = np.where(returned == j, scored.after[(j, c)], after)
            conditional[(col, c)] = after
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
