"""Added gateway latency per cascade stage: scoring one answer, median and p99.

Three cases: nothing cached (MiniLM embeds the query and the answer), the query already
embedded (the k-NN router or an earlier stage did it; only the answer is embedded), and
features + head alone. Compared with the answer time of the cheapest models in the
simulator's latency profiles (public typical figures, not measurements), for the same
recorded answers.

Usage: .venv/bin/python bench/cascade/latency.py [--n 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np

from common import SHARED, embedder, header

from gateway.simulator.profiles import ModelProfiles
from routers.cascade.fit_scorer import encode, fit_heads
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


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    header("latency.py", argv)
    ds = load_routellm_gsm8k(SHARED / "routing" / "routellm" / "gsm8k")
    train, test = split(ds, 0.3, 0)
    heads = fit_heads(encode(train, embedder()))
    n = min(args.n, len(test))
    messages = [[{"role": "user", "content": p}] for p in test.prompts[:n]]
    answers = [test.responses[MODEL][i] or "" for i in range(n)]

    cold = AnswerScorer(heads, MiniLMEmbedder(threads=2))
    for i in range(5):  # load the model and warm torch up
        cold.score_chat(MODEL, messages[i], answers[i])
    med, p99 = timings(lambda i: cold.score_chat(MODEL, messages[i], answers[i]), n)
    print(f"score one answer, nothing cached (MiniLM, 2 threads): median {med:.1f} ms, p99 {p99:.1f} ms")

    warm_embedder = CachedEmbedder(MiniLMEmbedder(threads=2))
    warm = AnswerScorer(heads, warm_embedder)
    warm_embedder.embed([embedding_text(p) for p in test.prompts[:n]])
    for i in range(5):
        warm.score_chat(MODEL, messages[i], answers[i])
    med, p99 = timings(lambda i: warm.score_chat(MODEL, messages[i], answers[i]), n)
    print(f"score one answer, query embedding cached:         median {med:.1f} ms, p99 {p99:.1f} ms")

    vectors = embedder().embed([embedding_text(p) for p in test.prompts[:n]])
    head = heads[MODEL]
    med, p99 = timings(lambda i: head.predict(pair_features(
        vectors[i:i + 1], vectors[i:i + 1], [test.prompts[i]], [answers[i]])), n)
    print(f"features + logistic head only:                    median {med:.2f} ms, p99 {p99:.2f} ms")

    profiles = ModelProfiles.shipped()
    tokens = np.array([len(a) / 4 for a in answers])  # ~4 characters per token
    for name in ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4o-mini"):
        lat = profiles[name].latency
        seconds = lat.ttft_s + tokens / lat.tokens_per_s
        print(f"answer time of {name} in the simulator profile for these answers: "
              f"median {np.median(seconds) * 1000:.0f} ms (ttft {lat.ttft_s} s, "
              f"{lat.tokens_per_s} tok/s; typical public figures, not measured)")


if __name__ == "__main__":
    main(sys.argv[1:])
