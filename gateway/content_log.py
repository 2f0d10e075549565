"""Opt-in, per-tenant logging of prompts and completions, redacted before they are written.

Nothing here runs for a tenant that has not enabled `content_logging`: the access log never
carries message text. Redaction is regex-based and best-effort for personal data; provider
keys known to the gateway are always cut out by value, whatever the tenant's patterns.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from gateway.context import RequestContext
from gateway.tenants.config import ContentLoggingConfig
from gateway.upstream.http import Redactor

# Order matters: keys, card numbers and addresses are cut before the looser phone pattern
# (any run of 8+ digits and separators) sees them. A card or phone candidate is cut only if
# it also passes its check below: arithmetic and decimals look like both ("180 - 135",
# "6.666666666666667" in a worked answer), and redacting them wrecks the answers a learning
# tenant's records keep (the simulator's GSM8K answers: 55 of 600 texts mangled before).
BUILTIN_PATTERNS: dict[str, str] = {
    "api_key": r"\b(?:sk|cr|pk|rk|sess)-[A-Za-z0-9_-]{8,}|\bBearer\s+[A-Za-z0-9._~+/=-]{8,}",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    "credit_card": r"(?<![\d.])(?:\d[ -]?){12,18}\d(?!\d|\.\d)",
    "ipv4": r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])",
    # Not followed by `=`: GSM8K-style worked answers write `<<6000-1500-2000=2500>>`.
    "phone": r"(?<![\w+.(])[+(]?\d(?:[\d\s().-]{6,}\d)(?!\w|\.\d|\s*=)",
}


def _luhn(candidate: str) -> bool:
    """Card numbers carry a Luhn check digit; a random run of 13-19 digits passes 1 in 10."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _phone_like(candidate: str) -> bool:
    """7-15 digits (E.164's range) written as a phone number is written: after a `+`, a run
    of 10 or more, a local `555-1234`, or three or more groups of which only the first may be
    one digit. Not: a decimal, a spaced minus (`180 - 135`), `195-160-5`."""
    digits = sum(c.isdigit() for c in candidate)
    if not 7 <= digits <= 15 or _SPACED_OPERATOR.search(candidate):
        return False
    if candidate.startswith("+"):
        return True
    groups = _DIGIT_GROUPS.findall(candidate)
    if len(groups) == 1:
        return digits >= 10
    if len(groups) == 2:
        return _LOCAL_NUMBER.fullmatch(candidate) is not None
    return all(len(group) >= 2 for group in groups[1:])


_SPACED_OPERATOR = re.compile(r"\s[-.]|[-.]\s")
_DIGIT_GROUPS = re.compile(r"\d+")
_LOCAL_NUMBER = re.compile(r"\d{3}-\d{4}")
CHECKS: dict[str, Callable[[str], bool]] = {"credit_card": _luhn, "phone": _phone_like}


class ContentRedactor:
    """Replaces secrets and personal data in text with `[REDACTED:<kind>]`."""

    def __init__(self, kinds: Iterable[str], patterns: Iterable[str] = (),
                 secrets: Iterable[str] = ()):
        rules = [(kind, BUILTIN_PATTERNS[kind]) for kind in BUILTIN_PATTERNS if kind in kinds]
        rules += [("custom", pattern) for pattern in patterns]
        self._rules = [(re.compile(pattern), _replacement(kind)) for kind, pattern in rules]
        self._secrets = Redactor(secrets, mark="[REDACTED:secret]")

    def __call__(self, text: str) -> str:
        text = self._secrets(text)
        for rule, replacement in self._rules:
            text = rule.sub(replacement, text)
        return text


def _replacement(kind: str) -> str | Callable[[re.Match[str]], str]:
    """The mark, or for a kind with a check, the mark where the match passes it."""
    mark = f"[REDACTED:{kind}]"
    check = CHECKS.get(kind)
    if check is None:
        return mark
    return lambda match: mark if check(match.group(0)) else match.group(0)


class ContentLogger:
    """Writes one `costroute.content` line per answered request of an opted-in tenant."""

    def __init__(self, secrets: Sequence[str] = (),
                 logger: logging.Logger | None = None):
        self._secrets = tuple(secrets)
        self._log = logger or logging.getLogger("costroute.content")
        # Tenants are few and their configs immutable: one compiled redactor per config.
        self._redactors: dict[tuple[Any, ...], ContentRedactor] = {}

    def wants(self, ctx: RequestContext) -> bool:
        return ctx.tenant.content_logging.enabled and self._log.isEnabledFor(logging.INFO)

    def record(self, ctx: RequestContext, messages: Sequence[Mapping[str, Any]],
               completion: str | None) -> None:
        settings = ctx.tenant.content_logging
        if not self.wants(ctx):
            return
        redact = self._redactor(settings)

        def clean(text: str) -> str:
            text = redact(text)
            return text if len(text) <= settings.max_chars else (
                text[: settings.max_chars] + f"...[{len(text) - settings.max_chars} chars cut]")

        fields: dict[str, Any] = {
            "request_id": ctx.request_id, "tenant": ctx.tenant.name, "route": ctx.route,
            "model": ctx.log.get("model"),
            "prompt": [{"role": str(m.get("role", "")), "content": clean(message_text(m))}
                       for m in messages],
        }
        if settings.completions and completion is not None:
            fields["completion"] = clean(completion)
        self._log.info("content", extra={"fields": fields})

    def redactor(self, settings: ContentLoggingConfig) -> ContentRedactor:
        """The tenant's redaction (also applied to what the records store keeps)."""
        return self._redactor(settings)

    def _redactor(self, settings: ContentLoggingConfig) -> ContentRedactor:
        key = (tuple(settings.redact), tuple(settings.patterns))
        redactor = self._redactors.get(key)
        if redactor is None:
            redactor = ContentRedactor(settings.redact, settings.patterns, self._secrets)
            self._redactors[key] = redactor
        return redactor


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a chat message: a string, or the text parts of a content list.

    Unlike `pricing.tokenizers.message_text` (what tokens are billed for), a log reader must
    see where an image or a tool call was, so those are shown rather than dropped.
    """
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif isinstance(part, Mapping):
                parts.append(f"[{part.get('type', 'part')}]")
        return "\n".join(parts)
    if message.get("tool_calls"):
        return orjson.dumps(message["tool_calls"], default=str).decode()
    return ""


def completion_text(body: Mapping[str, Any]) -> str:
    """The first choice's message text of a chat.completion body."""
    choices = body.get("choices") or []
    if not choices or not isinstance(choices[0], Mapping):
        return ""
    return message_text(choices[0].get("message") or {})


class StreamTextCollector:
    """Gathers the first choice's text from the SSE events a stream sends to the client."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def feed(self, event: bytes) -> None:
        for line in event.split(b"\n"):
            if not line.startswith(b"data: {"):
                continue
            try:
                chunk = orjson.loads(line[6:])
            except orjson.JSONDecodeError:
                continue
            for choice in chunk.get("choices") or []:
                if isinstance(choice, dict) and choice.get("index", 0) == 0:
                    text = (choice.get("delta") or {}).get("content")
                    if isinstance(text, str):
                        self._parts.append(text)

    @property
    def text(self) -> str:
        return "".join(self._parts)
