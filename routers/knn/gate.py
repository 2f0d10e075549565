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

Each objective has its own threshold, fitted the same way on its own knobs
(`objective_knobs`): a margin means a different distance under each. With max_utility's
threshold for all three, the two stages made MiniLM's own decision on 83-91% of TEST
decisions under quality_target (RouterBench, LLMRouter, RouteLLM) and 88% under
cheapest_within_eps on RouteLLM; with a threshold per objective, on 94-99% of them
(bench/results/knn/gate_objectives*.txt). Artifacts fitted before this carry max_utility's
threshold only, and it serves every objective, as it did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.base import Objective, Policy
from routers.choose import Scored
from routers.knn.evaluate import points_aiq, replay_choices, utility_knobs
from routers.knn.predict import UTILITY_SCALE, choose

FloatMatrix = npt.NDArray[np.float64]
FloatArray = npt.NDArray[np.float64]
# Thresholds tried: 0 (static alone), these quantiles of the held-out margins, ∞ (MiniLM).
QUANTILES = np.linspace(0.0, 0.95, 39)
# The two-stage router makes MiniLM's decision on at least this share of held-out
# (prompt, knob) pairs; static alone made it on 80-95% (bench/knn/hybrid_vs_minilm.py).
MIN_AGREEMENT = 0.95
EPSILON_KNOBS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
TARGET_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Gate:
    """Stage 1 decides when its margin is at least its objective's threshold, in quality
    points: `threshold` for max_utility (and for an objective `by_objective` lacks)."""

    threshold: float
    fitted: dict[str, Any]
    by_objective: dict[str, float] = field(default_factory=dict)

    def threshold_for(self, objective: Objective) -> float:
        return self.by_objective.get(objective, self.threshold)

    def to_json(self) -> dict[str, Any]:
        out = {"rule": "margin >= threshold (routers.knn.gate)",
               "threshold": _json_float(self.threshold), "fitted": self.fitted}
        if self.by_objective:
            out["by_objective"] = {k: _json_float(v) for k, v in self.by_objective.items()}
        return out

    @classmethod
    def from_json(cls, block: dict[str, Any]) -> Gate:
        return cls(_threshold(block["threshold"]), dict(block.get("fitted", {})),
                   {k: _threshold(v) for k, v in (block.get("by_objective") or {}).items()})


def _threshold(value: float | None) -> float:
    return math.inf if value is None else float(value)


def objective_knobs(objective: Objective, costs: FloatMatrix,
                    quality: FloatMatrix) -> list[float]:
    """The knobs a gate for `objective` is fitted on: max_utility's λ sweep, ε from 0 to
    0.3, or quality targets at quantiles of the best estimate per prompt (`quality`: the
    second stage's held-out estimates), so each spans the range routes use."""
    if objective == "max_utility":
        return utility_knobs(costs)
    if objective == "cheapest_within_eps":
        return list(EPSILON_KNOBS)
    best = quality.max(axis=1)
    return sorted({float(q) for q in np.quantile(best, TARGET_QUANTILES)})


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
    objective: Objective = "max_utility",
) -> Gate:
    """The gate for these held-out prompts under `objective` (see the module docstring),
    with its figures."""
    found = np.concatenate([margins(first.quality, first.cost, objective, k) for k in knobs])
    finite = found[np.isfinite(found)]
    tried = sorted({0.0, *(float(x) for x in np.quantile(finite, QUANTILES))} if finite.size
                   else {0.0})
    curve = [(t, *_replay(first, second, scores, costs, knobs, t, objective))
             for t in [*tried, math.inf]]
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
        "objective": objective, "knobs": [_json_float(k) for k in knobs],
        "tolerance": tolerance, "min_agreement": agreement, "aiq_two_stage": round(aiq, 4),
        "aiq_second_stage": round(minilm, 4), "aiq_first_stage": round(curve[0][1], 4),
        "share_first_stage": round(share, 4), "agreement": round(agree, 4),
        "agreement_first_stage": round(curve[0][3], 4),
        "curve": [[_json_float(t), round(a, 4), round(s, 4), round(g, 4)]
                  for t, a, s, g in curve],
    })


def _replay(
    first: Predictions, second: Predictions, scores: FloatMatrix, costs: FloatMatrix,
    knobs: Sequence[float], threshold: float, objective: Objective = "max_utility",
) -> tuple[float, float, float]:
    """(AIQ, share decided at stage 1, share of decisions equal to stage 2's alone), the
    shares over all (prompt, knob) pairs, of the two stages at `threshold`."""
    points, decided, agreed = [], 0, 0
    for knob in knobs:
        picked, sure = two_stage_choices(first, second, knob, threshold, objective=objective)
        points.append(replay_choices(picked, scores, costs))
        decided += int(sure.sum())
        agreed += int((picked == choose(second.quality, second.cost, objective, knob)).sum())
    pairs = len(knobs) * scores.shape[0]
    return points_aiq(points, scores, costs), decided / pairs, agreed / pairs


def _json_float(x: float) -> float | None:
    return None if math.isinf(x) else round(float(x), 6)
