"""Synthetic routing data with answers whose correctness shows in the text (for tests).

Each prompt asks for a sum or a product. A wrong answer usually states a false equation
(which the scorer's equation check can see) and sometimes just a wrong number, so a good
scorer separates right from wrong answers well, but not perfectly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from routers.datasets.format import RoutingDataset

MODELS = ("small", "medium", "large")
ACCURACY = {"small": 0.55, "medium": 0.7, "large": 0.88}
COST = {"small": 0.0001, "medium": 0.0006, "large": 0.003}


def _answer(rng: np.random.Generator, a: int, b: int, op: str, correct: bool) -> str:
    true = a + b if op == "+" else a * b
    if correct:
        return f"We compute {a} {op} {b} = {true}.\n#### {true}"
    wrong = true + int(rng.integers(1, 9))
    if rng.random() < 0.75:
        return f"We compute {a} {op} {b} = {wrong}.\n#### {wrong}"
    return f"I am not sure, perhaps it is about {wrong}"


def arithmetic_dataset(
    n: int = 300, seed: int = 0, models: Sequence[str] = MODELS
) -> RoutingDataset:
    """`n` prompts (tasks `add` and `mul`) answered by `models` with responses and costs."""
    rng = np.random.default_rng(seed)
    prompts: list[str] = []
    tasks: list[str] = []
    scores = np.zeros((n, len(models)))
    costs = np.zeros((n, len(models)))
    responses: dict[str, list[str | None]] = {m: [] for m in models}
    for i in range(n):
        a, b = int(rng.integers(2, 99)), int(rng.integers(2, 99))
        op = "+" if i % 2 == 0 else "*"
        tasks.append("add" if op == "+" else "mul")
        prompts.append(f"Question {i}: what is {a} {op} {b}? Answer with a number.")
        for j, model in enumerate(models):
            accuracy = ACCURACY.get(model, 0.7) - (0.1 if op == "*" else 0.0)
            correct = bool(rng.random() < accuracy)
            scores[i, j] = 1.0 if correct else 0.0
            costs[i, j] = COST.get(model, 0.001) * float(rng.uniform(0.8, 1.2))
            responses[model].append(_answer(rng, a, b, op, correct))
    return RoutingDataset(prompts, tasks, list(models), scores, costs, responses, "arithmetic")
