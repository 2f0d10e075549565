"""Speed and memory of the k-NN router on this machine.

* one `auto` routing decision (embed + search + choose) for a ~50-token prompt, new text
  each time (no cache hit), on each encoder: the static one (model2vec, 256 dims) and MiniLM
  on each backend: p50 / p99 wall time, CPU time per decision (the process's, so a busy
  machine shows less in it than in wall time) and decisions per second on one thread; its
  parts (tokenise + embed, FAISS search, predict + choose); and the decision on a cache hit;
* index search for one query at 100k reference prompts: exact (IndexFlatIP) and HNSW,
  with HNSW's recall of the exact top-32;
* batch embedding throughput on ~50-token prompts, each backend;
* offline replay: `route_batch` over 100k cached prompt vectors x 10 models;
* RSS the router adds to a process (embedder + artifact + index), read from /proc;
* with --hybrid: the two-stage router (routers.knn.hybrid) on a real artifact, fitted on
  the RouteLLM TRAIN split of hybrid_vs_minilm.py with its gate fitted on TRAIN's held-out
  part, deciding fresh ~50-token word prompts and fresh TEST questions: p50 / p99, CPU,
  and the share that needed MiniLM (counted at the MiniLM embedder), at the default
  tenant's knob and at this bench's.

Run: .venv/bin/python bench/knn/speed.py [--decision-only] [--static-only]
     [--hybrid [default|routellm|routerbench ...]] [--decisions 400]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

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
from routers.knn.artifact import KnnArtifact
from routers.knn.fit import FitConfig, fit_from_vectors
from routers.knn.index import build_index, index_kind, search
from routers.knn.projection import normalise_rows
from routers.knn.router import KnnRouter
from routers.knn.train import TrainConfig
from routers.static_embedding import StaticEmbedder, static_model_dir

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


def synthetic_artifact(n: int, models: int, dim: int = 384, encoder: str = "") -> KnnRouter:
    rng = np.random.default_rng(0)
    raw = normalise_rows(rng.normal(size=(n, dim)).astype(np.float32))
    ds = RoutingDataset(
        prompts=[f"p{i}" for i in range(n)], eval_names=["t"] * n,
        models=[f"m{j}" for j in range(models)],
        scores=rng.integers(0, 2, size=(n, models)).astype(float),
        costs=np.tile(np.logspace(-5, -3, models), (n, 1)),
    )
    # The encoder's name picks the index as `train knn` does (flat16 for the static one).
    artifact = fit_from_vectors(ds, raw, FitConfig(train=TrainConfig(epochs=1)), encoder)
    return KnnRouter(artifact)


def sparse_labels(router: KnnRouter, rng: np.random.Generator, asked: int = 2) -> KnnRouter:
    """The same reference set with model 0 and `asked` others labelled per prompt, rest NaN."""
    from dataclasses import replace

    scores = router.artifact.scores.copy()
    n, m = scores.shape
    keep = np.zeros((n, m), dtype=bool)
    keep[:, 0] = True
    for i in range(n):
        keep[i, 1 + rng.choice(m - 1, size=asked, replace=False)] = True
    artifact = replace(router.artifact, scores=np.where(keep, scores, np.nan))
    sparse = KnnRouter(artifact)
    sparse._embedder = router._embedder
    return sparse


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


def flat32_index(artifact: KnnArtifact) -> Any:
    return build_index(artifact.space_vectors(artifact.raw), "flat")


def percentiles_ms(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return 1000 * ordered[len(ordered) // 2], 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def decision(
    router: KnnRouter, name: str, n: int, rng: np.random.Generator, kind: str = "flat"
) -> None:
    """p50/p99 and CPU per `auto` decision on fresh prompts, then each part on its own."""
    candidates = [
        Candidate(m, "remote", CostEstimate(m, 50, 100, 1000, c, 10 * c, False))
        for m, c in zip(router.models, np.logspace(-5, -3, len(router.models)))
    ]
    policy = Policy("max_utility", 0.5)
    requests = [RouteRequest([{"role": "user", "content": prompt_50(rng)}]) for _ in range(n)]
    for r in requests[:20]:  # warm-up: model load, arenas, FAISS
        router.route(r, candidates, policy)
    requests = [RouteRequest([{"role": "user", "content": prompt_50(rng)}]) for _ in range(n)]
    times = []
    cpu = time.process_time()
    for r in requests:
        start = time.perf_counter()
        router.route(r, candidates, policy)
        times.append(time.perf_counter() - start)
    cpu_ms = 1000 * (time.process_time() - cpu) / n
    p50, p99 = percentiles_ms(times)
    print(f"  {name:12s}: p50 {p50:.3f} ms, p99 {p99:.3f} ms, CPU {cpu_ms:.3f} ms/decision, "
          f"{1000 / statistics.mean(1000 * t for t in times):.0f} decisions/s (one thread)")
    texts = [prompt_50(rng) for _ in range(n)]
    inner = router.embedder
    embed_ms = median_ms(lambda: inner.embed([texts.pop()]), n)
    raw = inner.embed([prompt_50(rng)])
    queries = router.artifact.space_vectors(raw)
    search_ms = median_ms(lambda: search(router.artifact.index, queries, router.params.k), n)
    same = RouteRequest([{"role": "user", "content": prompt_50(rng)}])
    hit = median_ms(lambda: router.route(same, candidates, policy), n)
    print(f"  {'':12s}  parts (median): embed {embed_ms:.3f} ms, FAISS search "
          f"{search_ms:.3f} ms ({router.artifact.index.ntotal} x {queries.shape[1]} {kind}); "
          f"whole decision on a cache hit {hit:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decision-only", action="store_true")
    parser.add_argument("--decisions", type=int, default=400)
    parser.add_argument("--static-only", action="store_true", help="only the static encoder")
    parser.add_argument("--hybrid", nargs="*", choices=["default", "routellm", "routerbench"],
                        help="only the two-stage router on real artifacts (default: all)")
    args = parser.parse_args()
    hybrid = " ".join(["--hybrid", *args.hybrid]) if args.hybrid is not None else ""
    header("speed.py", [a for a, on in (("--decision-only", args.decision_only),
                                        ("--static-only", args.static_only),
                                        (hybrid, hybrid)) if on])
    rng = np.random.default_rng(1)
    if args.hybrid is not None:
        from speed_hybrid import hybrid_rows

        sets = args.hybrid or ["default", "routellm", "routerbench"]
        hybrid_rows(sets, args.decisions, rng, prompt_50, percentiles_ms)
        return
    base_rss = rss_mib()
    backends: list[tuple[str, Embedder]] = [("torch", MiniLMEmbedder(threads=2))]
    if onnx_available():
        backends.append(("onnx", OnnxMiniLMEmbedder(threads=2)))
    print("\n`auto` decision on a fresh ~50-token prompt, 15k reference prompts x 10 models "
          f"({args.decisions} decisions each):")
    if (static_model_dir() / "model.safetensors").is_file():
        static = StaticEmbedder()
        static_router = synthetic_artifact(15_000, 10, dim=static.dim, encoder=static.name)
        static_router._embedder = CachedEmbedder(static)
        kind = index_kind(static_router.artifact.index)
        decision(static_router, f"static {static.dim}d", args.decisions, rng, kind)
        # Labels as the learning loop leaves them (served model + 2 shadows per prompt): the
        # search goes deeper so each model finds k labelled neighbours (routers.knn.sparse).
        sparse_router = sparse_labels(static_router, rng)
        decision(sparse_router, f"  sparse {sparse_router.search_depth}", args.decisions, rng,
                 kind)
        # The exact scan is the largest part: the same router over the float32 scan that
        # static artifacts used before flat16 (twice the bytes per query).
        static_router.artifact.index = flat32_index(static_router.artifact)
        decision(static_router, "  flat index", args.decisions, rng, "flat")
    else:
        print(f"  static: no model at {static_model_dir()} (python -m routers.static_distill)")
    if args.static_only:
        return
    router = synthetic_artifact(15_000, 10)
    for name, inner in backends:
        router._embedder = CachedEmbedder(inner)
        decision(router, f"minilm {name}", max(40, args.decisions // 10), rng)
    print("  RSS after loading both MiniLM backends, the static encoder, two 15k routers and "
          f"routing: +{rss_mib() - base_rss:.0f} MiB")
    if args.decision_only:
        return

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
    router.route_batch(vectors, Policy("max_utility", 0.5))
    print(f"  {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
