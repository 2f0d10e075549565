"""Shadow labelling over real loopback HTTP, with the official openai client and the simulator."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import openai
import pytest

from gateway.context import RequestContext
from gateway.learning.shadow import ShadowRunner
from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.simulator.server import SimulatorHandle
from tests.gateway.cascade_route import QUESTION, cascade_route, make_cascade_artifact
from tests.gateway.learning.conftest import KEY, learning_config, learning_tenant
from tests.gateway.learning.harness import Served, serve_learning, wait_for

POOL = {"gpt-4o-mini", "gpt-4o", "mistralai/Mixtral-8x7B-Instruct-v0.1"}


def client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.base_url, api_key=KEY, max_retries=0)


def ask(served: Served, prompt: str, stream: bool = False) -> tuple[str, str, str]:
    """(answer text, x-request-id, x-costroute-model) of one `auto` request."""
    c = client(served)
    if stream:
        with c.chat.completions.with_streaming_response.create(
                model="auto", messages=[{"role": "user", "content": prompt}],
                stream=True) as raw:
            text = "".join(chunk.choices[0].delta.content or ""
                           for chunk in raw.parse() if chunk.choices)
            return text, raw.headers["x-request-id"], raw.headers["x-costroute-model"]
    raw = c.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": prompt}])
    return (raw.parse().choices[0].message.content or "", raw.headers["x-request-id"],
            raw.headers["x-costroute-model"])


def counts(served: Served) -> dict[str, int]:
    assert served.gateway.learning is not None
    return dict(served.gateway.learning.metrics.counts)


@pytest.mark.parametrize("stream", [False, True])
def test_every_answer_is_judged_and_recorded_as_learning(
        sim: SimulatorHandle, recorded_prompt: str, stream: bool) -> None:
    with serve_learning(learning_config(sim), [learning_tenant()]) as served:
        answer, request_id, model = ask(served, recorded_prompt, stream)
        assert answer
        wait_for(lambda: counts(served).get("jobs_done", 0) == 1)
        labels = [x for x in served.sink.labels if x.request_id == request_id]
        assert {x.model for x in labels} == POOL  # the served answer is graded too
        assert all(x.source == "judge" and x.grader == f"judge:{SIMULATED_JUDGE}:v1"
                   for x in labels)
        assert all(0.0 <= x.score <= 1.0 for x in labels)
        shadows = [r for r in served.sink.requests if r.purpose == "learning"]
        assert {r.parent_id for r in shadows} == {request_id}
        assert {r.model for r in shadows if r.reason == "shadow"} == POOL - {model}
        traffic = [r for r in served.sink.requests if r.purpose == "traffic"]
        assert [r.request_id for r in traffic] == [request_id]
        assert traffic[0].prompt == recorded_prompt


def test_judge_grades_with_recorded_outcomes(sim: SimulatorHandle, recorded_prompt: str) -> None:
    from gateway.simulator.recordings import RecordingBook

    recording = RecordingBook.shipped().find(recorded_prompt)
    assert recording is not None
    with serve_learning(learning_config(sim), [learning_tenant()]) as served:
        ask(served, recorded_prompt)
        wait_for(lambda: counts(served).get("jobs_done", 0) == 1)
        by_model = {x.model: x.score for x in served.sink.labels}
        # gpt-4o replays GPT-4's recorded answer, and the judge returns its recorded outcome.
        assert by_model["gpt-4o"] == float(recording.correct["gpt-4-1106-preview"])


def test_learning_spend_is_marked_and_kept_apart(sim: SimulatorHandle,
                                                 recorded_prompt: str) -> None:
    with serve_learning(learning_config(sim), [learning_tenant()]) as served:
        ask(served, recorded_prompt)
        wait_for(lambda: counts(served).get("jobs_done", 0) == 1)
        report = httpx.get(f"{served.base_url}/costroute/spend?by=purpose,model",
                           headers={"authorization": f"Bearer {KEY}"}).json()
        rows = report["rows"]
        learning = [r for r in rows if r["purpose"] == "learning"]
        traffic = [r for r in rows if r["purpose"] == "traffic"]
        assert len(traffic) == 1 and traffic[0]["requests"] == 1
        assert {r["model"] for r in learning} == (POOL - {traffic[0]["model"]}) | {SIMULATED_JUDGE}
        judge = next(r for r in learning if r["model"] == SIMULATED_JUDGE)
        assert judge["requests"] == 3  # one grade per answer
        entries = served.spend._entries  # the learning calls count in learning windows only
        for entry in entries:
            learning_call = entry.record.extra.get("purpose") == "learning"
            assert all(k.startswith("learning:") == learning_call for k in entry.window_keys)


def test_learning_stops_when_its_budget_is_spent(sim: SimulatorHandle,
                                                 recorded_prompt: str) -> None:
    # $0.00002 holds about one worst-case judge call of this prompt, never all of them.
    tenant = learning_tenant(budget={"period": "day", "limit_usd": 0.00002})
    with serve_learning(learning_config(sim), [tenant]) as served:
        for _ in range(3):
            answer, _, _ = ask(served, recorded_prompt)
            assert answer
        wait_for(lambda: counts(served).get("jobs_done", 0) == 3)
        c = counts(served)
        assert c.get("shadow_exhausted", 0) + c.get("judge_exhausted", 0) > 0
        spent = sum(e.actual_nanos for e in served.spend._entries
                    if e.record.extra.get("purpose") == "learning") / 1e9
        assert spent <= 0.00002


def test_slow_shadow_model_and_failing_judge_leave_the_answer_alone(
        sim: SimulatorHandle, recorded_prompt: str) -> None:
    with serve_learning(learning_config(sim), [learning_tenant(shadow_rate=0.0)]) as served:
        baseline, _, model = ask(served, recorded_prompt)
    others = sorted(POOL - {model})
    sim.control.inject_fault(others[0], "slow", delay_s=3.0, count=5)
    sim.control.inject_fault(SIMULATED_JUDGE, "http_500", count=10)
    with serve_learning(learning_config(sim), [learning_tenant()]) as served:
        answer, _, again = ask(served, recorded_prompt)
        # The client has its answer while the slow shadow call is still running.
        assert counts(served).get("jobs_done", 0) == 0
        assert (answer, again) == (baseline, model)
        wait_for(lambda: counts(served).get("jobs_done", 0) == 1)
        assert counts(served).get("judge_failed", 0) == 3
        assert served.sink.labels == []  # no grade, no label: never a guessed one


def test_load_sheds_learning_first(sim: SimulatorHandle, recorded_prompt: str) -> None:
    def small_queue(gateway) -> None:  # type: ignore[no-untyped-def]
        loop = gateway.learning
        loop.runner = ShadowRunner(loop.run_job, loop.metrics, concurrency=1, queue_size=1)

    sim.control.inject_fault("gpt-4o", "slow", delay_s=1.0, count=50)
    config = learning_config(sim)
    config["routes"]["auto"]["models"] = ["gpt-4o-mini"]
    tenant = learning_tenant(shadow_models=["gpt-4o"])
    with serve_learning(config, [tenant], tune=small_queue) as served:
        for _ in range(6):
            answer, _, model = ask(served, recorded_prompt)
            assert answer and model == "gpt-4o-mini"
        c = counts(served)
        assert c.get("jobs_dropped", 0) >= 1
        assert c.get("jobs_queued", 0) + c["jobs_dropped"] == 6


def test_no_learning_budget_means_no_learning_calls(sim: SimulatorHandle,
                                                    recorded_prompt: str) -> None:
    with serve_learning(learning_config(sim), [learning_tenant(budget=None)]) as served:
        answer, _, _ = ask(served, recorded_prompt)
        assert answer
        wait_for(lambda: counts(served).get("jobs_no_budget") == 1)
        assert counts(served).get("jobs_queued", 0) == 0
        assert served.sink.labels == []
        assert not [e for e in served.spend._entries
                    if e.record.extra.get("purpose") == "learning"]


def test_a_reference_answer_is_graded_by_exact_match(sim: SimulatorHandle,
                                                     recorded_prompt: str) -> None:
    from gateway.simulator.recordings import RecordingBook

    recording = RecordingBook.shipped().find(recorded_prompt)
    assert recording is not None
    # GSM8K answers end "#### <number>": GPT-4's recorded answer gives the reference.
    reference = recording.answers["gpt-4-1106-preview"].rsplit("####", 1)[-1].strip()
    tenant = learning_tenant(judge={"model": None})
    with serve_learning(learning_config(sim), [tenant]) as served:
        c = client(served)
        raw = c.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": recorded_prompt}],
            extra_headers={"x-costroute-reference-answer": reference})
        request_id = raw.headers["x-request-id"]
        wait_for(lambda: counts(served).get("jobs_done", 0) == 1)
        labels = {x.model: x for x in served.sink.labels}
        assert set(labels) == POOL
        assert all(x.source == "exact" and x.request_id == request_id
                   for x in labels.values())
        assert labels["gpt-4o"].score == 1.0  # it replays GPT-4's answer
        assert counts(served).get("judge_ok", 0) == 0  # no judge was asked


def test_a_judge_the_gateway_cannot_call_costs_no_shadow_call(
        sim: SimulatorHandle, recorded_prompt: str) -> None:
    """A tenant built in code skips tenants.yaml's check (gateway/learning/checks.py): its
    unknown judge must not fail every job after the shadow calls were paid (smoke run)."""
    tenant = learning_tenant(judge={"model": "no-such-judge"})
    with serve_learning(learning_config(sim), [tenant]) as served:
        answer, _, _ = ask(served, recorded_prompt)
        assert answer
        wait_for(lambda: counts(served).get("jobs_no_judge") == 1)
        c = counts(served)
        assert c.get("jobs_queued", 0) == 0 and c.get("jobs_failed", 0) == 0
        assert not [e for e in served.spend._entries
                    if e.record.extra.get("purpose") == "learning"]
        # And a learning call to it, were one made, is a counted outcome, not a traceback.
        loop = served.gateway.learning
        assert loop is not None
        call = loop.caller.call(tenant, kind="judge", call_id="x:judge:0", parent_id="x",
                                route="auto", model="no-such-judge",
                                messages=[{"role": "user", "content": "hi"}], params={})
        assert asyncio.run(call) is None
        assert counts(served).get("judge_unknown_model") == 1


def test_multi_call_routes_are_captured_but_not_shadow_labelled(
        sim: SimulatorHandle, tmp_path: Path) -> None:
    """router:cascade answers with several calls: its answer is not one model's, so it gets no
    shadow job (a graded cascade answer would label its last stage's model with every
    stage's cost). Its record is captured, for the client's feedback."""
    config = learning_config(sim)
    config["routes"]["router:cascade"] = cascade_route(make_cascade_artifact(tmp_path / "c"))
    with serve_learning(config, [learning_tenant()]) as served:
        raw = client(served).chat.completions.with_raw_response.create(
            model="router:cascade", messages=[{"role": "user", "content": QUESTION}])
        assert raw.parse().choices[0].message.content
        request_id = raw.headers["x-request-id"]
        wait_for(lambda: any(r.request_id == request_id for r in served.sink.requests))
        (record,) = served.sink.requests
        assert record.route == "router:cascade" and record.extra["stages"] >= 1
        time.sleep(0.3)  # a shadow job would be queued once the body is sent
        assert counts(served).get("jobs_queued", 0) == 0
        assert not [r for r in served.sink.requests if r.purpose == "learning"]
        # Were the request path to hand it to the loop, the loop says why it does nothing.
        loop = served.gateway.learning
        assert loop is not None
        ctx = RequestContext(request_id, learning_tenant(), route="router:cascade",
                             log={"model": record.model, "cost_usd": 0.001, "stages": 2})
        loop.after_answer(ctx, [{"role": "user", "content": QUESTION}], {}, "42")
        assert counts(served).get("jobs_multi_call") == 1
        assert counts(served).get("jobs_queued", 0) == 0
