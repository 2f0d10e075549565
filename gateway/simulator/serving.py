"""The simulator's logic: one chat request in, one (possibly faulty) OpenAI response out."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp

from gateway.simulator.answers import Answer, Answerer
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.embeddings import (
    embeddings_body,
    inputs_of,
    parse_embedding_body,
    vector,
)
from gateway.simulator.errors import BadRequest, InvalidApiKey, ModelNotFound, json_response
from gateway.simulator.fault_responses import (
    Hang,
    ResetBeforeHeaders,
    error_fault_response,
    garbled_body,
    status_of,
)
from gateway.simulator.faults import Fault, FaultBoard, FaultKind
from gateway.simulator.pacing import Delayed, Pacing
from gateway.simulator.profiles import ModelProfile, ModelProfiles
from gateway.simulator.recordings import RecordingBook, prompt_of
from gateway.simulator.request import ChatRequest, parse_chat_request
from gateway.simulator.state import RequestRecord, ScriptBook, Stats
from gateway.simulator.streaming import EventStreamResponse, StreamIds, chat_events
from gateway.simulator.synthetic import synthetic_seed
from gateway.simulator.wire import completion_body
from pricing import TokenizerRegistry, Usage, count_messages


class Simulator:
    """All of one simulator's state and behaviour; the app keeps it on `app.state.simulator`."""

    def __init__(
        self,
        config: SimulatorConfig,
        profiles: ModelProfiles,
        book: RecordingBook,
        tokenizers: TokenizerRegistry,
    ):
        self.config = config
        self.profiles = profiles
        self.book = book
        self.answerer = Answerer(book, tokenizers, seed=config.seed,
                                 judge_flip=config.judge_flip)
        self.faults = FaultBoard()
        self.scripts = ScriptBook()
        self.stats = Stats(config.recent_requests)
        # Prompt prefixes the Anthropic-wire simulator has cached (anthropic_api.py).
        self.prompt_cache: set[str] = set()

    def check_key(self, headers: Mapping[str, str]) -> None:
        """Raise `InvalidApiKey` unless the request carries the configured bearer key."""
        expected = self.config.api_key
        if expected is None:
            return
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            raise InvalidApiKey("Incorrect API key provided. (simulated upstream)")

    async def chat(self, raw: bytes, headers: Mapping[str, str]) -> ASGIApp:
        """The ASGI response to one `POST /v1/chat/completions` body."""
        request = parse_chat_request(raw)
        profile = self.profiles.get(request.model)
        authorised = "authorization" in headers
        if profile is None:
            self._record(request, 404, None, None, authorised)
            raise ModelNotFound(request.model)
        self._check_context(profile, request)
        fault = self.faults.take(profile.name)
        if fault is not None and _answerless(fault, request):
            self._record(request, status_of(fault), fault, None, authorised)
            return _answerless_response(fault, profile.name)
        answer = self.answerer.answer(profile, request, self.scripts.pop(profile.name))
        # `n` choices: each takes the next script, if any; the prompt is billed once and
        # every choice's completion tokens are summed, as OpenAI bills them.
        more = [self.answerer.answer(profile, request, self.scripts.pop(profile.name))
                for _ in range(request.n - 1)]
        if more:
            answer = replace(answer, usage=Usage(
                prompt_tokens=answer.usage.prompt_tokens,
                completion_tokens=sum(a.usage.completion_tokens for a in (answer, *more)),
                estimated=answer.usage.estimated))
        self._record(request, 200, fault, answer, authorised)
        pacing = Pacing.for_request(
            profile,
            self.config.latency_scale,
            synthetic_seed(self.config.seed, profile.name, prompt_of(request.messages)),
        )
        ids = StreamIds(f"chatcmpl-sim{secrets.token_hex(12)}", int(time.time()), profile.name)
        if request.stream:
            events = chat_events(ids, answer, pacing, request.include_usage, fault, more)
            waits = pacing.ttft_s > 0 or pacing.per_token_s > 0 or _fault_waits(fault)
            return EventStreamResponse(events, {"x-request-id": _request_id()}, waits=waits)
        return _complete(ids, answer, pacing, fault, more)

    async def embed(self, raw: bytes, headers: Mapping[str, str]) -> ASGIApp:
        """The ASGI response to one `POST /v1/embeddings` body (error faults apply)."""
        body = parse_embedding_body(raw)
        profile = self.profiles.get(body["model"])
        if profile is None:
            raise ModelNotFound(body["model"])
        if profile.dimensions is None:
            raise BadRequest(f"The model `{profile.name}` does not support embeddings.",
                             param="model")
        items = inputs_of(body)
        dimensions = body.get("dimensions") or profile.dimensions
        if not isinstance(dimensions, int) or not 1 <= dimensions <= profile.dimensions:
            raise BadRequest(f"'dimensions' must be an integer in [1, {profile.dimensions}]",
                             param="dimensions")
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise BadRequest("'encoding_format' must be 'float' or 'base64'",
                             param="encoding_format")
        fault = self.faults.take(profile.name)
        authorised = "authorization" in headers
        status = status_of(fault) if fault is not None else 200
        self.stats.record(RequestRecord(model=profile.name, body=body, status=status,
                                        fault=fault.kind.value if fault else None,
                                        source="synthetic", authorization=authorised))
        if fault is not None and fault.kind in _NO_ANSWER | {FaultKind.RESET}:
            return _answerless_response(fault, profile.name)
        tokenizer = self.answerer.tokenizer(profile)
        tokens = sum(len(i) if isinstance(i, list) else tokenizer.count(i) for i in items)
        if any((len(i) if isinstance(i, list) else tokenizer.count(i))
               > profile.price.context_window for i in items):
            raise BadRequest(f"This model's maximum context length is "
                             f"{profile.price.context_window} tokens per input.",
                             param="input", code="context_length_exceeded")
        vectors = [vector(profile.name, i, dimensions) for i in items]
        response = json_response(embeddings_body(profile.name, vectors, encoding, tokens),
                                 headers={"x-request-id": _request_id()})
        return Delayed(profile.latency.ttft_s * self.config.latency_scale, response)

    def _check_context(self, profile: ModelProfile, request: ChatRequest) -> None:
        tokens = count_messages(self.answerer.tokenizer(profile), request.messages)
        wanted = tokens + (request.max_tokens or 0)
        window = profile.price.context_window
        if wanted > window:
            raise BadRequest(
                f"This model's maximum context length is {window} tokens. However, you "
                f"requested {wanted} tokens ({tokens} in the messages, "
                f"{request.max_tokens or 0} in the completion).",
                param="messages",
                code="context_length_exceeded",
            )

    def _record(
        self,
        request: ChatRequest,
        status: int | None,
        fault: Fault | None,
        answer: Answer | None,
        authorised: bool,
    ) -> None:
        self.stats.record(
            RequestRecord(
                model=request.model,
                body=request.body,
                status=status,
                fault=fault.kind.value if fault else None,
                source=answer.source if answer else None,
                authorization=authorised,
            )
        )


_DELAYS = frozenset({FaultKind.SLOW, FaultKind.STALL})
_NO_ANSWER = frozenset(
    {FaultKind.HTTP_500, FaultKind.HTTP_429, FaultKind.VLLM_ERROR, FaultKind.TIMEOUT}
)


def _answerless(fault: Fault, request: ChatRequest) -> bool:
    """Whether `fault` replaces the answer outright (no script consumed, nothing billed)."""
    if fault.kind is FaultKind.RESET:
        return not request.stream or fault.after_chunks == 0
    return fault.kind in _NO_ANSWER


def _answerless_response(fault: Fault, model: str) -> ASGIApp:
    if fault.kind is FaultKind.RESET:
        return ResetBeforeHeaders()
    if fault.kind is FaultKind.TIMEOUT:
        return Hang(fault.delay_s)
    response = error_fault_response(fault, model)
    if response is None:  # pragma: no cover - _NO_ANSWER lists error kinds only
        raise AssertionError(f"no error response for {fault.kind}")
    return response


def _complete(ids: StreamIds, answer: Answer, pacing: Pacing, fault: Fault | None,
              more: Sequence[Answer] = ()) -> ASGIApp:
    kind = fault.kind if fault else None
    delay = fault.delay_s if fault and kind in _DELAYS else 0.0
    body = completion_body(
        ids.completion_id, ids.created, ids.model, answer, with_usage=kind is not FaultKind.NO_USAGE,
        more=more)
    response: Response
    if kind in (FaultKind.MALFORMED_SSE, FaultKind.TRUNCATED_SSE):
        assert kind is not None
        response = garbled_body(kind, orjson.dumps(body))
    else:
        response = json_response(body, headers={"x-request-id": _request_id()})
    return Delayed(pacing.total_s(answer.usage.completion_tokens) + delay, response)


def _fault_waits(fault: Fault | None) -> bool:
    return fault is not None and fault.delay_s > 0 and fault.kind in _DELAYS


def _request_id() -> str:
    return f"req_sim{secrets.token_hex(8)}"
