"""OpenTelemetry traces exported over OTLP/HTTP to a real receiver on loopback: a plain
request, a stream, a cascade, a retried attempt, content only for opted-in tenants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from gateway.context import RequestContext
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import ContentLoggingConfig, TenantConfig, hash_key
from gateway.tracing import NoTracing, build_tracing, traces_endpoint
from tests.gateway.cascade_route import (
    CHEAP,
    QUESTION,
    STRONG,
    SURE,
    UNSURE,
    cascade_route,
    make_cascade_artifact,
)
from tests.gateway.conftest import TEST_KEY, GatewayFactory, RunningGateway, sim_config
from tests.gateway.entrypoints.conftest import api_config, api_tenants

pytest.importorskip("opentelemetry.sdk")
from tests.gateway.otlp_receiver import ReceivedSpan, Receiver, otlp_receiver

SERVER, CLIENT, INTERNAL = 2, 3, 1
LOGGED_KEY = "cr-test-key-content-logged"
HELLO = [{"role": "user", "content": "Write one sentence about the sea."}]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cascade_artifact(tmp_path_factory.mktemp("cascade"))


@pytest.fixture
def traced(sim: SimulatorHandle, gateway_factory: GatewayFactory, receiver: Receiver,
           artifact: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A gateway exporting to the receiver; returns its /v1 base URL."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # export within 50 ms, not 5 s
    config = sim_config(sim, routes={"auto": {"router": "table"},
                                     "router:cascade": cascade_route(artifact)},
                        tracing={"otlp_endpoint": receiver.url, "service_name": "costroute-test"})
    tenants = [TenantConfig(name="tenant-a", key_sha256=[hash_key(TEST_KEY)]),
               TenantConfig(name="logged", key_sha256=[hash_key(LOGGED_KEY)],
                            content_logging=ContentLoggingConfig(enabled=True))]
    return gateway_factory(config, tenants).base_url


def client(base_url: str, key: str = TEST_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)


def by_request_id(request_id: str) -> Any:
    return lambda s: s.attributes.get("costroute.request_id") == request_id


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_span_id == parent.span_id]


def root(spans: list[ReceivedSpan]) -> ReceivedSpan:
    (server,) = [s for s in spans if not s.parent_span_id]
    return server


def test_a_plain_request_has_a_server_span_with_genai_attributes_and_an_attempt(
        traced: str, receiver: Receiver) -> None:
    raw = client(traced).chat.completions.with_raw_response.create(
        model="auto", messages=HELLO, max_tokens=30)  # type: ignore[arg-type]
    answer = raw.parse()
    spans = receiver.trace_of(by_request_id(raw.headers["x-request-id"]))
    server = root(spans)
    a = server.attributes
    assert server.kind == SERVER and server.name == "chat auto"
    assert server.service == "costroute-test"
    assert a["gen_ai.request.model"] == "auto"
    assert a["gen_ai.response.model"] == raw.headers["x-costroute-model"]
    assert a["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens  # type: ignore[union-attr]
    assert a["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens  # type: ignore[union-attr]
    assert a["gen_ai.system"] == "costroute" and a["gen_ai.operation.name"] == "chat"
    assert a["costroute.cost_usd"] == pytest.approx(float(raw.headers["x-costroute-cost-usd"]))
    assert a["costroute.route"] == "auto"
    assert a["costroute.route.decision"] == raw.headers["x-costroute-model"]
    assert a["costroute.route.reason"] and a["costroute.route.predicted_cost_usd"] > 0
    assert 0 <= a["costroute.route.predicted_quality"] <= 1
    assert a["http.response.status_code"] == 200
    (attempt,) = children(spans, server)
    assert attempt.kind == CLIENT and attempt.trace_id == server.trace_id
    assert attempt.attributes["gen_ai.request.model"] == a["gen_ai.response.model"]
    assert attempt.attributes["gen_ai.system"] == "openai"
    assert "gen_ai.input.messages" not in a  # this tenant did not opt into content logging
    assert receiver.content_types and set(receiver.content_types) == {"application/x-protobuf"}


def test_a_stream_span_ends_with_the_streams_usage_and_cost(traced: str,
                                                             receiver: Receiver) -> None:
    stream = client(traced).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=HELLO, max_tokens=30, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True})
    usage = None
    for chunk in stream.parse():
        usage = chunk.usage or usage
    assert usage is not None
    spans = receiver.trace_of(by_request_id(stream.headers["x-request-id"]))
    server = root(spans)
    assert server.attributes["costroute.stream"] is True
    assert server.attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert server.attributes["costroute.cost_usd"] > 0
    assert server.attributes["costroute.route"] == "passthrough"
    (attempt,) = children(spans, server)
    assert attempt.kind == CLIENT and attempt.attributes["gen_ai.request.model"] == "gpt-4o-mini"


def test_a_cascade_has_a_stage_span_per_stage_each_with_its_attempt(
        traced: str, receiver: Receiver, sim: SimulatorHandle) -> None:
    sim.control.script(CHEAP, [UNSURE])  # the cheap answer is not trusted: escalate
    raw = client(traced).chat.completions.with_raw_response.create(
        model="router:cascade", messages=[{"role": "user", "content": QUESTION}])
    spans = receiver.trace_of(by_request_id(raw.headers["x-request-id"]))
    server = root(spans)
    stages = sorted(children(spans, server), key=lambda s: s.attributes["costroute.stage"])
    assert [s.attributes["gen_ai.request.model"] for s in stages] == [CHEAP, STRONG]
    assert all(s.kind == INTERNAL for s in stages)
    for stage in stages:
        (attempt,) = children(spans, stage)
        assert attempt.kind == CLIENT
        assert stage.attributes["costroute.cost_usd"] > 0
    assert server.attributes["costroute.stages"] == 2
    assert server.attributes["costroute.cost_usd"] == pytest.approx(
        sum(s.attributes["costroute.cost_usd"] for s in stages))
    # A protocol predicts no single cost: no made-up 0.0 on the root (the stages say it).
    assert "costroute.route.predicted_cost_usd" not in server.attributes
    assert server.attributes["costroute.route"] == "router:cascade"
    assert server.attributes["gen_ai.response.model"] == STRONG
    sim.control.script(CHEAP, [SURE])


def test_a_retried_upstream_gets_one_span_per_attempt(traced: str, receiver: Receiver,
                                                      sim: SimulatorHandle) -> None:
    sim.control.inject_fault("gpt-4o", "http_500", count=1)
    raw = client(traced).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=HELLO, max_tokens=20)  # type: ignore[arg-type]
    spans = receiver.trace_of(by_request_id(raw.headers["x-request-id"]))
    attempts = sorted(children(spans, root(spans)), key=lambda s: s.attributes["costroute.attempt"])
    assert [(s.attributes["costroute.attempt"], s.status_code) for s in attempts] == [
        (1, 2), (2, 0)]


def test_prompts_and_answers_are_in_spans_only_when_opted_in_and_redacted(
        traced: str, receiver: Receiver) -> None:
    secret = [{"role": "user", "content": "Mail jane.doe@example.com about the sea."}]
    raw = client(traced, LOGGED_KEY).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=secret, max_tokens=20)  # type: ignore[arg-type]
    server = root(receiver.trace_of(by_request_id(raw.headers["x-request-id"])))
    prompt = server.attributes["gen_ai.input.messages"]
    assert "[REDACTED:email]" in prompt and "jane.doe@example.com" not in prompt
    assert raw.parse().choices[0].message.content[:20] in server.attributes[
        "gen_ai.output.messages"]


@pytest.mark.parametrize("stream", [False, True])
def test_responses_spans_carry_an_opted_in_prompt_and_answer_as_chats_do(
        traced: str, receiver: Receiver, stream: bool) -> None:
    raw = client(traced, LOGGED_KEY).responses.with_raw_response.create(
        model="gpt-4o-mini", input="Mail jane.doe@example.com about the sea.",
        max_output_tokens=20, stream=stream)
    if stream:
        for _ in raw.parse():
            pass
    server = root(receiver.trace_of(by_request_id(raw.headers["x-request-id"])))
    prompt = server.attributes["gen_ai.input.messages"]
    assert "[REDACTED:email]" in prompt and "jane.doe@example.com" not in prompt
    assert server.attributes["gen_ai.output.messages"]


def test_an_error_ends_the_span_with_its_status(traced: str, receiver: Receiver) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client(traced).chat.completions.create(model="no-such-model", messages=HELLO)  # type: ignore[arg-type]
    request_id = caught.value.response.headers["x-request-id"]
    server = root(receiver.trace_of(by_request_id(request_id)))
    assert server.status_code == 2
    assert server.attributes["http.response.status_code"] == 404
    assert server.attributes["error.type"] == "model_not_found"


def test_tracing_is_off_without_an_endpoint() -> None:
    tracing = build_tracing(None, {}, environ={})
    assert isinstance(tracing, NoTracing) and not tracing.enabled
    ctx = RequestContext("r1", TenantConfig(name="t"))
    tracing.start_request(ctx, "auto", False)
    assert ctx.span is None
    # One shared null context: no allocation per request or per attempt.
    assert tracing.attempt("m", 1) is tracing.stage("r", 1, "m") is tracing.activate(ctx)


def test_the_endpoint_comes_from_config_then_the_standard_variables() -> None:
    assert traces_endpoint(None, {}) is None
    assert traces_endpoint(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces")
    assert traces_endpoint(None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:1/x"}) == (
        "http://c:1/x")


def test_minions_parallel_local_jobs_are_sibling_stage_spans(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """MinionS with the simulator standing in for the local worker: each job is a stage
    span under the request's span, concurrent jobs included."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    remote, local = "gpt-4o", "gpt-4o-mini"
    config = sim_config(
        sim, models=[{"name": remote, "upstream": {"base_url": sim.base_url}},
                     {"name": local, "upstream": {"base_url": sim.base_url}, "tier": "local"}],
        routes={"router:minions": {"router": "minions", "models": [remote, local], "options": {
            "local_model": local, "remote_model": remote, "local_max_tokens": 48,
            "max_rounds": 1, "max_parallel": 2, "chunk_tokens": 40, "overlap_tokens": 0}}},
        tracing={"otlp_endpoint": receiver.url})
    base_url = gateway_factory(config).base_url
    sim.control.script(remote, [
        json.dumps({"tasks": [{"instructions": "Find the code.", "chunks": "all"}]}),
        json.dumps({"decision": "provide_final_answer", "answer": "4821"})])
    document = " ".join(f"Sentence {i} of the report says nothing." for i in range(40))
    raw = client(base_url).chat.completions.with_raw_response.create(
        model="router:minions", messages=[{"role": "user", "content": document},
                                          {"role": "user", "content": "What is the code?"}])
    spans = receiver.trace_of(by_request_id(raw.headers["x-request-id"]))
    server = root(spans)
    stages = children(spans, server)
    assert len(stages) == int(raw.headers["x-costroute-stages"]) >= 4
    models = [s.attributes["gen_ai.request.model"] for s in stages]
    assert models.count(remote) == 2 and models.count(local) >= 2
    assert all(len(children(spans, s)) == 1 for s in stages)  # one attempt each


@pytest.fixture
def traced_api(sim: SimulatorHandle, gateway_factory: GatewayFactory, receiver: Receiver,
               monkeypatch: pytest.MonkeyPatch) -> RunningGateway:
    """A gateway with embedding models too, exporting to the receiver."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    config = api_config(sim, tracing={"otlp_endpoint": receiver.url,
                                      "service_name": "costroute-test"})
    return gateway_factory(config, api_tenants())


def test_responses_have_a_server_span_named_for_their_operation(
        traced_api: RunningGateway, receiver: Receiver) -> None:
    raw = client(traced_api.base_url).responses.with_raw_response.create(
        model="gpt-4o-mini", input="Write one sentence about the sea.", max_output_tokens=30)
    answer = raw.parse()
    server = root(receiver.trace_of(by_request_id(raw.headers["x-request-id"])))
    a = server.attributes
    assert server.kind == SERVER and server.name == "responses gpt-4o-mini"
    assert a["gen_ai.operation.name"] == "responses" and a["costroute.stream"] is False
    assert a["gen_ai.usage.output_tokens"] == answer.usage.output_tokens  # type: ignore[union-attr]
    assert a["costroute.cost_usd"] == pytest.approx(float(raw.headers["x-costroute-cost-usd"]))
    assert a["http.response.status_code"] == 200


def test_a_responses_stream_span_ends_at_the_streams_end(
        traced_api: RunningGateway, receiver: Receiver) -> None:
    raw = client(traced_api.base_url).responses.with_raw_response.create(
        model="gpt-4o-mini", input="Write one sentence about the sea.", max_output_tokens=30,
        stream=True)
    usage = None
    for event in raw.parse():
        if event.type in ("response.completed", "response.incomplete"):
            usage = event.response.usage
    assert usage is not None
    server = root(receiver.trace_of(by_request_id(raw.headers["x-request-id"])))
    assert server.attributes["gen_ai.operation.name"] == "responses"
    assert server.attributes["costroute.stream"] is True
    assert server.attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert server.attributes["costroute.cost_usd"] > 0


def test_messages_have_a_server_span_sync_and_stream(traced_api: RunningGateway,
                                                     receiver: Receiver) -> None:
    anth = anthropic.Anthropic(base_url=traced_api.root_url, api_key=traced_api.key,
                               max_retries=0)
    raw = anth.messages.with_raw_response.create(model="gpt-4o-mini", max_tokens=30,
                                                 messages=[{"role": "user", "content": "Hi"}])
    message = raw.parse()
    server = root(receiver.trace_of(by_request_id(raw.headers["x-request-id"])))
    assert server.name == "messages gpt-4o-mini"
    assert server.attributes["gen_ai.operation.name"] == "messages"
    assert server.attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens
    with anth.messages.stream(model="gpt-4o-mini", max_tokens=30,
                              messages=[{"role": "user", "content": "Hi"}]) as stream:
        final = stream.get_final_message()
        request_id = stream.response.headers["x-request-id"]
    streamed = root(receiver.trace_of(by_request_id(request_id)))
    assert streamed.attributes["costroute.stream"] is True
    assert streamed.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert streamed.attributes["http.response.status_code"] == 200


def test_embeddings_have_a_server_span_and_errors_end_it(traced_api: RunningGateway,
                                                         receiver: Receiver) -> None:
    raw = client(traced_api.base_url).embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["hello world"])
    answer = raw.parse()
    spans = receiver.trace_of(by_request_id(raw.headers["x-request-id"]))
    server = root(spans)
    assert server.name == "embeddings text-embedding-3-small"
    assert server.attributes["gen_ai.operation.name"] == "embeddings"
    [attempt] = children(spans, server)  # one CLIENT span per upstream attempt, as for chat
    assert attempt.kind == CLIENT and attempt.name == "embeddings text-embedding-3-small"
    assert attempt.attributes["gen_ai.operation.name"] == "embeddings"
    assert attempt.attributes["costroute.attempt"] == 1
    assert server.attributes["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert server.attributes["costroute.cost_usd"] > 0
    with pytest.raises(openai.BadRequestError) as caught:
        client(traced_api.base_url).embeddings.create(model="gpt-4o-mini", input="x")
    failed = root(receiver.trace_of(by_request_id(caught.value.response.headers["x-request-id"])))
    assert failed.status_code == 2 and failed.attributes["http.response.status_code"] == 400
    assert failed.attributes["error.type"] == "model_not_embedding"
