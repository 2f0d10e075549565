"""Scoring routers on the TEST split: a k-NN fitted on a table, the task lookup, single models.

AIQ is RouterBench's area under the non-decreasing convex hull of the (cost, quality) curve,
over the single models' cost range on TEST (routers.knn.evaluate.summarise, eval.curves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.baselines import TaskLookup
from eval.curves import aiq
from routers.datasets.format import RoutingDataset
from routers.knn.evaluate import replay_choices, summarise, sweep, utility_knobs
from routers.knn.fit import FitConfig, fit_from_vectors
from routers.knn.predict import KnnParams
from routers.knn.router import KnnRouter
from routers.knn.train import TrainConfig

MIN_ROWS = 12  # fewer labelled prompts than this: no router is fitted


@dataclass(frozen=True)
class Split:
    test: RoutingDataset
    raw_test: np.ndarray
    train: RoutingDataset  # the whole TRAIN pool (offline router, task lookup)
    raw_train: np.ndarray


class _NoEmbedder:
    """Stands in for the fitted artifact's own encoder: queries are precomputed vectors."""

    dim = 0

    def __init__(self, name: str):
        self.name = name

    def embed(self, texts: Any) -> np.ndarray:
        raise RuntimeError("scoring works on precomputed vectors")


def fit_config(rows: int, epochs: int, sparse_k: int | None = None) -> FitConfig:
    """k capped at a quarter of the rows on tiny tables; `sparse_k` None: KnnParams' own."""
    k = min(32, max(4, rows // 4))
    sparse = KnnParams().sparse_k if sparse_k is None else sparse_k
    params = KnnParams(k=k, sparse_k=min(sparse, max(k, rows // 4)) if sparse else 0)
    return FitConfig(val_fraction=0.15, seed=0, params=params,
                     train=TrainConfig(epochs=epochs, seed=0, threads=2))


def knn_aiq(table: RoutingDataset, raw: np.ndarray, split: Split, epochs: int,
            sparse_k: int | None = None) -> dict[str, Any]:
    """Fit the k-NN on `table` (rows aligned with `raw`) and score it on TEST."""
    known_rows = ~np.isnan(table.scores).all(axis=1)
    table, raw = table.subset(np.flatnonzero(known_rows)), raw[known_rows]
    if len(table) < MIN_ROWS:
        return {"aiq": None, "rows": len(table)}
    artifact = fit_from_vectors(table, raw, fit_config(len(table), epochs, sparse_k), "minilm")
    router = KnnRouter(artifact, embedder=_NoEmbedder(str(artifact.manifest.get("embedder")
                                                           or "minilm")))
    quality, cost = router.predict(split.raw_test)
    test = split.test.with_models(table.models)
    points = sweep(quality, cost, test.scores, test.costs, utility_knobs(split.train.costs))
    out = summarise(points, test.scores, test.costs, test.models)
    return {"aiq": out["aiq"], "rows": len(table), "space": artifact.default_space,
            "sparse_k": artifact.params.sparse_k,
            "labelled_cells": int((~np.isnan(table.scores)).sum())}


def baselines(split: Split) -> dict[str, Any]:
    test = split.test
    single_q = np.nanmean(test.scores, axis=0)
    single_c = np.nanmean(test.costs, axis=0)
    c_lo, c_hi = float(single_c.min()), float(single_c.max())
    best = int(np.argmax(single_q))
    lookup = TaskLookup(train=split.train).sweep(test)
    pts = [replay_choices(np.asarray(step.models), test.scores, test.costs) for step in lookup]
    return {
        "task_lookup_aiq": aiq(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]),
                               c_lo, c_hi),
        "single_models_aiq": aiq(single_c, single_q, c_lo, c_hi),
        "best_single_model": test.models[best],
        "best_single_quality": float(single_q[best]),
        "best_single_cost_usd": float(single_c[best]),
    }
