"""The exact threshold search: optimal on its data, within budget, and ≥ FrugalGPT's solver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routers.cascade.frugal import frugalgpt_solve
from routers.cascade.search import Outcomes, pareto_frontier
from routers.cascade.strategy import Stage, Strategy, replay


def random_outcomes(seed: int, n: int, m: int, ties: bool = False) -> Outcomes:
    rng = np.random.default_rng(seed)
    outcomes = (rng.random((n, m)) < np.linspace(0.4, 0.9, m)).astype(float)
    # Scores informative but noisy; rounded to create ties when asked.
    scores = np.clip(0.5 * outcomes + 0.5 * rng.random((n, m)), 0, 1)
    if ties:
        scores = np.round(scores, 1)
    costs = np.geomspace(1e-4, 1e-2, m)[None, :] * rng.uniform(0.5, 1.5, (n, m))
    return Outcomes([f"m{j}" for j in range(m)], scores, outcomes, costs)


def brute_force(o: Outcomes, max_depth: int) -> list[tuple[float, float]]:
    """(cost, accuracy) of every ordering and threshold choice, by replay."""
    points = []
    m = len(o.models)
    for depth in range(1, min(max_depth, m) + 1):
        for order in itertools.permutations(range(m), depth):
            options = [list(np.unique(o.scores[:, j])) + [np.inf] for j in order[:-1]]
            for thresholds in itertools.product(*options):
                stages = tuple(Stage(o.models[j], float(t)) for j, t in zip(order, thresholds))
                strategy = Strategy(stages + (Stage(o.models[order[-1]]),))
                r = replay(strategy, o.models, o.scores, o.outcomes, o.costs)
                points.append((r.cost_usd, r.accuracy))
    return points


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(2, 3), ties=st.booleans())
def test_the_frontier_is_optimal_at_every_budget(seed: int, m: int, ties: bool) -> None:
    o = random_outcomes(seed, n=9, m=m, ties=ties)
    frontier = pareto_frontier(o, max_depth=3)
    points = brute_force(o, 3)
    assert frontier.exact
    for budget in sorted({c for c, _ in points}):
        best = max(a for c, a in points if c <= budget + 1e-15)
        chosen = frontier.best_within(budget)
        assert chosen is not None and chosen.cost_usd <= budget + 1e-15
        assert chosen.accuracy == pytest.approx(best, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 4), n=st.integers(1, 60))
def test_every_frontier_strategy_replays_to_what_the_search_reported(
    seed: int, m: int, n: int
) -> None:
    o = random_outcomes(seed, n=n, m=m, ties=seed % 2 == 0)
    frontier = pareto_frontier(o, max_depth=3)
    costs = [s.cost_usd for s in frontier.strategies]
    accs = [s.accuracy for s in frontier.strategies]
    assert costs == sorted(costs) and all(b > a for a, b in itertools.pairwise(accs))
    for strategy in frontier.strategies:
        r = replay(strategy, o.models, o.scores, o.outcomes, o.costs)
        assert r.accuracy == pytest.approx(strategy.accuracy, abs=1e-12)
        assert r.cost_usd == pytest.approx(strategy.cost_usd, rel=1e-9)
        assert len(strategy.stages) <= 3


def test_the_chosen_strategy_respects_the_budget_on_train_data() -> None:
    o = random_outcomes(7, n=400, m=3)
    frontier = pareto_frontier(o)
    cheapest_single = float(o.costs.mean(axis=0).min())
    for budget in np.geomspace(cheapest_single, float(o.costs.mean(axis=0).max()), 9):
        chosen = frontier.best_within(float(budget))
        assert chosen is not None
        r = replay(chosen, o.models, o.scores, o.outcomes, o.costs)
        assert r.cost_usd <= budget * (1 + 1e-9)
    assert frontier.best_within(cheapest_single * 0.5) is None


def test_quality_target_gives_the_cheapest_strategy_reaching_it() -> None:
    o = random_outcomes(8, n=300, m=3)
    frontier = pareto_frontier(o)
    target = float(o.outcomes.mean(axis=0).max())
    chosen = frontier.cheapest_reaching(target)
    assert chosen is not None and chosen.accuracy >= target
    assert all(s.accuracy < target for s in frontier.strategies if s.cost_usd < chosen.cost_usd)


@pytest.mark.parametrize("m", [2, 3])
def test_the_search_matches_or_beats_frugalgpts_solver_on_the_same_data(m: int) -> None:
    o = random_outcomes(11, n=250, m=m)
    frontier = pareto_frontier(o, max_depth=m)
    singles = o.costs.mean(axis=0)
    compared = 0
    for budget in np.geomspace(singles.min() * 1.2, singles.max(), 6):
        theirs = frugalgpt_solve(o, float(budget), depth=m)
        ours = frontier.best_within(float(budget))
        assert ours is not None
        if theirs is None:
            continue
        compared += 1
        assert theirs.cost_usd <= budget * (1 + 1e-9)
        r = replay(theirs, o.models, o.scores, o.outcomes, o.costs)
        assert r.accuracy == pytest.approx(theirs.accuracy, abs=1e-12)
        assert ours.accuracy >= theirs.accuracy - 1e-12
    assert compared >= 3


def test_unscorable_rows_escalate_and_unscorable_models_are_only_final() -> None:
    o = random_outcomes(12, n=50, m=2)
    scores = o.scores.copy()
    scores[:10, 0] = np.nan  # no answer to score on 10 rows
    scores[:, 1] = np.nan  # the big model has no scorer at all
    o = Outcomes(o.models, scores, o.outcomes, o.costs)
    frontier = pareto_frontier(o)
    for strategy in frontier.strategies:
        assert all(s.model != "m1" or s.accept_at is None for s in strategy.stages)
        r = replay(strategy, o.models, o.scores, o.outcomes, o.costs)
        assert r.accuracy == pytest.approx(strategy.accuracy, abs=1e-12)
        if len(strategy.stages) == 2:
            assert np.all(r.answered_by[:10] == 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_pruned_search_replays_what_it_reports_and_stays_near_exhaustive(seed: int) -> None:
    o = random_outcomes(seed, 300, 7)
    full = pareto_frontier(o, 3, exhaustive=True)
    pruned = pareto_frontier(o, 3, exhaustive=False)
    assert pruned.orderings < full.orderings
    for s in pruned.strategies:
        r = replay(s, o.models, o.scores, o.outcomes, o.costs)
        assert abs(r.accuracy - s.accuracy) < 1e-9 and abs(r.cost_usd - s.cost_usd) < 1e-12
    # The pruned front never beats the exhaustive one, and at every exhaustive point's
    # cost it is within a point of accuracy on this data.
    for s in full.strategies:
        ours = pruned.best_within(s.cost_usd)
        assert ours is None or ours.accuracy <= s.accuracy + 1e-12
        if ours is not None:
            assert ours.accuracy >= s.accuracy - 0.01


def test_conditional_scores_are_used_for_the_stage_after_their_predecessor() -> None:
    o = random_outcomes(3, 200, 3)
    # Stage 1 after stage 0 sees a perfect score: m0 -> m1 -> m2 can now keep every right
    # answer of m1 and escalate every wrong one.
    perfect = o.outcomes[:, 1].copy()
    with_signal = Outcomes(o.models, o.scores, o.outcomes, o.costs, {(0, 1): perfect})
    assert np.array_equal(with_signal.stage_scores(1, after=0), perfect)
    assert np.array_equal(with_signal.stage_scores(1, after=2), o.scores[:, 1])
    before = pareto_frontier(o, 3)
    after = pareto_frontier(with_signal, 3)
    assert after.strategies[-1].accuracy >= before.strategies[-1].accuracy
    pending = o.scores[:, 0] < 2.0  # with m0 accepting nothing, m1 then m2 answer
    ideal = np.where(perfect == 1, 1.0, o.outcomes[:, 2])[pending].mean()
    assert any(s.accuracy >= ideal - 1e-12 for s in after.strategies)


def unfiltered_front(o: Outcomes, exhaustive: bool) -> list[Strategy]:
    """The Pareto set from every ordering's whole front, without dropping points that the
    front found so far already beats (the search before that shortcut)."""
    from routers.cascade.search import (
        _strategy,
        _tabulate,
        orderings,
        pareto_indices,
        pruned_chains,
    )
    from routers.train_progress import NullTrainProgress

    candidates: list = []
    found = orderings(o, 3 if exhaustive else 2)
    _tabulate(o, found, 1024, candidates, NullTrainProgress())
    if not exhaustive:
        _tabulate(o, pruned_chains(o, candidates), 1024, candidates, NullTrainProgress())
    keep = pareto_indices(np.array([c[1] for c in candidates]),
                          np.array([c[0] for c in candidates]))
    return [_strategy(o, candidates[i][2], candidates[i][3]) for i in keep]


@pytest.mark.parametrize(("seed", "m", "n", "ties", "exhaustive"), [
    (0, 4, 200, False, True), (1, 4, 200, True, True), (2, 8, 400, False, False),
    (3, 8, 400, True, False), (4, 11, 300, True, False)])
def test_dropping_points_the_front_beats_leaves_the_same_pareto_set(
        seed: int, m: int, n: int, ties: bool, exhaustive: bool) -> None:
    # Rounded scores and 0/1 outcomes make many points tie: the same strategies must win.
    o = random_outcomes(seed, n, m, ties)
    assert pareto_frontier(o, 3, exhaustive=exhaustive).strategies == unfiltered_front(
        o, exhaustive)
