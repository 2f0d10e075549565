"""KnnRouter: learns who is cheapest-and-right, obeys candidates and policies, explains itself."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pricing import CostEstimate
from routers.base import Candidate, Policy, Router, RouteRequest
from routers.knn.artifact import ArtifactVersionError, KnnArtifact, load_artifact
from routers.knn.router import KnnRouter, load_knn_router
from tests.routers.knn.synthetic import BIG, CHEAP, EASY_WORDS, HARD_WORDS, MID, prompt


def _candidate(model: str, cost: float) -> Candidate:
    estimate = CostEstimate(model, 10, 10, 100, cost, cost * 10, False)
    return Candidate(model=model, tier="remote", estimate=estimate)


CANDIDATES = [_candidate(CHEAP, 1e-5), _candidate(MID, 1e-4), _candidate(BIG, 1e-3)]


def _request(words: list[str], seed: int = 99) -> RouteRequest:
    text = prompt(words, np.random.default_rng(seed))
    return RouteRequest(messages=[{"role": "user", "content": text}])


def test_is_a_router(artifact_dir: Path) -> None:
    assert isinstance(load_knn_router(artifact_dir), Router)


def test_easy_goes_cheap_and_hard_goes_big(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir)
    policy = Policy(objective="cheapest_within_eps", knob=0.2)
    assert router.route(_request(EASY_WORDS), CANDIDATES, policy).model == CHEAP
    assert router.route(_request(HARD_WORDS), CANDIDATES, policy).model == BIG


def test_max_utility_knob_trades_quality_for_cost(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir)
    hard = _request(HARD_WORDS)
    assert router.route(hard, CANDIDATES, Policy("max_utility", 0.0)).model == BIG
    # λ large enough that $1e-3 outweighs any quality gain: the cheapest wins.
    assert router.route(hard, CANDIDATES, Policy("max_utility", 1e3)).model == CHEAP


def test_quality_target_takes_the_cheapest_reaching_it(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir)
    easy = _request(EASY_WORDS)
    assert router.route(easy, CANDIDATES, Policy("quality_target", 0.8)).model == CHEAP
    assert router.route(easy, CANDIDATES, Policy("quality_target", 1.01)).model in (CHEAP, BIG)


def test_only_candidates_are_chosen(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir)
    # The big model is excluded (not allowed, or in cooldown): it can never win.
    decision = router.route(_request(HARD_WORDS), CANDIDATES[:2], Policy("max_utility", 0.0))
    assert decision.model in (CHEAP, MID)
    assert BIG not in decision.reason


def test_reason_names_winner_and_runner_up(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir)
    decision = router.route(_request(HARD_WORDS), CANDIDATES, Policy("max_utility", 0.0))
    assert decision.runner_up is not None and decision.runner_up != decision.model
    assert f"{decision.model} q=" in decision.reason and f"{decision.runner_up} q=" in decision.reason
    assert "$" in decision.reason
    assert decision.predicted_quality is not None and 0.0 <= decision.predicted_quality <= 1.0
    assert decision.predicted_cost_usd > 0


def test_unknown_candidate_is_usable_but_ranked_low(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir)
    newcomer = _candidate("never-seen", 1e-6)
    decision = router.route(_request(HARD_WORDS), [newcomer, CANDIDATES[2]], Policy())
    assert decision.model == BIG and "no outcomes for never-seen" in decision.reason
    alone = router.route(_request(HARD_WORDS), [newcomer], Policy())
    assert alone.model == "never-seen"


def test_cost_blends_preflight_estimate(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir, cost_blend=0.0)  # estimate only
    pricey = [_candidate(CHEAP, 5e-2), CANDIDATES[2]]
    decision = router.route(_request(EASY_WORDS), pricey, Policy("cheapest_within_eps", 0.2))
    assert decision.model == BIG  # this request's estimate makes the "cheap" model dear


def test_route_batch_matches_single_routes(artifact_dir: Path) -> None:
    router = load_knn_router(artifact_dir)
    requests = [_request(EASY_WORDS, s) for s in range(5)] + [_request(HARD_WORDS, s) for s in range(5)]
    texts = [str(r.messages[0]["content"]) for r in requests]
    policy = Policy("cheapest_within_eps", 0.2)
    picked = router.route_batch(router.embed_prompts(texts), policy)
    # The single route blends in each candidate's estimate; give it the neighbours' costs.
    blended = load_knn_router(artifact_dir, cost_blend=1.0)
    singles = [blended.route(r, CANDIDATES, policy).model for r in requests]
    assert [router.models[j] for j in picked] == singles


def test_manifest_records_what_training_did(artifact_dir: Path) -> None:
    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    assert manifest["kind"] == "knn" and manifest["format_version"] == 1
    assert manifest["models"] == [CHEAP, MID, BIG]
    assert len(manifest["data_hash"]) == 64
    assert manifest["default_space"] in ("raw", "cscr")
    held = manifest["metrics"]["held_out"]
    assert held["n_held_out"] > 0 and {"raw", "cscr"} <= set(held)
    assert 0.0 < held["raw"]["aiq"] <= 1.0


def test_round_trip_keeps_predictions(trained: KnnArtifact, artifact_dir: Path) -> None:
    loaded = load_artifact(artifact_dir)
    raw = trained.raw[:20]
    a = KnnRouter(trained).predict(raw)[0]
    b = KnnRouter(loaded).predict(raw)[0]
    np.testing.assert_allclose(a, b, atol=1e-2)  # raw vectors are stored as float16


def test_unknown_format_version_is_refused(artifact_dir: Path) -> None:
    path = artifact_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 99
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactVersionError, match="format_version 99"):
        load_artifact(artifact_dir)


def test_self_exclusion_hides_the_prompt_itself(trained: KnnArtifact) -> None:
    router = KnnRouter(trained)
    raw = trained.raw[:1]
    _, idx_all = router.artifact.index.search(router.artifact.space_vectors(raw), 3)
    q_in, _ = router.predict(raw)
    q_out, _ = router.predict(raw, exclude=np.array([idx_all[0, 0]]))
    assert q_in.shape == q_out.shape and not math.isnan(q_out[0, 0])


def test_eval_replays_the_artifact(artifact_dir: Path) -> None:
    from eval.registry import load_artifact as load_replayable
    from eval.sweep import as_outcomes
    from tests.routers.knn.synthetic import synthetic

    candidate = load_replayable(artifact_dir)
    test = synthetic(60, seed=5)
    steps = [as_outcomes(step, test) for step in candidate.sweep(test)]
    assert candidate.kind == "router" and len(steps) > 3
    # λ = 0 buys quality: every prompt answered; λ = ∞ buys the cheapest model.
    assert float(np.nanmean(steps[0].score)) == 1.0
    assert np.all(steps[-1].cost == 1e-5)
