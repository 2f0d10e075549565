"""A new k-NN or cascade artifact version from a tenant's captured, labelled traffic.

1. The store's outcomes of the tenant (`RecordStore.outcomes`) become a routing dataset
   (routers.datasets.records); a stable hash of each request id puts a fifth of them in the
   held-out slice, which training never sees.
2. `fit_knn` trains on the rest, with progress.
3. The artifact becomes a new version in the registry; its manifest records the data
   (hash, counts), the version serving the route when training began (its parent), the
   command, and AIQ, accuracy and cost on the held-out slice beside the per-task lookup and
   the best single model.

The cascade's version (gateway/artifacts/train_cascade.py) shares the split and the
manifest's `version` block defined here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from routers.datasets.format import RoutingDataset
from routers.datasets.records import (
    HELD_OUT_FRACTION,
    HELD_OUT_RULE,
    NoOutcomesError,
    OutcomeRow,
    label_count,
    outcomes_to_dataset,
    split_outcomes,
)
from routers.embedding import Embedder
from routers.train_progress import NullTrainProgress, TrainProgress
from routers.versions.store import VersionStore

if TYPE_CHECKING:
    from eval.registry import ArtifactFactory
    from eval.sweep import ReplayableRouter

MIN_TRAIN_PROMPTS = 20
MIN_HELD_OUT_PROMPTS = 5


@dataclass(frozen=True)
class RecordsRequest:
    """Which traffic to train on, and where the version goes."""

    tenant: str
    route: str = "auto"
    metric: str = "default"
    since: float | None = None
    command: str = ""
    epochs: int = 40
    seed: int = 0
    # The version id of the artifact gateway.yaml (or the embedded defaults) configures for
    # the route: the parent when no registry version serves it yet.
    configured: str | None = None


@dataclass(frozen=True)
class TrainedVersion:
    version: str
    manifest: dict[str, Any]
    train: RoutingDataset
    held_out: RoutingDataset | None


@dataclass(frozen=True)
class TrainingSplit:
    """A tenant's labelled outcomes, split for training by the stable held-out rule."""

    train: RoutingDataset
    held: RoutingDataset | None  # None: the slice is under MIN_HELD_OUT_PROMPTS, not evaluated
    held_out_prompts: int  # the slice's size, evaluated or not: never trained on either way


def split_for_training(
    outcomes: Sequence[OutcomeRow], tenant: str,
    answers: Mapping[str, Mapping[str, str]] | None = None,
) -> TrainingSplit:
    """The training dataset and the held-out one (None when the slice is too small to say
    anything); with `answers`, both carry the answer texts."""
    train_rows, held_rows = split_outcomes(outcomes)
    if len(train_rows) < MIN_TRAIN_PROMPTS:
        raise NoOutcomesError(
            f"tenant {tenant!r}: {len(train_rows)} labelled prompts outside the held-out slice;"
            f" at least {MIN_TRAIN_PROMPTS} are needed (turn on capture and feedback or "
            "shadow labelling in its `learning:` block)")
    train = outcomes_to_dataset(train_rows, name=f"records:{tenant}", answers=answers)
    held = (outcomes_to_dataset(held_rows, train.models, name=f"records:{tenant}:held-out",
                                answers=answers)
            if len(held_rows) >= MIN_HELD_OUT_PROMPTS else None)
    return TrainingSplit(train, held, sum(1 for o in held_rows if o.scores))


def data_block(request: RecordsRequest, data_hash: str, split: TrainingSplit) -> dict[str, Any]:
    """The manifest's `data` entry, the same for every kind. A held-out slice too small to
    evaluate is still set aside (the next retrain puts the same ids there), so its size is
    reported with `evaluated: false` rather than as 0."""
    train = split.train
    return {
        "source": "records", "tenant": request.tenant, "metric": request.metric,
        "since": request.since, "data_hash": data_hash,
        "n_prompts": len(train), "n_models": len(train.models),
        "models": list(train.models), "n_labels": label_count(train),
        "held_out": {"rule": HELD_OUT_RULE.format(fraction=HELD_OUT_FRACTION),
                     "n_prompts": split.held_out_prompts,
                     "evaluated": split.held is not None,
                     "min_prompts_to_evaluate": MIN_HELD_OUT_PROMPTS},
    }


def serving_parent(registry: VersionStore, request: RecordsRequest) -> str | None:
    """The version serving the route as training begins, the new version's parent: the
    registry's, else the configured artifact's (None when that has no version id)."""
    pointer = registry.read_pointer(request.route)
    return pointer.version if pointer is not None else request.configured


def version_block(version: str, kind: str, parent: str | None, request: RecordsRequest,
                   data: dict[str, Any], metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's `version` block (routers/versions/registry.py describes it)."""
    return {
        "id": version,
        "kind": kind,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent": parent,
        "route": request.route,
        "command": request.command,
        "data": data,
        "metrics": metrics,
    }


def replay_factory(load: Callable[..., Any], embedder: Embedder) -> ArtifactFactory:
    """An `eval.registry` factory: `load(directory, manifest, embedder=embedder)`."""
    def factory(directory: Path, manifest: Mapping[str, Any]) -> ReplayableRouter:
        router: ReplayableRouter = load(directory, manifest, embedder=embedder)
        return router

    return factory


def train_knn_version(
    outcomes: Sequence[OutcomeRow],
    registry: VersionStore,
    request: RecordsRequest,
    embedder: Embedder,
    progress: TrainProgress | None = None,
    resamples: int = 1000,
    stage1: Embedder | None = None,
) -> TrainedVersion:
    """Fit, publish and describe one new k-NN version; returns its id and manifest.

    With `stage1` (the static encoder) the version is two-stage (routers.knn.hybrid)."""
    from eval.artifact_metrics import held_out_metrics
    from routers.datasets.text import embedding_text
    from routers.knn.artifact import save_artifact
    from routers.knn.fit import FitConfig, fit_knn
    from routers.knn.replay import load_replayable
    from routers.knn.train import TrainConfig
    from routers.train_progress import ProgressEmbedder, reuse_note

    progress = progress or NullTrainProgress()
    split = split_for_training(outcomes, request.tenant)
    train, held = split.train, split.held
    parent = serving_parent(registry, request)
    config = FitConfig(seed=request.seed, train=TrainConfig(epochs=request.epochs,
                                                            seed=request.seed))
    artifact = fit_knn(train, embedder, config, progress, stage1=stage1)
    version = registry.create("knn", lambda d: save_artifact(artifact, d))
    path = registry.path(version)
    metrics = None
    if held is not None:
        if hasattr(embedder, "known"):
            # An embedder over stored vectors remembers what it embeds: embedded here, with a
            # bar, the replay below finds the held-out vectors, and the next retrain too.
            texts = [embedding_text(p) for p in held.prompts]
            progress.stage(f"embedding {len(held)} held-out prompts"
                           f" ({embedder.name}{reuse_note(embedder, texts)})", len(texts))
            ProgressEmbedder(embedder, progress).embed(texts)
        progress.stage(f"replaying {len(held)} held-out prompts beside the lookup")
        factories = {"knn": replay_factory(load_replayable, embedder)}
        metrics = held_out_metrics(path, held, train, resamples=resamples, seed=request.seed,
                                   factories=factories)
    data = data_block(request, artifact.manifest["data_hash"], split)
    manifest = registry.annotate(version, version_block(
        version, "knn", parent, request, data, metrics))
    return TrainedVersion(version, manifest, train, held)
