"""Schemathesis against the gateway's own OpenAPI document, served by a real gateway.

Cases come from `GET /openapi.json`: positive ones (valid by the schema) and negative ones
(violating it) for the chat endpoint, and every GET endpoint. Each response must be a non-5xx,
and every error must be in OpenAI's shape. Run with `-s` to see the tally.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.gateway.conftest import RunningGateway
from tests.gateway.hardening.fuzz_checks import CHAT_PATH, Tally, check_response, live_settings

SERVED_MODELS = ["gpt-4o-mini", "gpt-4o", "mistralai/Mixtral-8x7B-Instruct-v0.1", "auto",
                 "router:cheapest"]
CHAT_POSITIVE_EXAMPLES = 200
CHAT_NEGATIVE_EXAMPLES = 150
OTHER_EXAMPLES = 10


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolves(spec: dict[str, Any], ref: str) -> bool:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def chat_body_schema(spec: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = (spec["paths"][CHAT_PATH]["post"]["requestBody"]["content"]
                              ["application/json"]["schema"])
    return schema


def with_served_models(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with `model` narrowed to names this gateway serves, so that positive cases
    reach routing, pricing and the upstream instead of stopping at 404."""
    narrowed = copy.deepcopy(spec)
    chat_body_schema(narrowed)["properties"]["model"] = {"type": "string",
                                                          "enum": SERVED_MODELS}
    return narrowed


@pytest.fixture(scope="module")
def served_spec(shared_gateway: RunningGateway) -> dict[str, Any]:
    response = httpx.get(f"{shared_gateway.root_url}/openapi.json", timeout=30)
    response.raise_for_status()
    spec: dict[str, Any] = response.json()
    return spec


def test_served_schema_describes_the_chat_body(served_spec: dict[str, Any]) -> None:
    body = chat_body_schema(served_spec)
    assert {"model", "messages"} <= set(body.get("required", []))
    assert {"model", "messages", "stream", "max_tokens", "n", "tools"} <= set(body["properties"])
    dangling = sorted({r for r in refs(served_spec) if not resolves(served_spec, r)})
    assert dangling == [], f"$refs that point nowhere in /openapi.json: {dangling}"


def fuzz(schema: schemathesis.BaseSchema, gw: RunningGateway, mode: GenerationMode,
         examples: int, tally: Tally, method: str, path: str) -> None:
    """Sends `examples` cases of one operation and checks each answer."""
    try:
        fuzz_operation(schema[path][method], gw, mode, examples, tally)
    except Unsatisfiable:
        pass  # negative cases of an operation that takes no input at all


def fuzz_operation(operation: Any, gw: RunningGateway,
                   mode: GenerationMode, examples: int, tally: Tally) -> None:
    headers = {"authorization": f"Bearer {gw.key}"}
    label = f"{operation.method.upper()} {operation.path} {mode.value}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @live_settings(examples)
    def run(case: Any) -> None:
        response = case.call(base_url=gw.root_url, headers=headers, timeout=60)
        tally.add(label, response.status_code)
        content_type = (response.headers.get("content-type") or [""])[0]
        check_response(operation.path, response.status_code, content_type, response.text,
                       getattr(case, "body", None), whole_stream=False)

    run()


@pytest.mark.slow
def test_schemathesis_finds_no_5xx(shared_gateway: RunningGateway,
                                   served_spec: dict[str, Any]) -> None:
    spec = served_spec
    tally = Tally()
    as_served = schemathesis.openapi.from_dict(spec)
    narrowed = schemathesis.openapi.from_dict(with_served_models(spec))
    fuzz(narrowed, shared_gateway, GenerationMode.POSITIVE, CHAT_POSITIVE_EXAMPLES, tally,
         "POST", CHAT_PATH)
    fuzz(as_served, shared_gateway, GenerationMode.NEGATIVE, CHAT_NEGATIVE_EXAMPLES, tally,
         "POST", CHAT_PATH)
    for path in ("/v1/models", "/v1/costroute/spend", "/healthz", "/metrics"):
        fuzz(as_served, shared_gateway, GenerationMode.POSITIVE, OTHER_EXAMPLES, tally,
             "GET", path)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        fuzz(as_served, shared_gateway, mode, OTHER_EXAMPLES, tally,
             "POST", "/v1/costroute/feedback")
    print("\n" + tally.report("schemathesis"))
    assert tally.server_errors == 0
