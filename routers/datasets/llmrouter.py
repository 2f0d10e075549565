"""LLMRouter's dcrouter files (ulab-uiuc/LLMRouter, MIT) as RoutingDatasets.

`dcrouter_{train,test}.json` hold `{"question", "scores": {model: 0|1}}` for 9 open models
(`llm_candidates.json` prices 14; only the scored ones are kept).
Costs are not recorded. Prices come from `llm_candidates.json` (`input_price` /
`output_price`, USD per 1M tokens: gemma-2-9b-it $0.10, the 7-8B models $0.20, the 49-70B
models $0.90, input and output alike). No tokenizer of these models ships offline, so
prompt tokens use the byte heuristic (4 UTF-8 bytes per token, flagged estimated), and no
responses are recorded, so every answer is assumed `OUTPUT_TOKENS` = 128 tokens long.

The files carry no task label; `eval_name` is inferred from the question text by the rules
in `routers.datasets.tasks.infer_task`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pricing import PriceCatalog
from routers.datasets.costs import compute_costs
from routers.datasets.format import RoutingDataset
from routers.datasets.tasks import infer_task

OUTPUT_TOKENS = 128


def llmrouter_catalog(directory: str | Path) -> PriceCatalog:
    """The 9 candidates' prices from `llm_candidates.json`, with the heuristic tokenizer."""
    raw = _read_json(Path(directory) / "llm_candidates.json")
    return PriceCatalog.from_mapping(
        {
            name: {
                "input_per_mtok": float(entry["input_price"]),
                "output_per_mtok": float(entry["output_price"]),
                "tokenizer": "heuristic",
                "provider": str(entry.get("service", "unknown")),
            }
            for name, entry in raw.items()
        },
        source="llm_candidates.json",
    )


def load_llmrouter(
    directory: str | Path, split: Literal["train", "test"] = "train"
) -> RoutingDataset:
    """One split of LLMRouter's dcrouter data; costs from llm_candidates.json prices."""
    directory = Path(directory)
    catalog = llmrouter_catalog(directory)
    records = _read_json(directory / f"dcrouter_{split}.json")
    if not isinstance(records, list) or not records:
        raise ValueError(f"{directory}/dcrouter_{split}.json: expected a non-empty list")
    # llm_candidates.json lists 14 models; keep those the outcome file scores, in its order.
    scored = {m for rec in records for m in rec.get("scores", {})}
    models = [m for m in catalog if m in scored]
    scores = np.full((len(records), len(models)), np.nan)
    for i, rec in enumerate(records):
        for j, model in enumerate(models):
            value = rec.get("scores", {}).get(model)
            if value is not None:
                scores[i, j] = float(value)
    prompts = [str(rec["question"]) for rec in records]
    return RoutingDataset(
        prompts=prompts,
        eval_names=[str(rec.get("task") or infer_task(q)) for rec, q in zip(records, prompts)],
        models=models,
        scores=scores,
        costs=compute_costs(prompts, models, catalog, OUTPUT_TOKENS),
        name=f"llmrouter_{split}",
    )


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)
