"""`Upstream` over HTTP to an OpenAI-compatible server, on one shared aiohttp pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy
from yarl import URL

from gateway.upstream.base import UpstreamFailure
from gateway.upstream.cache_marks import without_cache_marks
from gateway.upstream.normalize import error_message, parse_retry_after
from gateway.upstream.pool import ConnectionPool

CLIENT_ERROR_STATUSES = frozenset({400, 404, 413, 422})
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
DRAIN_AFTER_DONE_S = 0.5


class Redactor:
    """Replaces known secrets (by value) with `mark` in any text that might leave the process."""

    def __init__(self, secrets: Iterable[str], mark: str = "***"):
        # Longest first, so a secret that contains another is cut whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        self._mark = mark

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, self._mark)
        return text


class HttpUpstream:
    """One OpenAI-compatible base URL. The API key is read once from the named env var.

    Timeouts: `connect_s` bounds getting a connection (from the pool or a new one),
    `first_byte_s` bounds every wait for bytes (the first byte, and each gap in a stream),
    `total_s` bounds the whole call.
    """

    def __init__(
        self,
        name: str,
        pool: ConnectionPool,
        base_url: str,
        *,
        api_key: str | None,
        upstream_model: str,
        connect_s: float,
        first_byte_s: float,
        total_s: float,
    ):
        self.name = name
        self._pool = pool
        self._url = URL(base_url.rstrip("/") + "/chat/completions")
        self._headers = {"content-type": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._redact = Redactor([api_key] if api_key else [])
        self._upstream_model = upstream_model
        self._timeout = aiohttp.ClientTimeout(total=total_s, connect=connect_s,
                                              sock_connect=connect_s, sock_read=first_byte_s)
        # A stream's total is checked between events, so that a slow but live stream ends
        # with a clear error event instead of a cut.
        self._stream_timeout = aiohttp.ClientTimeout(total=None, connect=connect_s,
                                                     sock_connect=connect_s,
                                                     sock_read=first_byte_s)
        self._total_s = total_s

    def _payload(self, body: Mapping[str, Any]) -> bytes:
        messages = body.get("messages")
        if isinstance(messages, list):
            plain = without_cache_marks(messages)
            if plain is not messages:
                return orjson.dumps({**body, "model": self._upstream_model, "messages": plain})
        return orjson.dumps({**body, "model": self._upstream_model})

    async def _json_reply(self, payload: bytes) -> dict[str, Any]:
        """POSTs `payload` to this upstream's URL: the JSON object of its 200 answer, or an
        UpstreamFailure for a timeout, a broken connection, an error status or a bad body."""
        try:
            response = await self._pool.session().post(
                self._url, data=payload, headers=self._headers, timeout=self._timeout,
                allow_redirects=False)
            try:
                content = await response.read()
            finally:
                response.release()
        except TimeoutError:
            raise UpstreamFailure(0, f"{self.name} timed out", retryable=True,
                                  timeout=True) from None
        except aiohttp.ClientError as exc:
            raise self._transport_failure(exc) from None
        if response.status != 200:
            raise self._status_failure(response.status, content, response.headers)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise UpstreamFailure(502, f"{self.name} sent a body that is not JSON",
                                  retryable=True) from None
        if not isinstance(data, dict):
            raise UpstreamFailure(502, f"{self.name} sent no JSON object", retryable=True)
        return data

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        data = await self._json_reply(self._payload(body))
        if not isinstance(data.get("choices"), list):
            raise UpstreamFailure(502, f"{self.name} sent no choices", retryable=True)
        return data

    async def open_stream(self, body: Mapping[str, Any]) -> _SseStream:
        deadline = time.monotonic() + self._total_s
        response = await self._stream_response(self._payload(body))
        return _SseStream(self.name, response, deadline, self._redact)

    async def _stream_response(self, payload: bytes) -> aiohttp.ClientResponse:
        """POSTs `payload` for a stream: the open 200 response, or an UpstreamFailure."""
        try:
            response = await self._pool.session().post(
                self._url, data=payload, headers=self._headers, timeout=self._stream_timeout,
                allow_redirects=False)
        except TimeoutError:
            raise UpstreamFailure(0, f"{self.name} timed out", retryable=True,
                                  timeout=True) from None
        except aiohttp.ClientError as exc:
            raise self._transport_failure(exc) from None
        if response.status != 200:
            try:
                content = await response.read()
            except (aiohttp.ClientError, TimeoutError):
                content = b""
            finally:
                response.release()
            raise self._status_failure(response.status, content, response.headers)
        return response

    async def aclose(self) -> None:
        """The shared pool is owned and closed by the gateway."""

    def _transport_failure(self, exc: aiohttp.ClientError) -> UpstreamFailure:
        kind = type(exc).__name__
        return UpstreamFailure(0, f"{self.name} unreachable ({kind})", retryable=True)

    def _status_failure(
        self, status: int, content: bytes, headers: CIMultiDictProxy[str]
    ) -> UpstreamFailure:
        message = self._redact(error_message(status, content))
        return UpstreamFailure(
            status,
            f"{self.name}: {message}",
            retryable=status in RETRYABLE_STATUSES or status >= 500,
            retry_after_s=parse_retry_after(headers.get("retry-after")),
            client_error=status in CLIENT_ERROR_STATUSES,
        )


async def drain(response: aiohttp.ClientResponse) -> None:
    """Reads what follows [DONE] (usually nothing but the body's end), briefly.

    aiohttp puts a connection back in the pool only once its response was read to the end;
    released early, it is closed, and the next request pays a new TCP (and, to a real
    provider, TLS) handshake. An upstream that stalls after [DONE] loses its connection.
    """
    if response.content.at_eof():
        return
    try:
        async with asyncio.timeout(DRAIN_AFTER_DONE_S):
            async for _ in response.content.iter_any():
                pass
    except (TimeoutError, aiohttp.ClientError):
        pass


def stream_read_failure(name: str, exc: BaseException) -> UpstreamFailure:
    """A stream's read error (a timeout between events, or a broken connection)."""
    if isinstance(exc, TimeoutError):
        return UpstreamFailure(0, f"{name} stream stalled", retryable=False, timeout=True)
    return UpstreamFailure(0, f"{name} stream broke ({type(exc).__name__})", retryable=False)


def decode_event(name: str, data: bytes | str, redact: Redactor,
                 is_error: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """One stream event's JSON object; a malformed event or an error event (as the wire
    marks it: `is_error`) raises UpstreamFailure, its message redacted."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamFailure(502, f"{name} sent a malformed stream event",
                              retryable=False) from None
    if not isinstance(event, dict):
        raise UpstreamFailure(502, f"{name} sent a malformed stream event", retryable=False)
    if is_error(event):
        message = redact(error_message(502, orjson.dumps(event)))
        raise UpstreamFailure(502, f"{name}: {message}", retryable=False)
    return event


class _SseStream:
    """Parses `data:` events into dicts; a bad event or an early end raises UpstreamFailure."""

    def __init__(self, name: str, response: aiohttp.ClientResponse, deadline: float,
                 redact: Redactor):
        self._name = name
        self._response = response
        self._deadline = deadline
        self._redact = redact

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """The events, grouped by the network read that brought them: a relay writes each
        group to its client at once (one send instead of one per event)."""
        done = False
        pending = b""
        try:
            # Whole chunks, split here: one C-level split per read instead of a Python
            # readline per line.
            async for chunk in self._response.content.iter_any():
                if time.monotonic() > self._deadline:
                    raise UpstreamFailure(0, f"{self._name} stream exceeded its total timeout",
                                          retryable=False, timeout=True)
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                batch, done, failure = self._parse(lines)
                if batch:
                    yield batch
                if failure is not None:
                    raise failure
                if done:
                    break
            else:
                batch, done, failure = self._parse([pending])
                if batch:
                    yield batch
                if failure is not None:
                    raise failure
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise stream_read_failure(self._name, exc) from None
        if not done:
            raise UpstreamFailure(502, f"{self._name} stream ended without [DONE]",
                                  retryable=False)
        await drain(self._response)

    def _parse(
        self, lines: list[bytes]
    ) -> tuple[list[dict[str, Any]], bool, UpstreamFailure | None]:
        """The events of whole `data:` lines, whether [DONE] came, and the failure of a bad
        event (the good ones before it still go to the client first)."""
        batch: list[dict[str, Any]] = []
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                return batch, True, None
            try:
                batch.append(self._decode(data))
            except UpstreamFailure as failure:
                return batch, False, failure
        return batch, False, None

    def _decode(self, data: bytes) -> dict[str, Any]:
        return decode_event(self._name, data, self._redact, lambda e: "error" in e)

    async def aclose(self) -> None:
        self._response.release()
