"""Single models, oracle, random mixture and per-task lookup on the hand-made dataset."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from eval.baselines import Oracle, RandomMixture, SingleModel, TaskLookup, oracle_choices
from eval.sweep import Choices, Outcomes, as_outcomes
from tests.eval.tiny import CHEAP, STRONG, tiny_dataset

C, S = 0, 1  # column of each model in the tiny dataset


def choices_of(step: object) -> list[int]:
    assert isinstance(step, Choices)
    return [int(x) for x in step.models]


def test_single_model_sends_everything_to_its_model() -> None:
    (step,) = SingleModel(STRONG).sweep(tiny_dataset())
    assert choices_of(step) == [S, S, S, S]
    with pytest.raises(ValueError, match="not in dataset"):
        SingleModel("nope").sweep(tiny_dataset())


def test_oracle_takes_the_cheapest_correct_model_and_the_cheapest_when_none_is() -> None:
    # p0 both right -> cheap; p1, p2 only strong; p3 only cheap.
    (step,) = Oracle().sweep(tiny_dataset())
    assert choices_of(step) == [C, S, S, C]
    out = as_outcomes(step, tiny_dataset())
    assert out.score.mean() == 1.0 and out.cost.mean() == 5.5  # (1+10+10+1)/4
    # Nobody right -> cheapest; unknown outcomes never win.
    scores = np.array([[0.0, 0.0], [np.nan, 0.0]])
    costs = np.array([[3.0, 2.0], [1.0, 5.0]])
    assert oracle_choices(scores, costs).tolist() == [1, 1]


def test_random_mixture_sends_exactly_the_share_to_strong() -> None:
    steps = RandomMixture(CHEAP, STRONG, fractions=(0.0, 0.5, 1.0), seed=1).sweep(tiny_dataset())
    assert [s.knob for s in steps] == [0.0, 0.5, 1.0]
    assert choices_of(steps[0]) == [C] * 4
    assert sum(choices_of(steps[1])) == 2  # round(0.5 * 4) prompts to strong
    assert choices_of(steps[2]) == [S] * 4


def test_task_lookup_trades_accuracy_for_cost_per_task() -> None:
    # Task a: cheap .5 @1, strong 1.0 @10 -> strong while .5 - λ < 1 - 10λ, i.e. λ < 1/18.
    # Task b: cheap .5 @1, strong .5 @10 -> cheap for every λ >= 0 (tie at 0 goes cheap).
    ds = tiny_dataset()
    steps = TaskLookup(train=ds, lambdas=[0.0, 0.05, 0.1, math.inf]).sweep(ds)
    assert [choices_of(s) for s in steps] == [
        [S, S, C, C],
        [S, S, C, C],
        [C, C, C, C],
        [C, C, C, C],
    ]


def test_task_lookup_falls_back_to_the_pooled_table_for_unseen_tasks() -> None:
    train = tiny_dataset()
    test = tiny_dataset()
    test.eval_names = ["z", "z", "z", "z"]
    # Pooled: cheap .5 @1, strong .75 @10: strong while .5 - λ < .75 - 10λ, i.e. λ < 1/36.
    steps = TaskLookup(train=train, lambdas=[0.0, 0.1]).sweep(test)
    assert [choices_of(s) for s in steps] == [[S] * 4, [C] * 4]


def test_cross_fitted_lookup_never_routes_a_prompt_by_a_table_that_saw_it() -> None:
    # Two tasks, each of 2 prompts, where the model right on one prompt is wrong on the
    # other. With 2 folds each prompt's table comes from the other prompt only.
    ds = tiny_dataset()
    ds.scores = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.float64)
    ds.costs = np.ones((4, 2))
    steps = TaskLookup(lambdas=[0.0], folds=4, seed=0).sweep(ds)
    picked = as_outcomes(steps[0], ds)
    # 4 folds of one prompt: each task table holds only the other prompt of that task,
    # whose right model is wrong here -> every choice scores 0.
    assert picked.score.tolist() == [0, 0, 0, 0]


def test_as_outcomes_rejects_mismatched_steps() -> None:
    ds = tiny_dataset()
    with pytest.raises(ValueError, match="cover 3 prompts"):
        as_outcomes(Choices(None, np.zeros(3, dtype=np.int64)), ds)
    with pytest.raises(ValueError, match="outside"):
        as_outcomes(Choices(None, np.full(4, 2, dtype=np.int64)), ds)
    with pytest.raises(ValueError, match="cover 2 prompts"):
        as_outcomes(Outcomes(None, np.zeros(2), np.zeros(2)), ds)


def test_task_lookup_skips_a_model_never_labelled_on_a_task_without_a_warning() -> None:
    """Captured traffic is sparse: a model with no label on a task is never chosen there, and
    λ = 0 must not turn its -∞ - 0·∞ into NaN (numpy warned on every train and evaluate)."""
    train = tiny_dataset()
    train.scores = train.scores.copy()
    train.scores[2:, 1] = np.nan  # STRONG never labelled on task b
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        steps = TaskLookup(train=train, lambdas=[0.0], folds=1).sweep(tiny_dataset())
    assert choices_of(steps[0])[2:] == [C, C]
