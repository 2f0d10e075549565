"""Per-model neighbour sets: a sparsely labelled model reads its own k nearest labels."""

from __future__ import annotations

import numpy as np
import pytest

from routers.knn.predict import KnnParams, neighbour_predictions
from routers.knn.sparse import first_labelled, model_ks, search_depth

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


def test_sparse_k_applies_only_to_models_labelled_on_under_half_the_rows() -> None:
    scores = np.ones((10, 3))
    scores[:5, 1] = NAN  # half: not sparse
    scores[:6, 2] = NAN  # 4 of 10: sparse
    np.testing.assert_array_equal(model_ks(scores, 4, 12), [4, 4, 12])
    np.testing.assert_array_equal(model_ks(scores, 4, 0), [4, 4, 4])
    np.testing.assert_array_equal(model_ks(np.ones((10, 3)), 4, 12), [4, 4, 4])


def test_rows_nobody_labelled_do_not_make_a_model_sparse() -> None:
    scores = np.ones((10, 2))
    scores[6:] = NAN  # unlabelled rows (a grown reference set's fresh prompts)
    scores[:3, 1] = NAN  # 3 of the 6 labelled rows: not sparse
    np.testing.assert_array_equal(model_ks(scores, 4, 12), [4, 4])


def test_search_depth_serves_each_models_own_k() -> None:
    scores = np.ones((100, 2))
    scores[::4, 1] = 0.0
    scores[np.arange(100) % 4 != 0, 1] = NAN  # model 1 on a quarter of the rows
    assert search_depth(scores, np.array([8, 8]), 8) == 32
    assert search_depth(scores, np.array([8, 16]), 8) == 64
    # Model 0 is dense: its larger k alone asks for k rows.
    assert search_depth(scores, np.array([20, 4]), 8) == 20
    assert search_depth(scores, np.array([8, 16]), 1) == 16


def test_first_labelled_takes_one_k_per_model() -> None:
    known = np.ones((1, 5, 2), dtype=np.bool_)
    mask = first_labelled(known, np.array([2, 4]))
    np.testing.assert_array_equal(mask[0].sum(axis=0), [2, 4])


def test_sparse_model_reads_sparse_k_labels_and_dense_ones_keep_k() -> None:
    # Model 0 labelled everywhere; model 1 on 2 of 6 rows (sparse), the 2 nearest labels
    # are 1 and the next 0. With sparse_k = 2 model 1 reads rows 0 and 2 only.
    scores = np.array([[1.0, 1.0], [1.0, NAN], [1.0, 0.0], [0.0, NAN], [0.0, NAN],
                       [0.0, NAN]])
    sims = np.ones((1, 6), dtype=np.float32)
    idx = np.array([[0, 1, 2, 3, 4, 5]])
    priors = np.array([0.5, 0.5])
    plain = KnnParams(k=1, prior_weight=1.0, sparse_k=0)
    wide = KnnParams(k=1, prior_weight=1.0, sparse_k=2)
    q1, _ = neighbour_predictions(sims, idx, scores, np.ones_like(scores), plain, priors)
    q2, _ = neighbour_predictions(sims, idx, scores, np.ones_like(scores), wide, priors)
    assert q1[0, 1] == pytest.approx((1.0 + 0.5) / 2.0)
    assert q2[0, 1] == pytest.approx((1.0 + 0.0 + 0.5) / 3.0)
    assert q1[0, 0] == q2[0, 0] == pytest.approx((1.0 + 0.5) / 2.0)


def test_dense_reference_set_ignores_sparse_k() -> None:
    rng = np.random.default_rng(1)
    scores = (rng.random((60, 4)) > 0.4).astype(np.float64)
    costs = rng.random((60, 4))
    sims = np.sort(rng.random((5, 30)).astype(np.float32), axis=1)[:, ::-1].copy()
    idx = np.stack([rng.permutation(60)[:30] for _ in range(5)])
    base = neighbour_predictions(sims, idx, scores, costs, KnnParams(k=8))
    wide = neighbour_predictions(sims, idx, scores, costs, KnnParams(k=8, sparse_k=24))
    for a, b in zip(base, wide, strict=True):
        np.testing.assert_array_equal(a, b)


def _sparse_synthetic_router(depth_factor: int, sparse_k: int = 0) -> tuple[object, np.ndarray]:
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
    config = FitConfig(params=KnnParams(k=8, depth_factor=depth_factor, sparse_k=sparse_k),
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


def test_router_reads_sparse_k_for_its_sparse_models_only() -> None:
    router, raw = _sparse_synthetic_router(8, sparse_k=16)
    np.testing.assert_array_equal(router.model_ks, [16, 16, 8])  # type: ignore[attr-defined]
    # Model 1 is labelled on 57 of 400 rows: 16 x 400 / 57 -> 113 deep (under 8 x 16).
    assert router.search_depth == 113  # type: ignore[attr-defined]
    wide, _ = router.predict(raw)  # type: ignore[attr-defined]
    plain_router, _ = _sparse_synthetic_router(8)
    plain, _ = plain_router.predict(raw)  # type: ignore[attr-defined]
    np.testing.assert_allclose(wide[:, 2], plain[:, 2])
    assert not np.allclose(wide[:, :2], plain[:, :2])


def test_dense_router_is_unchanged_by_sparse_k() -> None:
    from routers.embedding import HashingEmbedder
    from routers.knn.fit import FitConfig, fit_knn
    from routers.knn.router import KnnRouter
    from routers.knn.train import TrainConfig
    from tests.routers.knn.synthetic import synthetic

    ds = synthetic(200)
    out = []
    for sparse_k in (0, 32):
        config = FitConfig(params=KnnParams(k=8, sparse_k=sparse_k),
                           train=TrainConfig(epochs=0), space="raw")
        router = KnnRouter(fit_knn(ds, HashingEmbedder(), config), embedder=HashingEmbedder())
        assert router.search_depth == 8
        out.append(router.predict(router.embed_prompts(ds.prompts[:30])))
    for a, b in zip(out[0], out[1], strict=True):
        np.testing.assert_array_equal(a, b)
