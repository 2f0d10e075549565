"""Replay + scoring of the hand-made dataset; every expected value is derived in comments."""

from __future__ import annotations

import math

import pytest

from eval.baselines import Oracle, SingleModel, TaskLookup
from eval.config import EvalConfig
from eval.replay import mixture_pair, replay, standard_candidates
from eval.results import CandidateResult, ScopeResult
from eval.scoring import evaluate
from eval.sweep import ReplayableRouter
from tests.eval.tiny import CHEAP, STRONG, tiny_dataset


def run(config: EvalConfig | None = None) -> tuple[ScopeResult, list[ScopeResult]]:
    ds = tiny_dataset()
    candidates: list[ReplayableRouter] = [
        SingleModel(CHEAP),
        SingleModel(STRONG),
        Oracle(),
        TaskLookup(train=ds, lambdas=[0.0, 0.1, math.inf]),
    ]
    result = evaluate(ds, replay(ds, candidates), config or EvalConfig(bootstrap_resamples=50))
    return result.pooled, result.tasks


def by_name(scope: ScopeResult) -> dict[str, CandidateResult]:
    return {c.name: c for c in scope.candidates}


def test_pooled_accuracy_cost_and_cost_of_pass() -> None:
    c = by_name(run()[0])
    # cheap: 2/4 right at $1 -> v = 2.   strong: 3/4 at $10 -> v = 40/3.
    assert (c[CHEAP].accuracy, c[CHEAP].mean_cost_usd, c[CHEAP].cost_of_pass_usd) == (0.5, 1, 2)
    assert c[STRONG].accuracy == 0.75
    assert c[STRONG].cost_of_pass_usd == pytest.approx(40 / 3)
    # oracle: all right, (1+10+10+1)/4 = 5.5.
    assert (c["oracle"].accuracy, c["oracle"].mean_cost_usd) == (1.0, 5.5)
    for cand in c.values():
        assert cand.accuracy_ci.low <= cand.accuracy <= cand.accuracy_ci.high


def test_lookup_points_and_its_headline_is_the_lowest_cost_of_pass() -> None:
    lookup = by_name(run()[0])["task-lookup"]
    # λ=0: a->strong, b->cheap: scores 1,1,0,1 (.75), cost (10+10+1+1)/4 = 5.5.
    # λ=0.1 and ∞: all cheap (.5 at $1).
    assert [(p.knob, p.accuracy, p.mean_cost_usd) for p in lookup.points] == [
        (0.0, 0.75, 5.5),
        (0.1, 0.5, 1.0),
        (math.inf, 0.5, 1.0),
    ]
    assert lookup.headline_knob == 0.1 and lookup.cost_of_pass_usd == 2.0


def test_aiq_over_the_scopes_common_cost_range() -> None:
    pooled, _ = run()
    assert pooled.aiq_cost_range == (1.0, 10.0)
    c = by_name(pooled)
    # cheap: flat .5 over [1, 10] -> .5.   strong: operates only at 10 -> 0.
    assert c[CHEAP].aiq == pytest.approx(0.5)
    assert c[STRONG].aiq == 0.0
    # lookup hull (1,.5)-(5.5,.75) then flat: (.5+.75)/2*4.5 + .75*4.5 = 6.1875, over 9.
    assert c["task-lookup"].aiq == pytest.approx(6.1875 / 9)


def test_apgr_and_cpt_of_the_lookup_on_the_two_model_set() -> None:
    pooled, tasks = run()
    assert pooled.weak_strong == (CHEAP, STRONG)
    lookup = by_name(pooled)["task-lookup"]
    # Strong share / accuracy: λ=0 -> (.5, .75) PGR 1; others (0, .5) PGR 0; anchor (1, 1).
    # Area: 0->.5 rises 0->1 (.25), .5->1 flat at 1 (.5): APGR .75.
    assert lookup.apgr == pytest.approx(0.75)
    assert lookup.cpt == pytest.approx({"20%": 0.1, "50%": 0.25, "80%": 0.4})
    assert by_name(pooled)[CHEAP].apgr is None and by_name(pooled)["oracle"].apgr is None
    # Task b: both models .5 -> no weak/strong pair, no APGR.
    task_b = next(t for t in tasks if t.task == "b")
    assert task_b.weak_strong is None and by_name(task_b)["task-lookup"].apgr is None


def test_frontier_pooled_and_per_task() -> None:
    pooled, tasks = run()
    # Per problem: p0 1 (cheap), p1 10, p2 10 (strong), p3 1 (cheap) -> 22/4 = 5.5.
    assert pooled.frontier.cost_of_pass_usd == 5.5
    assert pooled.frontier.n_unsolved == 0
    assert pooled.frontier.attained_by == {CHEAP: 0.5, STRONG: 0.5}
    assert pooled.frontier.with_candidates_usd == 5.5  # routing cannot beat it per problem
    assert [(t.task, t.frontier.cost_of_pass_usd) for t in tasks] == [("a", 5.5), ("b", 5.5)]


def test_counterfactual_frontier_with_a_human_expert_and_classes() -> None:
    config = EvalConfig(
        human_expert_cost_usd={"default": 20.0},
        model_classes={CHEAP: "small", STRONG: "large"},
        bootstrap_resamples=10,
    )
    pooled, _ = run(config)
    cf = {c.removed: c for c in pooled.frontier.counterfactual}
    # Without cheap: [10, 10, 10, 20] -> 12.5 (+7, +127.27%).
    # Without strong: [1, 20, 20, 1] -> 10.5 (+5, +90.91%).
    assert (cf[CHEAP].cost_of_pass_usd, cf[CHEAP].rise_usd) == (12.5, 7.0)
    assert cf[CHEAP].rise_pct == pytest.approx(700 / 5.5)
    assert (cf[STRONG].cost_of_pass_usd, cf[STRONG].rise_usd) == (10.5, 5.0)
    assert cf["class:small"].cost_of_pass_usd == 12.5
    assert pooled.frontier.human_cost_usd == 20.0


def test_standard_candidates_and_the_mixture_pair() -> None:
    ds = tiny_dataset()
    names = [c.name for c in standard_candidates(ds)]
    assert names == [CHEAP, STRONG, "oracle", "task-lookup", f"random({CHEAP}|{STRONG})"]
    assert mixture_pair(ds) == (CHEAP, STRONG)


def test_duplicate_candidate_names_are_made_unique() -> None:
    ds = tiny_dataset()
    curves = replay(ds, [SingleModel(CHEAP), SingleModel(CHEAP)])
    assert [c.name for c in curves] == [CHEAP, f"{CHEAP}#2"]
