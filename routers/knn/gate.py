"""When the static stage's decision is sure enough to skip MiniLM: the margin gate.

The two-stage ("speculative") k-NN decides with the static encoder's neighbours first. Its
decision is sure when a small error in its quality estimates would not change the winner:
the margin, in quality points, is

* max_utility: the utility gap between the winner and the runner-up,
  (q_1 − λ·c_1) − (q_2 − λ·c_2) with λ as `routers.choose.rank` reads the knob
  (∞ for λ = ∞: the choice is by cost alone);
* cheapest_within_eps / quality_target: how far the nearest quality estimate lies from
  the cut (best − ε, or the target), since crossing it is what changes the choice.

A margin below the gate's threshold sends the prompt to MiniLM. The threshold is fitted on
prompts held out of TRAIN (`fit_gate`): the lowest one from which every higher threshold
keeps the two-stage decisions MiniLM's own on at least `agreement` of the (prompt, knob)
pairs and the two-stage AIQ within `tolerance` of MiniLM's alone. AIQ alone was not
enough: on a few thousand held-out prompts its noise hides a static stage that loses
~0.008 AIQ on RouterBench's TEST (bench/results/knn/hybrid_vs_minilm.txt), while the
share of decisions that differ from MiniLM's is measured tightly, and bounds the loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.base import Objective, Policy
from routers.choose import Scored
from routers.knn.evaluate import points_aiq, replay_choices
from routers.knn.predict import UTILITY_SCALE, choose

FloatMatrix = npt.NDArray[np.float64]
FloatArray = npt.NDArray[np.float64]
# Thresholds tried: 0 (static alone), these quantiles of the held-out margins, ∞ (MiniLM).
QUANTILES = np.linspace(0.0, 0.95, 39)
# The two-stage router makes MiniLM's decision on at least this share of held-out
# (prompt, knob) pairs; static alone made it on 80-95% (bench/knn/hybrid_vs_minilm.py).
MIN_AGREEMENT = 0.95


@dataclass(frozen=True)
class Gate:
    """Stage 1 decides when its margin is at least `threshold` quality points."""

    threshold: float
    fitted: dict[str, Any]

    def sure(self, margin: float) -> bool:
        return margin >= self.threshold

    def to_json(self) -> dict[str, Any]:
        return {"rule": "margin >= threshold (routers.knn.gate)",
                "threshold": _json_float(self.threshold), "fitted": self.fitted}

    @classmethod
    def from_json(cls, block: dict[str, Any]) -> Gate:
        threshold = block["threshold"]
        return cls(math.inf if threshold is None else float(threshold), dict(block.get("fitted", {})))


def decision_margin(ranked: Sequence[Scored], policy: Policy) -> float:
    """How sure one ranked decision is, in quality points (see the module docstring)."""
    if len(ranked) < 2:
        return math.inf
    if policy.objective == "max_utility":
        lam = policy.knob * UTILITY_SCALE
        if math.isinf(lam):
            return math.inf
        first, second = ranked[0], ranked[1]
        return (first.quality - lam * first.cost_usd) - (second.quality - lam * second.cost_usd)
    if policy.objective == "cheapest_within_eps":
        best = max(o.quality for o in ranked)
        top = next(o for o in ranked if o.quality == best)
        cut = best - policy.knob
        return min(abs(o.quality - cut) for o in ranked if o is not top)
    return min(abs(o.quality - policy.knob) for o in ranked)


def utility_margins(quality: FloatMatrix, cost: FloatMatrix, knob: float) -> FloatArray:
    """`decision_margin` under max_utility for each row of predictions (offline)."""
    n, m = quality.shape
    if m < 2 or math.isinf(knob):
        return np.full(n, math.inf)
    utility = quality - knob * UTILITY_SCALE * np.where(np.isnan(cost), np.inf, cost)
    top2 = -np.partition(-utility, 1, axis=1)[:, :2]
    margins: FloatArray = top2[:, 0] - top2[:, 1]
    return np.where(np.isnan(margins), math.inf, margins)


def margins(quality: FloatMatrix, cost: FloatMatrix, objective: Objective,
            knob: float) -> FloatArray:
    """`decision_margin` under any objective for each row of predictions (offline); a
    column at -inf quality (a model not allowed) takes no part."""
    if objective == "max_utility":
        return utility_margins(quality, cost, knob)
    n, m = quality.shape
    if m < 2:
        return np.full(n, math.inf)
    if objective == "cheapest_within_eps":
        # As online: the first model at the best quality is the top; the others' distance
        # to the cut (best - ε) is how far an estimate must move to change the choice.
        top = np.argmax(quality, axis=1)
        cut = quality[np.arange(n), top] - knob
        distance = np.abs(quality - cut[:, None])
        distance[np.arange(n), top] = np.inf
    else:
        distance = np.abs(quality - knob)
    out: FloatArray = np.where(np.isnan(distance), math.inf, distance).min(axis=1)
    return out


@dataclass(frozen=True)
class Predictions:
    """Quality and cost estimates of one stage for the same prompts, (n, m) each."""

    quality: FloatMatrix
    cost: FloatMatrix


def two_stage_choices(
    first: Predictions, second: Predictions, knob: float, threshold: float,
    allowed: npt.NDArray[np.bool_] | None = None, objective: Objective = "max_utility",
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """(chosen column, decided at stage 1) per row under `objective` at `knob`."""
    q = first.quality if allowed is None else np.where(allowed, first.quality, -np.inf)
    sure = margins(q, first.cost, objective, knob) >= threshold
    one = choose(first.quality, first.cost, objective, knob, allowed)
    two = choose(second.quality, second.cost, objective, knob, allowed)
    return np.where(sure, one, two), sure


def fit_gate(
    first: Predictions, second: Predictions, scores: FloatMatrix, costs: FloatMatrix,
    knobs: Sequence[float], tolerance: float, agreement: float = MIN_AGREEMENT,
) -> Gate:
    """The gate for these held-out prompts (see the module docstring), with its figures."""
    margins = np.concatenate([utility_margins(first.quality, first.cost, k) for k in knobs])
    finite = margins[np.isfinite(margins)]
    tried = sorted({0.0, *(float(x) for x in np.quantile(finite, QUANTILES))} if finite.size
                   else {0.0})
    curve = [(t, *_replay(first, second, scores, costs, knobs, t)) for t in [*tried, math.inf]]
    minilm = curve[-1][1]
    ok = [aiq >= minilm - tolerance and agree >= agreement for _, aiq, _, agree in curve]
    # The lowest threshold from which every higher one also passes: a lucky low threshold
    # between two that miss is noise, not a safe place to stop.
    pick = len(curve) - 1
    while pick > 0 and ok[pick - 1]:
        pick -= 1
    threshold, aiq, share, agree = curve[pick]
    return Gate(threshold, {
        "on": "prompts held out of TRAIN", "n_prompts": int(scores.shape[0]),
        "tolerance": tolerance, "min_agreement": agreement, "aiq_two_stage": round(aiq, 4),
        "aiq_second_stage": round(minilm, 4), "aiq_first_stage": round(curve[0][1], 4),
        "share_first_stage": round(share, 4), "agreement": round(agree, 4),
        "agreement_first_stage": round(curve[0][3], 4),
        "curve": [[_json_float(t), round(a, 4), round(s, 4), round(g, 4)]
                  for t, a, s, g in curve],
    })


def _replay(
    first: Predictions, second: Predictions, scores: FloatMatrix, costs: FloatMatrix,
    knobs: Sequence[float], threshold: float,
) -> tuple[float, float, float]:
    """(AIQ, share decided at stage 1, share of decisions equal to stage 2's alone), the
    shares over all (prompt, knob) pairs, of the two stages at `threshold`."""
    points, decided, agreed = [], 0, 0
    for knob in knobs:
        picked, sure = two_stage_choices(first, second, knob, threshold)
        points.append(replay_choices(picked, scores, costs))
        decided += int(sure.sum())
        agreed += int((picked == choose(second.quality, second.cost, "max_utility", knob)).sum())
    pairs = len(knobs) * scores.shape[0]
    return points_aiq(points, scores, costs), decided / pairs, agreed / pairs


def _json_float(x: float) -> float | None:
    return None if math.isinf(x) else round(float(x), 6)
