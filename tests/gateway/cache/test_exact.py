"""The exact cache: same normalised request, same tenant → the stored answer, until TTL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest

from gateway.cache import (
    CompletionCache,
    ExactCache,
    MemoryCacheStore,
    RedisCacheStore,
    cached_reply,
)
from gateway.cache.keys import exact_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def body(content: str = "What is 2 + 2?", **params: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **params}


def reply(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest, clock: Clock) -> Iterator[ExactCache]:
    if request.param == "memory":
        yield ExactCache(MemoryCacheStore(clock=clock), ttl_s=60)
    else:
        yield ExactCache(RedisCacheStore(fakeredis.FakeAsyncRedis()), ttl_s=60)


async def test_miss_then_hit(cache: ExactCache) -> None:
    assert isinstance(cache, CompletionCache)
    assert await cache.lookup("t1", body()) is None
    await cache.store("t1", body(), reply("4"))
    assert await cache.lookup("t1", body()) == reply("4")
    hit = await cache.find("t1", body())
    assert hit is not None and hit.kind == "exact"


async def test_tenants_never_see_each_others_answers(cache: ExactCache) -> None:
    await cache.store("t1", body(), reply("4"))
    assert await cache.lookup("t2", body()) is None


@pytest.mark.parametrize(
    "other",
    [
        body("What is 2 + 3?"),
        body(model="gpt-4o"),
        body(temperature=0.0),
        body(max_tokens=5),
        body(n=2),
        {
            **body(),
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "What is 2 + 2?"},
            ],
        },
    ],
)
async def test_key_includes_model_messages_and_sampling_params(
    cache: ExactCache, other: dict[str, Any]
) -> None:
    await cache.store("t1", body(), reply("4"))
    assert await cache.lookup("t1", other) is None


@pytest.mark.parametrize(
    "same",
    [
        body(stream=True, stream_options={"include_usage": True}),
        body(user="end-user-7"),
        body("  What is 2 + 2?\n"),
        body(temperature=None),
    ],
)
async def test_key_ignores_what_does_not_change_the_answer(
    cache: ExactCache, same: dict[str, Any]
) -> None:
    await cache.store("t1", body(), reply("4"))
    assert await cache.lookup("t1", same) == reply("4")


async def test_entries_expire_after_the_ttl(clock: Clock) -> None:
    cache = ExactCache(MemoryCacheStore(clock=clock), ttl_s=60)
    await cache.store("t1", body(), reply("4"))
    clock.now += 59
    assert await cache.lookup("t1", body()) is not None
    clock.now += 2
    assert await cache.lookup("t1", body()) is None


async def test_redis_entries_carry_the_ttl() -> None:
    client = fakeredis.FakeAsyncRedis()
    cache = ExactCache(RedisCacheStore(client, prefix="p:"), ttl_s=60)
    await cache.store("t1", body(), reply("4"))
    ttl_ms = await client.pttl("p:" + exact_key("t1", body()))
    assert 0 < ttl_ms <= 60_000


async def test_the_memory_store_evicts_the_least_recently_used(clock: Clock) -> None:
    cache = ExactCache(MemoryCacheStore(max_entries=2, clock=clock), ttl_s=60)
    for q in ("a", "b"):
        await cache.store("t1", body(q), reply(q))
    assert await cache.lookup("t1", body("a")) is not None  # "a" is now the most recent
    await cache.store("t1", body("c"), reply("c"))
    assert await cache.lookup("t1", body("b")) is None
    assert await cache.lookup("t1", body("a")) is not None


async def test_failed_answers_and_sampled_requests_can_be_kept_out(clock: Clock) -> None:
    cache = ExactCache(MemoryCacheStore(clock=clock), ttl_s=60, cache_sampled=False)
    await cache.store("t1", body(temperature=0), {"choices": []})
    assert await cache.lookup("t1", body(temperature=0)) is None
    await cache.store("t1", body(temperature=0.7), reply("4"))
    assert await cache.lookup("t1", body(temperature=0.7)) is None
    await cache.store("t1", body(temperature=0), reply("4"))
    assert await cache.lookup("t1", body(temperature=0)) == reply("4")


class BrokenStore:
    async def get(self, key: str) -> bytes | None:
        raise ConnectionError("redis down")

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        raise ConnectionError("redis down")


async def test_a_store_outage_is_a_miss_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    cache = ExactCache(BrokenStore(), ttl_s=60)
    await cache.store("t1", body(), reply("4"))
    assert await cache.lookup("t1", body()) is None
    assert "redis down" in caplog.text


def test_a_cached_reply_gets_this_requests_id() -> None:
    out = cached_reply(reply("4"), "req-9")
    assert out["id"] == "chatcmpl-req-9"
    assert out["choices"] == reply("4")["choices"]
