"""How far a router's AIQ is above a baseline's on the same prompts, with a paired bootstrap.

Two candidates replayed on one dataset are compared prompt by prompt: every bootstrap
resample draws the same prompts for both, so what the interval measures is the difference,
not the two candidates' separate noise (which on a few thousand prompts is larger than the
gap between a good router and the per-task lookup). The AIQ range stays the observed one,
so a resample moves the curves, not the ruler they are measured against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eval.curves import aiq
from eval.metrics import Interval, interval, mean_known, resample_means
from eval.replay import Curve
from eval.types import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class AiqDifference:
    """AIQ(candidate) − AIQ(baseline) on one scope, its interval, and how often it is ≤ 0.

    `share_not_above` is the share of resamples in which the candidate is not ahead: a
    one-sided bootstrap reading of "could this gain be noise?".
    """

    candidate: str
    baseline: str
    difference: float
    ci: Interval
    share_not_above: float
    n_resamples: int


def aiq_difference(
    candidate: Curve,
    baseline: Curve,
    rows: IntArray,
    cost_range: tuple[float, float],
    n_resamples: int,
    confidence: float,
    seed: int = 0,
) -> AiqDifference:
    """`candidate`'s AIQ minus `baseline`'s over `rows`, with a paired percentile interval."""
    lo, hi = cost_range
    columns = _columns(candidate, rows) + _columns(baseline, rows)
    values = np.column_stack(columns)  # replay never yields a curve without steps
    split = 2 * len(candidate.steps)
    observed = _aiq_of(np.array([mean_known(col) for col in columns]), split, lo, hi)
    means = resample_means(values, n_resamples, seed)
    resampled = np.array([_aiq_of(row, split, lo, hi) for row in means])
    finite = resampled[~np.isnan(resampled)]
    return AiqDifference(
        candidate=candidate.name,
        baseline=baseline.name,
        difference=observed,
        ci=interval(resampled, confidence),
        share_not_above=float((finite <= 0.0).mean()) if finite.size else math.nan,
        n_resamples=int(finite.size),
    )


def _columns(curve: Curve, rows: IntArray) -> list[FloatArray]:
    # Per step: cost (only where the outcome is known, as `_points` counts it), then score.
    out: list[FloatArray] = []
    for step in curve.steps:
        score = step.score[rows]
        out += [np.where(np.isnan(score), np.nan, step.cost[rows]), score]
    return out


def _aiq_of(means: FloatArray, split: int, lo: float, hi: float) -> float:
    """AIQ(first curve) − AIQ(second) from interleaved (cost, score) step means."""
    return _curve_aiq(means[:split], lo, hi) - _curve_aiq(means[split:], lo, hi)


def _curve_aiq(pairs: FloatArray, lo: float, hi: float) -> float:
    costs, scores = pairs[0::2], pairs[1::2]
    keep = ~(np.isnan(costs) | np.isnan(scores))
    return aiq(costs[keep], scores[keep], lo, hi) if keep.any() else math.nan


def versus_baseline(
    curves: Sequence[Curve],
    baseline_name: str,
    rows: IntArray,
    cost_range: tuple[float, float],
    n_resamples: int,
    confidence: float,
    seed: int = 0,
) -> list[AiqDifference]:
    """Every swept candidate (router or cascade) against the curve named `baseline_name`."""
    baseline = next((c for c in curves if c.name == baseline_name), None)
    if baseline is None or n_resamples <= 0 or math.isnan(cost_range[0]):
        return []
    return [
        aiq_difference(c, baseline, rows, cost_range, n_resamples, confidence, seed)
        for c in curves
        if c.kind in ("router", "cascade")
    ]
