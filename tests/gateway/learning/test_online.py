"""Online update: labelled outcomes join the serving k-NN and change its next decision."""

from __future__ import annotations

import asyncio

import numpy as np

from gateway.learning.loop import LabelledOutcome
from gateway.learning.metrics import LearningMetrics
from gateway.learning.online import OnlineUpdater
from routers.base import Policy, RouteRequest
from tests.gateway.learning.knn_fixture import candidates, knn_router

QUERY = "Explain how photosynthesis works in green plants, step by step."
NEAR = [
    "Explain how photosynthesis works in green plants, step by step please.",
    "Explain how photosynthesis works in green plants step by step.",
    "Please explain how photosynthesis works in green plants, step by step.",
]
POLICY = Policy("max_utility", 0.0)


def decide(router) -> str:  # type: ignore[no-untyped-def]
    request = RouteRequest([{"role": "user", "content": QUERY}])
    return router.route(request, candidates(), POLICY).model


def test_labelled_outcomes_change_the_decision_without_retraining() -> None:
    router = knn_router()
    assert decide(router) == "cheap"  # every reference prompt: cheap is as good, and cheaper
    before = len(router.artifact.prompt_hashes)
    updater = OnlineUpdater({"auto": router}.get, LearningMetrics())
    outcomes = [LabelledOutcome("auto", f"r{i}", p, {"cheap": 0.0, "strong": 1.0},
                                {"cheap": 1e-4, "strong": 5e-4}) for i, p in enumerate(NEAR)]
    added = asyncio.run(updater.add(outcomes))
    assert added == 3
    assert len(router.artifact.prompt_hashes) == before + 3
    assert router.artifact.index.ntotal == before + 3
    assert decide(router) == "strong"
    assert np.isnan(router.artifact.scores[-1, 2])  # no label for "odd": unknown, not 0


def test_a_relabelled_prompt_is_updated_in_place() -> None:
    router = knn_router()
    updater = OnlineUpdater({"auto": router}.get, LearningMetrics())
    first = LabelledOutcome("auto", "r1", NEAR[0], {"cheap": 1.0}, {"cheap": 1e-4})
    again = LabelledOutcome("auto", "r2", NEAR[0], {"cheap": 0.0}, {"cheap": 1e-4})
    asyncio.run(updater.add([first]))
    size = len(router.artifact.prompt_hashes)
    asyncio.run(updater.add([again]))
    assert len(router.artifact.prompt_hashes) == size
    assert router.artifact.scores[-1, 0] == 0.0


def test_routes_that_are_not_knn_are_left_alone() -> None:
    updater = OnlineUpdater({"auto": object()}.get, LearningMetrics())
    outcome = LabelledOutcome("auto", "r1", QUERY, {"cheap": 1.0}, {"cheap": 1e-4})
    assert asyncio.run(updater.add([outcome])) == 0
