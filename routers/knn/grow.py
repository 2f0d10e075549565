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


@dataclass(frozen=True)
class Grown:
    """Labelled prompts joined to a reference set: new rows, and rows updated in place."""

    appended: int
    updated: int
    ignored_models: tuple[str, ...]


def add_prompts(
    artifact: KnnArtifact,
    raw: np.ndarray,  # (n, d) raw vectors of the new prompts
    prompt_hashes: list[str],
    scores: dict[str, list[float]],
    costs: dict[str, list[float]],
) -> Grown:
    """Online update: labelled prompts join the reference set; no retraining.

    A prompt already in the set (same `text_hash`) has its known outcomes replaced; a new
    one is appended with NaN for models it has no label for. Models the artifact lacks are
    ignored (they join at the next retraining, or with `add_models`). New arrays and a new
    index are built and then swapped in, so a concurrent search sees the old or the new set,
    never a half-written one (the arrays are assigned before the index that points into them).
    """
    import faiss

    known = [m for m in scores if m in artifact.models]
    ignored = tuple(m for m in scores if m not in artifact.models)
    row_of = {h: i for i, h in enumerate(artifact.prompt_hashes)}
    new_scores = artifact.scores.copy()
    new_costs = artifact.costs.copy()
    fresh: list[int] = []
    fresh_rows: list[np.ndarray] = []
    fresh_costs: list[np.ndarray] = []
    updated = 0
    for i, h in enumerate(prompt_hashes):
        s_row = np.full(len(artifact.models), np.nan)
        c_row = np.full(len(artifact.models), np.nan)
        for model in known:
            j = artifact.models.index(model)
            s_row[j] = scores[model][i]
            c_row[j] = costs.get(model, [np.nan] * len(prompt_hashes))[i]
        at = row_of.get(h)
        if at is not None:
            have = ~np.isnan(s_row)
            new_scores[at, have] = s_row[have]
            new_costs[at, have] = c_row[have]
            updated += 1
        else:
            row_of[h] = len(artifact.prompt_hashes) + len(fresh)
            fresh.append(i)
            fresh_rows.append(s_row)
            fresh_costs.append(c_row)
    if fresh:
        vectors = np.ascontiguousarray(raw[fresh], dtype=np.float32)
        index = faiss.clone_index(artifact.ensure_index())
        index.add(np.ascontiguousarray(artifact.space_vectors(vectors), dtype=np.float32))
        artifact.raw = np.vstack([artifact.raw, vectors])
        artifact.scores = np.vstack([new_scores, np.array(fresh_rows)])
        artifact.costs = np.vstack([new_costs, np.array(fresh_costs)])
        artifact.prompt_hashes = [*artifact.prompt_hashes, *(prompt_hashes[i] for i in fresh)]
        artifact.index = index
    else:
        artifact.scores, artifact.costs = new_scores, new_costs
    artifact.manifest.setdefault("online", {"appended": 0, "updated": 0})
    artifact.manifest["online"]["appended"] += len(fresh)
    artifact.manifest["online"]["updated"] += updated
    return Grown(len(fresh), updated, ignored)
