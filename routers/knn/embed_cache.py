"""An embedder whose vectors persist in a .npz file between runs (training, benchmarks).

Keys are `text_hash` of the embedded text, as in the in-memory LRU cache. The file is
rewritten only when new texts were embedded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from routers.datasets.text import text_hash
from routers.embedding import Embedder, Vectors


class DiskCachedEmbedder:
    """Looks texts up in `path` first and embeds only the misses with `inner`."""

    def __init__(self, inner: Embedder, path: str | Path):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.path = Path(path)
        self._rows: dict[str, int] = {}
        self._vectors = np.empty((0, inner.dim), dtype=np.float32)
        if self.path.is_file():
            with np.load(self.path) as data:
                if str(data["embedder"]) == inner.name:
                    self._vectors = data["vectors"].astype(np.float32)
                    self._rows = {str(k): i for i, k in enumerate(data["keys"])}

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [text_hash(t) for t in texts]
        todo: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._rows and key not in todo:
                todo[key] = text
        if todo:
            fresh = self.inner.embed(list(todo.values()))
            base = len(self._vectors)
            self._vectors = np.concatenate([self._vectors, fresh.astype(np.float32)])
            for offset, key in enumerate(todo):
                self._rows[key] = base + offset
            self._save()
        return self._vectors[[self._rows[k] for k in keys]]

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.stem}.tmp{os.getpid()}.npz")
        np.savez(
            tmp,
            keys=np.array(list(self._rows), dtype=str),
            vectors=self._vectors,
            embedder=np.array(self.name),
        )
        tmp.replace(self.path)
