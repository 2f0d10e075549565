"""The semantic cache: similar enough questions share answers, within the tenant's rules."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.cache import (
    CacheSettings,
    LayeredCache,
    SemanticCache,
    SemanticRules,
    build_cache,
)
from routers.embedding import HashingEmbedder

Q = "What is the capital city of France?"
SIMILAR = "what is the capital city of france, please?"
UNRELATED = "How many legs does a spider have?"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def body(
    content: str = Q,
    *,
    temperature: float | None = 0.0,
    model: str = "gpt-4o-mini",
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    messages = [*(history or []), {"role": "user", "content": content}]
    out: dict[str, Any] = {"model": model, "messages": messages}
    if temperature is not None:
        out["temperature"] = temperature
    return out


def reply(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def semantic(rules: SemanticRules, clock: Clock | None = None, **kwargs: Any) -> SemanticCache:
    return SemanticCache(
        HashingEmbedder(),
        lambda tenant: rules if tenant == "on" else SemanticRules(),
        clock=clock or Clock(),
        **kwargs,
    )


ON = SemanticRules(enabled=True, threshold=0.5)


async def test_a_similar_question_hits_and_an_unrelated_one_misses() -> None:
    cache = semantic(ON)
    await cache.store("on", body(), reply("Paris"))
    hit = await cache.find("on", body(SIMILAR))
    assert hit is not None and hit.kind == "semantic" and hit.response == reply("Paris")
    assert ON.threshold <= hit.similarity < 1.0
    assert await cache.lookup("on", body(UNRELATED)) is None


async def test_the_similarity_threshold_decides() -> None:
    loose = semantic(SemanticRules(enabled=True, threshold=0.0))
    await loose.store("on", body(), reply("Paris"))
    hit = await loose.find("on", body(SIMILAR))
    assert hit is not None
    strict = semantic(SemanticRules(enabled=True, threshold=hit.similarity + 1e-3))
    await strict.store("on", body(), reply("Paris"))
    assert await strict.lookup("on", body(SIMILAR)) is None
    assert await strict.lookup("on", body(Q)) == reply("Paris")


async def test_it_is_off_unless_the_tenant_opts_in() -> None:
    cache = semantic(ON)
    await cache.store("off", body(), reply("Paris"))
    assert await cache.lookup("off", body()) is None
    assert cache.entries("off") == 0


async def test_tenants_are_isolated() -> None:
    cache = SemanticCache(HashingEmbedder(), lambda tenant: ON, clock=Clock())
    await cache.store("a", body(), reply("Paris"))
    assert await cache.lookup("b", body()) is None
    assert await cache.lookup("a", body()) == reply("Paris")


async def test_multi_turn_chats_are_skipped_unless_allowed() -> None:
    history = [
        {"role": "user", "content": "Let's talk geography."},
        {"role": "assistant", "content": "Sure."},
    ]
    off = semantic(ON)
    await off.store("on", body(history=history), reply("Paris"))
    assert await off.lookup("on", body(history=history)) is None
    allowed = semantic(SemanticRules(enabled=True, threshold=0.5, allow_multi_turn=True))
    await allowed.store("on", body(history=history), reply("Paris"))
    assert await allowed.lookup("on", body(SIMILAR, history=history)) == reply("Paris")
    # Earlier turns must match exactly: another conversation is another namespace.
    other = [{"role": "user", "content": "Let's talk history."}, history[1]]
    assert await allowed.lookup("on", body(history=other)) is None


async def test_a_system_prompt_alone_is_not_a_multi_turn_chat() -> None:
    system = [{"role": "system", "content": "Answer in one word."}]
    cache = semantic(ON)
    await cache.store("on", body(history=system), reply("Paris"))
    assert await cache.lookup("on", body(SIMILAR, history=system)) == reply("Paris")
    assert await cache.lookup("on", body(SIMILAR)) is None  # without the system prompt


@pytest.mark.parametrize("temperature", [0.7, None])  # None: OpenAI's default of 1
async def test_sampling_requests_are_skipped_unless_allowed(temperature: float | None) -> None:
    off = semantic(ON)
    await off.store("on", body(temperature=temperature), reply("Paris"))
    assert await off.lookup("on", body(temperature=temperature)) is None
    allowed = semantic(SemanticRules(enabled=True, threshold=0.5, allow_sampling=True))
    await allowed.store("on", body(temperature=temperature), reply("Paris"))
    assert await allowed.lookup("on", body(SIMILAR, temperature=temperature)) == reply("Paris")


async def test_other_models_and_parameters_do_not_share_answers() -> None:
    cache = semantic(ON)
    await cache.store("on", body(), reply("Paris"))
    assert await cache.lookup("on", body(model="gpt-4o")) is None
    assert await cache.lookup("on", {**body(), "max_tokens": 3}) is None


async def test_few_shot_examples_must_match_exactly() -> None:
    shots = "Q: capital of Italy?\nA: Rome\nQ: capital of Spain?\nA: Madrid\n"
    cache = semantic(ON)
    await cache.store("on", body(shots + "Q: capital of France?\nA:"), reply("Paris"))
    assert await cache.lookup("on", body(shots + "Q: capital of France?\nA:")) == reply("Paris")
    other_shots = "Q: capital of Peru?\nA: Lima\n"
    assert await cache.lookup("on", body(other_shots + "Q: capital of France?\nA:")) is None


async def test_long_questions_are_left_to_the_exact_cache() -> None:
    cache = semantic(SemanticRules(enabled=True, threshold=0.5, max_question_chars=20))
    await cache.store("on", body(), reply("Paris"))
    assert await cache.lookup("on", body()) is None


async def test_entries_expire_and_the_oldest_are_evicted() -> None:
    clock = Clock()
    cache = semantic(ON, clock, ttl_s=10, max_entries_per_tenant=2)
    await cache.store("on", body(), reply("Paris"))
    clock.now = 11
    assert await cache.lookup("on", body()) is None
    for q in (Q, UNRELATED, "Which planet is the largest?"):
        await cache.store("on", body(q), reply(q))
    assert cache.entries("on") == 2
    assert await cache.lookup("on", body(Q)) is None
    assert await cache.lookup("on", body(UNRELATED)) == reply(UNRELATED)


async def test_storing_the_same_question_again_replaces_the_answer() -> None:
    cache = semantic(ON)
    await cache.store("on", body(), reply("Paris?"))
    await cache.store("on", body(), reply("Paris"))
    assert cache.entries("on") == 1
    assert await cache.lookup("on", body()) == reply("Paris")


async def test_the_layered_cache_answers_exact_hits_first() -> None:
    rules = {"on": ON}
    cache = build_cache(
        CacheSettings(semantic=True, semantic_rules=rules), embedder=HashingEmbedder()
    )
    assert isinstance(cache, LayeredCache)
    await cache.store("on", body(), reply("Paris"))
    exact = await cache.find("on", body())
    near = await cache.find("on", body(SIMILAR))
    assert exact is not None and exact.kind == "exact"
    assert near is not None and near.kind == "semantic"
    again = await cache.find("on", body(SIMILAR))  # promoted to the exact layer
    assert again is not None and again.kind == "exact" and again.response == reply("Paris")
    assert await cache.lookup("other", body(SIMILAR)) is None
    assert build_cache(CacheSettings(enabled=False)) is None
    with pytest.raises(ValueError, match="needs a Redis client"):
        build_cache(CacheSettings(store="redis"))
