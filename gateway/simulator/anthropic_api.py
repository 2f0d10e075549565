"""The Anthropic-wire simulator: `POST /v1/messages` answered as Anthropic would, simulated.

It answers with the same Answerer as the chat simulator (scripts, recordings, synthetic
text, forced tool calls) and simulates prompt caching: the prompt up to the last block
marked `cache_control` is written to the cache the first time it is seen
(`cache_creation_input_tokens`) and read from it afterwards (`cache_read_input_tokens`);
`input_tokens` excludes both, as Anthropic reports it. Errors use Anthropic's shape.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp

from gateway.entrypoints.messages_translate import to_chat_body
from gateway.entrypoints.messages_wire import MessagesRequest
from gateway.errors import InvalidRequest
from gateway.simulator.answers import Answer
from gateway.simulator.faults import FaultKind
from gateway.simulator.request import ChatRequest
from gateway.simulator.state import RequestRecord
from gateway.simulator.streaming import EventStreamResponse, split_pieces

if TYPE_CHECKING:
    from gateway.simulator.serving import Simulator

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def anthropic_error(status: int, kind: str, message: str) -> Response:
    body = {"type": "error", "error": {"type": kind, "message": f"{message} (simulated)"}}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _event(data: dict[str, Any]) -> bytes:
    return b"event: " + str(data["type"]).encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def cached_prefix(body: Mapping[str, Any]) -> str:
    """The text of the prompt up to and including its last `cache_control` block."""
    texts: list[str] = []
    prefix = ""
    system = body.get("system")
    blocks: list[Any] = list(system) if isinstance(system, list) else []
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            blocks += content
    for block in blocks:
        if isinstance(block, dict):
            texts.append(str(block.get("text") or block.get("content") or ""))
            if block.get("cache_control"):
                prefix = "".join(texts)
    return prefix


async def messages(simulator: Simulator, raw: bytes, headers: Mapping[str, str]) -> ASGIApp:
    expected = simulator.config.api_key
    if expected is not None and not hmac.compare_digest(
            headers.get("x-api-key", "").encode(), expected.encode()):
        return anthropic_error(401, "authentication_error", "invalid x-api-key")
    try:
        body = orjson.loads(raw)
        request = MessagesRequest.model_validate(body)
        chat = to_chat_body(request)
    except (orjson.JSONDecodeError, ValidationError, InvalidRequest) as exc:
        return anthropic_error(400, "invalid_request_error", str(exc).splitlines()[0])
    profile = simulator.profiles.get(request.model)
    if profile is None:
        return anthropic_error(404, "not_found_error", f"model: {request.model}")
    fault = simulator.faults.take(profile.name)
    simulator.stats.record(RequestRecord(
        model=profile.name, body=body, status=None, fault=fault.kind.value if fault else None,
        source="anthropic-wire", authorization="x-api-key" in headers))
    if fault is not None and fault.kind is FaultKind.HTTP_500:
        return anthropic_error(500, "api_error", "Internal server error")
    if fault is not None and fault.kind is FaultKind.HTTP_429:
        return anthropic_error(429, "rate_limit_error", "Rate limited")
    stop = tuple(request.stop_sequences or ())
    answer = simulator.answerer.answer(profile, ChatRequest(
        profile.name, chat["messages"], bool(request.stream), False, request.max_tokens, stop,
        chat), simulator.scripts.pop(profile.name))
    usage = _usage(simulator, profile.name, body, answer)
    message_id = f"msg_sim{secrets.token_hex(12)}"
    if not request.stream:
        return Response(orjson.dumps({
            "id": message_id, "type": "message", "role": "assistant", "model": profile.name,
            "content": _content(answer), "stop_reason": STOP_REASONS[answer.finish_reason],
            "stop_sequence": None, "usage": usage}), media_type="application/json")
    cut = fault.after_chunks if fault is not None and fault.kind is FaultKind.TRUNCATED_SSE \
        else None
    return EventStreamResponse(_stream(message_id, profile.name, answer, usage, cut), {},
                               waits=False)


def _usage(simulator: Simulator, model: str, body: Mapping[str, Any],
           answer: Answer) -> dict[str, Any]:
    total = answer.usage.prompt_tokens
    prefix = cached_prefix(body)
    read = write = 0
    if prefix:
        tokens = min(total, simulator.answerer.tokenizer(simulator.profiles[model]).count(prefix))
        key = hashlib.sha256(f"{model}\0{prefix}".encode()).hexdigest()
        if key in simulator.prompt_cache:
            read = tokens
        else:
            simulator.prompt_cache.add(key)
            write = tokens
    return {"input_tokens": total - read - write, "output_tokens": answer.usage.completion_tokens,
            "cache_creation_input_tokens": write, "cache_read_input_tokens": read}


def _content(answer: Answer) -> list[dict[str, Any]]:
    if answer.tool_calls:
        return [{"type": "tool_use", "id": c["id"].replace("call_", "toolu_"),
                 "name": c["function"]["name"],
                 "input": orjson.loads(c["function"]["arguments"])} for c in answer.tool_calls]
    return [{"type": "text", "text": answer.text}]


async def _stream(message_id: str, model: str, answer: Answer, usage: dict[str, Any],
                  cut: int | None) -> AsyncIterator[bytes]:
    start_usage = {**usage, "output_tokens": 1}
    yield _event({"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
    sent = 0
    for index, block in enumerate(_content(answer)):
        if block["type"] == "text":
            yield _event({"type": "content_block_start", "index": index,
                          "content_block": {"type": "text", "text": ""}})
            deltas = [{"type": "text_delta", "text": p} for p in split_pieces(block["text"])]
        else:
            yield _event({"type": "content_block_start", "index": index,
                          "content_block": {**block, "input": {}}})
            deltas = [{"type": "input_json_delta",
                       "partial_json": orjson.dumps(block["input"]).decode()}]
        for delta in deltas:
            if cut is not None and sent >= cut:
                return  # a truncated stream: no content_block_stop, no message_stop
            sent += 1
            yield _event({"type": "content_block_delta", "index": index, "delta": delta})
        yield _event({"type": "content_block_stop", "index": index})
    yield _event({"type": "message_delta", "delta": {
        "stop_reason": STOP_REASONS[answer.finish_reason], "stop_sequence": None},
        "usage": {"output_tokens": usage["output_tokens"]}})
    yield _event({"type": "message_stop"})
