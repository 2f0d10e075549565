"""Rate limits, in-process and through Redis: bursts up to the minute's allowance, then
a retry-after; a refused request counts against nothing; tenants are independent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.ledger.base import StoreUnavailable
from gateway.ratelimit.base import RateLimiter, RateLimitExceeded
from gateway.ratelimit.memory import InMemoryRateLimiter
from gateway.ratelimit.redis_limiter import RedisRateLimiter
from gateway.tenants.config import RateLimitConfig

FIVE_RPM = RateLimitConfig(requests_per_minute=5)
TOKENS = RateLimitConfig(requests_per_minute=100, tokens_per_minute=1000)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        made: RateLimiter = InMemoryRateLimiter()
    else:
        made = RedisRateLimiter.from_url(request.getfixturevalue("redis_url"))
    yield made
    await made.close()


async def test_a_burst_gets_the_minutes_allowance_then_waits(limiter: RateLimiter) -> None:
    decisions = [await limiter.acquire("acme", FIVE_RPM) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining_requests for d in decisions[:5]] == [4, 3, 2, 1, 0]
    refused = decisions[-1]
    assert refused.limited_by == "requests"
    assert 0 < refused.retry_after_s <= 60 / 5  # one emission interval at most
    with pytest.raises(RateLimitExceeded) as caught:
        refused.raise_if_denied()
    assert caught.value.code == "rate_limit_exceeded"


async def test_tokens_are_limited_and_a_refusal_spends_no_request(limiter: RateLimiter) -> None:
    limits = RateLimitConfig(requests_per_minute=2, tokens_per_minute=1000)
    assert (await limiter.acquire("acme", limits, tokens=600)).allowed
    refused = await limiter.acquire("acme", limits, tokens=600)
    assert (refused.allowed, refused.limited_by) == (False, "tokens")
    small = await limiter.acquire("acme", limits, tokens=300)
    assert small.allowed and small.remaining_requests == 0 and small.remaining_tokens == 100


async def test_tenants_do_not_share_limits(limiter: RateLimiter) -> None:
    for _ in range(5):
        await limiter.acquire("acme", FIVE_RPM)
    assert not (await limiter.acquire("acme", FIVE_RPM)).allowed
    assert (await limiter.acquire("beta", FIVE_RPM)).allowed


async def test_no_limits_admit_everything(limiter: RateLimiter) -> None:
    for _ in range(50):
        decision = await limiter.acquire("acme", RateLimitConfig(), tokens=10**9)
        assert decision.allowed and decision.remaining_requests is None


async def test_a_request_larger_than_the_allowance_passes_when_idle(limiter: RateLimiter) -> None:
    assert (await limiter.acquire("acme", TOKENS, tokens=5000)).allowed
    assert not (await limiter.acquire("acme", TOKENS, tokens=1)).allowed


async def test_the_allowance_comes_back_at_the_steady_rate() -> None:
    clock = Clock()
    limiter = InMemoryRateLimiter(clock)
    for _ in range(5):
        await limiter.acquire("acme", FIVE_RPM)
    refused = await limiter.acquire("acme", FIVE_RPM)
    clock.now += refused.retry_after_s
    assert (await limiter.acquire("acme", FIVE_RPM)).allowed
    assert not (await limiter.acquire("acme", FIVE_RPM)).allowed
    clock.now += 60
    assert [(await limiter.acquire("acme", FIVE_RPM)).allowed for _ in range(6)] == \
        [True] * 5 + [False]


@pytest.mark.redis
async def test_two_redis_clients_share_one_limit(redis_url: str) -> None:
    first, second = RedisRateLimiter.from_url(redis_url), RedisRateLimiter.from_url(redis_url)
    try:
        allowed = [(await limiter.acquire("acme", FIVE_RPM)).allowed
                   for limiter in (first, second) * 4]
    finally:
        await first.close()
        await second.close()
    assert allowed.count(True) == 5


async def test_redis_down_is_store_unavailable() -> None:
    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:1/0", timeout_s=0.5)
    try:
        with pytest.raises(StoreUnavailable):
            await limiter.acquire("acme", FIVE_RPM)
    finally:
        await limiter.close()
