"""`KnnRouter`: routes a request by its neighbours among the reference prompts.

One request: embed the chosen text (routers.datasets.text), one FAISS search, predict each
candidate's quality from the neighbours' outcomes and its cost from this request's pre-flight
estimate blended with the neighbours' recorded costs, then pick by the tenant's policy with
`routers.choose.rank`. Only the given candidates are considered: the gateway has already
removed models the tenant may not use and models in cooldown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.base import Candidate, Decision, Policy, PromptVector, RouteRequest
from routers.choose import Scored, describe, rank
from routers.datasets.text import embedding_text, messages_embedding_text, text_hash
from routers.embedding import (
    Embedder,
    EncoderMismatch,
    HashingEmbedder,
    MiniLMEmbedder,
    shared_embedder,
)
from routers.knn.artifact import KnnArtifact, Space, load_artifact
from routers.knn.grow import Grown, add_prompts
from routers.knn.index import search
from routers.knn.predict import (
    KnnParams,
    blend_costs,
    choose,
    model_priors,
    neighbour_predictions,
)
from routers.knn.projection import Vectors
from routers.knn.sparse import model_ks, search_depth

FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# A candidate the artifact has no outcome for at all is predicted this quality, so it is
# chosen only when nothing known is allowed (or the policy only cares about cost).
UNKNOWN_MODEL_QUALITY = 0.0


class KnnRouter:
    """The contrastive k-NN router over a trained artifact."""

    name = "knn"
    runs_model = True  # MiniLM on a cache miss: the gateway routes it off the event loop

    def __init__(
        self,
        artifact: KnnArtifact,
        embedder: Embedder | None = None,
        params: KnnParams | None = None,
    ):
        self.artifact = artifact
        if embedder is not None:
            check_encoder(artifact, embedder)
        self._embedder = embedder
        self.params = params or artifact.params
        self._reference_stats()
        artifact.ensure_index()
        self._column = {model: j for j, model in enumerate(artifact.models)}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = embedder_for(self.artifact)
        return self._embedder

    def _columns(self) -> dict[str, int]:
        # `knn add-model` may grow the artifact's model list under a live router.
        if len(self._column) != len(self.artifact.models):
            self._column = {model: j for j, model in enumerate(self.artifact.models)}
        return self._column

    @property
    def models(self) -> list[str]:
        return self.artifact.models

    @property
    def space(self) -> Space:
        return self.artifact.default_space

    @property
    def version(self) -> str | None:
        """The artifact's registry version id (records keep it with each decision)."""
        block = self.artifact.manifest.get("version")
        return str(block["id"]) if isinstance(block, dict) and "id" in block else None

    def embed_prompts(self, prompts: Sequence[str]) -> Vectors:
        """Raw embeddings of stored single-turn prompts (few-shot prefixes stripped)."""
        return self.embedder.embed([embedding_text(p) for p in prompts])

    @property
    def search_depth(self) -> int:
        """Neighbours each query fetches: k, or deeper where labels are sparse."""
        return self._depth

    @property
    def model_ks(self) -> IntArray:
        """Labelled neighbours each model's estimate reads (k, or sparse_k where sparse)."""
        return self._ks

    def predict(
        self,
        raw: Vectors,
        estimated_costs: FloatMatrix | None = None,
        exclude: IntArray | None = None,
    ) -> tuple[FloatMatrix, FloatMatrix]:
        """(quality, cost), each (n, n_models) in `self.models` order, for raw vectors.

        `exclude[i]`, when given, is a reference row that query i must not use as its own
        neighbour (-1 for none): replaying reference prompts must not peek at themselves.
        """
        queries = self.artifact.space_vectors(raw)
        depth = self._depth
        sims, idx = search(self.artifact.index, queries, depth + (exclude is not None))
        if exclude is not None:
            sims, idx = drop_self(sims, idx, exclude, depth)
        quality, neighbour_cost = neighbour_predictions(
            sims, idx, self.artifact.scores, self.artifact.costs, self.params, self._priors,
            self._ks,
        )
        cost = blend_costs(neighbour_cost, estimated_costs, self.params.cost_blend)
        cost = np.where(np.isnan(cost), self._mean_costs[None, :], cost)
        return quality, cost

    def route_batch(
        self,
        raw: Vectors,
        policy: Policy,
        allowed: Sequence[str] | None = None,
        estimated_costs: FloatMatrix | None = None,
    ) -> IntArray:
        """Column of `self.models` chosen for each row of `raw` (offline replay)."""
        quality, cost = self.predict(raw, estimated_costs)
        mask = None
        if allowed is not None:
            mask = np.array([m in set(allowed) for m in self.models], dtype=np.bool_)
        return choose(quality, cost, policy.objective, policy.knob, mask)

    def add_outcomes(
        self,
        prompts: Sequence[str],
        scores: dict[str, list[float]],
        costs: dict[str, list[float]],
    ) -> Grown:
        """Labelled prompts join the reference set (online update, no retraining).

        Call it off the event loop: it embeds the prompts and copies the index.
        """
        raw = self.embed_prompts(prompts)
        grown = add_prompts(self.artifact, raw, [text_hash(p) for p in prompts], scores, costs)
        self._reference_stats()
        return grown

    def _reference_stats(self) -> None:
        """Per-model priors, mean costs, neighbour counts and the search depth, from the
        reference outcomes."""
        scores, costs = self.artifact.scores, self.artifact.costs
        self._priors = model_priors(scores)
        known = ~np.isnan(scores) & ~np.isnan(costs)
        self._mean_costs = np.where(known, costs, 0.0).sum(axis=0) / np.maximum(
            known.sum(axis=0), 1
        )
        self._ks = model_ks(scores, self.params.k, self.params.sparse_k)
        self._depth = search_depth(scores, self._ks, self.params.depth_factor)

    def route(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> Decision:
        text = messages_embedding_text(request.messages)
        raw = self.embedder.embed([text])
        ranked, unknown = self.rank(raw, candidates, policy)
        return self.decision(PromptVector(text, self.embedder.name, raw[0]), ranked, unknown,
                             policy, self.label())

    def rank(
        self, raw: Vectors, candidates: Sequence[Candidate], policy: Policy
    ) -> tuple[list[Scored], list[str]]:
        """The candidates best-first for one raw query vector, and those without outcomes."""
        quality, neighbour_cost = self.predict(raw)
        options: list[Scored] = []
        unknown: list[str] = []
        quality_row, cost_row = quality[0].tolist(), neighbour_cost[0].tolist()
        for cand in candidates:
            estimate = cand.estimate.expected_cost_usd
            j = self._columns().get(cand.model)
            if j is not None:
                cost = blend_cost(cost_row[j], estimate, self.params.cost_blend)
                options.append(Scored(cand.model, quality_row[j], cost))
            else:
                unknown.append(cand.model)
                options.append(Scored(cand.model, UNKNOWN_MODEL_QUALITY, estimate))
        return rank(options, policy), unknown

    def label(self) -> str:
        """`knn[space]@version`, the start of the x-costroute-route reason."""
        version = self.version
        return f"knn[{self.space}]@{version}" if version else f"knn[{self.space}]"

    @staticmethod
    def decision(
        vector: PromptVector, ranked: list[Scored], unknown: list[str], policy: Policy,
        label: str,
    ) -> Decision:
        """The Decision for a ranking; `label` starts the reason."""
        note = f"; no outcomes for {', '.join(unknown)}" if unknown else ""
        return Decision(
            model=ranked[0].model,
            reason=(
                f"{label} {policy.objective} knob={policy.knob:g}: "
                f"{describe(ranked)}{note}"
            ),
            predicted_cost_usd=ranked[0].cost_usd,
            predicted_quality=ranked[0].quality,
            runner_up=ranked[1].model if len(ranked) > 1 else None,
            prompt_vector=vector,
        )


def blend_cost(neighbour: float, estimate: float, weight: float) -> float:
    """`blend_costs` for one candidate, on Python floats (a decision's hot loop)."""
    if math.isnan(neighbour):
        return estimate
    if math.isnan(estimate):
        return neighbour
    return weight * neighbour + (1.0 - weight) * estimate


def artifact_encoder(artifact: KnnArtifact) -> str | None:
    """The encoder named in the manifest; artifacts from before the field used MiniLM.

    None for an in-memory artifact without a manifest (held-out replay during training).
    """
    if not artifact.manifest:
        return None
    return str(artifact.manifest.get("embedder") or MiniLMEmbedder.name)


def check_encoder(artifact: KnnArtifact, embedder: Embedder) -> None:
    """Refuse an embedder whose vectors are not those of the artifact's reference prompts."""
    recorded = artifact_encoder(artifact)
    if recorded is not None and embedder.name != recorded:
        raise EncoderMismatch(
            f"the k-NN artifact was built with encoder {recorded!r}, but queries would be "
            f"embedded with {embedder.name!r}: rebuild the artifact with that encoder or "
            f"embed with {recorded!r}"
        )
    width = artifact.raw.shape[1]
    if embedder.dim and embedder.dim != width:
        raise EncoderMismatch(
            f"the k-NN artifact holds {width}-dim vectors; encoder {embedder.name!r} "
            f"gives {embedder.dim}"
        )


def embedder_for(artifact: KnnArtifact) -> Embedder:
    """The process-wide embedder of the encoder the artifact was built with."""
    name = artifact_encoder(artifact) or MiniLMEmbedder.name
    if name == HashingEmbedder.name:
        return HashingEmbedder(dim=artifact.raw.shape[1])
    embedder = shared_embedder(name)
    check_encoder(artifact, embedder)
    return embedder


def load_knn_router(
    artifact: str | Path,
    embedder: Embedder | None = None,
    **options: Any,
) -> KnnRouter:
    """A router over the artifact directory; `options` override its KnnParams fields."""
    loaded = load_artifact(artifact)
    if "space" in options:
        loaded.default_space = options.pop("space")
        loaded.index = None
    params = KnnParams(**{**loaded.params.to_json(), **options})
    # Resolved now (the model itself loads on first use): an artifact naming an encoder this
    # process cannot give fails when it is loaded, not on the first request.
    embedder = embedder or embedder_for(loaded)
    if loaded.stage1 is not None:
        from routers.knn.hybrid import HybridKnnRouter

        return HybridKnnRouter(loaded, embedder=embedder, params=params)
    return KnnRouter(loaded, embedder=embedder, params=params)


def drop_self(
    sims: npt.NDArray[np.float32], idx: IntArray, exclude: IntArray, k: int
) -> tuple[npt.NDArray[np.float32], IntArray]:
    """The first k neighbours of each row that are not `exclude[row]`."""
    own = idx == exclude[:, None]
    order = np.argsort(own, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, 1), np.take_along_axis(idx, order, 1)
