"""Added gateway latency per cascade stage: scoring one answer, median and p99.

Three cases: nothing cached (MiniLM embeds the query and the answer), the query already
embedded (the k-NN router or an earlier stage did it; only the answer is embedded), and
features + head alone. Compared with the cheapest real model call we have, measured after
the scorer (so they do not share the CPUs): SmolLM2-135M through llama.cpp on a short prompt
(`local_call.py`); and with the answer time of the cheapest remote models in the
simulator's latency profiles (public typical figures, not measurements), for the same
recorded answers.

Usage: .venv/bin/python bench/cascade/latency.py [--n 200] [--threads 1] [--no-local-model]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
from common import SHARED, embedder, header
from local_call import LocalModelUnavailable, time_local_calls

from gateway.simulator.profiles import ModelProfiles
from routers.cascade.fit_scorer import ScorerConfig, encode, fit_heads
from routers.cascade.scorer import AnswerScorer, pair_features
from routers.datasets import load_routellm_gsm8k, split
from routers.datasets.text import embedding_text
from routers.embedding import CachedEmbedder, MiniLMEmbedder

MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def timings(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    """(median, p99) milliseconds of fn(i) for i < n."""
    out = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - started) * 1000)
    return float(np.median(out)), float(np.percentile(out, 99))


def measure(
    label: str,
    scorer: AnswerScorer,
    messages: list[list[dict[str, str]]],
    answers: list[str],
    n: int,
    cached_queries: bool,
) -> tuple[float, float]:
    if cached_queries:
        scorer.embedder.embed([embedding_text(m[0]["content"]) for m in messages])
    for i in range(5):  # load the model and warm torch up
        scorer.score_chat(MODEL, messages[i], answers[i])
    med, p99 = timings(lambda i: scorer.score_chat(MODEL, messages[i], answers[i]), n)
    print(f"  {label:<48} median {med:7.2f} ms, p99 {p99:7.2f} ms")
    return med, p99


def compare_with_local_call(scoring: dict[str, tuple[float, float]], calls: int) -> None:
    """Each scorer's median and p99 as a share of one real SmolLM2 call's median."""
    try:
        local = time_local_calls(calls)
    except LocalModelUnavailable as exc:
        print(f"cheapest real model call: not measured ({exc})")
        return
    print(f"cheapest real model call: {local.describe()}")
    for label, (med, p99) in scoring.items():
        print(
            f"  {label:<48} median {100 * med / local.median_ms:6.1f}%, "
            f"p99 {100 * p99 / local.median_ms:6.1f}% of the SmolLM2 call's median"
        )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for MiniLM")
    parser.add_argument("--local-calls", type=int, default=30, help="SmolLM2 calls to time")
    parser.add_argument("--no-local-model", action="store_true", help="skip the SmolLM2 call")
    args = parser.parse_args(argv)
    header("latency.py", argv)
    ds = load_routellm_gsm8k(SHARED / "routing" / "routellm" / "gsm8k")
    train, test = split(ds, 0.3, 0)
    full = fit_heads(encode(train, embedder()))
    fast = fit_heads(encode(train, embedder(), False), config=ScorerConfig(embed_answer=False))
    n = min(args.n, len(test))
    messages = [[{"role": "user", "content": p}] for p in test.prompts[:n]]
    answers = [test.responses[MODEL][i] or "" for i in range(n)]
    print(
        f"scoring one {MODEL} answer to a GSM8K test prompt ({n} answers, "
        f"MiniLM with {args.threads} torch thread(s), one request at a time):"
    )
    scoring: dict[str, tuple[float, float]] = {}
    for label, heads, embed_answer in (("full scorer", full, True), ("fast scorer", fast, False)):
        for cached in (False, True):
            emb = CachedEmbedder(MiniLMEmbedder(threads=args.threads))
            what = "query embedding cached" if cached else "nothing cached"
            scoring[f"{label}, {what}"] = measure(
                f"{label}, {what}",
                AnswerScorer(heads, emb, embed_answer),
                messages,
                answers,
                n,
                cached,
            )
    vectors = embedder().embed([embedding_text(p) for p in test.prompts[:n]])
    head = full[MODEL]
    med, p99 = timings(
        lambda i: head.predict(
            pair_features(vectors[i : i + 1], vectors[i : i + 1], [test.prompts[i]], [answers[i]])
        ),
        n,
    )
    print(f"  {'features + logistic head only (full)':<48} median {med:7.2f} ms, p99 {p99:7.2f} ms")
    scoring["features + logistic head only (full)"] = (med, p99)

    profiles = ModelProfiles.shipped()
    tokens = np.array([len(a) / 4 for a in answers])  # ~4 characters per token
    for name in ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4o-mini"):
        lat = profiles[name].latency
        seconds = lat.ttft_s + tokens / lat.tokens_per_s
        print(
            f"answer time of {name} in the simulator profile for these answers: "
            f"median {np.median(seconds) * 1000:.0f} ms (ttft {lat.ttft_s} s, "
            f"{lat.tokens_per_s} tok/s; typical public figures, not measured)"
        )
    if not args.no_local_model:
        compare_with_local_call(scoring, args.local_calls)


if __name__ == "__main__":
    main(sys.argv[1:])
