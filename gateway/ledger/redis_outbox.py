"""The Redis spend log streams as the outbox of spend history (see gateway/ledger/spend_outbox).

Each tenant's stream `<prefix>:{<tenant>}:log` gets one entry per settle, in the settle
script. A drainer reads the oldest entries of each stream, stores them, then trims the
stream to just past the last one it read (XTRIM MINID): stream ids only grow, so every entry
below that id was in the stored batch. Several replicas may drain at once: they may store
the same entries twice (the database ignores repeats) but never trim one not yet stored.
Redis memory then holds only what is not yet drained.
"""

from __future__ import annotations

import time
from typing import Any

from gateway.ledger.base import SettledEntry
from gateway.ledger.entries import decode_entry
from gateway.ledger.redis_client import text, unavailable_as_store_error
from gateway.ledger.spend_outbox import OutboxBatch, OutboxLag


def _after(stream_id: str) -> str:
    """The smallest stream id greater than `stream_id`."""
    ms, _, seq = stream_id.partition("-")
    return f"{ms}-{int(seq or 0) + 1}"


def _field(fields: dict[Any, Any]) -> Any:
    value = fields.get("entry")
    return value if value is not None else fields.get(b"entry")


SCAN_COUNT = 50_000


class RedisOutbox:
    def __init__(self, client: Any, prefix: str = "costroute", *, rescan_s: float = 5.0):
        self._client = client
        self._pattern = f"{prefix}:{{*}}:log"
        self._rescan_s = rescan_s
        self._keys: list[str] = []
        self._scanned_at = -1e18

    async def read(self, limit: int) -> OutboxBatch:
        entries: list[SettledEntry] = []
        token: dict[str, str] = {}
        async with unavailable_as_store_error("read spend log"):
            for key in await self._streams():
                if len(entries) >= limit:
                    break
                found = await self._client.xrange(key, min="-", max="+",
                                                  count=limit - len(entries))
                for stream_id, fields in found or []:
                    raw = _field(fields)
                    if raw is not None:
                        entries.append(decode_entry(raw))
                    token[key] = text(stream_id)
        return OutboxBatch(entries, token)

    async def ack(self, batch: OutboxBatch) -> None:
        async with unavailable_as_store_error("trim spend log"):
            for key, last in dict(batch.token).items():
                await self._client.xtrim(key, minid=_after(last), approximate=False)

    async def lag(self) -> OutboxLag:
        pending = 0
        oldest_ms: int | None = None
        async with unavailable_as_store_error("read spend log"):
            for key in await self._streams(force=True):
                pending += int(await self._client.xlen(key))
                first = await self._client.xrange(key, min="-", max="+", count=1)
                if first:
                    ms = int(text(first[0][0]).partition("-")[0])
                    oldest_ms = ms if oldest_ms is None else min(oldest_ms, ms)
            seconds, micros = await self._client.time()
        if oldest_ms is None:
            return OutboxLag(pending, None)
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        return OutboxLag(pending, max(0.0, (now_ms - oldest_ms) / 1000))

    async def refresh(self) -> None:
        """Rescans for log streams now: a tenant's first settle makes a new one."""
        async with unavailable_as_store_error("list spend logs"):
            await self._streams(force=True)

    async def _streams(self, force: bool = False) -> list[str]:
        # SCAN walks the whole keyspace: do it every few seconds, not every batch. The keyspace
        # holds a settled marker per request of the last day (a million keys at a million
        # requests a day), so ask for many keys a round trip: COUNT 1000 took ~400 round
        # trips, a minute per rescan on a loaded box (bench/spend/run.py, issue 17).
        now = time.monotonic()
        if force or now - self._scanned_at >= self._rescan_s or not self._keys:
            self._keys = sorted({text(k) async for k in self._client.scan_iter(
                match=self._pattern, count=SCAN_COUNT, _type="stream")})
            self._scanned_at = now
        return self._keys
