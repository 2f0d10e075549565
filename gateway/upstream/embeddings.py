"""`Upstream` for an OpenAI-compatible `/embeddings` endpoint, on the shared aiohttp pool.

It is an `Upstream` (so the Dispatcher's retries, fallbacks and cooldowns apply) whose
`complete` posts an embeddings body; embeddings have no stream.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

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
        data = await self._json_reply(self._payload(body))
        if not isinstance(data.get("data"), list):
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
