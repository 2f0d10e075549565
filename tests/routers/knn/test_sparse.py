"""Per-model neighbour sets: a sparsely labelled model reads its own k nearest labels."""

from __future__ import annotations

import numpy as np
import pytest

from routers.knn.predict import KnnParams, neighbour_predictions
from routers.knn.sparse import first_labelled, search_depth

NAN = np.nan


def test_dense_labels_search_k_deep() -> None:
    assert search_depth(np.ones((100, 3)), 8, 8) == 8


def test_sparse_labels_search_deeper_up_to_the_cap() -> None:
    scores = np.ones((100, 3))
    scores[::2, 1] = NAN  # model 1 labelled on half the rows
    assert search_depth(scores, 8, 8) == 16
    scores[:95, 2] = NAN  # model 2 on 5 rows: 8 / 0.05 = 160, capped at 8 x 8
    assert search_depth(scores, 8, 8) == 64
    assert search_depth(scores, 8, 1) == 8


def test_a_model_nobody_labelled_does_not_set_the_depth() -> None:
    scores = np.ones((10, 2))
    scores[:, 1] = NAN
    assert search_depth(scores, 4, 8) == 4
    assert search_depth(np.empty((0, 2)), 4, 8) == 4


def test_first_labelled_keeps_each_models_first_k_known_rows() -> None:
    known = np.array([[[True, False], [True, True], [False, False], [True, True],
                       [True, True]]])
    mask = first_labelled(known, 2)
    np.testing.assert_array_equal(mask[0, :, 0], [True, True, False, False, False])
    np.testing.assert_array_equal(mask[0, :, 1], [False, True, False, True, False])


def test_sparse_model_reads_labels_past_the_first_k() -> None:
    # Model 0 is labelled everywhere (1.0); model 1 only on rows 3 and 4 (0.0), which lie
    # beyond the first k = 2 neighbours: before, it fell back on its prior (1.0 here).
    scores = np.array([[1.0, NAN], [1.0, NAN], [1.0, NAN], [1.0, 0.0], [1.0, 0.0]])
    sims = np.array([[0.9, 0.9, 0.9, 0.9, 0.9]], dtype=np.float32)
    idx = np.array([[0, 1, 2, 3, 4]])
    priors = np.array([1.0, 1.0])
    params = KnnParams(k=2, prior_weight=1.0)
    quality, cost = neighbour_predictions(sims, idx, scores, np.ones_like(scores), params, priors)
    # Model 0: its first 2 rows only, (2 x 1 + 1 x prior 1) / 3.
    assert quality[0, 0] == pytest.approx(1.0)
    # Model 1: rows 3 and 4 (0, 0), shrunk toward its prior by β = 1: 1 / 3.
    assert quality[0, 1] == pytest.approx(1.0 / 3.0)
    assert cost[0, 1] == pytest.approx(1.0)


def test_few_labels_are_shrunk_toward_the_prior() -> None:
    # One labelled neighbour counts like one; β = 4 keeps the estimate near the prior.
    scores = np.array([[0.0], [NAN], [NAN]])
    sims = np.array([[1.0, 1.0, 1.0]], dtype=np.float32)
    quality, _ = neighbour_predictions(sims, np.array([[0, 1, 2]]), scores,
                                       np.ones_like(scores), KnnParams(k=3, prior_weight=4.0),
                                       np.array([0.5]))
    assert quality[0, 0] == pytest.approx(0.4)


def test_nan_costs_do_not_count_as_known_costs() -> None:
    scores = np.array([[1.0], [1.0]])
    costs = np.array([[NAN], [2.0]])
    sims = np.array([[1.0, 1.0]], dtype=np.float32)
    _, cost = neighbour_predictions(sims, np.array([[0, 1]]), scores, costs,
                                    KnnParams(k=2, prior_weight=1.0), np.array([1.0]))
    assert cost[0, 0] == pytest.approx(2.0)


def test_dense_case_is_the_first_k_neighbours() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((50, 4))
    costs = rng.random((50, 4))
    sims = np.sort(rng.random((6, 8)).astype(np.float32), axis=1)[:, ::-1].copy()
    idx = np.stack([rng.permutation(50)[:8] for _ in range(6)])
    params = KnnParams(k=8)
    quality, cost = neighbour_predictions(sims, idx, scores, costs, params)
    w = np.exp((sims - sims[:, :1]) / params.tau)[:, :, None]
    prior = scores.mean(axis=0)
    expected = ((w * scores[idx]).sum(axis=1) + prior) / (w.sum(axis=1) + 1.0)
    np.testing.assert_allclose(quality, expected)
    np.testing.assert_allclose(cost, (w * costs[idx]).sum(axis=1) / w.sum(axis=1))


def _sparse_synthetic_router(depth_factor: int) -> tuple[object, np.ndarray]:
    from routers.datasets import RoutingDataset
    from routers.embedding import HashingEmbedder
    from routers.knn.fit import FitConfig, fit_knn
    from routers.knn.router import KnnRouter
    from routers.knn.train import TrainConfig
    from tests.routers.knn.synthetic import synthetic

    # As the learning loop leaves it: the big model labelled everywhere (it is served), the
    # others on every 7th prompt only (easy and hard alike).
    ds = synthetic(400)
    scores = ds.scores.copy()
    rows = np.arange(400)
    scores[rows % 7 != 0, 0] = NAN
    scores[rows % 7 != 3, 1] = NAN
    sparse = RoutingDataset(ds.prompts, ds.eval_names, ds.models, scores, ds.costs, name="s")
    config = FitConfig(params=KnnParams(k=8, depth_factor=depth_factor),
                       train=TrainConfig(epochs=0), space="raw")
    router = KnnRouter(fit_knn(sparse, HashingEmbedder(), config), embedder=HashingEmbedder())
    return router, router.embed_prompts(ds.prompts[:40])


def test_router_searches_deeper_only_when_labels_are_sparse() -> None:
    router, raw = _sparse_synthetic_router(8)
    assert router._depth == 57  # type: ignore[attr-defined]
    deep, _ = router.predict(raw)  # type: ignore[attr-defined]
    flat_router, _ = _sparse_synthetic_router(1)
    assert flat_router._depth == 8  # type: ignore[attr-defined]
    flat, _ = flat_router.predict(raw)  # type: ignore[attr-defined]
    easy, hard = slice(0, 40, 2), slice(1, 40, 2)
    # The cheap model is right on easy prompts and wrong on hard ones. With its own 8
    # labelled neighbours it tells them apart more sharply than with the ~1 label among
    # the first 8 neighbours plus its prior (about 0.5).
    gap_deep = deep[easy, 0].mean() - deep[hard, 0].mean()
    gap_flat = flat[easy, 0].mean() - flat[hard, 0].mean()
    assert gap_deep > gap_flat
    assert gap_deep > 0.3
    # The densely labelled model's estimates do not change.
    np.testing.assert_allclose(deep[:, 2], flat[:, 2])
