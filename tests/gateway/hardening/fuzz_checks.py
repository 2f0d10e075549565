"""What every fuzzed response must satisfy, and a tally of what the fuzzers saw."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, settings

from tests.openai_schema import assert_openai, assert_sse_stream

CHAT_PATH = "/v1/chat/completions"


def live_settings(examples: int) -> settings:
    """Hypothesis settings for cases sent to a live server: no deadline, no example
    database, and no shrinking (minutes per failure over HTTP; the failing case is shown)."""
    return settings(max_examples=examples, deadline=None, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=list(HealthCheck))


def check_response(path: str, status: int, content_type: str, text: str,
                   request_body: Any = None, *, whole_stream: bool = True) -> None:
    """No 5xx; errors in OpenAI's shape; chat answers valid against OpenAI's schema.

    `whole_stream=False` for clients that stop reading a stream early (schemathesis reads
    a bounded number of events): the chunks that arrived are still checked.
    """
    assert status < 500, f"{status} for {path} {request_body!r:.500}: {text[:500]}"
    if status != 200:
        assert content_type.startswith("application/json"), (status, content_type, text[:300])
        body = orjson.loads(text)
        assert "detail" not in body, body
        assert_openai(body, "ErrorResponse")
        return
    if path != CHAT_PATH:
        return
    if content_type.startswith("text/event-stream"):
        events = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        errors = [e for e in events if e.startswith('{"error"')]
        if errors:  # an upstream that failed mid-stream: the error event is OpenAI-shaped
            assert_openai({"error": orjson.loads(errors[-1])["error"]}, "ErrorResponse")
        else:
            assert_sse_stream(text, require_done=whole_stream)
        return
    assert_openai(orjson.loads(text), "CreateChatCompletionResponse")


class Tally:
    """Cases sent and statuses seen, per label; printed at the end of a fuzz test."""

    def __init__(self) -> None:
        self.statuses: dict[str, Counter[int]] = {}

    def add(self, label: str, status: int) -> None:
        self.statuses.setdefault(label, Counter())[status] += 1

    @property
    def cases(self) -> int:
        return sum(sum(c.values()) for c in self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for c in self.statuses.values() for s, n in c.items() if s >= 500)

    def report(self, title: str) -> str:
        lines = [f"{title}: {self.cases} cases, {self.server_errors} 5xx"]
        for label, counts in sorted(self.statuses.items()):
            lines.append(f"  {label}: {dict(sorted(counts.items()))}")
        return "\n".join(lines)
