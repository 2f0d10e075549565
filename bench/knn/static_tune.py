"""Tune the static encoder on the routing datasets' TRAIN prompts; choose it on VALIDATION.

The static table (model2vec, distilled from MiniLM without PCA: 384 dims) is fitted to
MiniLM's sentence vectors of TRAIN prompts (routers.static_tune). TEST prompts are never
seen: the datasets and their TRAIN/TEST splits are exactly static_vs_minilm.py's.

    --validate  carve VALIDATION (20%, seed 1) out of each dataset's TRAIN; tune on the rest
                of the TRAIN prompts of all datasets together, once per setting; fit a
                raw-space k-NN router on each dataset's TRAIN-minus-VALIDATION with MiniLM,
                the untuned table(s) and each tuned table; print routing AIQ on VALIDATION.
    --final     tune on all TRAIN prompts with the chosen setting; write the model to --out
                (then static_vs_minilm.py with COSTROUTE_STATIC_MODEL=--out compares on TEST).

Run:  .venv/bin/python bench/knn/static_tune.py --base DIR384 --validate [--extra DIR256]
      .venv/bin/python bench/knn/static_tune.py --base DIR384 --final --out DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import SEED, TEST_FRACTION, embedder, header
from static_vs_minilm import RESULTS, datasets, fit_routers

from eval.config import EvalConfig
from eval.replay import replay, standard_candidates
from eval.scoring import evaluate
from routers.datasets import RoutingDataset, split
from routers.datasets.text import embedding_text
from routers.embedding import Embedder
from routers.static_embedding import STATIC_NAME, StaticEmbedder
from routers.static_tune import TuneConfig, tune_model

TUNED_DATASETS = ["routerbench", "llmrouter", "routellm"]
GRID = [
    TuneConfig(epochs=0),  # the least-squares linear map alone, no row moves (chosen)
    TuneConfig(epochs=3, lr=0.003, decay=0.01),
    TuneConfig(epochs=3, lr=0.01, decay=0.01),
]


def corpus(trains: list[RoutingDataset]) -> tuple[list[str], np.ndarray]:
    """Unique embedding texts of `trains` and MiniLM's (disk-cached) vectors for them."""
    texts = list(dict.fromkeys(embedding_text(p) for ds in trains for p in ds.prompts))
    return texts, embedder().embed(texts)


def tune(base: Path, trains: list[RoutingDataset], config: TuneConfig, out: Path) -> Path:
    texts, vectors = corpus(trains)
    started = time.perf_counter()

    def show(epoch: int, epochs: int, loss: float) -> None:
        print(f"    epoch {epoch}/{epochs}: cosine distance {loss:.4f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)

    print(f"  tuning {config} on {len(texts)} TRAIN texts", flush=True)
    return tune_model(base, texts, vectors, out, config, show)


def val_aiq(train: RoutingDataset, val: RoutingDataset, encoders: dict[str, Embedder]) -> dict[str, float]:
    routers, _ = fit_routers(train, encoders)
    curves = replay(val, standard_candidates(val, train) + routers)
    pooled = evaluate(val, curves, EvalConfig(bootstrap_resamples=10)).pooled
    aiq = {c.name: c.aiq for c in pooled.candidates}
    return {label: round(aiq[f"knn-{label}"], 4) for label in encoders}


def validate(args: argparse.Namespace) -> None:
    splits = {}
    for name, train, _test in datasets(args):
        fit, val = split(train, TEST_FRACTION, SEED + 1)
        splits[name] = (fit, val)
    encoders: dict[str, Embedder] = {"minilm": embedder(), "base": StaticEmbedder(args.base)}
    for extra in args.extra:
        encoders[StaticEmbedder(extra).name.removeprefix(f"{STATIC_NAME}-")] = StaticEmbedder(extra)
    for i, config in enumerate(GRID):
        out = args.work / f"tuned{i}"
        if not (out / "model.safetensors").is_file():
            tune(args.base, [fit for fit, _ in splits.values()], config, out)
        encoders[f"t{i}"] = StaticEmbedder(out)
    report: dict[str, dict[str, float]] = {}
    for name, (fit, val) in splits.items():
        print(f"\n=== {name}: fit {len(fit)} / validation {len(val)} (both from TRAIN)", flush=True)
        report[name] = val_aiq(fit, val, encoders)
        print("  VALIDATION AIQ: " + ", ".join(f"{k} {v:.4f}" for k, v in report[name].items()))
    print("\nstatic - minilm on VALIDATION, per dataset and mean:")
    for label in encoders:
        if label == "minilm":
            continue
        gaps = [report[n][label] - report[n]["minilm"] for n in report]
        print(f"  {label:10s} " + "  ".join(f"{n} {g:+.4f}" for n, g in zip(report, gaps))
              + f"  mean {np.mean(gaps):+.4f}  worst {min(gaps):+.4f}")
    print("settings: " + "; ".join(f"t{i}={c}" for i, c in enumerate(GRID)))
    (RESULTS / "static_tune_validation.json").write_text(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="more static models")
    parser.add_argument("--work", type=Path, default=Path("/tmp/costroute-static-tune"))
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--final", action="store_true")
    parser.add_argument("--setting", type=int, default=0, help="index into GRID for --final")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--mmlu-sample", type=int, default=2000)
    parser.add_argument("--llmrouter-train", type=int, default=2500)
    args = parser.parse_args()
    args.dataset = TUNED_DATASETS
    header("static_tune.py", ["--validate" if args.validate else f"--final --setting {args.setting}"])
    if args.validate:
        validate(args)
    if args.final:
        trains = [train for _, train, _ in datasets(args)]
        tune(args.base, trains, GRID[args.setting], args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
