"""Held-out figures of a router artifact, and a paired comparison of two artifacts.

Both replay on a held-out slice the artifacts never trained on, beside the standard
candidates (each single model, the oracle, the per-task lookup fitted on the training part,
a random mixture), and score with `eval.scoring.evaluate`: AIQ over the candidates' cost
range, headline accuracy and mean cost. The comparison is `eval.paired.aiq_difference`: the
same bootstrap resamples of prompts for both curves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.baselines import TaskLookup
from eval.config import EvalConfig
from eval.paired import AiqDifference, aiq_difference
from eval.registry import ArtifactFactory, load_artifact
from eval.replay import replay, standard_candidates
from eval.results import CandidateResult, DatasetResult
from eval.scoring import evaluate
from eval.sweep import Renamed, ReplayableRouter
from routers.datasets.format import RoutingDataset

DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class Comparison:
    """NEW against BASE on one held-out slice."""

    n_prompts: int
    new: CandidateResult
    base: CandidateResult
    gain: AiqDifference
    lookup: CandidateResult | None
    best_single: CandidateResult | None


def held_out_metrics(
    artifact: Path,
    held_out: RoutingDataset,
    train: RoutingDataset | None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    factories: Mapping[str, str | ArtifactFactory] | None = None,
) -> dict[str, Any]:
    """The manifest's `metrics` block: the artifact, the lookup and the best single model.

    `factories` (as `eval.registry.load_artifact` takes them) let a trainer replay with its
    own embedder, which already holds the held-out prompts' vectors."""
    router = Renamed(load_artifact(artifact, factories), "artifact")
    result = _evaluate(held_out, [router], train, resamples, seed)
    candidates = {c.name: c for c in result.pooled.candidates}
    versus = next((d for d in result.pooled.versus_lookup if d.candidate == "artifact"), None)
    best = best_single_model(result.pooled.candidates)
    lookup = candidates.get(TaskLookup.name)
    mixture = next((c for c in result.pooled.candidates if c.name.startswith("random(")), None)
    return {
        "slice": {"n_prompts": len(held_out), "models": list(held_out.models),
                  "tasks": len(set(held_out.eval_names))},
        "aiq_cost_range_usd": list(result.pooled.aiq_cost_range),
        "artifact": _figures(candidates["artifact"]),
        "task_lookup": _figures(lookup) if lookup else None,
        # A single model is one point at an end of the cost range, so its AIQ is ~0; the
        # random mixture of the cheapest and the best model is the line they span.
        "best_single_model": {"name": best.name, **_figures(best)} if best else None,
        "random_mixture": {"name": mixture.name, **_figures(mixture)} if mixture else None,
        "gain_over_lookup": _difference(versus) if versus else None,
    }


def compare(
    new: Path,
    base: Path,
    held_out: RoutingDataset,
    train: RoutingDataset | None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """AIQ(new) − AIQ(base) on `held_out`, with a paired bootstrap interval."""
    routers: list[ReplayableRouter] = [
        Renamed(load_artifact(new), "new"), Renamed(load_artifact(base), "base")]
    config = EvalConfig(bootstrap_resamples=0, seed=seed, confidence=confidence)
    curves = replay(held_out, standard_candidates(held_out, train, seed) + routers)
    result = evaluate(held_out, curves, config)
    by_name = {c.name: c for c in curves}
    candidates = {c.name: c for c in result.pooled.candidates}
    rows = np.arange(len(held_out))
    gain = aiq_difference(by_name["new"], by_name["base"], rows, result.pooled.aiq_cost_range,
                          resamples, confidence, seed)
    return Comparison(len(held_out), candidates["new"], candidates["base"], gain,
                      candidates.get(TaskLookup.name),
                      best_single_model(result.pooled.candidates))


def best_single_model(candidates: Sequence[CandidateResult]) -> CandidateResult | None:
    """The most accurate single model; the cheaper one among ties."""
    singles = [c for c in candidates if c.kind == "model"]
    return min(singles, key=lambda c: (-c.accuracy, c.mean_cost_usd), default=None)


def _evaluate(held_out: RoutingDataset, routers: list[ReplayableRouter],
              train: RoutingDataset | None, resamples: int, seed: int) -> DatasetResult:
    config = EvalConfig(bootstrap_resamples=resamples, seed=seed)
    curves = replay(held_out, standard_candidates(held_out, train, seed) + routers)
    return evaluate(held_out, curves, config)


def _figures(c: CandidateResult) -> dict[str, Any]:
    return {"aiq": _round(c.aiq), "accuracy": _round(c.accuracy),
            "mean_cost_usd": _round(c.mean_cost_usd, 9), "headline_knob": c.headline_knob}


def _difference(d: AiqDifference) -> dict[str, Any]:
    return {"difference": _round(d.difference), "ci": [_round(d.ci.low), _round(d.ci.high)],
            "share_not_above": _round(d.share_not_above), "resamples": d.n_resamples}


def _round(x: float, digits: int = 6) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), digits)


