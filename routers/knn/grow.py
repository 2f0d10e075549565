"""Growing the pool: adding a model from its outcomes on some of the reference prompts.

Outcomes are matched to reference rows by `text_hash` of the prompt; rows the new model was
not run on stay NaN (unknown), and the router skips them when averaging neighbours. The
model's descriptor comes from its outcomes by the same formula as at training time. The
projection and the index are untouched: nothing is retrained.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from routers.datasets.format import RoutingDataset
from routers.datasets.text import text_hash
from routers.knn.artifact import KnnArtifact
from routers.knn.descriptors import outcome_descriptors


class GrowError(ValueError):
    """The outcomes cannot be added; the message says why."""


@dataclass(frozen=True)
class Added:
    """One model added: how many reference prompts its outcomes covered."""

    model: str
    matched: int
    unmatched: int
    accuracy: float


def add_models(
    artifact: KnnArtifact, outcomes: RoutingDataset, models: list[str] | None = None
) -> list[Added]:
    """Add `models` (default: every model of `outcomes` the artifact lacks) in place."""
    wanted = models or [m for m in outcomes.models if m not in artifact.models]
    if not wanted:
        raise GrowError("no new model in the outcomes (all are already in the artifact)")
    present = [m for m in wanted if m in artifact.models]
    if present:
        raise GrowError(f"already in the artifact: {present}")
    missing = [m for m in wanted if m not in outcomes.models]
    if missing:
        raise GrowError(f"no outcome column for {missing}")
    row_of = {h: i for i, h in enumerate(artifact.prompt_hashes)}
    target = np.array([row_of.get(text_hash(p), -1) for p in outcomes.prompts])
    hit = target >= 0
    if not hit.any():
        raise GrowError("none of the prompts matches a reference prompt of the artifact")
    added = []
    for model in wanted:
        j = outcomes.models.index(model)
        scores = np.full(len(artifact.prompt_hashes), np.nan)
        costs = np.full(len(artifact.prompt_hashes), np.nan)
        scores[target[hit]] = outcomes.scores[hit, j]
        costs[target[hit]] = outcomes.costs[hit, j]
        known = ~np.isnan(scores)
        if not known.any():
            raise GrowError(f"{model}: no known outcome on a reference prompt")
        artifact.scores = np.column_stack([artifact.scores, scores])
        artifact.costs = np.column_stack([artifact.costs, costs])
        artifact.models.append(model)
        descriptor = outcome_descriptors(artifact.raw, artifact.scores)[-1]
        artifact.descriptors = np.vstack([artifact.descriptors, descriptor[None, :]])
        record = Added(model, int(known.sum()), int((~hit).sum()), float(scores[known].mean()))
        added.append(record)
        artifact.manifest.setdefault("added_models", []).append(
            {
                "model": model,
                "outcomes": record.matched,
                "unmatched_prompts": record.unmatched,
                "accuracy_on_matched": round(record.accuracy, 4),
                "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    return added
