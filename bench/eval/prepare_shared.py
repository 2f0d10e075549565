"""Writes the training files and the MT-Bench file that bench/eval/replay_shared.sh replays.

    .venv/bin/python bench/eval/prepare_shared.py WORK_DIR [--shared-data ../shared/data]

Into WORK_DIR, in RouterBench's wide format (costs recorded, so every tool prices alike):

- `routellm_train.csv`: the TRAIN parts of `routellm-mmlu:test` and `routellm-gsm8k:test`
  (the same 80/20 split by normalised prompt, seed 0, that `costroute eval` holds out), for
  the k-NN router. Disjoint from both test parts.
- `routellm_gsm8k_train.csv`: the TRAIN part of GSM8K alone, with both models' answers,
  for the cascade (the only RouteLLM file that records answers).
- `llmrouter_train.csv`: `dcrouter_train.json` without the prompts also in the test file.
- `mt_bench_turn1.csv`: MT-Bench's 80 first-turn questions, scored by RouteLLM's GPT-4 judge
  (1-10, divided by 10), with the answers the judge saw and catalog-priced costs.
- `minilm.npz`: an embedding cache seeded from the other benchmarks' caches (never written
  back to theirs), so the MiniLM work of earlier runs is reused.

Nothing here is fitted: the files only fix which rows each trainer may see.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from eval.builtin_data import load_builtin
from pricing import PriceCatalog
from routers.datasets import RoutingDataset, concat, save_routerbench
from routers.datasets.costs import compute_costs
from routers.datasets.routellm import GPT4, MIXTRAL

ANSWER_START = "[The Start of Assistant's Answer]\n"
ANSWER_END = "\n[The End of Assistant's Answer]"
MT_BENCH_FALLBACK_OUTPUT_TOKENS = 300
BENCH_CACHE = Path(
    os.environ.get("COSTROUTE_BENCH_CACHE", Path.home() / ".cache" / "costroute" / "bench")
)
SEED_CACHES = ("minilm.npz", "cascade_minilm.npz")


def train_part(name: str, shared: Path, catalog: PriceCatalog) -> RoutingDataset:
    """The training data `costroute eval` pairs with the built-in test set `name`."""
    _, train, _, _ = load_builtin(name, shared, catalog)
    if train is None:
        raise SystemExit(f"{name}: the built-in set has no training part")
    return train


def mt_bench(folder: Path, catalog: PriceCatalog) -> RoutingDataset:
    """MT-Bench turn 1: prompt, category, judge score / 10 and the judged answer per model."""
    questions = [json.loads(line) for line in (folder / "question.jsonl").open()]
    judged: dict[tuple[int, str], tuple[float, str]] = {}
    for line in (folder / "judgements.jsonl").open():
        record = json.loads(line)
        if record["turn"] == 1:
            judged[(record["question_id"], record["model"])] = (
                float(record["score"]) / 10.0,
                _judged_answer(record["user_prompt"]),
            )
    models = [MIXTRAL, GPT4]
    prompts = [q["turns"][0] for q in questions]
    scores = np.array([[judged[(q["question_id"], m)][0] for m in models] for q in questions])
    responses: dict[str, list[str | None]] = {
        m: [judged[(q["question_id"], m)][1] for q in questions] for m in models
    }
    costs = compute_costs(prompts, models, catalog, MT_BENCH_FALLBACK_OUTPUT_TOKENS, responses)
    return RoutingDataset(
        prompts=prompts,
        eval_names=[q["category"] for q in questions],
        models=models,
        scores=scores,
        costs=costs,
        responses=responses,
        name="mt_bench_turn1",
    )


def _judged_answer(judge_prompt: str) -> str:
    start = judge_prompt.index(ANSWER_START) + len(ANSWER_START)
    return judge_prompt[start : judge_prompt.index(ANSWER_END, start)]


def seed_cache(target: Path) -> None:
    """Start `target` from the vectors the other benchmarks already computed."""
    if target.exists():
        return
    keys: list[str] = []
    vectors: list[np.ndarray] = []
    name = None
    for source in (BENCH_CACHE / f for f in SEED_CACHES):
        if source.is_file():
            with np.load(source) as data:
                if name not in (None, str(data["embedder"])):
                    continue
                name = str(data["embedder"])
                keys += [str(k) for k in data["keys"]]
                vectors.append(data["vectors"].astype(np.float32))
    if name is None:
        return
    unique = dict(zip(keys, range(len(keys))))  # later duplicates win; the vectors agree
    stacked = np.concatenate(vectors)[list(unique.values())]
    np.savez(target, keys=np.array(list(unique), dtype=str), vectors=stacked, embedder=name)
    print(f"seeded {target} with {len(unique)} cached embeddings")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--shared-data", type=Path, default=ROOT / ".." / "shared" / "data")
    args = parser.parse_args(argv)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    catalog = PriceCatalog.shipped()
    shared: Path = args.shared_data
    gsm8k = train_part("routellm-gsm8k:test", shared, catalog)
    mmlu = train_part("routellm-mmlu:test", shared, catalog)
    outputs = {
        "routellm_train.csv": concat([mmlu, gsm8k], name="routellm_train"),
        "routellm_gsm8k_train.csv": gsm8k,
        "llmrouter_train.csv": train_part("llmrouter", shared, catalog),
        "mt_bench_turn1.csv": mt_bench(shared / "routing" / "routellm" / "mt_bench", catalog),
    }
    for file, ds in outputs.items():
        save_routerbench(ds, work / file)
        print(f"wrote {work / file}: {len(ds)} prompts x {len(ds.models)} models")
    seed_cache(work / "minilm.npz")


if __name__ == "__main__":
    main(sys.argv[1:])
