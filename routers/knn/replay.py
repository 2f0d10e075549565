"""Offline replay of a k-NN artifact against a routing dataset (for eval and calibration).

`load_replayable(directory, manifest)` is the factory `eval.registry` looks up for artifacts
of kind "knn"; the returned object has `name`, `kind` and `sweep(dataset)` as
`eval.sweep.ReplayableRouter` requires. Prompts of the dataset that are also reference
prompts of the artifact never count as their own neighbour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.base import Policy
from routers.datasets.format import RoutingDataset
from routers.datasets.text import text_hash
from routers.embedding import Embedder
from routers.knn.artifact import KnnArtifact
from routers.knn.evaluate import utility_knobs
from routers.knn.predict import choose
from routers.knn.router import KnnRouter, load_knn_router

FloatMatrix = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def self_rows(artifact: KnnArtifact, prompts: Sequence[str]) -> IntArray:
    """For each prompt, its row among the artifact's reference prompts, or -1."""
    row_of = {h: i for i, h in enumerate(artifact.prompt_hashes)}
    return np.array([row_of.get(text_hash(p), -1) for p in prompts], dtype=np.int64)


def align_outcomes(ds: RoutingDataset, models: Sequence[str]) -> tuple[FloatMatrix, FloatMatrix]:
    """`ds` scores and costs with columns in `models` order; NaN for models it lacks."""
    scores = np.full((len(ds), len(models)), np.nan)
    costs = np.full_like(scores, np.nan)
    for j, model in enumerate(models):
        if model in ds.models:
            scores[:, j] = ds.scores[:, ds.models.index(model)]
            costs[:, j] = ds.costs[:, ds.models.index(model)]
    return scores, costs


class KnnReplayable:
    """A k-NN router as an eval candidate: one `Choices` step per max_utility knob."""

    kind = "router"

    def __init__(self, router: KnnRouter, name: str = "knn", knobs: Sequence[float] | None = None):
        self.router = router
        self.name = name
        self.knobs = list(knobs) if knobs is not None else None
        # Two-stage routers: the share of prompts stage 1 decided, per knob of the last sweep.
        self.first_stage_shares: list[float] | None = None

    def sweep(self, dataset: RoutingDataset) -> list[Any]:
        from eval.sweep import Choices

        shared = [m for m in self.router.models if m in dataset.models]
        if not shared:
            raise ValueError(f"none of the router's models {self.router.models} is in the dataset")
        allowed = np.array([m in shared for m in self.router.models])
        to_column = np.array(
            [dataset.models.index(m) if m in shared else -1 for m in self.router.models]
        )
        knobs = self.knobs or utility_knobs(self.router.artifact.costs)
        exclude = self_rows(self.router.artifact, dataset.prompts)
        return [Choices(knob, to_column[picked])
                for knob, picked in zip(knobs, self.columns(dataset.prompts, knobs, allowed,
                                                            exclude))]

    def columns(
        self, prompts: Sequence[str], knobs: Sequence[float], allowed: npt.NDArray[np.bool_],
        exclude: IntArray,
    ) -> list[IntArray]:
        """The router's column chosen per prompt at each max_utility knob."""
        from routers.knn.hybrid import HybridKnnRouter

        if isinstance(self.router, HybridKnnRouter) and self.router.stage1 is not None:
            picked, self.first_stage_shares = self.router.sweep_choices(
                prompts, knobs, allowed, exclude)
            return picked
        raw = self.router.embed_prompts(prompts)
        quality, cost = self.router.predict(raw, exclude=exclude)
        return [choose(quality, cost, "max_utility", knob, allowed) for knob in knobs]

    def choices(self, raw: npt.NDArray[np.float32], policy: Policy) -> IntArray:
        """Router columns for precomputed raw vectors under one policy."""
        return self.router.route_batch(raw, policy)


def load_replayable(directory: Path, manifest: Mapping[str, Any],
                    embedder: Embedder | None = None) -> KnnReplayable:
    """The eval registry's factory for artifacts of kind "knn"; `embedder` (of the
    artifact's encoder) replaces the process-wide one, e.g. one over stored vectors."""
    kind = "knn-hybrid" if manifest.get("stage1") else "knn"
    return KnnReplayable(load_knn_router(directory, embedder=embedder),
                         name=f"{kind}[{manifest.get('default_space')}]")
