"""Every error leaves in OpenAI's shape with the right status; never FastAPI's `detail`."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.gateway.conftest import OTHER_KEY, GatewayFactory, RunningGateway, sim_config
from tests.openai_schema import assert_openai

MESSAGES = [{"role": "user", "content": "hello"}]


def post(gw: RunningGateway, body: Any = None, *, content: bytes | None = None,
         key: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    hdrs = {"authorization": f"Bearer {key or gw.key}", **(headers or {})}
    if content is None:
        return httpx.post(f"{gw.base_url}/chat/completions", json=body, headers=hdrs, timeout=60)
    return httpx.post(f"{gw.base_url}/chat/completions", content=content,
                      headers={**hdrs, "content-type": "application/json"}, timeout=60)


def assert_error(response: httpx.Response, status: int, code: str | None = None,
                 error_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert "detail" not in body
    assert_openai(body, "ErrorResponse")
    assert set(body["error"]) == {"message", "type", "param", "code"}
    if code is not None:
        assert body["error"]["code"] == code
    if error_type is not None:
        assert body["error"]["type"] == error_type
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("body,param", [
    ({"model": "gpt-4o-mini"}, "messages"),
    ({"model": "gpt-4o-mini", "messages": []}, "messages"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
    ({"model": "gpt-4o-mini", "messages": MESSAGES, "n": 10_000}, "n"),
    ({"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": -1}, "max_tokens"),
    ({"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": "hot"}, "temperature"),
    ({"messages": MESSAGES}, "model"),
    ({"model": "gpt-4o-mini", "messages": "hello"}, "messages"),
])
def test_bad_bodies_are_400_with_param(gateway: RunningGateway, body: dict[str, Any],
                                       param: str) -> None:
    error = assert_error(post(gateway, body), 400, error_type="invalid_request_error")
    assert error["param"] == param


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b"\xff\xfe{}", b"null",
                                     b'{"model": "gpt-4o-mini", "messages": [' * 2000])
def test_malformed_json_is_400(gateway: RunningGateway, content: bytes) -> None:
    assert_error(post(gateway, content=content), 400)


def test_missing_and_wrong_key_are_401(gateway: RunningGateway) -> None:
    r = httpx.post(f"{gateway.base_url}/chat/completions", json={"model": "x"}, timeout=60)
    assert_error(r, 401, "invalid_api_key")
    r = post(gateway, {"model": "gpt-4o-mini", "messages": MESSAGES}, key="cr-wrong-key-123456")
    error = assert_error(r, 401, "invalid_api_key")
    assert "cr-wrong-key-123456" not in error["message"]


def test_unknown_model_is_404(gateway: RunningGateway) -> None:
    error = assert_error(post(gateway, {"model": "gpt-9", "messages": MESSAGES}), 404,
                         "model_not_found")
    assert error["param"] == "model"


def test_model_outside_tenant_allow_list_is_403(gateway: RunningGateway) -> None:
    r = post(gateway, {"model": "gpt-4o", "messages": MESSAGES}, key=OTHER_KEY)
    assert_error(r, 403, "model_not_allowed")


def test_body_over_limit_is_413(sim, gateway_factory: GatewayFactory) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_factory(sim_config(sim, server={"max_body_bytes": 2048}))
    big = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 5000}]}
    assert_error(post(gw, big), 413, "request_too_large")


def test_unknown_path_and_method_use_openai_shape(gateway: RunningGateway) -> None:
    assert_error(httpx.get(f"{gateway.base_url}/nothing", timeout=60), 404)
    assert_error(httpx.get(f"{gateway.base_url}/chat/completions", timeout=60), 405)


def test_openai_client_raises_typed_errors(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-9", messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=[])
    bad = openai.OpenAI(base_url=gateway.base_url, api_key="nope-nope-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
