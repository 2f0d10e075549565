"""The Redis SpendStore: one budget shared by every gateway replica that points at it.

Reserve and settle are one Lua script each (see redis_scripts), so the check "spent + live
holds + amount <= limit" and the hold it grants cannot interleave with another replica's.

Durability: each settle appends its entry to the tenant's stream `<prefix>:{<tenant>}:log`
inside the same script as the spend counters, so the log and the totals never disagree.
Redis persistence is then the whole durability story: run Redis with `appendonly yes`;
`appendfsync always` loses nothing on a Redis crash, the default `everysec` may lose the last
second of settlements. RDB snapshots alone can lose minutes. With a records database the
stream is the outbox of spend history: a drainer copies it to the database and trims what
it stored (gateway/ledger/redis_outbox.py), so it holds only what is not yet drained.
Without one it is never trimmed; archive and trim it (XTRIM MINID) only after exporting it.

Settled markers (`<prefix>:{<tenant>}:settled:<request id>`) make settle idempotent for
`settled_ttl_s` (a day by default); a retry later than that would count twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from gateway.ledger.base import (
    BudgetWindow,
    Hold,
    InsufficientBudget,
    RequestAlreadySettled,
    SettledEntry,
    SpendRecord,
    WindowState,
    from_nanos,
    limit_to_nanos,
    to_nanos,
)
from gateway.ledger.entries import decode_entry, encode_entry, utc_now_iso
from gateway.ledger.redis_client import (
    ClusterWarmUp,
    connect,
    connect_cluster,
    text,
    unavailable_as_store_error,
)
from gateway.ledger.redis_outbox import RedisOutbox
from gateway.ledger.redis_scripts import RELEASE, RESERVE, SETTLE, STATE, TOP_UP
from gateway.ledger.validation import check_reservation, check_settlement

_PAGE = 1000


class RedisSpendStore:
    """A SpendStore on Redis; outages raise StoreUnavailable and heal on the next call."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "costroute",
        settled_ttl_s: int = 86_400,
        owns_client: bool = False,
    ) -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("the key prefix must not contain braces (they are hash tags)")
        self._client = client
        self._prefix = prefix
        self._settled_ttl_s = settled_ttl_s
        self._owns_client = owns_client
        self._warm_up = ClusterWarmUp(client)
        # Scripts run by EVALSHA and reload themselves after a Redis restart empties the cache.
        self._reserve = client.register_script(RESERVE)
        self._settle = client.register_script(SETTLE)
        self._release = client.register_script(RELEASE)
        self._state = client.register_script(STATE)
        self._top_up = client.register_script(TOP_UP)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "costroute", timeout_s: float = 2.0,
                 settled_ttl_s: int = 86_400, cluster: bool = False) -> RedisSpendStore:
        """A store with its own fail-fast client for `url`, closed by `close()`."""
        # A cluster client drops a node's connections after one of them times out, failing
        # every command in flight there: give it more slack than one Redis gets.
        client: Any = (connect_cluster(url, timeout_s=max(timeout_s, 5.0)) if cluster
                       else connect(url, timeout_s=timeout_s))
        return cls(client, prefix=prefix, settled_ttl_s=settled_ttl_s, owns_client=True)

    async def reserve(
        self,
        tenant: str,
        request_id: str,
        amount_usd: float,
        windows: Sequence[BudgetWindow],
        ttl_s: float,
    ) -> Hold:
        """Holds `amount_usd` in every window in one script, or raises InsufficientBudget."""
        keys, args = self.reserve_call(tenant, request_id, amount_usd, windows, ttl_s)
        async with unavailable_as_store_error("reserve"):
            await self._warm_up()
            reply = await self._reserve(keys=keys, args=args)
        status, index, remaining = int(reply[0]), int(reply[1]), int(text(reply[2]))
        if status == -1:
            raise RequestAlreadySettled(request_id)
        if status == 0:
            raise InsufficientBudget(windows[index], from_nanos(remaining))
        return Hold(tenant, request_id, amount_usd, tuple(windows))

    async def top_up(self, hold: Hold, amount_usd: float, ttl_s: float) -> Hold:
        """Raises the live hold to `amount_usd` in one script; only the increase must fit."""
        amount = to_nanos(amount_usd)
        check_reservation(amount, hold.windows, ttl_s)
        args: list[str | int] = [hold.request_id, amount, max(1, round(ttl_s * 1000))]
        for window in hold.windows:
            args += [window.key, limit_to_nanos(window.limit_usd)]
        keys = [*self._tenant_keys(hold.tenant), self._marker_key(hold.tenant, hold.request_id)]
        async with unavailable_as_store_error("top up"):
            await self._warm_up()
            reply = await self._top_up(keys=keys, args=args)
        status, index, remaining = int(reply[0]), int(reply[1]), int(text(reply[2]))
        if status == -1:
            raise RequestAlreadySettled(hold.request_id)
        if status == 0:
            raise InsufficientBudget(hold.windows[index], from_nanos(remaining))
        return Hold(hold.tenant, hold.request_id, max(amount_usd, hold.amount_usd),
                    tuple(hold.windows))

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        """Counts the actual cost, drops the hold and appends the entry, in one script."""
        keys, args = self.settle_call(hold, actual_usd, record)
        async with unavailable_as_store_error("settle"):
            await self._warm_up()
            await self._settle(keys=keys, args=args)

    def reserve_call(self, tenant: str, request_id: str, amount_usd: float,
                     windows: Sequence[BudgetWindow],
                     ttl_s: float) -> tuple[list[str], list[str | int]]:
        """RESERVE's keys and arguments (also for a bench that pipelines many requests)."""
        amount = to_nanos(amount_usd)
        check_reservation(amount, windows, ttl_s)
        args: list[str | int] = [request_id, amount, max(1, round(ttl_s * 1000))]
        for window in windows:
            args += [window.key, limit_to_nanos(window.limit_usd)]
        return [*self._tenant_keys(tenant), self._marker_key(tenant, request_id)], args

    def settle_call(self, hold: Hold, actual_usd: float,
                    record: SpendRecord) -> tuple[list[str], list[str | int | bytes]]:
        """SETTLE's keys and arguments (also for a bench that pipelines many requests)."""
        actual = to_nanos(actual_usd)
        check_settlement(hold, actual, record)
        window_keys = tuple(w.key for w in hold.windows)
        entry = SettledEntry(record, utc_now_iso(), window_keys, actual)
        keys = [
            *self._tenant_keys(hold.tenant),
            self._marker_key(hold.tenant, hold.request_id),
            self._log_key(hold.tenant),
        ]
        args: list[str | int | bytes] = [
            hold.request_id, actual, self._settled_ttl_s, encode_entry(entry), *window_keys
        ]
        return keys, args

    def scripts(self) -> tuple[Any, Any]:
        """The registered RESERVE and SETTLE scripts (callable with `client=pipeline`)."""
        return self._reserve, self._settle

    async def release(self, hold: Hold) -> None:
        """Drops the hold if it is still live; a no-op otherwise."""
        async with unavailable_as_store_error("release"):
            await self._warm_up()
            await self._release(keys=self._tenant_keys(hold.tenant), args=[hold.request_id])

    async def state(self, tenant: str, windows: Sequence[BudgetWindow]) -> list[WindowState]:
        """Spent and live-held nano-dollars of each window, in the order given."""
        if not windows:
            return []
        async with unavailable_as_store_error("state"):
            await self._warm_up()
            reply = await self._state(keys=self._tenant_keys(tenant),
                                      args=[w.key for w in windows])
        values = [int(text(v)) for v in reply]
        return [
            WindowState.of_nanos(w, values[2 * i], values[2 * i + 1])
            for i, w in enumerate(windows)
        ]

    async def records(self, tenant: str | None = None) -> list[SpendRecord]:
        return [entry.record for entry in await self.entries(tenant)]

    async def entries(self, tenant: str | None = None) -> list[SettledEntry]:
        """Entries from the tenants' log streams (every tenant's for None), oldest first."""
        async with unavailable_as_store_error("read spend log"):
            await self._warm_up()
            if tenant is not None:
                return await self._read_stream(self._log_key(tenant))
            found: list[SettledEntry] = []
            async for key in self._client.scan_iter(match=f"{self._prefix}:{{*}}:log"):
                found += await self._read_stream(text(key))
        return sorted(found, key=lambda e: e.settled_at)

    async def ping(self) -> None:
        async with unavailable_as_store_error("ping"):
            await self._client.ping()

    async def drained(self, tenant: str | None = None) -> int | None:
        """How many entries the spend-history drainer has trimmed from the tenants' log
        streams (every tenant's for None): read by `costroute spend`, which sees only what
        is left. None on a Redis before 7.0, which does not count what a stream was given."""
        async with unavailable_as_store_error("read spend log"):
            await self._warm_up()
            if tenant is not None:
                keys = [self._log_key(tenant)]
            else:
                keys = [text(k) async for k in
                        self._client.scan_iter(match=f"{self._prefix}:{{*}}:log")]
            trimmed = 0
            for key in keys:
                if not await self._client.exists(key):
                    continue
                info = {text(k): v for k, v in (await self._client.xinfo_stream(key)).items()}
                if "entries-added" not in info:
                    return None
                trimmed += int(info["entries-added"]) - int(info["length"])
        return trimmed

    def spend_outbox(self) -> RedisOutbox:
        """The log streams as the outbox of spend history (drained, then trimmed)."""
        return RedisOutbox(self._client, self._prefix)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def aclose(self) -> None:
        await self.close()

    async def _read_stream(self, key: str) -> list[SettledEntry]:
        entries: list[SettledEntry] = []
        start = "-"
        while True:
            batch: list[Any] = list(
                await self._client.xrange(key, min=start, max="+", count=_PAGE) or []
            )
            for stream_id, fields in batch:
                entries.append(decode_entry(_field(fields, "entry")))
                start = "(" + text(stream_id)
            if len(batch) < _PAGE:
                return entries

    def _tenant_keys(self, tenant: str) -> list[str]:
        base = f"{self._prefix}:{{{tenant}}}"
        return [f"{base}:spent", f"{base}:reserved", f"{base}:holds", f"{base}:holdinfo"]

    def _marker_key(self, tenant: str, request_id: str) -> str:
        return f"{self._prefix}:{{{tenant}}}:settled:{request_id}"

    def _log_key(self, tenant: str) -> str:
        return f"{self._prefix}:{{{tenant}}}:log"


def _field(fields: dict[Any, Any], name: str) -> bytes | str:
    value = fields.get(name)
    if value is None:
        value = fields.get(name.encode())
    if value is None:
        raise ValueError(f"stream entry without {name!r}")
    return value  # type: ignore[no-any-return]
