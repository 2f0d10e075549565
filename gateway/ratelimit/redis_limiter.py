"""Rate limits shared by every replica through Redis: one Lua script per request.

The script reads both TATs, decides, and writes both only if the request is admitted, all
on the server's clock (TIME), so replicas with skewed clocks share one limit exactly. The
math is gateway.ratelimit.gcra's, in integer microseconds (exact in Lua's doubles).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from gateway.ledger.redis_client import (
    ClusterWarmUp,
    connect,
    connect_cluster,
    text,
    unavailable_as_store_error,
)
from gateway.ratelimit.base import Dimension, RateDecision
from gateway.ratelimit.gcra import PERIOD_US, interval_us
from gateway.tenants.config import RateLimitConfig

# KEYS: requests TAT, tokens TAT. ARGV: request interval, request units, token interval,
# token units, period (all µs / units; an interval of 0 means unlimited).
# Returns {1, remaining requests, remaining tokens} or {0, wait µs, "requests"|"tokens"}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[5])
local function plan(key, interval, units)
  if interval <= 0 or units <= 0 then return nil end
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  return tat + units * interval
end
local tats = {plan(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])),
              plan(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))}
local names = {'requests', 'tokens'}
local wait, which = 0, ''
for i = 1, 2 do
  if tats[i] and tats[i] - now - period > wait then
    wait, which = tats[i] - now - period, names[i]
  end
end
if wait > 0 then return {0, string.format('%.0f', wait), which} end
local remaining = {'-1', '-1'}
for i = 1, 2 do
  if tats[i] then
    local ttl_ms = math.ceil((tats[i] - now) / 1000) + 1000
    redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', ttl_ms)
    local interval = tonumber(ARGV[2 * i - 1])
    remaining[i] = string.format('%.0f', math.floor((period - (tats[i] - now)) / interval))
  end
end
return {1, remaining[1], remaining[2]}
"""


class RedisRateLimiter:
    """A RateLimiter on Redis; an outage raises gateway.ledger.base.StoreUnavailable."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "costroute",
                 owns_client: bool = False) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._warm_up = ClusterWarmUp(client)
        self._acquire = client.register_script(_ACQUIRE)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "costroute", timeout_s: float = 2.0,
                 cluster: bool = False) -> RedisRateLimiter:
        # A cluster client drops a node's connections after one of them times out, failing
        # every command in flight there: give it more slack than one Redis gets.
        client: Any = (connect_cluster(url, timeout_s=max(timeout_s, 5.0)) if cluster
                       else connect(url, timeout_s=timeout_s))
        return cls(client, prefix=prefix, owns_client=True)

    async def acquire(self, tenant: str, limits: RateLimitConfig, tokens: int = 0) -> RateDecision:
        """Admits one request of `tokens` tokens if both limits allow; else counts nothing."""
        args = [*_dimension_args(limits.requests_per_minute, 1),
                *_dimension_args(limits.tokens_per_minute, tokens), PERIOD_US]
        if args[1] == 0 and args[3] == 0:
            return RateDecision(True)
        base = f"{self._prefix}:{{{tenant}}}:rl"
        async with unavailable_as_store_error("rate limit"):
            await self._warm_up()
            reply = await self._acquire(keys=[f"{base}:req", f"{base}:tok"], args=args)
        if int(reply[0]) == 0:
            which: Dimension = "requests" if text(reply[2]) == "requests" else "tokens"
            return RateDecision(False, int(text(reply[1])) / 1_000_000, which)
        return RateDecision(True, remaining_requests=_count(reply[1]),
                            remaining_tokens=_count(reply[2]))

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _dimension_args(limit: int | None, units: int) -> tuple[int, int]:
    if limit is None or units <= 0:
        return 0, 0
    return interval_us(limit), min(units, limit)


def _count(value: bytes | str | int) -> int | None:
    number = int(text(value))
    return None if number < 0 else number
