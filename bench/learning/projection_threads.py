"""The CSCR projection's training time by torch thread count, and the artifact's quality.

    .venv/bin/python bench/learning/projection_threads.py [--prompts 2000] [--threads 2 1]

RouterBench TRAIN prompts embedded once with MiniLM (ONNX), then `fit_from_vectors` (the
k-NN trainer after embedding: projection, held-out replay in both spaces, index) once per
thread count on the same vectors and split; prints seconds, the load average next to them,
and the held-out AIQ of both spaces, which must not move with the thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.learning.retrain_from_records import DATA
from routers.datasets import load_routerbench
from routers.datasets.text import embedding_text
from routers.embedding import OnnxMiniLMEmbedder
from routers.knn.fit import FitConfig, fit_from_vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ds = load_routerbench(DATA)
    rows = np.sort(np.random.default_rng(args.seed).permutation(len(ds))[: args.prompts])
    ds = ds.subset(rows)
    started = time.perf_counter()
    raw = OnnxMiniLMEmbedder().embed([embedding_text(p) for p in ds.prompts])
    print(f"{len(ds)} prompts embedded in {time.perf_counter() - started:.1f} s "
          f"(load {os.getloadavg()[0]:.2f})", flush=True)
    base = FitConfig(seed=args.seed)
    for threads in args.threads:
        config = replace(base, train=replace(base.train, threads=threads))
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        artifact = fit_from_vectors(ds, raw, config, "all-MiniLM-L6-v2")
        wall = time.perf_counter() - started
        held = artifact.manifest["metrics"]["held_out"]
        print(json.dumps({
            "threads": threads, "fit_s": round(wall, 1),
            "projection_s": artifact.manifest["training"]["seconds"],
            "load_1m_before": round(load_before, 2), "load_1m_after": round(os.getloadavg()[0], 2),
            "held_out_aiq_raw": round(held["raw"]["aiq"], 4),
            "held_out_aiq_cscr": round(held["cscr"]["aiq"], 4),
            "final_loss": artifact.manifest["training"]["final_loss"]}), flush=True)


if __name__ == "__main__":
    main()
