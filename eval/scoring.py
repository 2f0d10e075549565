"""Metrics of replayed curves on one dataset: pooled, and per task (eval_name)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from eval.baselines import TaskLookup
from eval.config import EvalConfig
from eval.curves import aiq, apgr, cpt
from eval.language import language_premiums
from eval.metrics import (
    HUMAN,
    NOBODY,
    cost_of_pass,
    counterfactual_frontiers,
    frontier_cost_of_pass,
    mean_known,
    summarize_columns,
)
from eval.paired import versus_baseline
from eval.replay import Curve
from eval.results import CandidateResult, DatasetResult, FrontierReport, Point, ScopeResult
from eval.types import FloatArray, IntArray
from routers.datasets.format import RoutingDataset

POOLED = "pooled"
CPT_TARGETS = (0.2, 0.5, 0.8)


def evaluate(
    dataset: RoutingDataset,
    curves: Sequence[Curve],
    config: EvalConfig,
    languages: Sequence[str] | None = None,
) -> DatasetResult:
    """Every curve's metrics and the frontier, pooled and for each task of `dataset`."""
    tasks = np.asarray(dataset.eval_names)
    names = sorted(set(dataset.eval_names))
    every = np.arange(len(dataset))
    pooled = _scope(POOLED, every, dataset, curves, config, languages)
    # Pooled only: "does it beat the lookup?" is asked across tasks, and each pair costs a
    # bootstrap of AIQ evaluations (per task, that would be one per task per router).
    pooled = replace(pooled, versus_lookup=versus_baseline(
        curves, TaskLookup.name, every, pooled.aiq_cost_range,
        config.bootstrap_resamples, config.confidence, config.seed,
    ))
    per_task = [_scope(t, np.flatnonzero(tasks == t), dataset, curves, config, None) for t in names]
    return DatasetResult(dataset.name, len(dataset), list(dataset.models), pooled, per_task)


def _scope(
    task: str,
    rows: IntArray,
    dataset: RoutingDataset,
    curves: Sequence[Curve],
    config: EvalConfig,
    languages: Sequence[str] | None,
) -> ScopeResult:
    pair = _weak_strong(dataset, rows)
    points = [_points(curve, rows, pair) for curve in curves]
    heads = [_headline(p) for p in points]
    costs = [p.mean_cost_usd for ps in points for p in ps if math.isfinite(p.mean_cost_usd)]
    lo, hi = (min(costs), max(costs)) if costs else (math.nan, math.nan)
    head_scores = np.column_stack([c.steps[h].score[rows] for c, h in zip(curves, heads)])
    head_costs = np.column_stack([c.steps[h].cost[rows] for c, h in zip(curves, heads)])
    summaries = summarize_columns(
        head_scores, head_costs, config.bootstrap_resamples, config.confidence, config.seed
    )
    results = []
    for curve, pts, head, summary in zip(curves, points, heads, summaries):
        apgr_value, cpt_values = _routellm_metrics(curve, pts, pair, dataset, rows)
        results.append(
            CandidateResult(
                name=curve.name,
                kind=curve.kind,
                accuracy=summary.accuracy,
                mean_cost_usd=summary.mean_cost_usd,
                cost_of_pass_usd=summary.cost_of_pass_usd,
                aiq=_aiq(pts, lo, hi),
                headline_knob=pts[head].knob,
                points=pts,
                accuracy_ci=summary.accuracy_ci,
                mean_cost_ci=summary.mean_cost_ci,
                cost_of_pass_ci=summary.cost_of_pass_ci,
                apgr=apgr_value,
                cpt=cpt_values,
            )
        )
    premiums = []
    if languages is not None:
        lang = np.asarray(languages)[rows]
        for curve, head in zip(curves, heads):
            step = curve.steps[head]
            premiums.extend(
                language_premiums(
                    curve.name, lang, step.score[rows], step.cost[rows], config.base_language
                )
            )
    return ScopeResult(
        task=task,
        n_prompts=int(rows.size),
        candidates=results,
        frontier=_frontier(task, rows, dataset, curves, config),
        aiq_cost_range=(lo, hi),
        weak_strong=(dataset.models[pair[0]], dataset.models[pair[1]]) if pair else None,
        language_premium=premiums,
    )


def _points(curve: Curve, rows: IntArray, pair: tuple[int, int] | None) -> list[Point]:
    out = []
    for step in curve.steps:
        score = step.score[rows]
        cost = np.where(np.isnan(score), np.nan, step.cost[rows])
        strong = None
        if pair is not None and step.calls is not None and rows.size:
            strong = float(step.calls[rows, pair[1]].mean())
        out.append(Point(step.knob, mean_known(cost), mean_known(score), strong))
    return out


def _headline(points: Sequence[Point]) -> int:
    """Index of the lowest cost-of-pass point; higher accuracy breaks ties."""

    def key(i: int) -> tuple[float, float]:
        v = cost_of_pass(points[i].mean_cost_usd, points[i].accuracy)
        acc = points[i].accuracy
        return (math.inf if math.isnan(v) else v, -(acc if not math.isnan(acc) else -1.0))

    return min(range(len(points)), key=key)


def _aiq(points: Sequence[Point], lo: float, hi: float) -> float:
    if math.isnan(lo):
        return math.nan
    costs = np.array([p.mean_cost_usd for p in points])
    accs = np.array([p.accuracy for p in points])
    return aiq(costs, accs, lo, hi)


def _weak_strong(dataset: RoutingDataset, rows: IntArray) -> tuple[int, int] | None:
    """(weak, strong) columns of a 2-model dataset by accuracy on `rows`; else None."""
    if len(dataset.models) != 2 or rows.size == 0:
        return None
    acc = [mean_known(dataset.scores[rows, j]) for j in range(2)]
    if any(math.isnan(a) for a in acc) or acc[0] == acc[1]:
        return None
    return (0, 1) if acc[0] < acc[1] else (1, 0)


def _routellm_metrics(
    curve: Curve,
    points: Sequence[Point],
    pair: tuple[int, int] | None,
    dataset: RoutingDataset,
    rows: IntArray,
) -> tuple[float | None, dict[str, float] | None]:
    """RouteLLM's APGR and CPT(20/50/80%) of a swept candidate on a 2-model dataset."""
    fractions = [p.strong_fraction for p in points]
    if pair is None or curve.kind in ("model", "oracle") or any(f is None for f in fractions):
        return None, None
    weak = mean_known(dataset.scores[rows, pair[0]])
    strong = mean_known(dataset.scores[rows, pair[1]])
    x = np.array(fractions, dtype=np.float64)
    y = np.array([p.accuracy for p in points])
    return apgr(x, y, weak, strong), {
        f"{round(t * 100)}%": cpt(x, y, weak, strong, t) for t in CPT_TARGETS
    }


def _frontier(
    task: str, rows: IntArray, dataset: RoutingDataset, curves: Sequence[Curve], config: EvalConfig
) -> FrontierReport:
    scores, costs = dataset.scores[rows], dataset.costs[rows]
    human = config.human_cost(task)
    if human is None and task != POOLED:
        human = config.human_cost(POOLED)
    models = frontier_cost_of_pass(scores, costs, human)
    attained: dict[str, float] = {}
    if rows.size:
        for code, label in ((HUMAN, "human expert"), (NOBODY, "unsolved")):
            if np.any(models.best == code):
                attained[label] = float(np.mean(models.best == code))
        for j, model in enumerate(dataset.models):
            if np.any(models.best == j):
                attained[model] = float(np.mean(models.best == j))
    groups = {m: [j] for j, m in enumerate(dataset.models)}
    for cls in sorted(set(config.model_classes.values())):
        members = [j for j, m in enumerate(dataset.models) if config.model_classes.get(m) == cls]
        if members:
            groups[f"class:{cls}"] = members
    others = [s for c in curves if c.kind not in ("model", "oracle") for s in c.steps]
    extra_scores = _stack([s.score[rows] for s in others], rows.size)
    extra_costs = _stack([s.cost[rows] for s in others], rows.size)
    with_all = frontier_cost_of_pass(
        np.hstack([scores, extra_scores]), np.hstack([costs, extra_costs]), human
    )
    return FrontierReport(
        cost_of_pass_usd=models.cost_of_pass_usd,
        n_unsolved=models.n_unsolved,
        human_cost_usd=human,
        attained_by=attained,
        with_candidates_usd=with_all.cost_of_pass_usd,
        solved_only_usd=models.solved_mean_usd,
        counterfactual=counterfactual_frontiers(scores, costs, groups, human),
    )


def _stack(columns: Sequence[FloatArray], n: int) -> FloatArray:
    return np.column_stack(columns) if columns else np.empty((n, 0))
