"""The live cascade: stages tried in order, scored, escalated, failures absorbed."""

from __future__ import annotations

import pytest

from gateway.errors import BudgetExceeded, UpstreamError, UpstreamTimeout
from routers.base import Orchestrator, Policy, RouteRequest
from routers.cascade.orchestrator import BUDGET_PARAM, CascadeOrchestrator
from routers.cascade.strategy import Stage, Strategy
from tests.routers.cascade.fakes import (
    COST,
    THREE,
    FakeCalls,
    FakeRouter,
    FakeScorer,
    artifact,
    candidates,
)

REQUEST = RouteRequest([{"role": "user", "content": "What is 2 + 2?"}])


def cascade(scores: dict[str, float], **kwargs: object) -> CascadeOrchestrator:
    return CascadeOrchestrator(artifact(**kwargs), FakeScorer(scores))  # type: ignore[arg-type]


async def test_a_confident_first_answer_is_accepted_without_escalating() -> None:
    calls = FakeCalls()
    outcome = await cascade({"small": 0.9, "medium": 0.0}).run(
        REQUEST, candidates(), Policy(), calls
    )
    assert calls.calls == ["small"]
    assert outcome.final.text == "small answer"
    assert outcome.cost_usd == COST["small"]
    assert "small score=0.90" in outcome.trace[0]["summary"]
    assert "accept" in outcome.trace[0]["summary"]


async def test_low_scores_escalate_and_every_stage_is_paid_for() -> None:
    calls = FakeCalls()
    orchestrator = cascade({"small": 0.2, "medium": 0.4})
    outcome = await orchestrator.run(REQUEST, candidates(), Policy(), calls)
    assert calls.calls == ["small", "medium", "large"]
    assert outcome.final.model == "large"
    assert outcome.cost_usd == pytest.approx(sum(COST.values()))
    summaries = [t["summary"] for t in outcome.trace]
    assert "escalate" in summaries[0] and "escalate" in summaries[1]
    assert summaries[2].startswith("large $") and "final" in summaries[2]
    # The final stage is not scored: nothing reads its score.
    assert [m for m, _ in orchestrator.scorer.seen] == ["small", "medium"]  # type: ignore[attr-defined]


async def test_every_stage_answers_within_the_clients_max_tokens() -> None:
    calls = FakeCalls()
    request = RouteRequest([{"role": "user", "content": "What is 2 + 2?"}], max_tokens=7)
    await cascade({"small": 0.2, "medium": 0.4}).run(request, candidates(), Policy(), calls)
    assert calls.params == [{"max_tokens": 7}] * 3
    unbounded = FakeCalls()
    await cascade({"small": 0.9}).run(REQUEST, candidates(), Policy(), unbounded)
    assert unbounded.params == [{}]


async def test_an_upstream_failure_escalates_to_the_next_stage() -> None:
    calls = FakeCalls(fail={"small": UpstreamError("boom")})
    outcome = await cascade({"medium": 0.9}).run(REQUEST, candidates(), Policy(), calls)
    assert calls.calls == ["small", "medium"]
    assert outcome.final.model == "medium"
    assert [s.model for s in outcome.stages] == ["small", "medium"]
    assert outcome.stages[0].error == "boom" and outcome.stages[0].cost_usd == 0.0
    assert "small $0.000000 -> failed (upstream_error) -> escalate" in outcome.trace[0]["summary"]


async def test_a_failing_last_stage_returns_the_best_answer_already_paid_for() -> None:
    calls = FakeCalls(fail={"large": UpstreamTimeout("slow")})
    outcome = await cascade({"small": 0.3, "medium": 0.45}).run(
        REQUEST, candidates(), Policy(), calls
    )
    assert outcome.final.model == "medium"
    assert outcome.cost_usd == pytest.approx(COST["small"] + COST["medium"])
    assert "last stage failed: returning medium" in outcome.trace[-1]["summary"]


async def test_when_every_stage_fails_the_last_error_is_raised() -> None:
    calls = FakeCalls(fail={m: UpstreamError(f"{m} down") for m in ("small", "medium", "large")})
    with pytest.raises(UpstreamError, match="large down"):
        await cascade({}).run(REQUEST, candidates(), Policy(), calls)
    assert calls.calls == ["small", "medium", "large"]


async def test_the_budget_stopping_a_stage_keeps_the_answer_in_hand() -> None:
    calls = FakeCalls(fail={"medium": BudgetExceeded("no budget")})
    outcome = await cascade({"small": 0.1}).run(REQUEST, candidates(), Policy(), calls)
    assert calls.calls == ["small", "medium"]
    assert outcome.final.model == "small"
    calls = FakeCalls(fail={"small": BudgetExceeded("no budget")})
    with pytest.raises(BudgetExceeded):
        await cascade({}).run(REQUEST, candidates(), Policy(), calls)
    assert calls.calls == ["small"]


async def test_stages_the_tenant_may_not_use_are_skipped() -> None:
    calls = FakeCalls()
    outcome = await cascade({"small": 0.1}).run(
        REQUEST, candidates(["small", "medium"]), Policy(), calls
    )
    # `large` is not allowed, so `medium` becomes the final stage and is not scored.
    assert calls.calls == ["small", "medium"]
    assert "final" in outcome.trace[-1]["summary"]


async def test_without_any_allowed_stage_the_best_known_candidate_answers() -> None:
    only_small = Strategy((Stage("small"),))
    calls = FakeCalls()
    outcome = await cascade({}, strategy=only_small).run(
        REQUEST, candidates(["medium", "large"]), Policy(), calls
    )
    assert calls.calls == ["large"]
    assert "no stage of the cascade is allowed" in outcome.trace[0]["summary"]


async def test_a_start_router_skips_the_stages_below_its_pick() -> None:
    calls = FakeCalls()
    orchestrator = CascadeOrchestrator(
        artifact(), FakeScorer({"medium": 0.9}), start_router=FakeRouter("medium")
    )
    outcome = await orchestrator.run(REQUEST, candidates(), Policy(), calls)
    assert calls.calls == ["medium"]
    assert outcome.trace[0]["router_pick"] == "medium"


async def test_the_policy_can_pick_another_point_of_the_pareto_set() -> None:
    cheap = Strategy((Stage("small"),), 0.55, COST["small"])
    pareto = [cheap, THREE, Strategy((Stage("large"),), 0.88, COST["large"])]
    orchestrator = cascade({"small": 0.0, "medium": 0.0}, pareto=pareto)
    calls = FakeCalls()
    await orchestrator.run(REQUEST, candidates(), Policy(params={BUDGET_PARAM: 0.0002}), calls)
    assert calls.calls == ["small"]
    calls = FakeCalls()
    await orchestrator.run(REQUEST, candidates(), Policy("quality_target", 0.85), calls)
    assert calls.calls == ["large"]


async def test_a_scorer_failure_escalates_instead_of_failing_the_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = FakeCalls()
    outcome = await cascade({}).run(REQUEST, candidates(), Policy(), calls)  # no scores: KeyError
    assert calls.calls == ["small", "medium", "large"]
    assert outcome.final.model == "large"
    assert "unscored -> escalate" in outcome.trace[0]["summary"]
    assert "scoring small's answer failed" in caplog.text


def test_the_cascade_is_an_orchestrator() -> None:
    assert isinstance(cascade({}), Orchestrator)


class PreparingFakeScorer(FakeScorer):
    """Records `prepare` alongside scoring; `broken` makes `prepare` raise."""

    def __init__(self, scores: dict[str, float], broken: bool = False):
        super().__init__(scores)
        self.broken = broken
        self.prepared: list[str] = []

    def prepare(self, messages: object) -> None:
        self.prepared.append(str(messages))
        if self.broken:
            raise RuntimeError("embedder down")

    def score_chat(self, model: str, messages: object, answer: str) -> float:  # type: ignore[override]
        assert self.prepared, "the query is embedded before the first answer is scored"
        return super().score_chat(model, messages, answer)  # type: ignore[arg-type]


async def test_the_query_is_embedded_once_while_the_first_stage_answers() -> None:
    scorer = PreparingFakeScorer({"small": 0.2, "medium": 0.4})
    orchestrator = CascadeOrchestrator(artifact(), scorer)  # type: ignore[arg-type]
    outcome = await orchestrator.run(REQUEST, candidates(), Policy(), FakeCalls())
    assert outcome.final.model == "large"
    assert len(scorer.prepared) == 1 and [m for m, _ in scorer.seen] == ["small", "medium"]


async def test_a_failing_prepare_only_costs_the_head_start(caplog: pytest.LogCaptureFixture) -> None:
    scorer = PreparingFakeScorer({"small": 0.9}, broken=True)
    orchestrator = CascadeOrchestrator(artifact(), scorer)  # type: ignore[arg-type]
    outcome = await orchestrator.run(REQUEST, candidates(), Policy(), FakeCalls())
    assert outcome.final.model == "small"
    assert "embedding the query ahead of scoring failed" in caplog.text
