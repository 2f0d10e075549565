"""The completion cache interface: look a request up, store its answer.

FrugalGPT's second lever ("LLM approximation"): a request answered before is answered again
from the cache at no upstream cost. Implementations:

    CompletionCache (protocol)
    ├── ExactCache      normalised request → response, in a `CacheStore` (memory LRU, Redis)
    ├── SemanticCache   FAISS over prompt embeddings, per tenant, opt-in per tenant
    └── LayeredCache    exact first, then semantic

A cache never fails a request: a store outage is a miss (lookup) or a no-op (store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

CacheKind = Literal["exact", "semantic"]


@dataclass(frozen=True, slots=True)
class CacheHit:
    """A cached response, which cache found it, and (semantic) how similar the prompts were."""

    response: dict[str, Any]
    kind: CacheKind
    similarity: float = 1.0


@runtime_checkable
class CompletionCache(Protocol):
    """A tenant's earlier answers to chat-completion request bodies."""

    async def lookup(self, tenant: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The cached response to `body` for `tenant`, or None on a miss."""
        ...

    async def store(
        self, tenant: str, body: Mapping[str, Any], response: Mapping[str, Any]
    ) -> None:
        """Remembers `response` as the answer to `body` for `tenant`."""
        ...


@runtime_checkable
class DescribedCache(CompletionCache, Protocol):
    """A cache that also says which kind of hit it made (for metrics and headers)."""

    async def find(self, tenant: str, body: Mapping[str, Any]) -> CacheHit | None: ...


class CacheStore(Protocol):
    """Bytes by key with a time to live: what the exact cache keeps its entries in."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...
