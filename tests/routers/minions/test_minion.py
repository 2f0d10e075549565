"""Minion: the remote asks, the local model (which alone has the document) answers."""

from __future__ import annotations

from typing import Any

from routers.base import Policy, RouteRequest
from routers.minions.orchestrator import build_minions
from tests.routers.minions.documents import filler_sentences, planted_document
from tests.routers.minions.fakes import LOCAL, REMOTE, FakeModels, as_json, candidates

FACT = "The vault access code is 4821."
DOC = planted_document(40, {17: FACT})
QUESTION = "What is the vault access code?"


def ask(text: str) -> str:
    return as_json({"decision": "request_additional_info", "message": text})


def answer(text: str) -> str:
    return as_json({"decision": "provide_final_answer", "answer": text})


async def run(models: FakeModels, messages: list[dict[str, Any]] | None = None,
              **options: Any) -> Any:
    orchestrator = build_minions("minion", local_model=LOCAL, remote_model=REMOTE, **options)
    request = RouteRequest(messages or [{"role": "user", "content": DOC},
                                        {"role": "user", "content": QUESTION}])
    return await orchestrator.run(request, candidates(), Policy(), models)


def assert_document_never_sent_to_remote(models: FakeModels) -> None:
    remote_text = "\n".join(c.text for c in models.to(REMOTE))
    assert FACT not in remote_text
    assert not any(s in remote_text for s in filler_sentences(40))


async def test_remote_asks_then_answers_and_never_sees_the_document() -> None:
    models = FakeModels(remote=[ask("Is there an access code?"), ask("Which digits?"),
                                answer("4821")],
                        local=lambda messages: "It is 4821, per the document.")
    outcome = await run(models)
    assert outcome.final.text == "4821"
    assert [c.model for c in models.calls] == [REMOTE, LOCAL, REMOTE, LOCAL, REMOTE]
    assert_document_never_sent_to_remote(models)
    assert QUESTION in models.to(REMOTE)[0].text
    local_call = models.to(LOCAL)[1]
    assert FACT in local_call.text and local_call.messages[-1]["content"] == "Which digits?"
    assert local_call.messages[1:3] == [
        {"role": "user", "content": "Is there an access code?"},
        {"role": "assistant", "content": "It is 4821, per the document."}]
    assert "It is 4821" in str(models.to(REMOTE)[1].messages[-1]["content"])
    assert outcome.trace[0]["rounds"] == 2


async def test_the_last_round_forces_an_answer() -> None:
    models = FakeModels(remote=[ask("q1"), ask("q2"), ask("q3 please"), answer("final")],
                        local=lambda messages: "some reply")
    outcome = await run(models, max_rounds=2)
    assert outcome.final.text == "final"
    remote_calls = models.to(REMOTE)
    assert len(models.to(LOCAL)) == 2
    assert "last question" in str(remote_calls[2].messages[-1]["content"])
    # The third remote reply asked again; it was refused and corrected, not obeyed.
    assert "could not be read" in str(remote_calls[3].messages[-1]["content"])
    assert {"event": "final", "round": 3, "forced": True, "parsed": True} in outcome.trace


async def test_malformed_json_is_retried_with_a_correction() -> None:
    models = FakeModels(remote=["Let me think about it...", ask("code?"), answer("4821")],
                        local=lambda messages: "4821")
    outcome = await run(models)
    assert outcome.final.text == "4821"
    retry = models.to(REMOTE)[1]
    assert retry.messages[-2] == {"role": "assistant", "content": "Let me think about it..."}
    assert "no JSON" in str(retry.messages[-1]["content"])
    # The remote's conversation keeps only the reply that parsed.
    third = models.to(REMOTE)[2]
    assert all("Let me think" not in str(m["content"]) for m in third.messages)


async def test_persistently_malformed_replies_fall_back_to_the_prose() -> None:
    models = FakeModels(remote=["The code is 4821."] * 3)
    outcome = await run(models, json_retries=2)
    assert outcome.final.text == "The code is 4821."
    assert len(models.to(LOCAL)) == 0
    assert [e["event"] for e in outcome.trace[1:]].count("malformed") == 3


async def test_long_document_gives_the_local_model_the_most_relevant_chunks() -> None:
    models = FakeModels(remote=[ask("What is the vault access code?"), answer("4821")],
                        local=lambda messages: "4821")
    await run(models, local_context_tokens=120, chunk_tokens=60, overlap_tokens=0)
    local_prompt = models.to(LOCAL)[0].text
    assert FACT in local_prompt
    assert sum(s in local_prompt for s in filler_sentences(40)) < 10


async def test_costs_are_split_by_tier() -> None:
    models = FakeModels(remote=[ask("q"), answer("a")], local=lambda messages: "r")
    outcome = await run(models)
    summary = outcome.trace[0]
    remote = [s for s in outcome.stages if s.tier == "remote"]
    local = [s for s in outcome.stages if s.tier == "local"]
    assert summary["remote"]["calls"] == len(remote) == 2
    assert summary["local"]["calls"] == len(local) == 1
    assert summary["remote"]["prompt_tokens"] == sum(s.usage.prompt_tokens for s in remote)
    assert summary["remote"]["cost_usd"] == round(sum(s.cost_usd for s in remote), 10)
    assert summary["local"]["cost_usd"] == 0
    assert "remote 2 call(s)" in summary["summary"]
