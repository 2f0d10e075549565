"""The upstream interface: send one chat request to one OpenAI-compatible server.

Like an httpx transport, an `Upstream` does one thing and knows nothing of retries,
fallbacks, budgets or routing; those wrap it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class UpstreamFailure(Exception):
    """An upstream answered with an error, or could not be reached.

    `retryable` is true for 429, 5xx, timeouts and connection failures; `status` is the
    upstream's HTTP status (0 when none came back).
    """

    status: int
    message: str
    retryable: bool
    timeout: bool = False
    retry_after_s: float | None = None
    client_error: bool = False  # the upstream blamed the request itself (400, 413, 422)

    def __str__(self) -> str:
        return f"upstream {self.status or 'unreachable'}: {self.message}"


class ChunkStream(Protocol):
    """An open SSE stream of chat-completion chunks; close it when done."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def aclose(self) -> None: ...


async def event_batches(stream: ChunkStream) -> AsyncIterator[list[dict[str, Any]]]:
    """The stream's events grouped as they arrived, where the stream can tell (a `batches()`
    method, as the HTTP upstream has), else one by one."""
    batches = getattr(stream, "batches", None)
    if batches is not None:
        async for batch in batches():
            yield batch
        return
    async for event in stream:
        yield [event]


class Upstream(Protocol):
    name: str

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The upstream's JSON response to a non-streaming request, or UpstreamFailure."""
        ...

    async def open_stream(self, body: Mapping[str, Any]) -> ChunkStream:
        """A stream whose headers arrived with 200; errors before that raise UpstreamFailure."""
        ...

    async def aclose(self) -> None: ...
