"""Retraining on the vectors the records store already holds: embed only what is new.

The gateway's k-NN route stores the vector of each captured prompt it embedded (gateway/
records/capture.py), and every retrain stores what it had to embed. `StoredVectorEmbedder`
is an `Embedder` over the vectors read up front (`read_stored`): a text found there costs a
lookup, a miss is embedded by the wrapped encoder and kept in `fresh` for `write_fresh` to
store, so the next retrain (and this one's held-out replay) reuses it.

Reading and writing happen around the training, not inside it: the store is async, the
trainer and its embedder are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from gateway.records.base import RecordStore, TextVector
from gateway.records.vectors import as_array, text_vector
from routers.datasets.text import text_hash
from routers.embedding import Embedder, Vectors

# Vectors per store write: one transaction each, so a large retrain does not hold the
# records database's write lock for long at a time.
WRITE_BATCH = 2000


class StoredVectorEmbedder:
    """`inner`, but texts whose vectors were read from the store are not embedded again."""

    def __init__(self, inner: Embedder, stored: dict[str, Vectors] | None = None):
        self.inner = inner
        self.reuse_source = "records"  # for routers.train_progress.reuse_note
        self.name = inner.name
        self.dim = inner.dim
        self._known: dict[str, Vectors] = dict(stored or {})
        self.fresh: dict[str, Vectors] = {}  # key -> vector embedded here, not yet stored
        self.reused = 0  # texts answered from the stored vectors
        self.embedded = 0  # texts the inner encoder embedded

    def known(self, texts: Iterable[str]) -> int:
        """How many of the distinct `texts` need no embedding."""
        return sum(1 for key in {text_hash(t) for t in texts} if key in self._known)

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [text_hash(t) for t in texts]
        todo: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._known and key not in todo:
                todo[key] = text
        self.reused += len(set(keys)) - len(todo)
        if todo:
            vectors = self.inner.embed(list(todo.values()))
            self.embedded += len(todo)
            for key, vector in zip(todo, vectors):
                row = np.asarray(vector, dtype=np.float32)
                self._known[key] = row
                self.fresh[key] = row
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = self._known[key]
        return out


async def read_stored(store: RecordStore, encoder: str, texts: Iterable[str],
                      dim: int | None = None) -> dict[str, Vectors]:
    """key -> vector of the texts whose `encoder` vectors the store holds (of width `dim`)."""
    found = await store.vectors(encoder, list(dict.fromkeys(text_hash(t) for t in texts)))
    return {key: as_array(v) for key, v in found.items() if dim is None or v.dim == dim}


async def write_fresh(store: RecordStore, embedder: StoredVectorEmbedder) -> int:
    """Stores the vectors `embedder` computed; how many."""
    rows: list[TextVector] = [text_vector(key, embedder.name, vector)
                              for key, vector in embedder.fresh.items()]
    for start in range(0, len(rows), WRITE_BATCH):
        await store.write_vectors(rows[start:start + WRITE_BATCH])
    embedder.fresh.clear()
    return len(rows)
