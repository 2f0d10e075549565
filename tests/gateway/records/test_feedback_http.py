"""POST /v1/costroute/feedback over real HTTP, on answers from the official openai client."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.config import parse_config
from gateway.records.sqlite import SQLiteRecordStore
from gateway.server import ServeOptions, make_app
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import LearningConfig, TenantConfig, hash_key
from tests.gateway.conftest import (
    OTHER_KEY,
    TEST_KEY,
    GatewayFactory,
    RunningGateway,
    sim_config,
)
from tests.servers import serve_asgi

QUIET_KEY = "cr-test-key-tenant-quiet"


def learning_tenants() -> list[TenantConfig]:
    capture = LearningConfig(capture=True)
    return [
        TenantConfig(name="tenant-a", key_sha256=[hash_key(TEST_KEY)], learning=capture),
        TenantConfig(name="tenant-b", key_sha256=[hash_key(OTHER_KEY)], learning=capture),
        TenantConfig(name="tenant-quiet", key_sha256=[hash_key(QUIET_KEY)]),  # no capture
    ]


@pytest.fixture
def records_path(tmp_path: Path) -> Path:
    return tmp_path / "records.sqlite3"


@pytest.fixture
def gw(sim: SimulatorHandle, gateway_factory: GatewayFactory, records_path: Path) -> RunningGateway:
    config = sim_config(sim, records={"kind": "sqlite", "path": str(records_path)})
    return gateway_factory(config, learning_tenants())


def answer(gw: RunningGateway, key: str = TEST_KEY, content: str = "Name three primary colours.",
           model: str = "gpt-4o-mini", stream: bool = False) -> tuple[str, str]:
    """Asks once; the answer's x-request-id and its text."""
    client = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], stream=stream)
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    else:
        text = raw.parse().choices[0].message.content or ""
    return raw.headers["x-request-id"], text


def rate(gw: RunningGateway, body: Any, key: str | None = TEST_KEY) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    content = body if isinstance(body, bytes) else None
    return httpx.post(f"{gw.base_url}/costroute/feedback", headers=headers, timeout=10,
                      json=None if content is not None else body, content=content)


def read(path: Path, call: str, *args: Any) -> Any:
    async def run() -> Any:
        store = SQLiteRecordStore(path)
        try:
            return await getattr(store, call)(*args)
        finally:
            await store.aclose()

    return asyncio.run(run())


def test_rating_right_after_the_answer_is_recorded(gw: RunningGateway, records_path: Path) -> None:
    request_id, text = answer(gw)
    reply = rate(gw, {"request_id": request_id, "score": 0.75, "comment": "good enough"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"request_id": request_id, "metric": "default", "score": 0.75,
                            "model": "gpt-4o-mini", "status": "recorded"}
    record = read(records_path, "get_request", "tenant-a", request_id)
    assert record is not None and record.model == "gpt-4o-mini" and record.answer == text
    assert record.prompt == "Name three primary colours." and record.cost_usd > 0
    assert record.route == "passthrough" and record.status == 200
    (label,) = read(records_path, "label_history", "tenant-a", request_id)
    assert (label.score, label.source, label.model, label.comment) == (
        0.75, "feedback", "gpt-4o-mini", "good enough")


def test_a_later_rating_replaces_the_current_one_and_history_is_kept(
        gw: RunningGateway, records_path: Path) -> None:
    request_id, _ = answer(gw, model="auto")
    for score in (False, 0.5, 0.5, True):  # the repeated 0.5 is a retry: nothing new
        assert rate(gw, {"request_id": request_id, "score": score}).status_code == 200
    assert rate(gw, {"request_id": request_id, "score": 0, "metric": "tone"}).status_code == 200
    history = read(records_path, "label_history", "tenant-a", request_id)
    assert [(x.metric, x.score) for x in history] == [
        ("default", 0.0), ("default", 0.5), ("default", 1.0), ("tone", 0.0)]
    (outcome,) = read(records_path, "outcomes", "tenant-a")
    record = read(records_path, "get_request", "tenant-a", request_id)
    assert dict(outcome.scores) == {record.model: 1.0}
    assert record.route == "auto" and {c["model"] for c in record.candidates} >= {record.model}


def test_a_streamed_answer_is_captured_and_can_be_rated(
        gw: RunningGateway, records_path: Path) -> None:
    request_id, text = answer(gw, stream=True)
    assert rate(gw, {"request_id": request_id, "score": 1}).status_code == 200
    record = read(records_path, "get_request", "tenant-a", request_id)
    assert record.answer == text and record.extra.get("stream") is True
    assert record.completion_tokens > 0


def test_another_tenants_request_is_not_found_exactly_as_an_unknown_one(
        gw: RunningGateway) -> None:
    request_id, _ = answer(gw)
    theirs = rate(gw, {"request_id": request_id, "score": 1}, key=OTHER_KEY)
    unknown = rate(gw, {"request_id": "req_" + "0" * 32, "score": 1}, key=OTHER_KEY)
    assert theirs.status_code == unknown.status_code == 404
    strip = {"message": None}
    assert {**theirs.json()["error"], **strip} == {**unknown.json()["error"], **strip}
    assert theirs.json()["error"]["code"] == "request_not_found"
    assert request_id not in str(theirs.headers)


def test_the_learning_loops_own_calls_cannot_be_rated(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, records_path: Path) -> None:
    """A shadow answer (`req_…:shadow:0`) or a judge's grade is a record too, but no client
    was answered by it: rating its id is the 404 of an unknown id, and labels nothing."""
    from gateway.simulator.recordings import RecordingBook
    from tests.gateway.learning.conftest import KEY, learning_config, learning_tenant

    config = {**learning_config(sim), "records": {"kind": "sqlite", "path": str(records_path)}}
    gw = gateway_factory(config, [learning_tenant()])
    question = next(iter(RecordingBook.shipped())).prompt  # the simulated judge grades it
    request_id, _ = answer(gw, key=KEY, content=question, model="auto")
    internal = [f"{request_id}:shadow:0", f"{request_id}:judge:0"]
    deadline = time.monotonic() + 30
    while not records_path.exists() or None in [
            read(records_path, "get_request", "acme", rid) for rid in internal]:
        assert time.monotonic() < deadline, "the shadow job wrote no records"
        time.sleep(0.1)
    unknown = rate(gw, {"request_id": "req_" + "0" * 32, "score": 1}, key=KEY)
    assert unknown.status_code == 404
    for rid in internal:
        record = read(records_path, "get_request", "acme", rid)
        assert (record.purpose, record.parent_id) == ("learning", request_id)
        reply = rate(gw, {"request_id": rid, "score": 0}, key=KEY)
        assert reply.status_code == 404, reply.text
        strip = {"message": None}
        assert {**reply.json()["error"], **strip} == {**unknown.json()["error"], **strip}
        assert reply.json()["error"]["message"] == unknown.json()["error"]["message"].replace(
            "req_" + "0" * 32, rid)
        assert not [x for x in read(records_path, "label_history", "acme", rid)]
    assert not [x for x in read(records_path, "label_history", "acme", request_id)
                if x.source == "feedback"]
    assert rate(gw, {"request_id": request_id, "score": 1}, key=KEY).status_code == 200


def test_a_tenant_without_capture_has_nothing_to_rate(gw: RunningGateway) -> None:
    request_id, _ = answer(gw, key=QUIET_KEY)
    assert rate(gw, {"request_id": request_id, "score": 1}, key=QUIET_KEY).status_code == 404


def test_prompts_are_redacted_by_the_tenants_rules(gw: RunningGateway, records_path: Path) -> None:
    request_id, _ = answer(gw, content="Mail jane.doe@example.com the summary, please.")
    assert rate(gw, {"request_id": request_id, "score": 1}).status_code == 200
    record = read(records_path, "get_request", "tenant-a", request_id)
    assert "jane.doe@example.com" not in record.prompt and "[REDACTED:email]" in record.prompt


def test_authentication_is_required(gw: RunningGateway) -> None:
    request_id, _ = answer(gw)
    assert rate(gw, {"request_id": request_id, "score": 1}, key=None).status_code == 401
    wrong = rate(gw, {"request_id": request_id, "score": 1}, key="cr-nope")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(("body", "param"), [
    ({"score": 1.5}, "score"), ({"score": -0.1}, "score"), ({"score": "0.5"}, "score"),
    ({"score": None}, "score"), ({"score": [1]}, "score"), ({}, "score"),
    ({"score": 1, "metric": "has spaces"}, "metric"), ({"score": 1, "stars": 5}, "stars"),
    ({"score": 1, "model": "gpt-4o"}, "model"), ({"score": 1, "comment": "x" * 5000}, "comment"),
])
def test_bad_input_is_400_in_openai_shape(gw: RunningGateway, body: dict[str, Any],
                                          param: str) -> None:
    request_id, _ = answer(gw)
    reply = rate(gw, {"request_id": request_id, **body})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert error["message"]
    if param == "score":  # the rule, and what was sent
        assert "between 0 and 1, or true/false" in error["message"], error
        if "score" in body:
            assert error["message"].endswith(f"got {json.dumps(body['score'])}."), error


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'{"score": 1}'])
def test_malformed_bodies_are_400(gw: RunningGateway, raw: bytes) -> None:
    reply = rate(gw, raw)
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"


def test_an_unknown_request_id_is_404(gw: RunningGateway) -> None:
    reply = rate(gw, {"request_id": "req_does_not_exist", "score": 0.5})
    assert reply.status_code == 404 and reply.json()["error"]["param"] == "request_id"


def test_an_orchestrated_answer_is_captured_with_its_total_cost(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, records_path: Path) -> None:
    pool = ["gpt-4o-mini", "gpt-4o"]
    config = sim_config(sim, records={"kind": "sqlite", "path": str(records_path)}, routes={
        "router:minion": {"router": "minion", "models": pool, "options": {
            "local_model": "gpt-4o-mini", "remote_model": "gpt-4o", "max_rounds": 1}}})
    gw = gateway_factory(config, learning_tenants())
    client = openai.OpenAI(base_url=gw.base_url, api_key=TEST_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="router:minion", messages=[{"role": "user", "content": "Summarise: the sky."}])
    request_id = raw.headers["x-request-id"]
    assert rate(gw, {"request_id": request_id, "score": 0.5}).status_code == 200
    record = read(records_path, "get_request", "tenant-a", request_id)
    assert record.route == "router:minion" and record.extra.get("stages", 0) >= 2
    assert record.cost_usd == pytest.approx(float(raw.headers["x-costroute-cost-usd"]))
    assert {c["model"] for c in record.candidates} == set(pool)


def test_records_still_queued_at_shutdown_are_written_before_exit(
        sim: SimulatorHandle, records_path: Path) -> None:
    config = sim_config(sim, records={"kind": "sqlite", "path": str(records_path)},
                        store={"kind": "memory", "path": str(records_path.parent / "s.jsonl")})
    app = make_app(ServeOptions(parse_config(config), learning_tenants()))
    with serve_asgi(app) as root:
        gw = RunningGateway(f"{root}/v1", TEST_KEY, root)
        ids = [answer(gw, content=f"Question {i}")[0] for i in range(20)]
    assert read(records_path, "counts", "tenant-a").requests == 20
    assert read(records_path, "get_request", "tenant-a", ids[-1]) is not None
