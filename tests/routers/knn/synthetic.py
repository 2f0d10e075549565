"""A small synthetic routing dataset whose right answer a router can learn.

"Arithmetic" prompts are answered by the cheap model and the expensive one; "proof" prompts
only by the expensive one. A third, mid-priced model is right on neither, so a good router
never needs it.
"""

from __future__ import annotations

import numpy as np

from routers.datasets import RoutingDataset

CHEAP, MID, BIG = "cheap-model", "mid-model", "big-model"
EASY_WORDS = ["add", "sum", "plus", "numbers", "total", "count", "apples", "simple"]
HARD_WORDS = ["prove", "theorem", "lemma", "manifold", "rigorous", "topology", "proof", "axiom"]


def prompt(words: list[str], rng: np.random.Generator, n: int = 6) -> str:
    picked = rng.choice(words, size=n, replace=True)
    return " ".join(str(w) for w in picked) + f" item {int(rng.integers(1_000_000))}"


def synthetic(n: int = 400, seed: int = 0) -> RoutingDataset:
    """`n` prompts, half easy and half hard, with costs cheap 1e-5, mid 1e-4, big 1e-3."""
    rng = np.random.default_rng(seed)
    prompts, tasks, scores = [], [], []
    for i in range(n):
        hard = i % 2 == 1
        prompts.append(prompt(HARD_WORDS if hard else EASY_WORDS, rng))
        tasks.append("proofs" if hard else "arithmetic")
        scores.append([0.0, 0.0, 1.0] if hard else [1.0, 0.0, 1.0])
    costs = np.tile([1e-5, 1e-4, 1e-3], (n, 1))
    return RoutingDataset(
        prompts=prompts,
        eval_names=tasks,
        models=[CHEAP, MID, BIG],
        scores=np.array(scores),
        costs=costs,
        name="synthetic",
    )
