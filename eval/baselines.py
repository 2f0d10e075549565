"""The candidates replay always has: each single model, the oracle, a random mixture of two
models, and a per-task lookup table.

The lookup table must never see the prompts it is scored on. Given a separate training set it
fits there; otherwise it is cross-fitted: the data is cut into folds and each fold is routed
by a table fitted on the other folds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eval.sweep import CandidateKind, Choices, SweepStep, column_of
from eval.types import FloatArray, IntArray
from routers.datasets.format import RoutingDataset

DEFAULT_FRACTIONS = tuple(i / 10 for i in range(11))
LOOKUP_FOLDS = 5


@dataclass(frozen=True)
class SingleModel:
    """Every prompt to one model."""

    model: str
    kind: CandidateKind = "model"

    @property
    def name(self) -> str:
        return self.model

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        column = column_of(dataset, self.model)
        return [Choices(None, np.full(len(dataset), column, dtype=np.int64))]


@dataclass(frozen=True)
class Oracle:
    """Per prompt, the best-scoring model, the cheapest among ties (RouterBench's oracle).

    When no model is right it takes the cheapest, so it never pays for a wrong answer more
    than it must.
    """

    name: str = "oracle"
    kind: CandidateKind = "oracle"

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        return [Choices(None, oracle_choices(dataset.scores, dataset.costs))]


def oracle_choices(scores: FloatArray, costs: FloatArray) -> IntArray:
    """Column of the best score per row, cheapest among ties; unknown outcomes never win."""
    if scores.shape[1] == 0:
        raise ValueError("the oracle needs at least one model")
    filled = np.where(np.isnan(scores), -np.inf, scores)
    best = filled.max(axis=1, keepdims=True)
    price = np.where(filled == best, np.where(np.isnan(costs), np.inf, costs), np.inf)
    choice: IntArray = np.argmin(price, axis=1).astype(np.int64)
    return choice


@dataclass(frozen=True)
class RandomMixture:
    """A share of prompts, drawn at random, to `strong`; the rest to `weak`.

    The knob is that share. A seeded permutation fixes which prompts go first, so each step
    sends exactly round(share * n) prompts to `strong` and the steps are nested.
    """

    weak: str
    strong: str
    fractions: Sequence[float] = DEFAULT_FRACTIONS
    seed: int = 0
    kind: CandidateKind = "baseline"

    @property
    def name(self) -> str:
        return f"random({self.weak}|{self.strong})"

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        weak, strong = column_of(dataset, self.weak), column_of(dataset, self.strong)
        n = len(dataset)
        order = np.random.default_rng(self.seed).permutation(n)
        steps: list[SweepStep] = []
        for share in self.fractions:
            choice = np.full(n, weak, dtype=np.int64)
            choice[order[: round(share * n)]] = strong
            steps.append(Choices(float(share), choice))
        return steps


@dataclass(frozen=True)
class TaskLookup:
    """Per task (eval_name), the model maximising train accuracy - λ * train mean cost.

    The knob λ is in accuracy per USD; λ = 0 buys the most accurate model of each task and
    λ = ∞ the cheapest. Tasks missing from the training data use the pooled table.
    """

    train: RoutingDataset | None = None
    lambdas: Sequence[float] | None = None
    folds: int = LOOKUP_FOLDS
    seed: int = 0
    name: str = "task-lookup"
    kind: CandidateKind = "baseline"

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        lambdas = (
            list(self.lambdas)
            if self.lambdas is not None
            else default_lambdas(self.train or dataset)
        )
        choice = np.zeros((len(lambdas), len(dataset)), dtype=np.int64)
        if self.train is not None:
            train = self.train.with_models(dataset.models)
            choice[:] = _route_by_table(train, dataset, lambdas)
        else:
            for fit_rows, route_rows in _folds(len(dataset), self.folds, self.seed):
                table_data, routed = dataset.subset(fit_rows), dataset.subset(route_rows)
                choice[:, route_rows] = _route_by_table(table_data, routed, lambdas)
        return [Choices(lam, choice[k]) for k, lam in enumerate(lambdas)]


def default_lambdas(dataset: RoutingDataset, points: int = 25) -> list[float]:
    """0, a log grid around 1 / (typical model cost), and ∞."""
    mean_costs = np.nanmean(np.where(np.isnan(dataset.scores), np.nan, dataset.costs), axis=0)
    positive = mean_costs[np.isfinite(mean_costs) & (mean_costs > 0)]
    scale = float(np.median(positive)) if positive.size else 1.0
    grid = np.logspace(-3, 3, points) / scale
    return [0.0, *(float(x) for x in grid), math.inf]


def _route_by_table(
    table_data: RoutingDataset, routed: RoutingDataset, lambdas: Sequence[float]
) -> IntArray:
    """(len(lambdas), len(routed)) choices from the per-task table of `table_data`."""
    pooled_acc, pooled_cost = _table(table_data.scores, table_data.costs)
    tasks = np.asarray(table_data.eval_names)
    per_task = {
        task: _table(table_data.scores[tasks == task], table_data.costs[tasks == task])
        for task in set(table_data.eval_names)
    }
    out = np.zeros((len(lambdas), len(routed)), dtype=np.int64)
    routed_tasks = np.asarray(routed.eval_names)
    for task in set(routed.eval_names):
        acc, cost = per_task.get(task, (pooled_acc, pooled_cost))
        rows = routed_tasks == task
        for k, lam in enumerate(lambdas):
            out[k, rows] = _best(acc, cost, lam)
    return out


def _table(scores: FloatArray, costs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-model mean score and mean cost; a model never observed gets -∞ and +∞."""
    known = ~np.isnan(scores)
    count = known.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(count > 0, np.where(known, scores, 0).sum(axis=0) / count, -np.inf)
        cost = np.where(
            count > 0,
            np.where(known, np.nan_to_num(costs, nan=0.0), 0).sum(axis=0) / count,
            np.inf,
        )
    return acc, cost


def _best(acc: FloatArray, cost: FloatArray, lam: float) -> int:
    if math.isinf(lam):
        # λ = ∞: cheapest among models ever observed, most accurate among equal costs.
        return int(np.lexsort((-acc, cost))[0])
    # A model never observed (acc -∞, cost +∞) is never chosen; at λ = 0 its utility would
    # be -∞ - 0·∞ = NaN, with numpy's warning on every train and evaluate run.
    with np.errstate(invalid="ignore"):
        utility = np.where(np.isfinite(acc), acc - lam * cost, -np.inf)
    # Ties go to the cheaper model: np.lexsort sorts by the last key first.
    return int(np.lexsort((cost, -utility))[0])


def _folds(n: int, k: int, seed: int) -> list[tuple[IntArray, IntArray]]:
    order = np.random.default_rng(seed).permutation(n)
    parts = [np.sort(p) for p in np.array_split(order, max(2, min(k, n)))]
    return [
        (np.sort(np.concatenate([q for j, q in enumerate(parts) if j != i])), part)
        for i, part in enumerate(parts)
    ]
