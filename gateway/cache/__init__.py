"""Completion caches: exact (memory LRU or Redis) and opt-in semantic (FAISS)."""

from gateway.cache.base import CacheHit, CacheStore, CompletionCache, DescribedCache
from gateway.cache.exact import ExactCache
from gateway.cache.layered import LayeredCache
from gateway.cache.memory import MemoryCacheStore
from gateway.cache.redis_store import RedisCacheStore
from gateway.cache.replies import cached_reply
from gateway.cache.semantic import SemanticCache, SemanticRules
from gateway.cache.settings import CacheSettings, build_cache

__all__ = [
    "CacheHit",
    "CacheSettings",
    "CacheStore",
    "CompletionCache",
    "DescribedCache",
    "ExactCache",
    "LayeredCache",
    "MemoryCacheStore",
    "RedisCacheStore",
    "SemanticCache",
    "SemanticRules",
    "build_cache",
    "cached_reply",
]
