"""Metrics recomputed on tiny datasets whose values are worked out by hand in each test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.metrics import (
    HUMAN,
    NOBODY,
    cost_of_pass,
    counterfactual_frontiers,
    format_usd,
    frontier_cost_of_pass,
    interval,
    mean_known,
    per_problem_cost_of_pass,
    resample_means,
    summarize,
    summarize_columns,
)

nan, inf = math.nan, math.inf


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_accuracy_cost_and_cost_of_pass_of_four_prompts() -> None:
    # 3 of 4 right -> R = 0.75; C = (0.1+0.2+0.3+0.4)/4 = 0.25; v = 0.25/0.75 = 1/3.
    s = summarize(arr(1, 0, 1, 1), arr(0.1, 0.2, 0.3, 0.4), n_resamples=50)
    assert s.accuracy == pytest.approx(0.75)
    assert s.mean_cost_usd == pytest.approx(0.25)
    assert s.cost_of_pass_usd == pytest.approx(1 / 3)
    assert (s.n, s.n_known) == (4, 4)


def test_unknown_outcomes_are_left_out_of_both_means() -> None:
    # Row 2 is unknown: R = (1+0)/2 = 0.5 and C = (0.2+0.4)/2 = 0.3 (its 0.5 is not counted).
    s = summarize(arr(1, nan, 0), arr(0.2, 0.5, 0.4), n_resamples=50)
    assert s.accuracy == pytest.approx(0.5)
    assert s.mean_cost_usd == pytest.approx(0.3)
    assert s.cost_of_pass_usd == pytest.approx(0.6)
    assert (s.n, s.n_known) == (3, 2)


def test_cost_of_pass_is_infinite_when_nothing_passes_and_renders_as_infinity() -> None:
    assert cost_of_pass(0.2, 0.0) == inf
    assert format_usd(cost_of_pass(0.2, 0.0)) == "∞"
    assert math.isnan(cost_of_pass(nan, 0.5))
    assert format_usd(nan) == "n/a"
    assert format_usd(1.5) == "$1.5000"
    assert format_usd(0.00012) == "$1.200e-04"
    s = summarize(arr(0, 0), arr(1.0, 3.0), n_resamples=20)
    assert s.cost_of_pass_usd == inf


def test_mean_known_of_all_unknown_is_nan() -> None:
    assert math.isnan(mean_known(arr(nan, nan)))
    assert mean_known(arr(2, nan, 4)) == 3


def test_bootstrap_interval_of_a_constant_is_that_constant() -> None:
    s = summarize(arr(1, 1, 1), arr(0.5, 0.5, 0.5), n_resamples=200)
    assert (s.accuracy_ci.low, s.accuracy_ci.high) == (1.0, 1.0)
    assert (s.mean_cost_ci.low, s.mean_cost_ci.high) == (0.5, 0.5)
    assert (s.cost_of_pass_ci.low, s.cost_of_pass_ci.high) == (0.5, 0.5)


def test_bootstrap_of_two_prompts_reaches_both_extremes_and_infinity() -> None:
    # Resampling [0, 1] gives mean 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4, so the 95%
    # interval is [0, 1]; with both costs 1, v is ∞, 2 or 1 -> interval [1, ∞].
    s = summarize(arr(0, 1), arr(1, 1), n_resamples=2000, seed=3)
    assert (s.accuracy_ci.low, s.accuracy_ci.high) == (0.0, 1.0)
    assert s.cost_of_pass_ci.low == 1.0
    assert s.cost_of_pass_ci.high == inf


def test_resampled_means_are_centred_on_the_sample_mean_and_reproducible() -> None:
    values = arr(0, 0, 1, 1)[:, None]
    a = resample_means(values, n_resamples=2000, seed=7)
    b = resample_means(values, n_resamples=2000, seed=7)
    assert np.array_equal(a, b)
    assert a.shape == (2000, 1)
    # Each resample mean has sd 0.25; the mean of 2000 of them is within 0.03 of 0.5.
    assert abs(a.mean() - 0.5) < 0.03
    assert set(np.unique(a)) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_interval_ignores_nan_samples() -> None:
    ci = interval(arr(nan, 1, 2, 3, 4, nan), confidence=0.5)
    assert (ci.low, ci.high) == (1.0, 3.0)  # 25% and 75% inverted-CDF of [1, 2, 3, 4]
    assert math.isnan(interval(arr(nan)).low)


def test_summarize_columns_gives_one_summary_per_candidate() -> None:
    scores = np.array([[1, 0], [1, 1]], dtype=np.float64)
    costs = np.array([[1, 4], [3, 4]], dtype=np.float64)
    a, b = summarize_columns(scores, costs, n_resamples=20)
    assert (a.accuracy, a.mean_cost_usd, a.cost_of_pass_usd) == (1.0, 2.0, 2.0)
    assert (b.accuracy, b.mean_cost_usd, b.cost_of_pass_usd) == (0.5, 4.0, 8.0)


def test_per_problem_cost_of_pass_divides_cost_by_score() -> None:
    v = per_problem_cost_of_pass(arr(1, 0.5, 0, nan), arr(2, 1, 3, 1))
    assert v[0] == 2 and v[1] == 2 and v[2] == inf and math.isnan(v[3])


# Two models on three problems. A costs 1 and solves only p0; B costs 4 and solves p0, p1.
# v(A) = [1, ∞, ∞], v(B) = [4, 4, ∞].
SCORES = np.array([[1, 1], [0, 1], [0, 0]], dtype=np.float64)
COSTS = np.array([[1, 4], [1, 4], [1, 4]], dtype=np.float64)


def test_frontier_without_a_human_is_infinite_when_a_problem_is_unsolved() -> None:
    f = frontier_cost_of_pass(SCORES, COSTS)
    assert list(f.per_problem) == [1, 4, inf]
    assert list(f.best) == [0, 1, NOBODY]
    assert f.cost_of_pass_usd == inf
    assert f.n_unsolved == 1
    assert f.solved_mean_usd == 2.5  # (1 + 4) / 2 over the two solved problems


def test_frontier_with_a_human_expert_averages_per_problem_minima() -> None:
    f = frontier_cost_of_pass(SCORES, COSTS, human_cost_usd=10.0)
    assert list(f.per_problem) == [1, 4, 10]  # mean 15/3 = 5
    assert f.cost_of_pass_usd == pytest.approx(5.0)
    assert list(f.best) == [0, 1, HUMAN]
    cheap_human = frontier_cost_of_pass(SCORES, COSTS, human_cost_usd=2.0)
    assert list(cheap_human.per_problem) == [1, 2, 2]  # mean 5/3
    assert cheap_human.cost_of_pass_usd == pytest.approx(5 / 3)
    assert list(cheap_human.best) == [0, HUMAN, HUMAN]


def test_frontier_treats_unknown_outcomes_as_no_pass() -> None:
    f = frontier_cost_of_pass(np.array([[nan, 1.0]]), np.array([[0.1, 0.5]]))
    assert f.cost_of_pass_usd == 0.5 and list(f.best) == [1]


def test_frontier_uses_fractional_scores_as_pass_rates() -> None:
    # Pass rate 0.5 at cost 1 -> 2 per pass, cheaper than 3 at certainty.
    f = frontier_cost_of_pass(np.array([[0.5, 1.0]]), np.array([[1.0, 3.0]]))
    assert f.cost_of_pass_usd == 2.0


def test_counterfactual_frontier_rise_per_model_and_per_class() -> None:
    groups = {"A": [0], "B": [1], "all": [0, 1]}
    by_name = {c.removed: c for c in counterfactual_frontiers(SCORES, COSTS, groups, 10.0)}
    # Without A: [4, 4, 10] -> 6, +1 (+20%). Without B: [1, 10, 10] -> 7, +2 (+40%).
    # Without both: [10, 10, 10] -> 10, +5 (+100%).
    assert (by_name["A"].cost_of_pass_usd, by_name["A"].rise_usd) == (6.0, 1.0)
    assert by_name["A"].rise_pct == pytest.approx(20.0)
    assert (by_name["B"].cost_of_pass_usd, by_name["B"].rise_usd) == (7.0, 2.0)
    assert by_name["B"].rise_pct == pytest.approx(40.0)
    assert (by_name["all"].cost_of_pass_usd, by_name["all"].rise_pct) == (10.0, 100.0)


def test_counterfactual_rise_is_infinite_when_removal_leaves_a_problem_unsolved() -> None:
    scores = np.array([[1, 0], [1, 1]], dtype=np.float64)
    costs = np.ones((2, 2))
    (only,) = counterfactual_frontiers(scores, costs, {"A": [0]})
    assert only.cost_of_pass_usd == inf and only.rise_usd == inf
    (both_inf,) = counterfactual_frontiers(SCORES, COSTS, {"A": [0]})
    assert math.isnan(both_inf.rise_usd)
