"""Shared helpers of the k-NN benchmarks: data paths, machine line, cached embeddings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.machine import machine
from routers.datasets import (
    RoutingDataset,
    concat,
    load_llmrouter,
    load_routellm_gsm8k,
    load_routellm_mmlu,
    remove_overlap,
    split,
)
from routers.embedding import MiniLMEmbedder
from routers.knn.embed_cache import DiskCachedEmbedder

# COSTROUTE_SHARED_DATA points at the shared data folder when the checkout has no ../shared.
ROUTING = Path(os.environ.get("COSTROUTE_SHARED_DATA", REPO / ".." / "shared" / "data")) / "routing"
CACHE = Path(
    os.environ.get("COSTROUTE_BENCH_CACHE", Path.home() / ".cache" / "costroute" / "bench")
)
PRICES_ROUTELLM = "GPT-4-1106-preview $10/$30, Mixtral-8x7B $0.60/$0.60 per 1M in/out tokens"
PRICES_LLMROUTER = (
    "llm_candidates.json: gemma-2-9b $0.10, 7-8B models $0.20, 49-70B models $0.90 per 1M "
    "tokens (in = out); 128 output tokens assumed"
)
TEST_FRACTION = 0.2
MMLU_SAMPLE = 5000
SEED = 0


def header(script: str, argv: list[str]) -> None:
    print(f"command: .venv/bin/python bench/knn/{script} {' '.join(argv)}".rstrip())
    print(machine())


def embedder() -> DiskCachedEmbedder:
    """MiniLM (2 torch threads) behind a disk cache shared by all benchmarks."""
    return DiskCachedEmbedder(MiniLMEmbedder(threads=2), CACHE / "minilm.npz")


def routellm(mmlu_sample: int | None = MMLU_SAMPLE) -> RoutingDataset:
    """RouteLLM MMLU (a seeded random sample of `mmlu_sample` rows) + all of GSM8K.

    The sample keeps MiniLM embedding time within reach of a 2-core machine; None = all.
    """
    mmlu = load_routellm_mmlu(ROUTING / "routellm" / "mmlu")
    if mmlu_sample is not None and mmlu_sample < len(mmlu):
        rows = np.sort(np.random.default_rng(SEED).choice(len(mmlu), mmlu_sample, replace=False))
        mmlu = mmlu.subset(rows)
    gsm8k = load_routellm_gsm8k(ROUTING / "routellm" / "gsm8k")
    return concat([mmlu, gsm8k], name="routellm_mmlu+gsm8k")


def routellm_split() -> tuple[RoutingDataset, RoutingDataset]:
    """(train, test) of RouteLLM MMLU+GSM8K: 80/20 by normalised prompt, seed 0."""
    return split(routellm(), TEST_FRACTION, SEED)


def llmrouter_split() -> tuple[RoutingDataset, RoutingDataset]:
    """(train, test) as LLMRouter ships them, train rows duplicated in test dropped."""
    train = load_llmrouter(ROUTING / "llmrouter", "train")
    test = load_llmrouter(ROUTING / "llmrouter", "test")
    return remove_overlap(train, test), test
