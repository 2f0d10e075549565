"""Replay: every candidate's sweep scored against a dataset's recorded outcomes.

No model is called. A router's choice of model for a prompt is looked up in the dataset's
score and cost matrices; a cascade brings its own per-prompt cost and score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eval.baselines import Oracle, RandomMixture, SingleModel, TaskLookup
from eval.progress import NullProgress, ProgressReporter
from eval.sweep import CandidateKind, Outcomes, ReplayableRouter, as_outcomes
from routers.datasets.format import RoutingDataset


@dataclass(frozen=True)
class Curve:
    """A candidate's outcomes at each of its knob settings."""

    name: str
    kind: CandidateKind
    steps: list[Outcomes]


def replay(
    dataset: RoutingDataset,
    candidates: Sequence[ReplayableRouter],
    progress: ProgressReporter | None = None,
    skipped: list[str] | None = None,
) -> list[Curve]:
    """One curve per candidate; names are made unique by a numeric suffix.

    With `skipped` given, a trained router or cascade that cannot replay on this dataset
    (e.g. it routes to models the dataset lacks) is noted there instead of raising.
    """
    progress = progress or NullProgress()
    progress.start(f"replay {dataset.name}", len(candidates))
    curves: list[Curve] = []
    seen: dict[str, int] = {}
    for candidate in candidates:
        try:
            steps = [as_outcomes(step, dataset) for step in candidate.sweep(dataset)]
        except ValueError as exc:
            if skipped is None or candidate.kind not in ("router", "cascade"):
                raise
            skipped.append(f"{candidate.name} skipped on {dataset.name}: {exc}")
            progress.advance(1)
            continue
        if not steps:
            raise ValueError(f"candidate {candidate.name}: its sweep produced no steps")
        seen[candidate.name] = seen.get(candidate.name, 0) + 1
        name = (
            candidate.name
            if seen[candidate.name] == 1
            else (f"{candidate.name}#{seen[candidate.name]}")
        )
        curves.append(Curve(name, candidate.kind, steps))
        replayed_spend = float(sum(np.nansum(step.cost) for step in steps))
        progress.advance(1, replayed_spend)
    return curves


def standard_candidates(
    dataset: RoutingDataset, train: RoutingDataset | None = None, seed: int = 0
) -> list[ReplayableRouter]:
    """Each single model, the oracle, the per-task lookup and a random mixture.

    The mixture is between the cheapest model and the most accurate one, both judged on
    `train` when given; otherwise on `dataset` itself, which makes it a reference line (like
    RouterBench's zero router) rather than a deployable baseline.
    """
    candidates: list[ReplayableRouter] = [SingleModel(m) for m in dataset.models]
    candidates.append(Oracle())
    candidates.append(TaskLookup(train=train, seed=seed))
    if len(dataset.models) >= 2:
        weak, strong = mixture_pair(train.with_models(dataset.models) if train else dataset)
        if weak != strong:
            candidates.append(RandomMixture(weak, strong, seed=seed))
    return candidates


def mixture_pair(reference: RoutingDataset) -> tuple[str, str]:
    """(cheapest model, most accurate model) by mean cost and mean score in `reference`."""
    known = ~np.isnan(reference.scores)
    counts = np.maximum(known.sum(axis=0), 1)
    accuracy = np.where(known, reference.scores, 0.0).sum(axis=0) / counts
    cost = np.where(known, np.nan_to_num(reference.costs, nan=np.inf), 0.0).sum(axis=0) / counts
    cheapest = int(np.lexsort((-accuracy, cost))[0])
    best = int(np.lexsort((cost, -accuracy))[0])
    return reference.models[cheapest], reference.models[best]
