"""Faults armed per model through `POST /_simulator/faults`, taken one per request."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from gateway.simulator.errors import BadRequest

ANY_MODEL = "*"


class FaultKind(StrEnum):
    HTTP_500 = "http_500"  # 500 server_error, OpenAI shape
    HTTP_429 = "http_429"  # 429 rate_limit_exceeded with a retry-after header
    TIMEOUT = "timeout"  # no byte for `delay_s` (or until the client leaves), then a reset
    SLOW = "slow"  # a correct answer, `delay_s` late (first byte)
    STALL = "stall"  # streaming: `after_chunks` chunks, a `delay_s` pause, then the rest
    MALFORMED_SSE = "malformed_sse"  # a non-JSON `data:` line after `after_chunks` chunks
    TRUNCATED_SSE = "truncated_sse"  # the stream ends after `after_chunks` chunks, no [DONE]
    RESET = "reset"  # TCP reset: before any byte, or after `after_chunks` stream chunks
    NO_USAGE = "no_usage"  # a correct answer without any usage object
    VLLM_ERROR = "vllm_error"  # a vLLM-style error body, see `vllm_shape`


VLLM_SHAPES = ("nested", "flat", "unauthorized")
DEFAULT_DELAY_S = {FaultKind.TIMEOUT: 30.0, FaultKind.SLOW: 5.0, FaultKind.STALL: 5.0}


@dataclass(frozen=True)
class Fault:
    """How one request fails. Fields that a kind does not use are ignored."""

    kind: FaultKind
    retry_after: float | None = 1.0
    delay_s: float = 0.0
    after_chunks: int = 0
    status: int | None = None
    vllm_shape: str = "nested"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


@dataclass
class _Armed:
    fault: Fault
    remaining: int


class FaultBoard:
    """Per-model queues of armed faults; a wildcard `*` queue serves models with none armed."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Armed]] = {}

    def arm(self, model: str, fault: Fault, count: int) -> None:
        """Make the next `count` requests to `model` fail with `fault` (after earlier arms)."""
        self._queues.setdefault(model, deque()).append(_Armed(fault, count))

    def take(self, model: str) -> Fault | None:
        """The fault this request to `model` must suffer, consuming one count; None if none."""
        for key in (model, ANY_MODEL):
            queue = self._queues.get(key)
            if queue:
                armed = queue[0]
                armed.remaining -= 1
                if armed.remaining == 0:
                    queue.popleft()
                return armed.fault
        return None

    def clear(self, model: str | None = None) -> None:
        if model is None:
            self._queues.clear()
        else:
            self._queues.pop(model, None)

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        return {
            model: [{**a.fault.to_json(), "count": a.remaining} for a in queue]
            for model, queue in self._queues.items()
            if queue
        }


def parse_fault_request(body: Any, known_models: set[str]) -> tuple[str, Fault, int]:
    """(model, fault, count) from a control request body; raises `BadRequest`."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or (model != ANY_MODEL and model not in known_models):
        raise BadRequest(f"'model' must be one of {sorted(known_models)} or '*'", param="model")
    try:
        kind = FaultKind(str(body.get("kind")))
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise BadRequest(f"'kind' must be one of: {kinds}", param="kind") from None
    count = _number(body, "count", 1, int)
    if count < 1:
        raise BadRequest("'count' must be at least 1", param="count")
    fault = Fault(
        kind=kind,
        retry_after=_retry_after(body),
        delay_s=_number(body, "delay_s", DEFAULT_DELAY_S.get(kind, 0.0), float),
        after_chunks=_number(body, "after_chunks", _default_chunks(kind), int),
        status=_status(body),
        vllm_shape=_vllm_shape(body),
    )
    return model, fault, count


def _default_chunks(kind: FaultKind) -> int:
    # A reset defaults to before the headers; the SSE faults need a stream under way.
    return 0 if kind is FaultKind.RESET else 2


def _number(body: Mapping[str, Any], name: str, default: float, kind: type) -> Any:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise BadRequest(f"'{name}' must be a non-negative number", param=name)
    if kind is int and value != int(value):
        raise BadRequest(f"'{name}' must be an integer", param=name)
    return kind(value)


def _retry_after(body: Mapping[str, Any]) -> float | None:
    if body.get("retry_after", 1.0) is None:
        return None
    value: float = _number(body, "retry_after", 1.0, float)
    return value


def _status(body: Mapping[str, Any]) -> int | None:
    status = body.get("status")
    if status is None:
        return None
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise BadRequest("'status' must be an HTTP error status (400-599)", param="status")
    return status


def _vllm_shape(body: Mapping[str, Any]) -> str:
    shape = body.get("vllm_shape", "nested")
    if shape not in VLLM_SHAPES:
        raise BadRequest(f"'vllm_shape' must be one of {list(VLLM_SHAPES)}", param="vllm_shape")
    return str(shape)
