"""What both sides of tracing share: the note a hook may add to its span, and the redaction
of prompts and answers bound for spans.

Apart from gateway/tracing.py so that gateway/otel.py (the SDK side, which tracing.py loads
only when tracing is on) does not import tracing.py back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from gateway.content_log import ContentRedactor, message_text

if TYPE_CHECKING:
    from gateway.context import RequestContext


class SpanNote(Protocol):
    """What a hook may do with the span it opened: add attributes."""

    def set(self, attributes: Mapping[str, Any]) -> None: ...


class ContentForSpans:
    """The tenant's content-log redaction, applied to prompts and answers bound for spans."""

    def __init__(self, secrets: Sequence[str]):
        self._secrets = tuple(secrets)
        self._redactors: dict[tuple[Any, ...], ContentRedactor] = {}

    def attributes(self, ctx: RequestContext, messages: Sequence[Mapping[str, Any]],
                   completion: str | None) -> dict[str, str]:
        """`gen_ai.input.messages` / `gen_ai.output.messages` JSON; empty when not opted in."""
        settings = ctx.tenant.content_logging
        if not settings.enabled:
            return {}
        key = (tuple(settings.redact), tuple(settings.patterns))
        redact = self._redactors.get(key)
        if redact is None:
            redact = ContentRedactor(settings.redact, settings.patterns, self._secrets)
            self._redactors[key] = redact

        def clean(text: str) -> str:
            text = redact(text)
            return text if len(text) <= settings.max_chars else text[: settings.max_chars]

        prompt = [{"role": str(m.get("role", "")),
                   "parts": [{"type": "text", "content": clean(message_text(m))}]}
                  for m in messages]
        out = {"gen_ai.input.messages": orjson.dumps(prompt).decode()}
        if settings.completions and completion is not None:
            answer = [{"role": "assistant",
                       "parts": [{"type": "text", "content": clean(completion)}]}]
            out["gen_ai.output.messages"] = orjson.dumps(answer).decode()
        return out
