"""A new cascade artifact version from a tenant's captured, labelled traffic and answers.

As `train_knn_version` (gateway/artifacts/train.py: the same held-out split by request id,
the same `version` block), plus what the cascade's scorer reads: each model's answer text,
the served and shadow answers the store keeps (`RecordStore.answers`), less the redacted
and missing ones (gateway/artifacts/answers.py), which are counted in the manifest. The
held-out metrics replay the cascade's Pareto set on the held-out prompts whose answers are
all usable, since the scorer must judge every stage a prompt reaches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.artifacts.answers import usable_answers
from gateway.artifacts.train import (
    MIN_HELD_OUT_PROMPTS,
    RecordsRequest,
    TrainedVersion,
    data_block,
    replay_factory,
    serving_parent,
    split_for_training,
    version_block,
)
from gateway.records.base import AnswerText
from routers.datasets.records import NoOutcomesError, OutcomeRow, answered
from routers.embedding import Embedder
from routers.versions.store import VersionStore

if TYPE_CHECKING:
    from routers.cascade.artifact import CascadeArtifact
    from routers.cascade.train import CascadeConfig
    from routers.datasets.format import RoutingDataset
    from routers.train_progress import TrainProgress


def train_cascade_version(
    outcomes: Sequence[OutcomeRow],
    answers: Sequence[AnswerText],
    registry: VersionStore,
    request: RecordsRequest,
    embedder: Embedder,
    config: CascadeConfig | None = None,
    progress: TrainProgress | None = None,
    resamples: int = 1000,
) -> TrainedVersion:
    """Fit, publish and describe one new cascade version from outcomes and answer texts."""
    from eval.artifact_metrics import held_out_metrics
    from routers.cascade.artifact import save_artifact
    from routers.cascade.replay import load_replayable
    from routers.cascade.train import CascadeConfig, fit_cascade
    from routers.train_progress import NullTrainProgress

    progress = progress or NullTrainProgress()
    config = config or CascadeConfig(seed=request.seed)
    progress.stage(f"joining {len(answers):,} answers with {len(outcomes):,} labelled prompts",
                   1)
    texts, counts = usable_answers(outcomes, answers)
    progress.advance()
    if counts.usable == 0:
        raise NoOutcomesError(
            f"tenant {request.tenant!r}: none of the labelled answers has its text in the "
            f"records store ({counts.redacted} redacted, {counts.not_recorded} not recorded); "
            "the cascade's scorer learns from answer texts")
    split = split_for_training(outcomes, request.tenant, texts)
    train, held = split.train, split.held
    parent = serving_parent(registry, request)
    trained = fit_cascade(train, embedder, config, progress)
    progress.stage("writing the version", 1)
    version = registry.create("cascade", lambda d: save_artifact(trained.artifact, d))
    progress.advance()
    path = registry.path(version)
    metrics = None
    replayable = answered(held) if held is not None else None
    if replayable is not None and len(replayable) >= MIN_HELD_OUT_PROMPTS:
        if hasattr(embedder, "known"):
            # An embedder over stored vectors keeps what it embeds: embedded here, with a
            # bar, the replay below finds the vectors, and the next retrain too.
            embed_held_out(held_out_texts(trained.artifact, replayable), embedder, progress)
        progress.stage(f"replaying {len(replayable):,} held-out prompts beside the lookup", 1)
        # The trainer's embedder: it holds the vectors already computed or stored.
        factories = {"cascade": replay_factory(load_replayable, embedder)}
        metrics = held_out_metrics(path, replayable, train, resamples=resamples,
                                   seed=request.seed, factories=factories)
        progress.advance()
    data = data_block(request, trained.artifact.manifest["data_hash"], split)
    data["answers"] = counts.to_json()
    data["n_usable_prompts"] = int(trained.artifact.manifest["data_rows"])
    data["held_out"]["n_replayable"] = len(replayable) if replayable is not None else 0
    manifest = registry.annotate(version, version_block(
        version, "cascade", parent, request, data, metrics))
    return TrainedVersion(version, manifest, train, held)


def held_out_texts(artifact: CascadeArtifact, held: RoutingDataset) -> list[str]:
    """The distinct texts the held-out replay embeds: the prompts, and with the full scorer
    the answers of every model some strategy of the Pareto set scores."""
    from routers.cascade.features import answer_text
    from routers.cascade.replay import scored_models
    from routers.datasets.text import embedding_text

    texts = [embedding_text(p) for p in held.prompts]
    if artifact.manifest["scorer"]["embed_answer"]:
        for model in scored_models(artifact.pareto or [artifact.strategy]):
            if model in artifact.heads:
                texts += [answer_text(a) for a in held.responses.get(model, []) if a is not None]
    return list(dict.fromkeys(texts))


def embed_held_out(texts: Sequence[str], embedder: Embedder, progress: TrainProgress) -> None:
    """Embeds `texts` in batches behind a bar (what `embedder` holds already costs nothing)."""
    from routers.train_progress import ProgressEmbedder, reuse_note

    progress.stage(f"embedding {len(texts):,} held-out texts"
                   f" ({embedder.name}{reuse_note(embedder, texts)})", len(texts))
    ProgressEmbedder(embedder, progress).embed(list(texts))
