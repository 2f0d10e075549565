"""The two-stage k-NN's decision time on a real artifact (speed.py --hybrid runs it).

The shipped default (routers/data/default_knn, what `auto` serves) is loaded as it is and
decides its own held-out prompts (scripts/build_default_artifacts.py's split). Other
artifacts are fitted as hybrid_vs_minilm.py fits them (TRAIN, raw space, gate out of fold
on TRAIN), with MiniLM vectors from the bench cache: RouteLLM's (MMLU sample + GSM8K, the
two models the shipped default routes between) and RouterBench's (11 models, where stage 1
is least often sure). Each decision routes a text never routed before (no cache hit in
either stage): ~50-token word prompts as in speed.py's other rows, then the dataset's TEST
questions. MiniLM runs on its serving backend with one thread; every text it embeds is
counted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
from common import REPO, embedder
from static_vs_minilm import FIT, routellm, routerbench

from pricing import CostEstimate
from routers.base import Candidate, Policy, RouteRequest
from routers.datasets.text import embedding_text
from routers.embedding import CachedEmbedder, Embedder, Vectors, minilm_embedder
from routers.knn.fit import fit_from_vectors
from routers.knn.hybrid import HybridKnnRouter
from routers.knn.router import KnnRouter
from routers.static_embedding import StaticEmbedder

DEFAULT_TENANT_KNOB = 0.1  # gateway.defaults: the default tenant's max_utility knob
BENCH_KNOB = 0.5  # speed.py's other rows


class Counting:
    """Counts the texts the wrapped embedder is asked to embed."""

    def __init__(self, inner: Embedder):
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return self.inner.embed(texts)


def shipped() -> tuple[HybridKnnRouter, Counting, list[str]]:
    """The shipped default as `auto` serves it, and the prompts it was built without."""
    from routers.datasets.shipped import load_shipped
    from routers.datasets.split import split_rows
    from routers.knn.artifact import load_artifact
    from routers.versions.shipped import shipped_artifact

    ds = load_shipped(REPO / "gateway/simulator/data/gsm8k_recordings.jsonl.gz")
    _, held = split_rows(ds.prompts, 0.2, 0)  # as scripts/build_default_artifacts.py splits
    minilm = Counting(CachedEmbedder(minilm_embedder(threads=1)))
    router = HybridKnnRouter(load_artifact(shipped_artifact("knn")), embedder=minilm,
                             stage1_embedder=CachedEmbedder(StaticEmbedder()))
    return router, minilm, [ds.prompts[i] for i in held]


def hybrid_router(name: str) -> tuple[HybridKnnRouter, Counting, list[str]]:
    """(router, its counted MiniLM, the TEST prompts it never saw)."""
    if name == "default":
        return shipped()
    train, test = routellm(2000) if name == "routellm" else routerbench()
    texts = [embedding_text(p) for p in train.prompts]
    static = StaticEmbedder()
    artifact = fit_from_vectors(train, embedder().embed(texts), FIT, minilm_embedder().name,
                                stage1=(static.name, static.embed(texts)))
    minilm = Counting(CachedEmbedder(minilm_embedder(threads=1)))
    router = HybridKnnRouter(artifact, embedder=minilm, stage1_embedder=CachedEmbedder(static))
    return router, minilm, list(test.prompts)


def candidates(router: HybridKnnRouter) -> list[Candidate]:
    """Each model with its mean recorded cost as the pre-flight estimate."""
    costs = np.nanmean(router.artifact.costs, axis=0)
    return [Candidate(m, "remote", CostEstimate(m, 50, 100, 1000, float(c), 10 * float(c), False))
            for m, c in zip(router.models, costs)]


def row(router: KnnRouter, minilm: Counting, texts: list[str], knob: float, name: str,
        percentiles: Callable[[list[float]], tuple[float, float]]) -> None:
    policy, cands = Policy("max_utility", knob), candidates(router)
    before, times, stage2 = minilm.texts, [], []
    cpu = time.process_time()
    for text in texts:
        asked = minilm.texts
        start = time.perf_counter()
        router.route(RouteRequest([{"role": "user", "content": text}]), cands, policy)
        times.append(time.perf_counter() - start)
        stage2.append(minilm.texts > asked)
    cpu_ms = 1000 * (time.process_time() - cpu) / len(texts)
    p50, p99 = percentiles(times)
    first = [t for t, two in zip(times, stage2) if not two]
    second = [t for t, two in zip(times, stage2) if two]
    med = (lambda xs: f"{1000 * statistics.median(xs):.3f} ms" if xs else "-")
    print(f"  {name:24s} knob {knob:g}: p50 {p50:.3f} ms, p99 {p99:.3f} ms, CPU {cpu_ms:.3f} "
          f"ms/decision; MiniLM needed by {(minilm.texts - before) / len(texts):.1%} "
          f"(median stage 1 {med(first)}, stage 2 {med(second)})", flush=True)


def hybrid_rows(sets: Sequence[str], n: int, rng: np.random.Generator, prompt_50: Callable[[np.random.Generator], str],
                percentiles: Callable[[list[float]], tuple[float, float]]) -> None:
    for name in sets:
        router, minilm, test = hybrid_router(name)
        gate = router.gate
        print(f"\ntwo-stage `auto` decision, {name}: {len(router.artifact.prompt_hashes)} TRAIN "
              f"prompts x {len(router.models)} models, gate margin >= {gate.threshold:.4g} "
              f"(out of fold on TRAIN, stage 1 decided {gate.fitted['share_first_stage']:.1%}); "
              f"{n} fresh prompts per row, MiniLM on ONNX Runtime with 1 thread:")
        warm = [RouteRequest([{"role": "user", "content": prompt_50(rng)}]) for _ in range(20)]
        for r in warm:  # model loads, arenas, FAISS: both stages
            router.route(r, candidates(router), Policy("max_utility", 0.0))
            router.stage1.route(r, candidates(router), Policy("max_utility", 0.0))
        words = statistics.median(len(embedding_text(t).split()) for t in test)
        for knob in (DEFAULT_TENANT_KNOB, BENCH_KNOB):
            row(router, minilm, [prompt_50(rng) for _ in range(n)], knob,
                "~50-token word prompts", percentiles)
            # A new number per row, so no text is routed twice (no cache hit).
            fresh = [f"{t} ({int(rng.integers(10**9))})" for t in test[:n]]
            row(router, minilm, fresh, knob, f"TEST questions (~{words:.0f} words)", percentiles)
        # The same artifact's MiniLM stage alone, on the same machine and load: the baseline.
        alone = KnnRouter(router.artifact, embedder=minilm)
        fresh = [f"{t} ({int(rng.integers(10**9))})" for t in test[:n]]
        row(alone, minilm, fresh, DEFAULT_TENANT_KNOB, "MiniLM alone, TEST questions",
            percentiles)
