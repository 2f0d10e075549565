"""MiniLM on torch (sentence-transformers) vs ONNX Runtime: texts/s and the vectors' agreement.

    .venv/bin/python bench/learning/embed_backends.py [--n 400] [--threads 2]

The same RouterBench TRAIN prompts (their embedding text, as training embeds them) through
`OnnxMiniLMEmbedder` (sorts by length; 2 threads and 1) and `MiniLMEmbedder` (sentence-
transformers, which sorts by length itself; and fed pre-sorted), each once after a warm-up;
the load average is printed next to each timing (the machine is shared). Training must use a
backend whose vectors match the serving one's (ONNX).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.learning.retrain_from_records import DATA
from routers.datasets import load_routerbench
from routers.datasets.text import embedding_text
from routers.embedding import MiniLMEmbedder, OnnxMiniLMEmbedder


class SortedTorch:
    """`MiniLMEmbedder`, fed batches of similar length (as the ONNX embedder sorts them)."""

    def __init__(self, inner: MiniLMEmbedder):
        self.inner = inner

    def embed(self, texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        out[order] = self.inner.embed([texts[i] for i in order])
        return out


def timed(name: str, embedder, texts: list[str]) -> tuple[np.ndarray, dict]:
    embedder.embed(texts[:8])  # loads the model; not timed
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    seconds = time.perf_counter() - started
    row = {"backend": name, "texts": len(texts), "seconds": round(seconds, 1),
           "texts_per_s": round(len(texts) / seconds, 1),
           "load_1m_before": round(load_before, 2), "load_1m_after": round(os.getloadavg()[0], 2)}
    print(json.dumps(row), flush=True)
    return vectors, row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ds = load_routerbench(DATA)
    rows = np.random.default_rng(args.seed).permutation(len(ds))[: args.n]
    texts = [embedding_text(ds.prompts[int(i)]) for i in rows]
    print(f"{len(texts)} RouterBench TRAIN prompts, median {int(np.median([len(t) for t in texts]))}"
          f" chars; threads {args.threads}; uptime load {os.getloadavg()}", flush=True)
    torch_batch = MiniLMEmbedder(threads=args.threads)
    onnx, r_onnx = timed(f"onnx (sorted by length), {args.threads} threads",
                         OnnxMiniLMEmbedder(threads=args.threads), texts)
    single, r_single = timed("onnx (sorted by length), 1 thread", OnnxMiniLMEmbedder(threads=1),
                             texts)
    plain, r_plain = timed(f"torch (sentence-transformers), {args.threads} threads", torch_batch,
                           texts)
    ordered, _ = timed("torch, batches pre-sorted by length", SortedTorch(torch_batch),
                              texts)
    diff = {"max_abs_diff_onnx_vs_torch": float(np.abs(onnx - plain).max()),
            "min_cosine_onnx_vs_torch": float((onnx * plain).sum(axis=1).min()),
            "max_abs_diff_onnx_1_vs_2_threads": float(np.abs(single - onnx).max()),
            "max_abs_diff_torch_sorted_vs_unsorted": float(np.abs(ordered - plain).max())}
    print(json.dumps(diff), flush=True)
    print(json.dumps({"speedup_onnx_over_torch": round(r_onnx["texts_per_s"]
                                                       / r_plain["texts_per_s"], 2),
                      "speedup_onnx_1_over_2_threads": round(r_single["texts_per_s"]
                                                             / r_onnx["texts_per_s"], 2)}))


if __name__ == "__main__":
    main()
