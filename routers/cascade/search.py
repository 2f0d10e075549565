"""The cascade optimizer: orderings of up to 3 models, every useful threshold.

Which orderings: with few models (at most `EXHAUSTIVE_MAX_ORDERINGS` three-model
permutations, i.e. up to 6 models) all of them. With more, a pruned set: every single
model and every pair (a pair's table is one pass over the rows), then as three-stage chains
(1) those whose models rise in mean cost (a cheap model screening for a dearer one is what
a cascade is for) and (2) the extensions of every pair whose table comes within
`NEAR_FRONT_SLACK` accuracy of the single/pair front: a third stage after it, or a middle
stage inserted. On RouterBench's 11 models: 539 of the 990 triples; `bench/cascade/
search_quality.py` compares the two fronts on held-out rows where both are feasible.

A threshold only changes which rows a stage accepts when it crosses an observed score, so
for one ordering the candidate thresholds of a stage are its observed scores (capped at
`max_cuts` quantiles on large data, which `exact` then reports). For two stages the
accuracy and cost of every threshold follow from prefix sums over the rows sorted by score;
for three stages from 2-D prefix sums over a (stage-1 bin × stage-2 bin) histogram. Each
ordering thus yields its exact (cost, accuracy) table, whose Pareto front is kept.

A three-stage table has up to (max_cuts + 1)² points, and sorting them for their front took
most of the search (0.15 s of ~0.2 s per triple, 539 triples on 11 models). The points no
better than the front of the tables searched before cannot reach the final front, so they are
dropped first (`_Front`), which leaves few to sort; the Pareto set is the same.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routers.cascade.strategy import Stage, Strategy
from routers.train_progress import NullTrainProgress, TrainProgress

FloatArray = npt.NDArray[np.float64]
FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_MAX_CUTS = 1024
# Bounds the 3-stage tables over all orderings (cells) when there are many models.
CELL_BUDGET = 150_000_000
UNSCORED = -1.0
EXHAUSTIVE_MAX_ORDERINGS = 120
NEAR_FRONT_SLACK = 0.005


@dataclass(frozen=True)
class Outcomes:
    """Per-row recorded outcomes and costs, and the (out-of-fold) scores of each answer."""

    models: list[str]
    scores: FloatMatrix  # NaN where the model cannot be scored (no head / no answer)
    outcomes: FloatMatrix
    costs: FloatMatrix

    def scorable(self, j: int) -> bool:
        return bool(np.any(~np.isnan(self.scores[:, j])))

    # Scores of model b's answer when stage a ran before it (agreement with a's answer is a
    # feature): keyed (a, b); absent pairs use b's own column.
    conditional: Mapping[tuple[int, int], FloatArray] | None = None

    def stage_scores(self, j: int, after: int | None = None) -> FloatArray:
        """Scores of column j (after stage `after`, when conditional scores are known), with
        unscorable rows below every real score (they escalate)."""
        if after is not None and self.conditional and (after, j) in self.conditional:
            return np.nan_to_num(self.conditional[(after, j)], nan=UNSCORED)
        return np.nan_to_num(self.scores[:, j], nan=UNSCORED)


@dataclass(frozen=True)
class Frontier:
    """The Pareto set (ascending cost, strictly rising accuracy) and how it was searched."""

    strategies: list[Strategy]
    exact: bool
    orderings: int

    def best_within(self, budget_usd: float) -> Strategy | None:
        """The most accurate strategy with mean cost ≤ budget (None if none is)."""
        within = [s for s in self.strategies if s.cost_usd <= budget_usd + 1e-15]
        return within[-1] if within else None

    def cheapest_reaching(self, accuracy: float) -> Strategy | None:
        """The cheapest strategy with accuracy ≥ target (None if none reaches it)."""
        return next((s for s in self.strategies if s.accuracy >= accuracy - 1e-12), None)


@dataclass
class _Cuts:
    """Candidate thresholds of one stage and each row's bin among them."""

    values: FloatArray  # ascending; accept iff score ≥ values[a]; a = len(values): none
    accept_at: FloatArray  # a serving threshold per a, halfway below values[a]
    bins: IntArray  # per row: number of cut values ≤ score, minus 1
    exact: bool


def _cuts(scores: FloatArray, max_cuts: int) -> _Cuts:
    observed = np.unique(scores)
    exact = len(observed) <= max_cuts
    values = (
        observed
        if exact
        else np.unique(np.quantile(observed, np.linspace(0.0, 1.0, max_cuts), method="nearest"))
    )
    # Halfway between a cut and the highest observed score below it: the same rows on this
    # data, and the widest margin for unseen scores.
    below_idx = np.searchsorted(observed, values, side="left") - 1
    below = np.where(below_idx >= 0, observed[np.maximum(below_idx, 0)], values - 1e-6)
    accept_at = np.append((values + below) / 2.0, np.inf)
    accept_at[0] = 0.0  # the lowest cut accepts everything
    bins = (np.searchsorted(values, scores, side="right") - 1).astype(np.int64)
    return _Cuts(values, accept_at, bins, exact)


@dataclass
class _Table:
    """Accuracy and mean cost of every threshold combination of one ordering."""

    order: tuple[int, ...]
    accuracy: FloatArray
    cost: FloatArray
    accept_at: list[FloatArray]  # per non-final stage, indexed by threshold index
    shape: tuple[int, ...]


def _two_stage(o: Outcomes, a: int, b: int, max_cuts: int) -> tuple[_Table, bool]:
    cuts = _cuts(o.stage_scores(a), max_cuts)
    k = len(cuts.values)
    n = len(o.outcomes)
    # Rows in bins < t go on to stage b.
    hist_ya = np.bincount(cuts.bins, o.outcomes[:, a], minlength=k)
    hist_yb = np.bincount(cuts.bins, o.outcomes[:, b], minlength=k)
    hist_cb = np.bincount(cuts.bins, o.costs[:, b], minlength=k)
    escalated_yb = np.concatenate([[0.0], np.cumsum(hist_yb)])
    escalated_cb = np.concatenate([[0.0], np.cumsum(hist_cb)])
    accepted_ya = hist_ya.sum() - np.concatenate([[0.0], np.cumsum(hist_ya)])
    accuracy = (accepted_ya + escalated_yb) / n
    cost = (o.costs[:, a].sum() + escalated_cb) / n
    return _Table((a, b), accuracy, cost, [cuts.accept_at], (k + 1,)), cuts.exact


def _three_stage(o: Outcomes, a: int, b: int, c: int, max_cuts: int) -> tuple[_Table, bool]:
    c1, c2 = _cuts(o.stage_scores(a), max_cuts), _cuts(o.stage_scores(b, after=a), max_cuts)
    k1, k2 = len(c1.values), len(c2.values)
    n = len(o.outcomes)

    cell = c1.bins * k2 + c2.bins

    def prefix(weights: FloatArray) -> FloatMatrix:
        # P[i, j] = sum of weights over rows with bin1 < i and bin2 < j.
        hist = np.bincount(cell, weights, minlength=k1 * k2).reshape(k1, k2)
        out = np.zeros((k1 + 1, k2 + 1))
        out[1:, 1:] = hist.cumsum(axis=0).cumsum(axis=1)
        return out

    p_yb, p_yc = prefix(o.outcomes[:, b]), prefix(o.outcomes[:, c])
    p_cb, p_cc = prefix(o.costs[:, b]), prefix(o.costs[:, c])
    hist_ya = np.bincount(c1.bins, o.outcomes[:, a], minlength=k1)
    accepted_ya = hist_ya.sum() - np.concatenate([[0.0], np.cumsum(hist_ya)])
    accuracy = accepted_ya[:, None] + (p_yb[:, -1:] - p_yb) + p_yc
    cost = o.costs[:, a].sum() + p_cb[:, -1:] + p_cc
    table = _Table(
        (a, b, c),
        (accuracy / n).ravel(),
        (cost / n).ravel(),
        [c1.accept_at, c2.accept_at],
        (k1 + 1, k2 + 1),
    )
    return table, c1.exact and c2.exact


def pareto_indices(accuracy: FloatArray, cost: FloatArray) -> IntArray:
    """Indices of the non-dominated points, ascending cost, strictly rising accuracy."""
    order = np.lexsort((-accuracy, cost))
    running = np.maximum.accumulate(accuracy[order])
    previous = np.concatenate([[-np.inf], running[:-1]])
    keep = order[accuracy[order] > previous + 1e-12]
    return keep.astype(np.int64)


def _strategy(o: Outcomes, table: _Table, flat: int) -> Strategy:
    index = np.unravel_index(flat, table.shape)
    stages: list[Stage] = []
    for position, model in enumerate(table.order):
        if position == len(table.order) - 1:
            stages.append(Stage(o.models[model]))
            break
        cut = int(index[position])
        if cut == 0:
            stages.append(Stage(o.models[model]))
            break  # everything is accepted here: later stages are never reached
        accept_at = float(table.accept_at[position][cut])
        if accept_at == np.inf:
            continue  # a stage that never accepts is paid for in vain: not on the front
        stages.append(Stage(o.models[model], max(accept_at, 0.0)))
    return Strategy(tuple(stages), float(table.accuracy[flat]), float(table.cost[flat]))


def orderings(o: Outcomes, max_depth: int) -> list[tuple[int, ...]]:
    """Orderings whose non-final stages can be scored; longest only when it covers shorter.

    A 3-stage table contains its 2-stage prefix (stage 2 accepts all) and its single first
    model (stage 1 accepts all), so with 3+ models only 3-stage orderings and singles are
    needed; every 2-stage cascade (a, c) is the prefix of some (a, c, x).
    """
    m = len(o.models)
    depth = min(max_depth, m)
    found: list[tuple[int, ...]] = [(j,) for j in range(m)]
    if depth >= 2:
        found += [
            p for p in itertools.permutations(range(m), depth) if all(o.scorable(j) for j in p[:-1])
        ]
    if depth == 3:
        # 2-stage cascades whose stage 2 cannot be scored are not a 3-stage prefix.
        found += [
            p
            for p in itertools.permutations(range(m), 2)
            if o.scorable(p[0]) and not o.scorable(p[1])
        ]
    return found


def pareto_frontier(
    o: Outcomes,
    max_depth: int = 3,
    max_cuts: int = DEFAULT_MAX_CUTS,
    exhaustive: bool | None = None,
    progress: TrainProgress | None = None,
) -> Frontier:
    """The Pareto set over orderings of up to `max_depth` models and their thresholds.

    `exhaustive`: every ordering (True), the pruned set (False), or all of them when there
    are at most `EXHAUSTIVE_MAX_ORDERINGS` three-model permutations (None).
    """
    if not 1 <= max_depth <= 3:
        raise ValueError(f"max_depth must be 1, 2 or 3, got {max_depth}")
    if len(o.outcomes) == 0:
        raise ValueError("no rows to optimise the cascade on")
    progress = progress or NullTrainProgress()
    m = len(o.models)
    if exhaustive is None:
        exhaustive = max_depth < 3 or math.perm(m, 3) <= EXHAUSTIVE_MAX_ORDERINGS
    candidates: list[tuple[float, float, _Table, int]] = []
    exact = True
    if exhaustive:
        found = orderings(o, max_depth)
        progress.stage(f"searching all {len(found):,} chains", len(found))
        exact = _tabulate(o, found, max_cuts, candidates, progress, _Front(candidates))
    else:
        short = orderings(o, 2)
        progress.stage(f"searching chains: {len(short):,} singles and pairs", len(short))
        exact = _tabulate(o, short, max_cuts, candidates, progress)
        long = pruned_chains(o, candidates)
        progress.stage(f"searching chains: {len(long):,} of {math.perm(m, 3):,} triples",
                       len(long))
        exact &= _tabulate(o, long, max_cuts, candidates, progress, _Front(candidates))
        found = short + long
    acc = np.array([c[1] for c in candidates])
    cost = np.array([c[0] for c in candidates])
    keep = pareto_indices(acc, cost)
    strategies = [_strategy(o, candidates[i][2], candidates[i][3]) for i in keep]
    return Frontier(strategies, exact, len(found))


def _tabulate(
    o: Outcomes,
    found: Sequence[tuple[int, ...]],
    max_cuts: int,
    candidates: list[tuple[float, float, _Table, int]],
    progress: TrainProgress,
    front: _Front | None = None,
) -> bool:
    """Appends each ordering's Pareto points to `candidates` (with `front`, those beyond
    it only, which does not change the Pareto set of all candidates); False if any table
    was capped to quantile cuts."""
    n3 = sum(len(p) == 3 for p in found)
    cuts3 = min(max_cuts, int(np.sqrt(CELL_BUDGET / max(n3, 1))))
    exact = True
    for order in found:
        if len(order) == 1:
            j = order[0]
            table = _Table(
                order,
                np.array([o.outcomes[:, j].mean()]),
                np.array([o.costs[:, j].mean()]),
                [],
                (1,),
            )
            ok = True
        elif len(order) == 2:
            table, ok = _two_stage(o, order[0], order[1], max_cuts)
        else:
            table, ok = _three_stage(o, order[0], order[1], order[2], cuts3)
        exact &= ok
        points = np.arange(len(table.cost), dtype=np.int64)
        if front is not None:
            points = points[front.beaten_by(table.cost, table.accuracy)]
        kept = points[pareto_indices(table.accuracy[points], table.cost[points])]
        for flat in kept:
            candidates.append(
                (float(table.cost[flat]), float(table.accuracy[flat]), table, int(flat))
            )
        if front is not None and len(kept):
            front.add(table.cost[kept], table.accuracy[kept])
        progress.advance()
    return exact


class _Front:
    """The Pareto front of the candidates found so far.

    A new point whose accuracy does not exceed the front's best at its cost or below is
    dominated by (or ties) a candidate found earlier, which the final `pareto_indices`
    (stable, earlier first) keeps instead: dropping it changes nothing.
    """

    def __init__(self, candidates: Sequence[tuple[float, float, _Table, int]]):
        self.cost = np.array([c[0] for c in candidates], dtype=np.float64)
        self.accuracy = np.array([c[1] for c in candidates], dtype=np.float64)
        self._prune()

    def beaten_by(self, cost: FloatArray, accuracy: FloatArray) -> npt.NDArray[np.bool_]:
        """Which of the points (`cost`, `accuracy`) are more accurate than the front at
        their cost."""
        if len(self.cost) == 0:
            return np.ones(len(cost), dtype=np.bool_)
        at = np.searchsorted(self.cost, cost, side="right") - 1
        best = np.where(at >= 0, self.accuracy[np.maximum(at, 0)], -np.inf)
        return np.asarray(accuracy > best)

    def add(self, cost: FloatArray, accuracy: FloatArray) -> None:
        self.cost = np.concatenate([self.cost, cost])
        self.accuracy = np.concatenate([self.accuracy, accuracy])
        self._prune()

    def _prune(self) -> None:
        keep = pareto_indices(self.accuracy, self.cost)
        self.cost, self.accuracy = self.cost[keep], self.accuracy[keep]


def pruned_chains(
    o: Outcomes, short: Sequence[tuple[float, float, _Table, int]]
) -> list[tuple[int, ...]]:
    """Three-stage chains worth tabulating, given the singles' and pairs' Pareto points."""
    m = len(o.models)
    mean_cost = o.costs.mean(axis=0)
    scorable = [o.scorable(j) for j in range(m)]
    chains: set[tuple[int, ...]] = {
        p
        for p in itertools.permutations(range(m), 3)
        if scorable[p[0]] and scorable[p[1]] and mean_cost[p[0]] <= mean_cost[p[1]] <= mean_cost[p[2]]
    }
    cost = np.array([c[0] for c in short])
    acc = np.array([c[1] for c in short])
    front = pareto_indices(acc, cost)
    front_cost, front_acc = cost[front], acc[front]
    # The best accuracy at or below each point's cost, on the single/pair front.
    at = np.searchsorted(front_cost, cost, side="right") - 1
    best = np.where(at >= 0, front_acc[np.maximum(at, 0)], -np.inf)
    near = {short[int(i)][2].order for i in np.flatnonzero(acc >= best - NEAR_FRONT_SLACK)}
    for pair in (p for p in near if len(p) == 2):
        x, y = pair
        for k in range(m):
            if k in pair:
                continue
            if scorable[y]:
                chains.add((x, y, k))
            if scorable[k]:
                chains.add((x, k, y))
    return sorted(chains)


def complete_rows(scores: FloatMatrix, costs: FloatMatrix, models: Sequence[str]) -> IntArray:
    """Rows where every model has a known outcome and cost."""
    del models
    return np.flatnonzero(~np.isnan(scores).any(axis=1) & ~np.isnan(costs).any(axis=1)).astype(
        np.int64
    )
