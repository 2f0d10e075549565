"""The routing data shipped inside costroute, which the default k-NN and cascade artifacts
are trained on (scripts/build_default_artifacts.py).

Two files, both derived from RouteLLM (lm-sys/RouteLLM, Apache-2.0; see
routers/data/training/NOTICE):

* `routers/data/training/routellm_mmlu_subset.jsonl.gz`: a seeded sample of MMLU questions
  per domain with RouteLLM's correctness labels of Mixtral-8x7B-Instruct and
  GPT-4-1106-preview (`{"prompt", "eval_name", "scores": {model: 0|1}}` per line).
* the simulator's GSM8K recordings (`gateway/simulator/data/gsm8k_recordings.jsonl.gz`):
  both models' full answers and labels (`{"id", "prompt", "answers", "correct"}`).

Costs are not in the files: they come from the shipped price catalog as
`routers.datasets.routellm` computes them (MMLU: 3 output tokens; GSM8K: the recorded answer).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pricing import PriceCatalog
from routers.datasets.costs import compute_costs
from routers.datasets.format import RoutingDataset, concat
from routers.datasets.routellm import (
    GSM8K_FALLBACK_OUTPUT_TOKENS,
    MMLU_OUTPUT_TOKENS,
    MODELS,
    load_routellm_mmlu,
)

MMLU_SUBSET = "data/training/routellm_mmlu_subset.jsonl.gz"
DEFAULT_PER_DOMAIN = 40


def mmlu_subset_path() -> Path:
    """Where the shipped MMLU subset lives inside the installed `routers` package."""
    return Path(str(resources.files("routers").joinpath(MMLU_SUBSET)))


def build_mmlu_subset(
    mmlu_dir: Path, out: Path, per_domain: int = DEFAULT_PER_DOMAIN, seed: int = 0
) -> int:
    """Write `per_domain` questions of each MMLU domain (a seeded draw, never chosen by their
    labels) to `out`; returns how many rows were written. The bytes are reproducible."""
    ds = load_routellm_mmlu(mmlu_dir)
    rng = np.random.default_rng(seed)
    tasks = np.asarray(ds.eval_names)
    rows: list[int] = []
    for task in sorted(set(ds.eval_names)):
        members = np.flatnonzero(tasks == task)
        rows.extend(sorted(rng.permutation(members)[:per_domain].tolist()))
    lines = []
    for i in rows:
        scores = {m: float(ds.scores[i, j]) for j, m in enumerate(ds.models)}
        lines.append(json.dumps({"prompt": ds.prompts[i], "eval_name": ds.eval_names[i],
                                 "scores": scores}, sort_keys=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), 9, mtime=0))
    return len(rows)


def load_mmlu_subset(path: Path | None = None, catalog: PriceCatalog | None = None) -> RoutingDataset:
    """The shipped MMLU subset (eval_name = `mmlu_<domain>`), costs from the catalog."""
    rows = _read_jsonl_gz(path or mmlu_subset_path())
    scores = np.array([[float(r["scores"][m]) for m in MODELS] for r in rows])
    prompts = [str(r["prompt"]) for r in rows]
    costs = compute_costs(prompts, MODELS, catalog or PriceCatalog.shipped(), MMLU_OUTPUT_TOKENS)
    return RoutingDataset(prompts, [f"mmlu_{r['eval_name']}" for r in rows], list(MODELS),
                          scores, costs, name="routellm_mmlu_subset")


def load_gsm8k_recordings(path: Path, catalog: PriceCatalog | None = None) -> RoutingDataset:
    """The simulator's GSM8K recordings as routing data, with both models' answers."""
    rows = _read_jsonl_gz(path)
    prompts = [str(r["prompt"]) for r in rows]
    responses: dict[str, list[str | None]] = {
        m: [_answer(r, m) for r in rows] for m in MODELS
    }
    scores = np.array([[1.0 if r["correct"][m] else 0.0 for m in MODELS] for r in rows])
    costs = compute_costs(prompts, MODELS, catalog or PriceCatalog.shipped(),
                          GSM8K_FALLBACK_OUTPUT_TOKENS, responses)
    return RoutingDataset(prompts, ["gsm8k"] * len(rows), list(MODELS), scores, costs,
                          responses, name="routellm_gsm8k_recordings")


def load_shipped(gsm8k_recordings: Path, mmlu_subset: Path | None = None) -> RoutingDataset:
    """MMLU subset + GSM8K recordings: what the default k-NN artifact is trained on."""
    return concat([load_mmlu_subset(mmlu_subset), load_gsm8k_recordings(gsm8k_recordings)],
                  name="costroute_shipped")


def file_sha256(paths: Iterable[Path]) -> Mapping[str, str]:
    """sha256 of each file's bytes, by file name (recorded in the manifests)."""
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _answer(row: Mapping[str, Any], model: str) -> str | None:
    answer = row.get("answers", {}).get(model)
    return str(answer) if answer else None


def _read_jsonl_gz(path: Path) -> list[dict[str, Any]]:
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]
