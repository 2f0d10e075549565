"""Building a k-NN artifact from a routing dataset: embed, hold out, train, compare, index.

1. Embed every prompt's chosen text with the embedder (raw MiniLM space).
2. Hold out `val_fraction` of TRAIN (grouped by normalised prompt, never the test split).
3. Train the CSCR projection on the rest, with descriptors from the rest's outcomes.
4. Replay both spaces (raw MiniLM, CSCR projection) on the held-out part with the rest as
   reference; the space with the higher AIQ becomes the default, unless one is forced.
5. The artifact's reference set is all of TRAIN, with descriptors from all its outcomes.
6. Two-stage artifacts only (a static encoder given): the static stage over the same
   prompts, and its gate fitted out of fold on TRAIN against the default space
   (routers.knn.hybrid).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from routers.datasets.format import RoutingDataset
from routers.datasets.split import split_rows
from routers.datasets.text import embedding_text, text_hash
from routers.embedding import Embedder, NoEmbedder
from routers.knn.artifact import KnnArtifact, Space, data_hash
from routers.knn.descriptors import outcome_descriptors
from routers.knn.evaluate import summarise, sweep, utility_knobs
from routers.knn.index import IndexKind, build_index, kind_for_encoder
from routers.knn.predict import KnnParams
from routers.knn.projection import Projection, Vectors
from routers.knn.router import KnnRouter
from routers.knn.train import TrainConfig, train_projection
from routers.train_progress import (
    NullTrainProgress,
    ProgressEmbedder,
    TrainProgress,
    reuse_note,
)

EMBEDDING_TEXT = "routers.datasets.text.embedding_text: final question of few-shot prompts"


@dataclass(frozen=True)
class FitConfig:
    """Choices for `fit_knn`; `space="auto"` keeps whichever space wins on held-out data."""

    val_fraction: float = 0.15
    seed: int = 0
    params: KnnParams = field(default_factory=KnnParams)
    train: TrainConfig = field(default_factory=TrainConfig)
    space: Literal["auto", "raw", "cscr"] = "auto"
    index_kind: IndexKind = "auto"


def fit_knn(
    ds: RoutingDataset,
    embedder: Embedder,
    config: FitConfig = FitConfig(),
    progress: TrainProgress | None = None,
    stage1: Embedder | None = None,
) -> KnnArtifact:
    """A trained artifact for `ds`, embedding its prompts with `embedder`; with `stage1`
    (the static encoder) a two-stage artifact whose first stage embeds with it."""
    progress = progress or NullTrainProgress()
    started = time.perf_counter()
    texts = [embedding_text(p) for p in ds.prompts]
    first: tuple[str, Vectors] | None = None
    if stage1 is not None:
        progress.stage(f"embedding {len(ds)} prompts ({stage1.name})", len(ds))
        first = (stage1.name, ProgressEmbedder(stage1, progress).embed(texts))
    progress.stage(f"embedding {len(ds)} prompts ({embedder.name}{reuse_note(embedder, texts)})",
                   len(ds))
    raw = ProgressEmbedder(embedder, progress).embed(texts)
    artifact = fit_from_vectors(ds, raw, config, embedder.name, progress, first)
    artifact.manifest["training"]["embed_seconds"] = round(time.perf_counter() - started, 2)
    return artifact


def fit_from_vectors(
    ds: RoutingDataset,
    raw: Vectors,
    config: FitConfig = FitConfig(),
    embedder_name: str = "",
    progress: TrainProgress | None = None,
    stage1: tuple[str, Vectors] | None = None,
) -> KnnArtifact:
    """As `fit_knn`, with the prompts' raw vectors already computed (row-aligned with `ds`);
    `stage1` is (static encoder name, its vectors) for a two-stage artifact."""
    progress = progress or NullTrainProgress()
    fit_rows, val_rows = split_rows(ds.prompts, config.val_fraction, config.seed)
    fit_scores, fit_costs = ds.scores[fit_rows], ds.costs[fit_rows]
    progress.stage(
        f"training the CSCR projection on {len(fit_rows)} prompts x {len(ds.models)} models "
        f"({config.train.epochs} epochs)", config.train.epochs)
    result = train_projection(
        raw[fit_rows], fit_scores, fit_costs,
        outcome_descriptors(raw[fit_rows], fit_scores), config.train,
        on_epoch=lambda _epoch, _loss: progress.advance(),
    )
    progress.stage(f"replaying {len(val_rows)} held-out prompts in both spaces", 2)
    metrics: dict[str, Any] = {}
    for space in ("raw", "cscr"):
        held_out = _reference(
            ds.models, raw[fit_rows], fit_scores, fit_costs, result.projection, space,
            config.params,
        )
        quality, cost = KnnRouter(held_out, embedder=NoEmbedder()).predict(raw[val_rows])
        points = sweep(
            quality, cost, ds.scores[val_rows], ds.costs[val_rows], utility_knobs(fit_costs)
        )
        metrics[space] = summarise(points, ds.scores[val_rows], ds.costs[val_rows], ds.models)
        progress.advance()
    default: Space = (
        config.space if config.space != "auto"
        else ("cscr" if metrics["cscr"]["aiq"] > metrics["raw"]["aiq"] else "raw")
    )
    progress.stage(f"indexing {len(ds)} reference prompts ({default} space)")
    artifact = _reference(
        ds.models, raw, ds.scores, ds.costs, result.projection, default, config.params
    )
    artifact.prompt_hashes = [text_hash(p) for p in ds.prompts]
    kind = kind_for_encoder(config.index_kind, embedder_name, len(ds))
    artifact.index = build_index(artifact.space_vectors(raw), kind)
    artifact.manifest = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": ds.name,
        "data_hash": data_hash(ds.prompts, ds.models, ds.scores, ds.costs),
        "embedder": embedder_name,
        "embedding_text": EMBEDDING_TEXT,
        "default_space_reason": (
            f"forced by --space {config.space}" if config.space != "auto"
            else "higher held-out AIQ"
        ),
        "metrics": {
            "held_out": {"n_reference": len(fit_rows), "n_held_out": len(val_rows), **metrics},
        },
        "training": {
            "config": config.train.to_json(),
            "val_fraction": config.val_fraction,
            "seed": config.seed,
            "seconds": round(result.seconds, 2),
            "final_loss": round(result.losses[-1], 4) if result.losses else None,
            "cost_bands": [[ds.models[j] for j in band] for band in result.bands],
        },
        "added_models": [],
        "calibration": None,
    }
    if stage1 is not None:
        from routers.knn.hybrid import fit_stage1

        progress.stage(f"fitting the static stage ({stage1[0]}) and its gate")
        artifact.stage1 = fit_stage1(
            ds, stage1[1], stage1[0], artifact.space_vectors(raw), config.params, config.seed,
        )
        artifact.stage1.artifact.manifest["created_at"] = artifact.manifest["created_at"]
        artifact.stage1.artifact.manifest["data_hash"] = artifact.manifest["data_hash"]
    return artifact


def _reference(
    models: list[str],
    raw: Vectors,
    scores: np.ndarray[Any, Any],
    costs: np.ndarray[Any, Any],
    projection: Projection,
    space: Space,
    params: KnnParams,
) -> KnnArtifact:
    artifact = KnnArtifact(
        models=list(models),
        raw=raw,
        prompt_hashes=[],
        scores=scores,
        costs=costs,
        projection=projection,
        descriptors=outcome_descriptors(raw, scores),
        default_space=space,
        params=params,
    )
    artifact.index = build_index(artifact.space_vectors(raw), "flat")
    return artifact

