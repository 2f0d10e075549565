"""Turning a user-facing knob into λ or ε on reference data, as RouteLLM calibrates thresholds.

Two knobs people understand:
* a traffic share: "about 30% of requests to the expensive tier" (`target_share`, with the
  tier's models; default: every model costlier than the cheapest on average);
* a budget: "$X per 1k requests" (`usd_per_1k`): the knob with the best quality whose
  replayed cost stays within it.

The router's predictions for the reference prompts are computed once; the knob is then
scanned on a fine grid (λ log-spaced for max_utility, ε linear for cheapest_within_eps)
and the setting closest to the target is kept. Cost figures are the recorded costs of the
chosen models where the reference data has them, the router's predicted cost elsewhere.

A two-stage router (routers/knn/hybrid.py) is calibrated on its own decisions: at each knob
the static stage's choice where its gate is sure, MiniLM's elsewhere. Calibrating MiniLM's
predictions alone would give a knob whose share or cost the served router does not keep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from routers.knn.gate import Predictions, two_stage_choices
from routers.knn.predict import UTILITY_SCALE, choose

FloatMatrix = npt.NDArray[np.float64]
CalibratedObjective = Literal["max_utility", "cheapest_within_eps"]
GRID_POINTS = 401


class CalibrationError(ValueError):
    """The calibration request is inconsistent; the message says how."""


@dataclass(frozen=True)
class Calibration:
    """The knob found and what it achieves on the reference prompts."""

    objective: CalibratedObjective
    knob: float
    target: str
    share_to_tier: float
    usd_per_1k: float
    quality: float
    n_prompts: int
    tier_models: list[str]
    # Two-stage routers: the share of the prompts the static stage decided at this knob.
    first_stage_share: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def knob_grid(objective: CalibratedObjective, costs: FloatMatrix) -> list[float]:
    """Knob values to scan, from best-quality (0) to cheapest."""
    if objective == "cheapest_within_eps":
        return [float(x) for x in np.linspace(0.0, 1.0, GRID_POINTS)]
    typical = float(np.nanmedian(costs))
    scale = 1.0 / (UTILITY_SCALE * typical) if typical > 0 else 1.0
    return [0.0, *(float(x) for x in np.logspace(-4, 4, GRID_POINTS) * scale), math.inf]


def default_tier(models: Sequence[str], cost: FloatMatrix) -> list[str]:
    """Every model whose mean predicted cost is above the cheapest model's."""
    mean = np.nanmean(cost, axis=0)
    return [m for m, c in zip(models, mean) if c > mean.min() * (1 + 1e-9)]


def calibrate(
    models: Sequence[str],
    quality: FloatMatrix,
    predicted_cost: FloatMatrix,
    objective: CalibratedObjective = "max_utility",
    *,
    target_share: float | None = None,
    usd_per_1k: float | None = None,
    tier_models: Sequence[str] | None = None,
    recorded_scores: FloatMatrix | None = None,
    recorded_costs: FloatMatrix | None = None,
    first_stage: tuple[Predictions, float] | None = None,
) -> Calibration:
    """The knob meeting `target_share` or `usd_per_1k` on these predictions.

    `first_stage`: a two-stage router's static-stage predictions and gate threshold; then
    `quality` and `predicted_cost` are its MiniLM stage's, and each knob is scanned on the
    two stages' decisions."""
    if (target_share is None) == (usd_per_1k is None):
        raise CalibrationError("give exactly one of a target share or a USD per 1k budget")
    if target_share is not None and not 0.0 <= target_share <= 1.0:
        raise CalibrationError(f"target share must be in [0, 1], got {target_share}")
    tier = list(tier_models) if tier_models else default_tier(models, predicted_cost)
    unknown = [m for m in tier if m not in models]
    if unknown or not tier:
        raise CalibrationError(f"tier models {unknown or tier} are not in the router {list(models)}")
    in_tier = np.array([m in tier for m in models])
    rows = np.arange(quality.shape[0])
    results = []
    decided: dict[float, float] = {}
    second = Predictions(quality, predicted_cost)
    for knob in knob_grid(objective, predicted_cost):
        # The estimates behind each row's decision: a two-stage row decided at stage 1
        # is priced and scored (where nothing is recorded) on the static stage's.
        est_quality, est_cost = quality, predicted_cost
        if first_stage is None:
            picked = choose(quality, predicted_cost, objective, knob)
        else:
            first, threshold = first_stage
            picked, sure = two_stage_choices(first, second, knob, threshold,
                                             objective=objective)
            decided[knob] = float(sure.mean()) if len(sure) else 1.0
            est_quality = np.where(sure[:, None], first.quality, quality)
            est_cost = np.where(sure[:, None], first.cost, predicted_cost)
        real_cost = est_cost if recorded_costs is None else np.where(
            np.isnan(recorded_costs), est_cost, recorded_costs
        )
        score_source = est_quality if recorded_scores is None else recorded_scores
        scores = score_source[rows, picked]
        results.append(
            (
                knob,
                float(in_tier[picked].mean()),
                1000.0 * float(real_cost[rows, picked].mean()),
                float(np.nanmean(scores)) if not np.isnan(scores).all() else math.nan,
            )
        )
    if target_share is not None:
        # Closest share; among equally close, the smaller knob (better quality).
        best = min(results, key=lambda r: (abs(r[1] - target_share), r[0]))
        target = f"{target_share:.0%} of requests to {', '.join(tier)}"
    else:
        assert usd_per_1k is not None
        within = [r for r in results if r[2] <= usd_per_1k * (1 + 1e-9)]
        if not within:
            cheapest = min(r[2] for r in results)
            raise CalibrationError(
                f"${usd_per_1k}/1k requests is below the cheapest routing (${cheapest:.4f}/1k)"
            )
        best = min(within, key=lambda r: r[0])
        target = f"at most ${usd_per_1k:g} per 1k requests"
    knob, share, usd, score = best
    return Calibration(objective, knob, target, share, usd, score, len(rows), tier,
                       decided.get(knob))
