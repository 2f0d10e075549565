"""The "start from the shipped default" rows that the learned table is appended to.

RouterBench: the shipped k-NN artifact (routers/data/default_knn: RouteLLM MMLU subset +
GSM8K, raw MiniLM space) knows Mixtral-8x7B and GPT-4-1106, both RouterBench models under
other spellings; its reference rows, vectors, scores and costs are mapped onto those two
columns, NaN (unknown) for the other nine models. This is what a serving k-NN started from the
default holds before traffic, plus what the loop labels.

LLMRouter: its 9 open models share none with the shipped artifact, so a default-style seed is
cut from the train split instead: its last `rows` prompts, labelled (true outcomes) only for
the cheapest and the best single model, as the shipped default is for a cheap and a strong
model. The traffic is capped before those rows, so they are never labelled twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from routers.datasets.format import RoutingDataset
from routers.knn.artifact import load_artifact

DEFAULT = Path(__file__).resolve().parents[2] / "routers" / "data" / "default_knn"
# The shipped artifact's model -> RouterBench's spelling of the same model.
ROUTERBENCH_NAMES = {"mistralai/Mixtral-8x7B-Instruct-v0.1": "mistralai/mixtral-8x7b-chat",
                     "gpt-4-1106-preview": "gpt-4-1106-preview"}

Seed = tuple[RoutingDataset, np.ndarray]


def default_seed(models: list[str]) -> Seed:
    artifact = load_artifact(DEFAULT)
    raw = np.asarray(artifact.raw, np.float32)
    n = raw.shape[0]
    scores = np.full((n, len(models)), np.nan)
    costs = np.full_like(scores, np.nan)
    for j, name in enumerate(artifact.models):
        target = ROUTERBENCH_NAMES.get(name)
        if target in models:
            scores[:, models.index(target)] = artifact.scores[:, j]
            costs[:, models.index(target)] = artifact.costs[:, j]
    table = RoutingDataset([f"default:{i}" for i in range(n)], ["default"] * n, list(models),
                           scores, costs, name="default_knn")
    return table, raw


def llmrouter_seed(pool: RoutingDataset, raw_pool: np.ndarray, rows: int = 500) -> Seed:
    keep = np.arange(len(pool) - rows, len(pool))
    quality = np.nanmean(pool.scores, axis=0)
    cost = np.nanmean(pool.costs, axis=0)
    cols = {int(np.argmin(cost)), int(np.argmax(quality))}
    seed = pool.subset(keep)
    mask = np.full(seed.scores.shape, np.nan)
    mask[:, sorted(cols)] = 1.0
    table = RoutingDataset([f"seed:{p}" for p in seed.prompts], list(seed.eval_names),
                           list(seed.models), seed.scores * mask, seed.costs * mask,
                           name="default_style_seed")
    return table, raw_pool[keep]


def with_seed(seed: Seed, table: RoutingDataset, raw: np.ndarray) -> Seed:
    """The seed's rows followed by `table`'s (same model columns)."""
    base, base_raw = seed
    if base.models != table.models:
        raise ValueError("seed and table must have the same model columns")
    merged = RoutingDataset(base.prompts + table.prompts, base.eval_names + table.eval_names,
                            list(table.models), np.vstack([base.scores, table.scores]),
                            np.vstack([base.costs, table.costs]), name="seeded")
    return merged, np.vstack([base_raw, raw]).astype(np.float32)
