"""`Upstream` for an OpenAI-compatible `/embeddings` endpoint, on the shared aiohttp pool.

It is an `Upstream` (so the Dispatcher's retries, fallbacks and cooldowns apply) whose
`complete` posts an embeddings body; embeddings have no stream.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from gateway.config import GatewayConfig
from gateway.upstream.base import ChunkStream, Upstream, UpstreamFailure
from gateway.upstream.http import HttpUpstream
from gateway.upstream.pool import ConnectionPool
from pricing import PriceCatalog


class HttpEmbeddingUpstream(HttpUpstream):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._url = URL(str(self._url).removesuffix("/chat/completions") + "/embeddings")

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = await self._post(body, self._timeout)
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
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise UpstreamFailure(502, f"{self.name} sent no embeddings", retryable=True)
        return data

    async def open_stream(self, body: Mapping[str, Any]) -> ChunkStream:  # type: ignore[override]
        raise UpstreamFailure(400, "embeddings cannot be streamed", retryable=False,
                              client_error=True)


def embedding_upstreams(config: GatewayConfig, catalog: PriceCatalog,
                        pool: ConnectionPool) -> dict[str, Upstream]:
    """One upstream per configured model whose catalog entry is an embedding model."""
    out: dict[str, Upstream] = {}
    for entry in config.models:
        if catalog[entry.name].mode != "embedding":
            continue
        up = entry.upstream
        api_key = os.environ.get(up.api_key_env) if up.api_key_env else None
        out[entry.name] = HttpEmbeddingUpstream(
            entry.name, pool, up.base_url, api_key=api_key,
            upstream_model=up.model or entry.name, connect_s=up.timeout.connect_s,
            first_byte_s=up.timeout.first_byte_s, total_s=up.timeout.total_s)
    return out
