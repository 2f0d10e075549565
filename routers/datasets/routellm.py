"""RouteLLM's MMLU and GSM8K outcome files (lm-sys/RouteLLM, Apache-2.0) as RoutingDatasets.

Both record, per prompt, whether Mixtral-8x7B-Instruct and GPT-4-1106-preview answered
correctly. Prompts listed in `contaminated_prompts.jsonl` (`eval_prompt`) are dropped, as
RouteLLM's own evaluation does.

Costs are not in the files. They come from the shipped price catalog (GPT-4-1106-preview
$10 / $30 per 1M input/output tokens, Mixtral-8x7B-Instruct $0.60 / $0.60) with prompt
tokens counted by each model's tokenizer. Output tokens:

* GSM8K: counted on each model's recorded response.
* MMLU: no responses are recorded. RouteLLM scored MMLU on the answer letter, so we assume
  `MMLU_OUTPUT_TOKENS` = 3 (letter plus end-of-turn framing).

The MMLU prompts in these files are the bare question (0-shot text ending in "Answer:"),
so prompt tokens are counted on that text, not on a 5-shot prompt.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from pricing import PriceCatalog
from routers.datasets.costs import compute_costs
from routers.datasets.format import RoutingDataset, concat

MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
GPT4 = "gpt-4-1106-preview"
MODELS = (MIXTRAL, GPT4)
MMLU_OUTPUT_TOKENS = 3
GSM8K_FALLBACK_OUTPUT_TOKENS = 150


def load_routellm_mmlu(
    directory: str | Path, catalog: PriceCatalog | None = None
) -> RoutingDataset:
    """RouteLLM MMLU (57 domain files) without contaminated prompts; eval_name = domain."""
    directory = Path(directory)
    files = sorted(directory.glob("mmlu_*.csv"))
    if not files:
        raise FileNotFoundError(f"{directory}: no mmlu_*.csv files")
    contaminated = _contaminated(directory)
    parts = []
    for path in files:
        rows = [r for r in _read_csv(path) if r["prompt"] not in contaminated]
        domain = path.stem.removeprefix("mmlu_")
        parts.append(_dataset(rows, [domain] * len(rows), f"mmlu_{domain}", {}))
    ds = concat(parts, name="routellm_mmlu")
    ds.costs = compute_costs(
        ds.prompts, ds.models, catalog or PriceCatalog.shipped(), MMLU_OUTPUT_TOKENS
    )
    return ds


def load_routellm_gsm8k(
    directory: str | Path, catalog: PriceCatalog | None = None
) -> RoutingDataset:
    """RouteLLM GSM8K with both models' responses, without contaminated prompts."""
    directory = Path(directory)
    contaminated = _contaminated(directory)
    rows = [
        r for r in _read_csv(directory / "gsm8k_responses.csv")
        if r["prompt"] not in contaminated
    ]
    responses = {m: [r.get(f"{m}_response") or None for r in rows] for m in MODELS}
    ds = _dataset(rows, ["gsm8k"] * len(rows), "routellm_gsm8k", responses)
    ds.costs = compute_costs(
        ds.prompts, ds.models, catalog or PriceCatalog.shipped(),
        GSM8K_FALLBACK_OUTPUT_TOKENS, responses,
    )
    return ds


def _dataset(
    rows: list[dict[str, str]],
    eval_names: list[str],
    name: str,
    responses: dict[str, list[str | None]],
) -> RoutingDataset:
    scores = np.array(
        [[1.0 if r[m].strip() == "True" else 0.0 for m in MODELS] for r in rows]
    ).reshape(len(rows), len(MODELS))
    return RoutingDataset(
        prompts=[r["prompt"] for r in rows],
        eval_names=eval_names,
        models=list(MODELS),
        scores=scores,
        costs=np.full_like(scores, np.nan),
        responses=responses,
        name=name,
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _contaminated(directory: Path) -> set[str]:
    path = directory / "contaminated_prompts.jsonl"
    if not path.exists():
        return set()
    with path.open(encoding="utf-8") as fh:
        return {json.loads(line)["eval_prompt"] for line in fh if line.strip()}
