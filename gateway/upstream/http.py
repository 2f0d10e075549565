"""`Upstream` over HTTP to an OpenAI-compatible server, on one shared httpx pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import httpx
import orjson

from gateway.upstream.base import UpstreamFailure
from gateway.upstream.normalize import error_message, parse_retry_after

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
    """One OpenAI-compatible base URL. The API key is read once from the named env var."""

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        api_key: str | None,
        upstream_model: str,
        connect_s: float,
        first_byte_s: float,
        total_s: float,
    ):
        self.name = name
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"content-type": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._redact = Redactor([api_key] if api_key else [])
        self._upstream_model = upstream_model
        self._timeout = httpx.Timeout(connect=connect_s, read=first_byte_s, write=connect_s,
                                      pool=connect_s)
        self._total_s = total_s

    def _payload(self, body: Mapping[str, Any]) -> bytes:
        return orjson.dumps({**body, "model": self._upstream_model})

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._total_s):
                response = await self._client.post(
                    self._url, content=self._payload(body), headers=self._headers,
                    timeout=self._timeout,
                )
        except (TimeoutError, httpx.TimeoutException):
            raise UpstreamFailure(0, f"{self.name} timed out", retryable=True, timeout=True)
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc) from None
        if response.status_code != 200:
            raise self._status_failure(response.status_code, response.content, response.headers)
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamFailure(502, f"{self.name} sent a body that is not JSON",
                                  retryable=True) from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise UpstreamFailure(502, f"{self.name} sent no choices", retryable=True)
        return data

    async def open_stream(self, body: Mapping[str, Any]) -> _SseStream:
        request = self._client.build_request(
            "POST", self._url, content=self._payload(body), headers=self._headers,
            timeout=self._timeout,
        )
        deadline = time.monotonic() + self._total_s
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise UpstreamFailure(0, f"{self.name} timed out", retryable=True, timeout=True)
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc) from None
        if response.status_code != 200:
            try:
                content = await response.aread()
            except httpx.HTTPError:
                content = b""
            finally:
                await response.aclose()
            raise self._status_failure(response.status_code, content, response.headers)
        return _SseStream(self.name, response, deadline, self._redact)

    async def aclose(self) -> None:
        """The shared client is owned and closed by the pool."""

    def _transport_failure(self, exc: httpx.HTTPError) -> UpstreamFailure:
        kind = type(exc).__name__
        return UpstreamFailure(0, f"{self.name} unreachable ({kind})", retryable=True)

    def _status_failure(
        self, status: int, content: bytes, headers: httpx.Headers
    ) -> UpstreamFailure:
        message = self._redact(error_message(status, content))
        return UpstreamFailure(
            status,
            f"{self.name}: {message}",
            retryable=status in RETRYABLE_STATUSES or status >= 500,
            retry_after_s=parse_retry_after(headers.get("retry-after")),
            client_error=status in CLIENT_ERROR_STATUSES,
        )


async def _drain(lines: AsyncIterator[str]) -> None:
    """Reads what follows [DONE] (usually nothing but the body's end), briefly.

    httpcore returns a connection to the pool only once its response was read to the end;
    closing it early costs the next request a new TCP (and, to a real provider, TLS)
    handshake. An upstream that stalls after [DONE] loses its connection instead.
    """
    try:
        async with asyncio.timeout(DRAIN_AFTER_DONE_S):
            async for _ in lines:
                pass
    except (TimeoutError, httpx.HTTPError):
        pass


class _SseStream:
    """Parses `data:` events into dicts; a bad event or an early end raises UpstreamFailure."""

    def __init__(self, name: str, response: httpx.Response, deadline: float, redact: Redactor):
        self._name = name
        self._response = response
        self._deadline = deadline
        self._redact = redact

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        done = False
        lines = self._response.aiter_lines()
        try:
            async for line in lines:
                if time.monotonic() > self._deadline:
                    raise UpstreamFailure(0, f"{self._name} stream exceeded its total timeout",
                                          retryable=False, timeout=True)
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                yield self._decode(data)
        except httpx.TimeoutException:
            raise UpstreamFailure(0, f"{self._name} stream stalled", retryable=False,
                                  timeout=True) from None
        except httpx.HTTPError as exc:
            raise UpstreamFailure(0, f"{self._name} stream broke ({type(exc).__name__})",
                                  retryable=False) from None
        if not done:
            raise UpstreamFailure(502, f"{self._name} stream ended without [DONE]",
                                  retryable=False)
        await _drain(lines)

    def _decode(self, data: str) -> dict[str, Any]:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamFailure(502, f"{self._name} sent a malformed stream event",
                                  retryable=False) from None
        if not isinstance(event, dict):
            raise UpstreamFailure(502, f"{self._name} sent a malformed stream event",
                                  retryable=False)
        if "error" in event:
            message = self._redact(error_message(502, orjson.dumps(event)))
            raise UpstreamFailure(502, f"{self._name}: {message}", retryable=False)
        return event

    async def aclose(self) -> None:
        await self._response.aclose()
