"""The composed route: a router's per-prompt estimates pick where a cascade starts, the
cascade's scorer gates escalation from there.

Per prompt, the k-NN router's estimates (P(correct) and cost per model) pick the model
maximising quality − λ·cost, as `router:knn` would. The cascade then starts at that model's
stage (or at the first stage costing at least as much, `plan.start_from`): a prompt the
router trusts a cheap model with skips nothing, one it sends to a dear model skips the cheap
stages, and a stage's answer is still only accepted when the scorer trusts it. Serving runs
exactly this as `router: cascade` with `options: {start_with_router: <k-NN artifact>}`;
this module is its offline replay, for choosing (strategy, λ) on training rows and
measuring them on held-out rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routers.cascade.parallel import Extended, replay_strategy
from routers.cascade.plan import start_from
from routers.cascade.strategy import Stage, Strategy

FloatArray = npt.NDArray[np.float64]
FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Composed:
    """One setting of the composed route: the cascade strategy and the router's λ."""

    strategy: Strategy
    lam: float


def router_starts(quality: FloatMatrix, cost: FloatArray, lam: float) -> IntArray:
    """Per row, the model the router picks: argmax quality − λ·cost (cheapest at λ = ∞)."""
    if np.isinf(lam):
        return np.full(len(quality), int(np.argmin(cost)), dtype=np.int64)
    value = np.nan_to_num(quality, nan=-np.inf) - lam * cost[None, :]
    return np.asarray(np.argmax(value, axis=1), dtype=np.int64)


def started(strategy: Strategy, start: str, cost: Mapping[str, float]) -> Strategy:
    """The strategy from the router's pick on (its last stage final, as served)."""
    stages = start_from(list(strategy.stages), start, cost)
    if stages[-1].accept_at is not None:
        stages[-1] = Stage(stages[-1].model)
    return Strategy(tuple(stages))


def replay_composed(
    setting: Composed,
    ext: Extended,
    models: Sequence[str],
    quality: FloatMatrix,
    cost: FloatArray,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """(cost, score, calls) per row of the composed route on `ext`'s rows; `quality` is the
    router's (n, len(models)) estimate, `cost` each real model's mean cost."""
    n = len(quality)
    by_model = {m: float(c) for m, c in zip(models, cost, strict=True)}
    starts = router_starts(quality, cost, setting.lam)
    out_cost, out_score = np.zeros(n), np.zeros(n)
    calls = np.zeros((n, len(models)), dtype=bool)
    for s in np.unique(starts):
        rows = np.flatnonzero(starts == s).astype(np.int64)
        strategy = started(setting.strategy, models[int(s)], by_model)
        c, sc, cl = replay_strategy(strategy, ext, len(models), rows)
        out_cost[rows], out_score[rows], calls[rows] = c, sc, cl
    return out_cost, out_score, calls


def composed_front(
    strategies: Sequence[Strategy],
    lambdas: Sequence[float],
    ext: Extended,
    models: Sequence[str],
    quality: FloatMatrix,
    cost: FloatArray,
) -> list[tuple[Composed, float, float]]:
    """The Pareto set (ascending cost, rising accuracy) of every (strategy, λ) on these
    rows: (setting, mean cost, accuracy). Use training rows (out-of-fold scores and router
    estimates) so the settings are chosen without the held-out rows."""
    points = []
    for strategy in strategies:
        for lam in lambdas:
            setting = Composed(strategy, float(lam))
            c, sc, _ = replay_composed(setting, ext, models, quality, cost)
            points.append((setting, float(c.mean()), float(sc.mean())))
    points.sort(key=lambda p: (p[1], -p[2]))
    front: list[tuple[Composed, float, float]] = []
    for point in points:
        if not front or point[2] > front[-1][2] + 1e-12:
            front.append(point)
    return front
