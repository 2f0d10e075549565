"""MinionS: a declarative plan, concurrent local jobs, filtered results, bounded rounds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from routers.base import Policy, RouteRequest
from routers.minions.orchestrator import build_minions
from tests.routers.minions.documents import filler_sentences, planted_document
from tests.routers.minions.fakes import (
    LOCAL,
    REMOTE,
    FakeModels,
    as_json,
    candidates,
    chunk_text,
    job_reply,
)

FACT = "The vault access code is 4821."
DOC = planted_document(40, {17: FACT}, sections=("Logistics", "Security", "Weather"))
QUESTION = "What is the vault access code?"
SMALL_CHUNKS = {"chunk_tokens": 70, "overlap_tokens": 0}


def plan(*tasks: dict[str, Any]) -> str:
    return as_json({"tasks": list(tasks)})


def answer(text: str) -> str:
    return as_json({"decision": "provide_final_answer", "answer": text})


def finds_fact(messages: Sequence[Mapping[str, Any]]) -> str:
    chunk = chunk_text(messages)
    return job_reply("4821", FACT) if FACT in chunk else job_reply(None)


async def run(models: FakeModels, **options: Any) -> Any:
    orchestrator = build_minions("minions", local_model=LOCAL, remote_model=REMOTE,
                                 **{**SMALL_CHUNKS, **options})
    request = RouteRequest([{"role": "user", "content": DOC},
                            {"role": "user", "content": QUESTION}])
    return await orchestrator.run(request, candidates(), Policy(), models)


def events(outcome: Any, kind: str) -> list[dict[str, Any]]:
    return [e for e in outcome.trace if e.get("event") == kind]


async def test_all_chunks_plan_runs_one_job_per_chunk_and_filters_empty_answers() -> None:
    models = FakeModels(remote=[plan({"instructions": "Find the access code",
                                      "chunks": "all"}), answer("4821")], local=finds_fact)
    outcome = await run(models)
    (chunked,) = events(outcome, "chunked")
    assert len(models.to(LOCAL)) == chunked["chunks"] > 5
    results_prompt = str(models.to(REMOTE)[1].messages[-1]["content"])
    assert results_prompt.count('"chunk": ') == 1 and "4821" in results_prompt
    (jobs,) = events(outcome, "jobs")
    assert jobs["answered"] == 1 and jobs["empty"] == chunked["chunks"] - 1
    assert outcome.final.text == "4821"


async def test_the_document_is_never_sent_to_the_remote() -> None:
    models = FakeModels(remote=[plan({"instructions": "Find the access code"}), answer("x")],
                        local=finds_fact)
    await run(models)
    remote_text = "\n".join(c.text for c in models.to(REMOTE))
    assert not any(sentence in remote_text for sentence in filler_sentences(40))
    # Only what a job cited reaches the remote, never a chunk.
    assert remote_text.count(FACT) == 1
    assert "Security: chunks" in remote_text  # the outline (titles only) is shared


async def test_outline_can_be_withheld() -> None:
    models = FakeModels(remote=[plan({"instructions": "x"}), answer("x")], local=finds_fact)
    await run(models, share_outline=False)
    assert "Security" not in models.to(REMOTE)[0].text


@pytest.mark.parametrize(("rule", "expected"), [
    ({"keywords": ["vault"]}, [FACT]),
    ({"section": "security"}, [f"Paragraph {i} " for i in range(13, 26) if i != 17]),
    ({"chunks": [0]}, ["Paragraph 0 "]),
])
async def test_chunk_selection_rules(rule: dict[str, Any], expected: list[str]) -> None:
    models = FakeModels(remote=[plan({"instructions": "t", **rule}), answer("x")],
                        local=finds_fact)
    await run(models)
    seen = "\n".join(chunk_text(c.messages) for c in models.to(LOCAL))
    assert all(text in seen for text in expected)
    assert "Paragraph 39 " not in seen


async def test_local_jobs_respect_the_concurrency_bound() -> None:
    models = FakeModels(remote=[plan({"instructions": "t"}), answer("x")], local=finds_fact,
                        yields=3)
    outcome = await run(models, max_parallel=3)
    assert len(models.to(LOCAL)) > 6
    assert models.peak_in_flight[LOCAL] == 3
    assert events(outcome, "jobs")[0]["peak_parallel"] == 3


async def test_job_count_is_capped_fairly_across_tasks() -> None:
    models = FakeModels(remote=[plan({"instructions": "A"}, {"instructions": "B"}),
                                answer("x")], local=finds_fact)
    await run(models, max_jobs=4)
    tasks = [str(c.messages[-1]["content"]).split("Task: ")[1][0] for c in models.to(LOCAL)]
    assert sorted(tasks) == ["A", "A", "B", "B"]


async def test_second_round_with_feedback_and_forced_final_answer() -> None:
    more = as_json({"decision": "request_additional_info", "feedback": "need the date",
                    "tasks": [{"instructions": "Find the date", "chunks": [1, 2]}]})
    models = FakeModels(remote=[plan({"instructions": "Find the code", "keywords": ["vault"]}),
                                more, answer("4821, set in 1990")], local=finds_fact)
    outcome = await run(models, max_rounds=2)
    assert outcome.final.text == "4821, set in 1990"
    assert [e["round"] for e in events(outcome, "jobs")] == [1, 2]
    round_two = [c for c in models.to(LOCAL) if "Find the date" in c.text]
    assert len(round_two) == 2
    last_prompt = str(models.to(REMOTE)[-1].messages[-1]["content"])
    assert "No more rounds" in last_prompt
    assert outcome.trace[0]["rounds"] == 2


async def test_feedback_without_tasks_asks_for_a_new_plan() -> None:
    more = as_json({"decision": "request_additional_info", "feedback": "look for dates"})
    models = FakeModels(remote=[plan({"instructions": "A", "chunks": [0]}), more,
                                plan({"instructions": "B", "chunks": [1]}), answer("done")],
                        local=finds_fact)
    outcome = await run(models, max_rounds=3)
    assert outcome.final.text == "done"
    assert "look for dates" in str(models.to(REMOTE)[2].messages[-1]["content"])
    assert [e["round"] for e in events(outcome, "plan")] == [1, 2]


async def test_unusable_plan_falls_back_to_asking_every_chunk() -> None:
    models = FakeModels(remote=["no idea", '{"oops": 1}', "[]", answer("x")],
                        local=finds_fact)
    outcome = await run(models, json_retries=2)
    (planned,) = events(outcome, "plan")
    assert planned["fallback"] is True
    assert all(QUESTION in c.text for c in models.to(LOCAL))
    assert len(events(outcome, "malformed")) == 3


async def test_malformed_local_json_is_retried_then_prose_kept() -> None:
    def local(messages: Sequence[Mapping[str, Any]]) -> str:
        if FACT not in chunk_text(messages):
            return job_reply(None)
        return "The code is 4821." if len(messages) == 2 else "Still prose: 4821."
    models = FakeModels(remote=[plan({"instructions": "t"}), answer("x")], local=local)
    outcome = await run(models, local_json_retries=1)
    (jobs,) = events(outcome, "jobs")
    assert jobs["answered"] == 1 and jobs["unstructured"] == 1
    assert "Still prose: 4821." in str(models.to(REMOTE)[1].messages[-1]["content"])


async def test_a_failing_job_is_dropped_but_all_failing_raises() -> None:
    some = FakeModels(remote=[plan({"instructions": "t"}), answer("x")], local=finds_fact,
                      fail_local=lambda messages: "Paragraph 3 " in chunk_text(messages))
    outcome = await run(some)
    (jobs,) = events(outcome, "jobs")
    assert jobs["failed"] == 1 and jobs["answered"] == 1
    everything = FakeModels(remote=[plan({"instructions": "t"}), answer("x")],
                            local=finds_fact, fail_local=lambda messages: True)
    with pytest.raises(ConnectionError):
        await run(everything)


async def test_costs_are_split_by_tier() -> None:
    models = FakeModels(remote=[plan({"instructions": "t"}), answer("x")], local=finds_fact)
    outcome = await run(models)
    summary = outcome.trace[0]
    for tier in ("remote", "local"):
        stages = [s for s in outcome.stages if s.tier == tier]
        assert summary[tier]["calls"] == len(stages)
        assert summary[tier]["completion_tokens"] == sum(s.usage.completion_tokens
                                                         for s in stages)
    assert summary["remote"]["calls"] == 2 and summary["local"]["cost_usd"] == 0
    assert outcome.cost_usd == sum(s.cost_usd for s in outcome.stages)


async def test_local_jobs_ask_for_json_mode_and_remote_params_apply() -> None:
    models = FakeModels(remote=[plan({"instructions": "t", "chunks": [0]}), answer("x")],
                        local=finds_fact)
    await run(models, local_max_tokens=77, remote_params={"temperature": 0})
    assert models.to(LOCAL)[0].params == {"max_tokens": 77,
                                          "response_format": {"type": "json_object"}}
    assert models.to(REMOTE)[0].params == {"max_tokens": 1024, "temperature": 0}


async def test_schema_json_mode_sends_the_job_schema() -> None:
    models = FakeModels(remote=[plan({"instructions": "t", "chunks": [0]}), answer("x")],
                        local=finds_fact)
    await run(models, local_json_mode="schema")
    response_format = models.to(LOCAL)[0].params["response_format"]
    assert response_format["type"] == "json_object"
    assert response_format["schema"]["required"] == ["explanation", "citation", "answer"]
