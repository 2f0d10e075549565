"""One pool of keep-alive connections to the upstreams, on aiohttp.

Measured on the bench VM (bench/overhead), aiohttp's client spends 3-10x less CPU per request
than httpx 0.28's own pool, and httpx's API over an aiohttp transport (httpx-aiohttp) sits in
between: the upstreams use the session directly; other code that wants httpx's API gets
`httpx_client()`, which sends through the same connections.
"""

from __future__ import annotations

import aiohttp
import httpx

MAX_CONNECTIONS = 512
KEEPALIVE_S = 30.0


class ConnectionPool:
    """An aiohttp `ClientSession`, made on first use: aiohttp needs a running event loop."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS, keepalive_s: float = KEEPALIVE_S):
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections,
                                             keepalive_timeout=self._keepalive_s)
            # Upstream keys come from our own env vars only: no proxies or netrc from the
            # environment (trust_env=False), and redirects are never followed.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                                  auto_decompress=True)
        return self._session

    def httpx_client(self) -> httpx.AsyncClient:
        """httpx's API over this pool's connections (closing it closes the pool too)."""
        from httpx_aiohttp import AiohttpTransport

        return httpx.AsyncClient(transport=AiohttpTransport(client=self.session),
                                 trust_env=False, follow_redirects=False)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
