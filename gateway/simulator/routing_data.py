"""The simulator answering as the models of a routing dataset (RouterBench, LLMRouter).

From a RoutingDataset this writes what `costroute simulate --models M --recordings R` needs:
recordings (every prompt with each model's recorded answer, or a synthetic answer where the
dataset has no text, and each model's recorded score) and a models file pricing each model
so that its simulated bill matches its recorded mean cost per token. The simulated judge
(`costroute-simulated-judge`) is added, so a benchmark can grade answers by their recorded
outcomes. Build them with

    python -m gateway.simulator.routing_data ../shared/data/routing/routerbench OUT_DIR
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.simulator.recordings import Recording, write_jsonl_gz
from gateway.simulator.synthetic import synthetic_answer
from pricing import TokenizerRegistry
from routers.datasets.format import RoutingDataset

TOKENIZER = "heuristic"
JUDGE_PRICE = {"input_per_mtok": 0.15, "output_per_mtok": 0.60}
LATENCY = {"ttft_s": 0.3, "tokens_per_s": 100, "jitter": 0.1}


def answer_text(ds: RoutingDataset, model: str, row: int, seed: int = 0) -> str:
    """The recorded answer, or a synthetic one tagged with the model (LLMRouter has none)."""
    recorded = ds.responses.get(model, [None] * len(ds))[row]
    if recorded:
        return recorded
    return synthetic_answer(model, ds.prompts[row], seed, (20, 60))


def recordings(ds: RoutingDataset, seed: int = 0) -> list[Recording]:
    out = []
    for i, prompt in enumerate(ds.prompts):
        known = [(m, float(ds.scores[i, j])) for j, m in enumerate(ds.models)
                 if not math.isnan(ds.scores[i, j])]
        out.append(Recording(
            id=f"{ds.name}-{i:05d}", prompt=prompt,
            answers={m: answer_text(ds, m, i, seed) for m, _ in known},
            correct={m: s >= 0.5 for m, s in known},
            scores=dict(known)))
    return out


def prices(ds: RoutingDataset, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Per model, one USD/Mtok price (in = out) making its tokens cost its recorded mean."""
    tokenizer = TokenizerRegistry().get(TOKENIZER)
    out: dict[str, dict[str, Any]] = {}
    prompt_tokens = np.array([tokenizer.count(p) for p in ds.prompts], dtype=np.float64)
    for j, model in enumerate(ds.models):
        rows = [i for i in range(len(ds)) if not math.isnan(ds.costs[i, j])]
        tokens = sum(prompt_tokens[i] + tokenizer.count(answer_text(ds, model, i, seed))
                     for i in rows)
        usd = float(np.nansum(ds.costs[rows, j])) if rows else 0.0
        per_mtok = float(1e6 * usd / tokens) if tokens else 0.0
        out[model] = {"input_per_mtok": round(per_mtok, 6), "output_per_mtok": round(per_mtok, 6),
                      "context_window": 1_000_000, "max_output_tokens": 4096,
                      "tokenizer": TOKENIZER}
    return out


def models_file(model_prices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    models: dict[str, Any] = {
        m: {"latency": LATENCY, "replays": m, "price": p} for m, p in model_prices.items()}
    models[SIMULATED_JUDGE] = {
        "latency": LATENCY,
        "price": {**JUDGE_PRICE, "context_window": 1_000_000, "max_output_tokens": 4096,
                  "tokenizer": TOKENIZER}}
    return {"models": models}


def write_simulation(ds: RoutingDataset, out: Path, seed: int = 0) -> tuple[Path, Path, dict[str, Any]]:
    """(models.yaml, recordings.jsonl.gz, prices by model incl. the judge) under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    model_prices = prices(ds, seed)
    spec = models_file(model_prices)
    models_path = out / "models.yaml"
    models_path.write_text(yaml.safe_dump(spec, sort_keys=False), "utf-8")
    recordings_path = out / "recordings.jsonl.gz"
    write_jsonl_gz(recordings(ds, seed), recordings_path)
    return models_path, recordings_path, {m: e["price"] for m, e in spec["models"].items()}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m gateway.simulator.routing_data DATASET_PATH OUT_DIR")
        return 2
    from routers.datasets import load_llmrouter, load_routerbench

    # LLMRouter's directory holds dcrouter_{train,test}.json; anything else is RouterBench.
    source = Path(argv[0])
    ds = (load_llmrouter(source, "train") if (source / "dcrouter_train.json").is_file()
          else load_routerbench(source))
    models_path, recordings_path, _ = write_simulation(ds, Path(argv[1]))
    print(f"wrote {models_path} and {recordings_path} ({len(ds)} prompts x {len(ds.models)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
