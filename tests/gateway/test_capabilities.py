"""Capability-aware candidates: routers see only models that can serve the request."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.gateway.conftest import RunningGateway
from tests.gateway.entrypoints.conftest import api  # noqa: F401  (the fixture)

MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
IMAGE = {"role": "user", "content": [
    {"type": "text", "text": "What is in this picture?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {
    "name": "answer", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}


def chat(gw: RunningGateway, **body: Any) -> httpx.Response:
    return httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=60,
                      headers={"authorization": f"Bearer {gw.key}"})


def test_image_excludes_text_only_models_and_the_header_says_so(
        api: RunningGateway) -> None:  # noqa: F811
    plain = chat(api, model="router:mixed", messages=[{"role": "user", "content": "Hi"}])
    assert plain.headers["x-costroute-model"] == MIXTRAL  # the cheaper, without images
    r = chat(api, model="router:mixed", messages=[IMAGE])
    assert r.status_code == 200
    assert r.headers["x-costroute-model"] == "gpt-4o"
    assert f"excluded: {MIXTRAL} (vision)" in r.headers["x-costroute-route"]


def test_no_capable_candidate_is_a_400_naming_the_capability(
        api: RunningGateway) -> None:  # noqa: F811
    r = chat(api, model="router:text", messages=[IMAGE])
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "capability_unavailable" and error["param"] == "messages"
    assert "vision" in error["message"] and "gpt-4-1106-preview" in error["message"]


def test_json_schema_and_max_output(api: RunningGateway) -> None:  # noqa: F811
    r = chat(api, model="router:text", response_format=SCHEMA_FORMAT,
             messages=[{"role": "user", "content": "Hi"}])
    assert r.status_code == 400 and "json_schema" in r.json()["error"]["message"]
    # max_tokens above a model's maximum output leaves it out only where another can serve.
    r = chat(api, model="router:mixed", max_tokens=8000,
             messages=[{"role": "user", "content": "Hi"}])
    assert r.headers["x-costroute-model"] == "gpt-4o"
    assert f"{MIXTRAL} (max_output)" in r.headers["x-costroute-route"]
    r = chat(api, model="router:text", max_tokens=8000,
             messages=[{"role": "user", "content": "Hi"}])
    assert r.status_code == 200


def test_long_prompt_skips_the_small_context_model(api: RunningGateway) -> None:  # noqa: F811
    long = "lorem ipsum dolor sit amet " * 8000  # ~40k tokens: over Mixtral's 32k window
    r = chat(api, model="router:mixed", messages=[{"role": "user", "content": long}])
    assert r.status_code == 200
    assert r.headers["x-costroute-model"] != MIXTRAL
    assert f"{MIXTRAL} (context_window)" in r.headers["x-costroute-route"]


def test_chat_to_an_embedding_model_is_a_clear_400(api: RunningGateway) -> None:  # noqa: F811
    r = chat(api, model="text-embedding-3-small", messages=[{"role": "user", "content": "Hi"}])
    assert r.status_code == 400 and "/v1/embeddings" in r.json()["error"]["message"]


def test_responses_image_input_excludes_text_only_models(
        api: RunningGateway) -> None:  # noqa: F811
    client = openai.OpenAI(base_url=api.base_url, api_key=api.key, max_retries=0)
    raw = client.responses.with_raw_response.create(
        model="router:mixed", input=[IMAGE | {"content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]}])
    assert "(vision)" in raw.headers["x-costroute-route"]


def test_capability_refusal_in_anthropic_shape(api: RunningGateway) -> None:  # noqa: F811
    client = anthropic.Anthropic(base_url=api.root_url, api_key=api.key, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model="router:text", max_tokens=10, messages=[{
            "role": "user", "content": [{"type": "image", "source": {
                "type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}])
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "vision" in info.value.body["error"]["message"]  # type: ignore[index]
