"""Every error leaves in OpenAI's shape with the right status; no bad input yields a 5xx."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.gateway.simulator.helpers import chat_body, user
from tests.openai_schema import assert_openai

GOOD = chat_body("gpt-4o", "hello")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": user("hi")}, "model"),
        ({"model": "gpt-4o"}, "messages"),
        ({"model": "gpt-4o", "messages": []}, "messages"),
        ({"model": "gpt-4o", "messages": [{"content": "no role"}]}, "messages.[0].role"),
        ({**GOOD, "stream": "yes"}, "stream"),
        ({**GOOD, "max_tokens": 0}, "max_tokens"),
        ({**GOOD, "max_tokens": True}, "max_tokens"),
        ({**GOOD, "max_completion_tokens": 1.5}, "max_completion_tokens"),
        ({**GOOD, "stop": [1]}, "stop"),
        ({**GOOD, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({**GOOD, "n": 0}, "n"),
        ({**GOOD, "n": 129}, "n"),
        ({**GOOD, "stream": True, "stream_options": {"include_usage": "y"}},
         "stream_options.include_usage"),
    ],
)
def test_bad_bodies_are_400_with_the_param(
    http: httpx.Client, body: dict[str, object], param: str
) -> None:
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 400
    assert_openai(reply.json(), "ErrorResponse")
    assert reply.json()["error"]["param"] == param
    assert reply.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_unparseable_bodies_are_400(http: httpx.Client, raw: bytes) -> None:
    reply = http.post("/chat/completions", content=raw,
                      headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert_openai(reply.json(), "ErrorResponse")


def test_unknown_model_is_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as failure:
        client.chat.completions.create(model="gpt-9", messages=user("hi"))
    assert failure.value.code == "model_not_found"


def test_prompt_over_the_context_window_is_400(http: httpx.Client) -> None:
    long_prompt = "lorem ipsum dolor sit amet " * 2000  # ~54 kB: over smollm2's 8k window
    reply = http.post("/chat/completions", json=chat_body("smollm2-135m-instruct", long_prompt))
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "context_length_exceeded"
    assert_openai(reply.json(), "ErrorResponse")


def test_unknown_path_and_wrong_method_keep_the_openai_shape(http: httpx.Client) -> None:
    missing = http.get("/no-such-endpoint")
    assert missing.status_code == 404
    assert_openai(missing.json(), "ErrorResponse")
    wrong = http.get("/chat/completions")
    assert wrong.status_code == 405
    assert_openai(wrong.json(), "ErrorResponse")
