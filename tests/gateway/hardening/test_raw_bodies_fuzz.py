"""Hypothesis against a real gateway: generated JSON bodies, raw bytes, query strings and
headers. No 5xx, no crash, every error in OpenAI's shape. Run with `-s` for the tally."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.gateway.conftest import RunningGateway
from tests.gateway.hardening.fuzz_checks import CHAT_PATH, Tally, check_response, live_settings
from tests.gateway.hardening.strategies import chat_bodies, json_values

BODY_EXAMPLES = 250
BYTES_EXAMPLES = 100
QUERY_EXAMPLES = 60
HEADER_EXAMPLES = 60
VALID = b'{"model":"gpt-4o-mini","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}'


@pytest.fixture(scope="module")
def client(shared_gateway: RunningGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_gateway.root_url, timeout=60,
                      headers={"authorization": f"Bearer {shared_gateway.key}"}) as http:
        yield http


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    seen = Tally()
    yield seen
    print("\n" + seen.report("hypothesis, raw requests"))


def post(client: httpx.Client, tally: Tally, label: str, content: bytes,
         headers: dict[str, str] | None = None) -> httpx.Response:
    response = client.post(CHAT_PATH, content=content,
                           headers={"content-type": "application/json", **(headers or {})})
    tally.add(label, response.status_code)
    check_response(CHAT_PATH, response.status_code, response.headers.get("content-type", ""),
                   response.text, content[:300])
    return response


@pytest.mark.slow
def test_generated_chat_bodies(client: httpx.Client, tally: Tally) -> None:
    @given(chat_bodies())
    @live_settings(BODY_EXAMPLES)
    def run(body: dict[str, Any]) -> None:
        post(client, tally, "chat body", orjson.dumps(body))

    run()


def mutations() -> st.SearchStrategy[bytes]:
    """A valid body cut, spliced or with bytes flipped; or any bytes; or any JSON."""
    cut = st.integers(0, len(VALID)).map(lambda i: VALID[:i])
    spliced = st.tuples(st.integers(0, len(VALID)), st.binary(max_size=8)).map(
        lambda t: VALID[:t[0]] + t[1] + VALID[t[0]:])
    flipped = st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)).map(
        lambda t: VALID[:t[0]] + bytes([t[1]]) + VALID[t[0] + 1:])
    return st.one_of(cut, spliced, flipped, st.binary(max_size=64),
                     json_values.map(orjson.dumps))


@pytest.mark.slow
def test_mutated_and_random_bytes(client: httpx.Client, tally: Tally) -> None:
    @given(mutations())
    @live_settings(BYTES_EXAMPLES)
    def run(content: bytes) -> None:
        post(client, tally, "raw bytes", content)

    run()


@pytest.mark.slow
def test_spend_query_strings(client: httpx.Client, tally: Tally) -> None:
    values = st.text(max_size=40) | st.sampled_from(["*", "tenant-a", "period,model",
                                                     "language,tier", ",,", "route"])

    @given(st.dictionaries(st.sampled_from(["tenant", "by", "other"]), values, max_size=3))
    @live_settings(QUERY_EXAMPLES)
    def run(params: dict[str, str]) -> None:
        response = client.get("/v1/costroute/spend", params=params)
        tally.add("spend query", response.status_code)
        check_response("/v1/costroute/spend", response.status_code,
                       response.headers.get("content-type", ""), response.text, params)

    run()


@pytest.mark.slow
def test_hostile_headers(client: httpx.Client, shared_gateway: RunningGateway,
                         tally: Tally) -> None:
    # Any value HTTP allows: latin-1 without controls, no surrounding spaces.
    latin1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                   exclude_characters="\x7f"), max_size=80).map(str.strip)
    auth = st.one_of(st.just(f"Bearer {shared_gateway.key}"),
                     latin1.map("Bearer {}".format).map(str.strip), latin1,
                     st.just("Bearer"), st.just("bearer  x"))

    @given(auth, latin1, latin1)
    @live_settings(HEADER_EXAMPLES)
    def run(authorization: str, request_id: str, api_key: str) -> None:
        headers = {"authorization": authorization, "x-request-id": request_id,
                   "api-key": api_key, "content-type": "application/json"}
        raw = {k.encode(): v.encode("latin-1") for k, v in headers.items()}
        response = client.post(CHAT_PATH, content=VALID, headers=raw)
        tally.add("headers", response.status_code)
        check_response(CHAT_PATH, response.status_code, response.headers.get("content-type", ""),
                       response.text, headers)
        assert response.headers["x-request-id"].startswith("req_")  # always the gateway's
        assert response.headers.get("x-client-request-id") in (None, request_id)

    run()
