"""Building the routes from gateway.yaml options, and choosing the model pair."""

from __future__ import annotations

import pytest

from routers.base import Orchestrator, Policy, RouteRequest
from routers.minions.orchestrator import build_minions
from routers.minions.settings import MinionsConfigError, MinionsSettings, pick_models
from routers.registry import build_router
from tests.routers.minions.fakes import LOCAL, REMOTE, FakeModels, candidates


@pytest.mark.parametrize("kind", ["minion", "minions"])
def test_registry_builds_an_orchestrator(kind: str) -> None:
    route = build_router(f"router:{kind}", kind,
                         options={"local_model": LOCAL, "max_rounds": 2, "max_parallel": 2})
    assert isinstance(route, Orchestrator)
    assert route.name == kind


@pytest.mark.parametrize(("options", "message"), [
    ({"max_round": 2}, "unknown minions option"),
    ({"max_rounds": 0}, "`max_rounds` must be an integer >= 1"),
    ({"max_parallel": "4"}, "`max_parallel`"),
    ({"json_retries": -1}, "`json_retries`"),
    ({"chunk_tokens": 100, "overlap_tokens": 100}, "`overlap_tokens`"),
    ({"local_json_mode": "grammar"}, "`local_json_mode`"),
    ({"min_document_tokens": -1}, "`min_document_tokens`"),
])
def test_bad_options_are_refused_with_the_option_named(options: dict[str, object],
                                                        message: str) -> None:
    with pytest.raises(MinionsConfigError, match=message):
        build_minions("minions", **options)


def test_unknown_kind() -> None:
    with pytest.raises(MinionsConfigError):
        build_minions("minionz")


def test_models_default_to_the_pool_tiers() -> None:
    pair = pick_models(MinionsSettings(), candidates())
    assert (pair.local, pair.remote) == (LOCAL, REMOTE)
    pair = pick_models(MinionsSettings(remote_model="other"), candidates())
    assert pair.remote == "other"
    with pytest.raises(MinionsConfigError, match="no local model"):
        pick_models(MinionsSettings(), [c for c in candidates() if c.tier == "remote"])


async def test_a_request_without_a_document_goes_to_the_remote_unchanged() -> None:
    models = FakeModels(remote=["Hello!"])
    messages = [{"role": "system", "content": "Be brief."}]
    outcome = await build_minions("minions").run(RouteRequest(messages), candidates(),
                                                 Policy(), models)
    assert outcome.final.text == "Hello!"
    assert [c.messages for c in models.calls] == [messages]
    assert "directly" in outcome.trace[0]["summary"]


async def test_a_document_under_min_document_tokens_goes_to_the_remote_unchanged() -> None:
    models = FakeModels(remote=["Short enough."])
    messages = [{"role": "user", "content": "word " * 300 + "\n\nWhat is it?"}]
    outcome = await build_minions("minions", min_document_tokens=2000).run(
        RouteRequest(messages), candidates(), Policy(), models)
    assert outcome.final.text == "Short enough."
    assert [c.messages for c in models.calls] == [messages]  # no local call, nothing split
    assert "< min_document_tokens 2000, sent to" in outcome.trace[0]["summary"]


async def test_a_document_at_min_document_tokens_runs_the_protocol() -> None:
    models = FakeModels(remote=['{"decision": "provide_final_answer", "answer": "a"}'])
    request = RouteRequest([{"role": "user", "content": "doc " * 100},
                            {"role": "user", "content": "Q?"}])
    outcome = await build_minions("minion", min_document_tokens=50).run(
        request, candidates(), Policy(), models)
    assert any(e.get("event") == "split" for e in outcome.trace)


async def test_trace_records_how_the_request_was_split() -> None:
    models = FakeModels(remote=['{"decision": "provide_final_answer", "answer": "a"}'])
    request = RouteRequest([{"role": "user", "content": "doc " * 100},
                            {"role": "user", "content": "Q?"}])
    outcome = await build_minions("minion").run(request, candidates(), Policy(), models)
    split = next(e for e in outcome.trace if e.get("event") == "split")
    assert split["source"] == "longest-user" and split["question_chars"] == 2
    assert "summary" in outcome.trace[0]
    assert all("summary" not in e for e in outcome.trace[1:])
