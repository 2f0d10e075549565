"""Speed and memory of the k-NN router on this machine.

* one routing decision (embed + search + choose) for a ~50-token prompt, new text each
  time (no cache hit), median of 40, on each MiniLM backend; and with a cache hit;
* index search for one query at 100k reference prompts: exact (IndexFlatIP) and HNSW,
  with HNSW's recall of the exact top-32;
* batch embedding throughput on ~50-token prompts, each backend;
* offline replay: `route_batch` over 100k cached prompt vectors x 10 models;
* RSS the router adds to a process (embedder + artifact + index), read from /proc.

Run: .venv/bin/python bench/knn/speed.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
from common import CACHE, header

from pricing import CostEstimate
from routers.base import Candidate, Policy, RouteRequest
from routers.datasets import RoutingDataset
from routers.embedding import (
    CachedEmbedder,
    Embedder,
    MiniLMEmbedder,
    OnnxMiniLMEmbedder,
    onnx_available,
)
from routers.knn.fit import FitConfig, fit_from_vectors
from routers.knn.index import build_index, search
from routers.knn.projection import normalise_rows
from routers.knn.router import KnnRouter
from routers.knn.train import TrainConfig

WORDS = ["the", "a", "model", "router", "cost", "quality", "prompt", "answer", "question", "token", "price", "cheap", "large", "small", "explain", "why", "how", "what", "which", "when", "where", "river", "mountain", "history", "science", "law", "medicine", "theorem", "proof", "integer", "function", "python", "write", "sort", "list", "city", "country", "capital"]


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def prompt_50(rng: np.random.Generator) -> str:
    # About 50 MiniLM tokens: 40 common words plus a unique number.
    return " ".join(rng.choice(WORDS, 40)) + f" ({int(rng.integers(10**9))})?"


def median_ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def synthetic_artifact(n: int, models: int, dim: int = 384) -> KnnRouter:
    rng = np.random.default_rng(0)
    raw = normalise_rows(rng.normal(size=(n, dim)).astype(np.float32))
    ds = RoutingDataset(
        prompts=[f"p{i}" for i in range(n)], eval_names=["t"] * n,
        models=[f"m{j}" for j in range(models)],
        scores=rng.integers(0, 2, size=(n, models)).astype(float),
        costs=np.tile(np.logspace(-5, -3, models), (n, 1)),
    )
    artifact = fit_from_vectors(ds, raw, FitConfig(train=TrainConfig(epochs=1)))
    return KnnRouter(artifact)


def reference_100k() -> tuple[np.ndarray, np.ndarray]:
    """100k unit vectors from the cached MiniLM vectors (jittered copies), and 200 queries
    that are real vectors left out of the base."""
    with np.load(CACHE / "minilm.npz") as data:
        real = data["vectors"].astype(np.float32)
    rng = np.random.default_rng(2)
    real = real[rng.permutation(len(real))]
    queries, base = real[:200], real[200:]
    copies = [base]
    while sum(len(c) for c in copies) < 100_000:
        jitter = rng.normal(scale=0.02, size=base.shape).astype(np.float32)
        copies.append(normalise_rows(base + jitter))
    return np.concatenate(copies)[:100_000], queries


def main() -> None:
    header("speed.py", [])
    rng = np.random.default_rng(1)
    base_rss = rss_mib()
    backends: list[tuple[str, Embedder]] = [("torch", MiniLMEmbedder(threads=2))]
    if onnx_available():
        backends.append(("onnx", OnnxMiniLMEmbedder(threads=2)))
    router = synthetic_artifact(15_000, 10)
    candidates = [
        Candidate(m, "remote", CostEstimate(m, 50, 100, 1000, c, 10 * c, False))
        for m, c in zip(router.models, np.logspace(-5, -3, 10))
    ]
    policy = Policy("max_utility", 0.5)
    print("\nrouting decision, ~50-token prompt, 15k reference prompts x 10 models:")
    for name, inner in backends:
        router._embedder = CachedEmbedder(inner)
        router.route(RouteRequest([{"role": "user", "content": "warm up"}]), candidates, policy)
        fresh = median_ms(lambda: router.route(
            RouteRequest([{"role": "user", "content": prompt_50(rng)}]), candidates, policy), 40)
        same = RouteRequest([{"role": "user", "content": prompt_50(rng)}])
        hit = median_ms(lambda: router.route(same, candidates, policy), 40)  # noqa: B023
        print(f"  {name:5s}: median {fresh:.1f} ms (new prompt), {hit:.2f} ms (cache hit)")
    print("  RSS after loading both MiniLM backends, a 15k router and routing: "
          f"+{rss_mib() - base_rss:.0f} MiB")

    ref, queries = reference_100k()
    print(f"\nindex search, one query, {len(ref) // 1000}k x 384 reference vectors, k=32 "
          "(real MiniLM vectors of the bench prompts, topped up with jittered copies):")
    exact_ids = None
    for kind in ("flat", "hnsw"):
        started = time.perf_counter()
        index = build_index(ref, kind)  # type: ignore[arg-type]
        built = time.perf_counter() - started
        ms = median_ms(lambda: search(index, queries[rng.integers(200)][None, :], 32), 200)  # noqa: B023
        _, ids = search(index, queries, 32)
        if exact_ids is None:
            exact_ids = ids
            recall = 1.0
        else:
            recall = float(np.mean([len(set(a) & set(b)) / 32 for a, b in zip(ids, exact_ids)]))
        print(f"  {kind:5s}: median {ms:.3f} ms/query, build {built:.1f} s, recall@32 {recall:.3f}")

    print("\nbatch embedding, 256 prompts of ~50 tokens:")
    texts = [prompt_50(rng) for _ in range(256)]
    for name, inner in backends:
        inner.embed(texts[:8])
        started = time.perf_counter()
        inner.embed(texts)
        print(f"  {name:5s}: {256 / (time.perf_counter() - started):.0f} prompts/s")

    print("\noffline replay: route_batch, 100k cached prompt vectors x 10 models, 15k reference:")
    vectors = normalise_rows(np.random.default_rng(4).normal(size=(100_000, 384)).astype(np.float32))
    started = time.perf_counter()
    router.route_batch(vectors, policy)
    print(f"  {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
