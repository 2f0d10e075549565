"""The semantic cache: a new question close enough to one answered before gets that answer.

Opt-in per tenant (`SemanticRules.enabled`). Only the last user question is compared, by
cosine similarity of its embedding (FAISS `IndexFlatIP` over unit vectors); everything else
(model, sampling parameters, system prompt, earlier turns, few-shot examples) must match
exactly, so entries live in one index per (tenant, namespace). Off by default for
multi-turn chats and for sampling (temperature > 0; a request without `temperature`
samples at OpenAI's default of 1), since a reused answer is then most likely wrong or
defeats the point of sampling. Questions longer than `max_question_chars` are skipped: the
embedder reads only their beginning, so two of them differing at the end would match.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gateway.cache.base import CacheHit
from gateway.cache.keys import conversation_turns, split_last_question, temperature
from routers.embedding import Embedder

DEFAULT_TTL_S = 3600.0
DEFAULT_MAX_ENTRIES_PER_TENANT = 10_000
# Neighbours looked at per lookup: expired entries may hide the live one behind them.
SEARCH_K = 4
# Storing a question this similar to a live entry replaces that entry.
DUPLICATE_SIMILARITY = 0.9999


@dataclass(frozen=True, slots=True)
class SemanticRules:
    """A tenant's semantic-cache settings."""

    enabled: bool = False
    threshold: float = 0.95  # cosine similarity of MiniLM vectors
    allow_multi_turn: bool = False
    allow_sampling: bool = False  # reuse answers of requests with temperature > 0
    max_question_chars: int = 1000  # about what MiniLM reads (256 word pieces)


RulesFor = Callable[[str], SemanticRules]


@dataclass
class _Entry:
    response: dict[str, Any]
    expires_at: float


@dataclass
class _Bucket:
    """One (tenant, namespace): a FAISS index over question vectors and their answers."""

    index: Any
    entries: dict[int, _Entry] = field(default_factory=dict)


class SemanticCache:
    """Per-tenant FAISS indexes of answered questions; see the module docstring."""

    kind = "semantic"

    def __init__(
        self,
        embedder: Embedder,
        rules: RulesFor,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries_per_tenant: int = DEFAULT_MAX_ENTRIES_PER_TENANT,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.embedder = embedder
        self.rules = rules
        self.ttl_s = ttl_s
        self.max_entries_per_tenant = max_entries_per_tenant
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        # Per tenant, (namespace, id) from least to most recently used: what to evict.
        self._recency: dict[str, OrderedDict[tuple[str, int], None]] = {}
        self._next_id = 0

    def question_of(
        self, tenant: str, body: Mapping[str, Any]
    ) -> tuple[SemanticRules, str, str] | None:
        """(rules, namespace, question) when this tenant's request may use the cache."""
        rules = self.rules(tenant)
        if not rules.enabled:
            return None
        messages = body.get("messages") or []
        if conversation_turns(messages) > 1 and not rules.allow_multi_turn:
            return None
        if temperature(body) > 0 and not rules.allow_sampling:
            return None
        split = split_last_question(body)
        if split is None:
            return None
        namespace, question = split
        if not question or len(question) > rules.max_question_chars:
            return None
        return rules, namespace, question

    async def _vector(self, question: str) -> np.ndarray[Any, Any]:
        vectors = await asyncio.to_thread(self.embedder.embed, [question])
        return np.ascontiguousarray(vectors[:1], dtype=np.float32)

    def _nearest(self, bucket: _Bucket, vector: np.ndarray[Any, Any]) -> list[tuple[float, int]]:
        if bucket.index.ntotal == 0:
            return []
        sims, ids = bucket.index.search(vector, min(SEARCH_K, bucket.index.ntotal))
        return [(float(s), int(i)) for s, i in zip(sims[0], ids[0]) if i >= 0]

    async def find(self, tenant: str, body: Mapping[str, Any]) -> CacheHit | None:
        found = self.question_of(tenant, body)
        if found is None:
            return None
        rules, namespace, question = found
        bucket = self._buckets.get((tenant, namespace))
        if bucket is None:
            return None
        vector = await self._vector(question)
        now = self.clock()
        for similarity, entry_id in self._nearest(bucket, vector):
            entry = bucket.entries.get(entry_id)
            if entry is None:
                continue
            if entry.expires_at <= now:
                self._remove(tenant, namespace, entry_id)
                continue
            if similarity >= rules.threshold:
                self._recency[tenant].move_to_end((namespace, entry_id))
                return CacheHit(dict(entry.response), "semantic", similarity)
        return None

    async def lookup(self, tenant: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        hit = await self.find(tenant, body)
        return None if hit is None else hit.response

    async def store(
        self, tenant: str, body: Mapping[str, Any], response: Mapping[str, Any]
    ) -> None:
        found = self.question_of(tenant, body)
        if found is None or not response.get("choices"):
            return
        _, namespace, question = found
        vector = await self._vector(question)
        existing = self._buckets.get((tenant, namespace))
        if existing is not None:
            for similarity, entry_id in self._nearest(existing, vector):
                if similarity >= DUPLICATE_SIMILARITY:
                    self._remove(tenant, namespace, entry_id)
        # Removing the last entry drops its bucket, so look it up again.
        bucket = self._buckets.get((tenant, namespace))
        if bucket is None:
            bucket = self._buckets[(tenant, namespace)] = _Bucket(self._new_index(vector.shape[1]))
        entry_id = self._next_id
        self._next_id += 1
        bucket.index.add_with_ids(vector, np.array([entry_id], dtype=np.int64))
        bucket.entries[entry_id] = _Entry(dict(response), self.clock() + self.ttl_s)
        recency = self._recency.setdefault(tenant, OrderedDict())
        recency[(namespace, entry_id)] = None
        while len(recency) > self.max_entries_per_tenant:
            (old_namespace, old_id), _ = recency.popitem(last=False)
            self._remove(tenant, old_namespace, old_id)

    def entries(self, tenant: str) -> int:
        """How many answers are cached for `tenant` (expired ones included until seen)."""
        return len(self._recency.get(tenant, ()))

    def _new_index(self, dim: int) -> Any:
        import faiss

        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def _remove(self, tenant: str, namespace: str, entry_id: int) -> None:
        bucket = self._buckets.get((tenant, namespace))
        if bucket is None or entry_id not in bucket.entries:
            return
        del bucket.entries[entry_id]
        bucket.index.remove_ids(np.array([entry_id], dtype=np.int64))
        self._recency.get(tenant, OrderedDict()).pop((namespace, entry_id), None)
        if not bucket.entries:
            del self._buckets[(tenant, namespace)]
