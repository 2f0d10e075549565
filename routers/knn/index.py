"""FAISS inner-product indexes over unit vectors (so scores are cosine similarities).

Exact search (IndexFlatIP) up to `HNSW_FROM` reference prompts; above it an HNSW graph,
because a flat scan of 100k × 384 floats reads ~150 MB per query and cannot answer in 1 ms
on two cores, while HNSW visits a few thousand vectors. bench/knn/speed.py measures both.

Artifacts built on the static encoder get `flat16` instead of `flat` (same exact scan over
float16 copies of the vectors, IndexScalarQuantizer QT_fp16): their decision is ~1 ms, of
which the scan is the largest part, and half the bytes halve it (0.33 -> 0.18 ms, 15k x 256,
bench/knn/speed.py). The artifact stores its reference vectors in float16 anyway. MiniLM
artifacts keep `flat`: their decision is the embedding (~20 ms), not the scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

IndexKind = Literal["auto", "flat", "flat16", "hnsw"]
HNSW_FROM = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 96
SMALL_BATCH = 16


def build_index(vectors: npt.NDArray[np.float32], kind: IndexKind = "auto") -> Any:
    """An index over `vectors` (n, d), float32 unit rows."""
    import faiss

    n, d = vectors.shape
    if kind == "auto":
        kind = "hnsw" if n >= HNSW_FROM else "flat"
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "flat16":
        index = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16,
                                           faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not index.is_trained:  # QT_fp16 needs no statistics, but FAISS asks for the call
        index.train(vectors)
    index.add(vectors)
    return index


def kind_for_encoder(kind: IndexKind, encoder: str, n: int) -> IndexKind:
    """`kind`, with `auto` resolved to `flat16` for a static encoder's small artifact."""
    from routers.static_embedding import STATIC_NAME

    if kind == "auto" and encoder.startswith(STATIC_NAME) and n < HNSW_FROM:
        return "flat16"
    return kind


def index_kind(index: Any) -> str:
    """"flat", "flat16" or "hnsw", for the manifest."""
    import faiss

    if hasattr(index, "hnsw"):
        return "hnsw"
    return "flat16" if isinstance(index, faiss.IndexScalarQuantizer) else "flat"


def search(
    index: Any, queries: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """(similarities, row ids), each (n_queries, k); ids are -1 past the index size."""
    import faiss

    # One query gains nothing from OpenMP and loses a lot when cores are busy (2.3 ms on
    # one thread vs 16 ms on two, 15k x 384 flat, bench/knn/speed.py); batches keep them.
    threads = 1 if len(queries) < SMALL_BATCH else faiss.omp_get_max_threads()
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        sims, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    finally:
        faiss.omp_set_num_threads(previous)
    return sims, ids.astype(np.int64)


def save_index(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_index(path: Path) -> Any:
    import faiss

    index = faiss.read_index(str(path))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index
