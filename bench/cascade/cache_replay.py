"""Completion-cache hit rate and saving on a replayed workload with repeats.

Workload: GSM8K test questions drawn with Zipf-distributed popularity by two tenants; a
share of requests reword the question (case, a polite prefix or suffix, punctuation), and
a share sample at temperature 0.7. Every miss is "answered" by GPT-4-1106 at its recorded
cost for that question and stored. A semantic hit returning another question's answer is a
false hit (a wrong answer served).

Usage: .venv/bin/python bench/cascade/cache_replay.py [--requests 3000] [--questions 390]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import numpy as np
from common import PRICES_ROUTELLM, SHARED, embedder, header

from gateway.cache import ExactCache, LayeredCache, MemoryCacheStore, SemanticCache, SemanticRules
from routers.datasets import load_routellm_gsm8k, split

GPT4 = "gpt-4-1106-preview"
TENANTS = ("tenant-a", "tenant-b")


def reword(question: str, kind: int) -> str:
    if kind == 1:
        return question.lower()
    if kind == 2:
        return "Please solve this: " + question
    if kind == 3:
        return question.rstrip("?.") + ". Thanks!"
    return question.replace(",", "").replace("  ", " ")


def workload(
    n_questions: int, n_requests: int, reworded: float, sampled: float, seed: int
) -> list[tuple[str, int, str, float]]:
    """(tenant, question id, text, temperature) per request."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_questions + 1) ** 1.1
    ids = rng.choice(n_questions, size=n_requests, p=weights / weights.sum())
    out = []
    for qid in ids:
        kind = int(rng.integers(1, 5)) if rng.random() < reworded else 0
        temperature = 0.7 if rng.random() < sampled else 0.0
        out.append((TENANTS[int(rng.integers(0, 2))], int(qid), str(kind), temperature))
    return out


async def replay(
    cache: LayeredCache,
    requests: list[tuple[str, int, str, float]],
    questions: list[str],
    costs: np.ndarray,
) -> dict[str, Any]:
    hits = {"exact": 0, "semantic": 0}
    false_hits = 0
    saved = total = 0.0
    lookup_ms = {"exact": [], "semantic": [], "miss": []}
    for tenant, qid, kind, temperature in requests:
        body = {
            "model": GPT4,
            "temperature": temperature,
            "messages": [{"role": "user", "content": reword(questions[qid], int(kind))}],
        }
        total += costs[qid]
        started = time.perf_counter()
        hit = await cache.find(tenant, body)
        elapsed = (time.perf_counter() - started) * 1000
        if hit is None:
            lookup_ms["miss"].append(elapsed)
            await cache.store(
                tenant, body, {"choices": [{"message": {"content": f"answer {qid}"}}]}
            )
            continue
        lookup_ms[hit.kind].append(elapsed)
        hits[hit.kind] += 1
        saved += costs[qid]
        if hit.response["choices"][0]["message"]["content"] != f"answer {qid}":
            false_hits += 1
    n = len(requests)
    return {
        "exact": hits["exact"] / n,
        "semantic": hits["semantic"] / n,
        "false": false_hits / n,
        "saving": saved / total,
        "ms": lookup_ms,
    }


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{np.median(values):.2f}/{np.percentile(values, 99):.2f}"


async def run(args: argparse.Namespace) -> None:
    ds = load_routellm_gsm8k(SHARED / "routing" / "routellm" / "gsm8k")
    _, test = split(ds, 0.3, 0)
    questions = test.prompts[: args.questions]
    costs = test.costs[: args.questions, test.models.index(GPT4)]
    requests = workload(len(questions), args.requests, args.reworded, args.sampled, args.seed)
    emb = embedder()
    # Embed every distinct text once up front; lookups then hit the embedder's cache, and
    # the latency of an uncached semantic lookup is measured apart below.
    emb.embed(sorted({reword(questions[q], int(k)) for _, q, k, _ in requests}))
    print(
        f"workload: {args.requests} requests over {len(questions)} GSM8K questions (Zipf 1.1), "
        f"{len(TENANTS)} tenants, {args.reworded:.0%} reworded, {args.sampled:.0%} at "
        f"temperature 0.7; misses priced as {GPT4} ({PRICES_ROUTELLM})"
    )
    print(
        f"{'cache':<42} {'exact':>7} {'semantic':>9} {'false':>7} {'saving':>8}  "
        f"lookup ms median/p99 (exact hit, miss)"
    )
    configs: list[tuple[str, SemanticRules | None]] = [("exact only", None)]
    for threshold in (0.90, 0.95, 0.98):
        configs.append((f"exact + semantic ≥{threshold}", SemanticRules(True, threshold)))
    configs.append(
        ("exact + semantic ≥0.95, sampling allowed", SemanticRules(True, 0.95, allow_sampling=True))
    )
    for label, rules in configs:
        layers: list[Any] = [ExactCache(MemoryCacheStore(100_000), ttl_s=3600)]
        if rules is not None:
            layers.append(SemanticCache(emb, lambda tenant, r=rules: r))
        r = await replay(LayeredCache(layers), requests, questions, costs)
        print(
            f"{label:<42} {r['exact']:>7.1%} {r['semantic']:>9.1%} {r['false']:>7.2%} "
            f"{r['saving']:>8.1%}  {ms(r['ms']['exact'])}, {ms(r['ms']['miss'])}"
        )
    await uncached_latency(questions, args.threads)


async def uncached_latency(questions: list[str], threads: int) -> None:
    from routers.embedding import MiniLMEmbedder

    cache = SemanticCache(MiniLMEmbedder(threads=threads), lambda t: SemanticRules(True, 0.95))
    body = {
        "model": GPT4,
        "temperature": 0,
        "messages": [{"role": "user", "content": questions[0]}],
    }
    await cache.store("t", body, {"choices": [{"message": {"content": "x"}}]})
    times = []
    for q in questions[1:101]:
        started = time.perf_counter()
        await cache.find("t", {**body, "messages": [{"role": "user", "content": q}]})
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"semantic lookup with an uncached MiniLM embedding ({threads} torch thread): "
        f"median/p99 {ms(times)} ms"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--questions", type=int, default=390)
    parser.add_argument("--reworded", type=float, default=0.3)
    parser.add_argument("--sampled", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    header("cache_replay.py", argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    main(sys.argv[1:])
