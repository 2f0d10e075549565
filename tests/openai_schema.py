"""Validate wire bodies against OpenAI's own schemas (the chat subset of openai-openapi).

    from tests.openai_schema import assert_openai, assert_sse_stream

    assert_openai(response.json(), "CreateChatCompletionResponse")
    chunks = assert_sse_stream(response.text)          # each chunk validated, [DONE] required

Schema names are keys of `components/schemas` (e.g. `CreateChatCompletionStreamResponse`,
`ErrorResponse`, `ListModelsResponse`, `Model`). `$ref`s resolve inside the spec. The spec is
OpenAPI 3.1 but still carries some 3.0 `nullable: true` flags; those are rewritten to
`anyOf [schema, null]` so that JSON Schema 2020-12 means what OpenAI means.

The spec is read from `tests/spec/` if a copy is vendored there, else from `../shared/spec/`;
when neither exists, the helpers call `pytest.skip`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_NAME = "openai-chat-subset.openapi.json"
SPEC_URI = "urn:costroute:openai-chat-subset"
_ROOT = Path(__file__).resolve().parents[1]
SPEC_CANDIDATES = (_ROOT / "tests" / "spec" / SPEC_NAME, _ROOT / ".." / "shared" / "spec" / SPEC_NAME)


def spec_path() -> Path | None:
    """Where the OpenAI spec is, or None when this checkout has no copy."""
    return next((p for p in SPEC_CANDIDATES if p.is_file()), None)


def without_nullable(node: Any) -> Any:
    """A copy of `node` where every `nullable: true` schema also accepts null."""
    if isinstance(node, list):
        return [without_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: without_nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class OpenAISchemas:
    """Validators for every schema in one OpenAPI document's `components/schemas`."""

    def __init__(self, spec: dict[str, Any]):
        self._spec = without_nullable(spec)
        resource = Resource.from_contents(self._spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    def load(cls, path: Path) -> OpenAISchemas:
        return cls(json.loads(path.read_text("utf-8")))

    def names(self) -> list[str]:
        return sorted(self._spec["components"]["schemas"])

    def validator(self, name: str) -> Draft202012Validator:
        if name not in self._spec["components"]["schemas"]:
            raise KeyError(f"no schema {name!r} in the spec")
        if name not in self._validators:
            schema = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
            self._validators[name] = Draft202012Validator(schema, registry=self._registry)
        return self._validators[name]

    def errors(self, instance: Any, name: str) -> list[str]:
        """Readable violations of schema `name` by `instance`; empty when it conforms."""
        found = sorted(self.validator(name).iter_errors(instance), key=lambda e: list(e.path))
        return [f"{'/'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in found]


@functools.cache
def openai_schemas() -> OpenAISchemas:
    """The shared validators of the OpenAI chat subset (loaded once); skips if absent."""
    path = spec_path()
    if path is None:
        pytest.skip(f"{SPEC_NAME} not found in {[str(p) for p in SPEC_CANDIDATES]}")
    return OpenAISchemas.load(path)


def assert_openai(instance: Any, name: str) -> None:
    """Fail the test with every violation if `instance` does not conform to schema `name`."""
    problems = openai_schemas().errors(instance, name)
    assert not problems, f"not a valid {name}:\n  " + "\n  ".join(problems)


def sse_data(text: str) -> Iterator[str]:
    """The payloads of the `data:` lines of an SSE body, in order."""
    for line in text.splitlines():
        if line.startswith("data:"):
            yield line[len("data:"):].strip()


def assert_sse_stream(text: str, require_done: bool = True) -> list[dict[str, Any]]:
    """Every chunk of a chat-completions SSE body, each validated; `[DONE]` must end it."""
    payloads = list(sse_data(text))
    if require_done:
        assert payloads and payloads[-1] == "[DONE]", "the stream does not end with [DONE]"
    chunks = []
    for payload in payloads:
        if payload == "[DONE]":
            continue
        chunk = json.loads(payload)
        assert_openai(chunk, "CreateChatCompletionStreamResponse")
        chunks.append(chunk)
    assert payloads.count("[DONE]") <= 1, "more than one [DONE]"
    return chunks
