"""Replaying a k-NN router's predictions against recorded outcomes: curves and summaries.

Used for the held-out metrics in the manifest and by bench/knn. Area figures use
`eval.curves` (RouterBench's AIQ on the non-decreasing convex hull).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.knn.predict import UTILITY_SCALE, choose

FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CurvePoint:
    """One knob setting replayed: mean USD per prompt, mean score, share of each model."""

    knob: float
    cost: float
    quality: float
    shares: tuple[float, ...]


def utility_knobs(costs: FloatMatrix, points: int = 31) -> list[float]:
    """max_utility knobs from 0 (best quality) to ∞ (cheapest), log-spaced around 1/cost."""
    typical = float(np.nanmedian(np.nanmean(costs, axis=0)))
    scale = 1.0 / (UTILITY_SCALE * typical) if typical > 0 else 1.0
    return [0.0, *(float(x) for x in np.logspace(-3, 3, points) * scale), math.inf]


def replay_choices(choices: IntArray, scores: FloatMatrix, costs: FloatMatrix) -> tuple[float, float]:
    """(mean cost, mean score) of sending row i to column choices[i]; unknown scores skipped."""
    rows = np.arange(len(choices))
    s, c = scores[rows, choices], costs[rows, choices]
    known = ~np.isnan(s)
    return float(np.nanmean(c[known])), float(s[known].mean())


def sweep(
    quality: FloatMatrix,
    predicted_cost: FloatMatrix,
    scores: FloatMatrix,
    costs: FloatMatrix,
    knobs: Sequence[float],
) -> list[CurvePoint]:
    """The max_utility curve of a router whose predictions are `quality`/`predicted_cost`."""
    m = scores.shape[1]
    out = []
    for knob in knobs:
        picked = choose(quality, predicted_cost, "max_utility", knob)
        cost, score = replay_choices(picked, scores, costs)
        shares = tuple(float(x) for x in np.bincount(picked, minlength=m) / len(picked))
        out.append(CurvePoint(knob, cost, score, shares))
    return out


def points_aiq(
    points: Sequence[tuple[float, float]], scores: FloatMatrix, costs: FloatMatrix
) -> float:
    """AIQ of (mean cost, mean score) points over the single models' cost range."""
    from eval.curves import aiq

    single_c = np.nanmean(np.where(np.isnan(scores), np.nan, costs), axis=0)
    px, py = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    return float(aiq(px, py, float(single_c.min()), float(single_c.max())))


def summarise(
    points: Sequence[CurvePoint], scores: FloatMatrix, costs: FloatMatrix, models: Sequence[str]
) -> dict[str, Any]:
    """AIQ over the single models' cost range, and the cost of matching the best model."""
    from eval.curves import aiq

    single_q = np.nanmean(scores, axis=0)
    single_c = np.nanmean(np.where(np.isnan(scores), np.nan, costs), axis=0)
    c_lo, c_hi = float(single_c.min()), float(single_c.max())
    best = int(np.lexsort((single_c, -single_q))[0])
    px = np.array([p.cost for p in points])
    py = np.array([p.quality for p in points])
    reaching = [p.cost for p in points if p.quality >= single_q[best] - 1e-12]
    match_cost = min(reaching) if reaching else math.inf
    return {
        "aiq": aiq(px, py, c_lo, c_hi),
        "aiq_single_models": aiq(single_c, single_q, c_lo, c_hi),
        "best_quality": float(py.max()),
        "best_single_model": models[best],
        "best_single_quality": float(single_q[best]),
        "best_single_cost_usd": float(single_c[best]),
        # None: no swept setting reaches the best single model's quality.
        "cost_to_match_best_pct": (
            None if math.isinf(match_cost) else 100.0 * match_cost / float(single_c[best])
        ),
    }
