"""A static embedding distilled from the packaged MiniLM: a token table, averaged.

model2vec (Tulkens & van Dongen, 2024) runs every token of MiniLM's vocabulary through
MiniLM once, reduces the outputs with PCA and down-weights frequent tokens (SIF). A prompt's
vector is then the mean of its tokens' rows, unit length: one tokenizer call and a gather,
about 100x less work than a MiniLM forward pass, and no torch, ONNX Runtime or model2vec at
run time (numpy, `tokenizers`, `safetensors`).

The model lives in a folder in model2vec's layout (`model.safetensors` with an `embeddings`
table, `tokenizer.json`, `config.json`), so `model2vec.StaticModel.from_pretrained` reads it
too. `static_model_dir()` finds it: `COSTROUTE_STATIC_MODEL`, else the copy distilled once
into the local cache by `scripts/setup.sh` (`python -m routers.static_distill`); nothing is
ever downloaded.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
STATIC_NAME = "all-MiniLM-L6-v2-static"
STATIC_DIMS = 256
MODEL_ENV = "COSTROUTE_STATIC_MODEL"
# model2vec truncates at 512 tokens; cutting the text first bounds tokenizer time on huge
# prompts (its median token is ~4-5 characters, so 8 characters per token keeps them all).
MAX_TOKENS = 512
MAX_CHARS = 8 * MAX_TOKENS


class StaticModelMissing(FileNotFoundError):
    """The distilled static model is not where costroute looks for it."""


def static_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(base) / "costroute" / "static"


def static_model_dir() -> Path:
    """Where the static model is read from (it may not exist yet)."""
    override = os.environ.get(MODEL_ENV)
    return Path(override) if override else static_cache_dir() / f"{STATIC_NAME}-{STATIC_DIMS}"


class StaticEmbedder:
    """Mean of the prompt's token rows in a model2vec table, unit length, float32.

    Loads on first use, never at import. Deterministic: the same text gives the same bytes.
    """

    def __init__(self, path: Path | None = None):
        self.path = path or static_model_dir()
        self._table: npt.NDArray[np.float32] | None = None
        self._tokenizer: Any = None
        self._unk: int | None = None
        self._lock = threading.Lock()
        config = _config(self.path)
        self.dim = int(config.get("hidden_dim", STATIC_DIMS))
        # The width is part of the name: an artifact built on 256 dims cannot take 128; so is
        # tuning (routers.static_tune): its vectors differ from the plain distillation's.
        tuned = "tuned-" if "costroute_tuned" in config else ""
        self.name = f"{STATIC_NAME}-{tuned}{self.dim}"

    def _load(self) -> tuple[npt.NDArray[np.float32], Any]:
        with self._lock:
            if self._table is None:
                from safetensors.numpy import load_file
                from tokenizers import Tokenizer

                weights = self.path / "model.safetensors"
                if not weights.is_file():
                    raise StaticModelMissing(_missing(self.path))
                # float32 in memory (~30 MB at 256 dims): numpy's float16 arithmetic is
                # several times slower than the gather itself.
                table = load_file(str(weights))["embeddings"].astype(np.float32)
                tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
                tokenizer.no_padding()
                tokenizer.enable_truncation(MAX_TOKENS)
                self._unk = tokenizer.token_to_id("[UNK]")
                self._tokenizer = tokenizer
                self._table = table
        assert self._table is not None
        return self._table, self._tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        table, tokenizer = self._load()
        out = np.empty((len(texts), table.shape[1]), dtype=np.float32)
        if not texts:
            return out
        cut = [t[:MAX_CHARS] for t in texts]
        if len(cut) == 1:  # encode_batch's thread pool costs more than one short prompt
            encodings = [tokenizer.encode(cut[0], add_special_tokens=False)]
        else:
            encodings = tokenizer.encode_batch(cut, add_special_tokens=False)
        for i, encoding in enumerate(encodings):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            if self._unk is not None:
                ids = ids[ids != self._unk]  # model2vec drops unknown tokens too
            if ids.size == 0:
                out[i] = _unit(out.shape[1])
                continue
            # The sum, not the mean: the unit-length result is the same and one pass cheaper.
            row = np.take(table, ids, axis=0).sum(axis=0)
            norm = math.sqrt(float(row @ row))
            out[i] = row / norm if norm > 0 else _unit(out.shape[1])
        return out


def _config(path: Path) -> dict[str, Any]:
    """The model folder's config.json (read without loading the table), or {}."""
    config = path / "config.json"
    if config.is_file():
        loaded: dict[str, Any] = json.loads(config.read_text(encoding="utf-8"))
        return loaded
    return {}


def _missing(path: Path) -> str:
    return (
        f"the static embedding model is not at {path}: distill it once from the packaged "
        f"MiniLM with `python -m routers.static_distill` (scripts/setup.sh does), or point "
        f"{MODEL_ENV} at a model2vec folder"
    )


def _unit(dim: int) -> Vectors:
    v = np.zeros(dim, dtype=np.float32)
    v[0] = 1.0
    return v
