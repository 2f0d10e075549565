"""Cost-quality curves of routers: RouterBench's non-decreasing convex hull and AIQ, and
RouteLLM's PGR, APGR and CPT(x%) for a weak/strong model pair.

Definitions followed:
- RouterBench (Hu et al., 2024): the non-decreasing convex hull (NDCH) of a set of
  (cost, quality) points is the best quality reachable at each cost by mixing the points;
  AIQ = 1/(c_max - c_min) * integral from c_min to c_max of the NDCH. Past the hull's most
  expensive point the hull stays flat (paying more never lowers quality); below its cheapest
  point the candidate cannot operate and counts 0, as in RouterBench's code, whose cost axis
  starts at zero.
- RouteLLM (Ong et al., 2024): PGR = (router - weak) / (strong - weak); APGR is the area under
  PGR against the fraction of calls to the strong model, divided by the fraction range (as
  their `evaluate.py` does); CPT(x%) is the smallest fraction of strong calls at which the
  PGR curve reaches x%.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from eval.types import FloatArray


@dataclass(frozen=True, slots=True)
class Hull:
    """Vertices of a non-decreasing concave (cost, quality) frontier, cost ascending."""

    costs: FloatArray
    qualities: FloatArray

    def quality_at(self, cost: float) -> float:
        """Best quality reachable for `cost`: 0 below the cheapest vertex, flat past the last."""
        if self.costs.size == 0 or cost < self.costs[0]:
            return 0.0
        return float(np.interp(cost, self.costs, self.qualities))


def non_decreasing_convex_hull(costs: FloatArray, qualities: FloatArray) -> Hull:
    """The NDCH of the points (costs[i], qualities[i]); NaN points are ignored."""
    keep = ~(np.isnan(costs) | np.isnan(qualities))
    c, q = costs[keep], qualities[keep]
    order = np.lexsort((-q, c))  # cost ascending, best quality first among equal costs
    frontier: list[tuple[float, float]] = []
    for i in order:
        if frontier and q[i] <= frontier[-1][1]:
            continue  # dominated: costs at least as much for no more quality
        frontier.append((float(c[i]), float(q[i])))
    hull: list[tuple[float, float]] = []
    for point in frontier:
        while len(hull) >= 2 and not _turns_right(hull[-2], hull[-1], point):
            hull.pop()  # the middle vertex sits on or under the chord: mixing beats it
        hull.append(point)
    return Hull(
        np.array([p[0] for p in hull], dtype=np.float64),
        np.array([p[1] for p in hull], dtype=np.float64),
    )


def _turns_right(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> bool:
    cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return cross < 0


def area_under_hull(hull: Hull, c_min: float, c_max: float) -> float:
    """Integral of `hull.quality_at` over [c_min, c_max]."""
    if hull.costs.size == 0 or c_max <= c_min:
        return 0.0
    xs = np.unique(np.clip(np.concatenate([[c_min, c_max], hull.costs]), c_min, c_max))
    area = 0.0
    for a, b in itertools.pairwise(xs):
        if b <= hull.costs[0]:
            continue  # the candidate cannot operate this cheaply
        fa = float(np.interp(a, hull.costs, hull.qualities))
        fb = float(np.interp(b, hull.costs, hull.qualities))
        area += 0.5 * (fa + fb) * (b - a)
    return area


def aiq(
    costs: FloatArray,
    qualities: FloatArray,
    c_min: float | None = None,
    c_max: float | None = None,
) -> float:
    """RouterBench's AIQ of the points, over [c_min, c_max] (default: the points' own range).

    A zero-width range (one point, or all at one cost) gives the hull's quality there, the
    limit of the normalised area as the range shrinks.
    """
    hull = non_decreasing_convex_hull(costs, qualities)
    if hull.costs.size == 0:
        return math.nan
    lo = float(np.nanmin(costs)) if c_min is None else c_min
    hi = float(np.nanmax(costs)) if c_max is None else c_max
    if hi <= lo:
        return hull.quality_at(lo)
    return area_under_hull(hull, lo, hi) / (hi - lo)


def pgr(accuracy: float | FloatArray, weak: float, strong: float) -> FloatArray:
    """Performance gap recovered: (accuracy - weak) / (strong - weak)."""
    if strong == weak:
        raise ValueError("PGR needs the strong and weak models to differ in accuracy")
    return (np.asarray(accuracy, dtype=np.float64) - weak) / (strong - weak)


def _pgr_curve(
    strong_fractions: FloatArray, accuracies: FloatArray, weak: float, strong: float
) -> tuple[FloatArray, FloatArray]:
    """PGR against strong-call fraction, sorted, anchored at (0, weak) and (1, strong)."""
    x = np.asarray(strong_fractions, dtype=np.float64)
    y = np.asarray(accuracies, dtype=np.float64)
    # Every 2-model router degenerates to the weak model at 0% and the strong one at 100%.
    if not np.any(x == 0.0):
        x, y = np.append(x, 0.0), np.append(y, weak)
    if not np.any(x == 1.0):
        x, y = np.append(x, 1.0), np.append(y, strong)
    order = np.lexsort((y, x))
    return x[order], pgr(y[order], weak, strong)


def apgr(strong_fractions: FloatArray, accuracies: FloatArray, weak: float, strong: float) -> float:
    """RouteLLM's APGR: mean PGR over the strong-call fraction axis (trapezoid rule)."""
    x, p = _pgr_curve(strong_fractions, accuracies, weak, strong)
    return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(x)) / (x[-1] - x[0]))


def cpt(
    strong_fractions: FloatArray,
    accuracies: FloatArray,
    weak: float,
    strong: float,
    target_pgr: float,
) -> float:
    """RouteLLM's CPT: the least strong-call fraction whose PGR reaches `target_pgr` (0-1).

    Linear between measured points; infinite if the curve never reaches the target.
    """
    x, p = _pgr_curve(strong_fractions, accuracies, weak, strong)
    if p[0] >= target_pgr:
        return float(x[0])
    for i in range(1, x.size):
        if p[i] >= target_pgr:
            return float(x[i - 1] + (target_pgr - p[i - 1]) / (p[i] - p[i - 1]) * (x[i] - x[i - 1]))
    return math.inf
