"""Prometheus metrics, on a registry owned by one app instance (no process globals).

Under `costroute serve --workers N` each scrape reaches one worker at random, so a worker's
own counters would jump back and forth between scrapes (Prometheus reads that as resets).
There the workers keep their values in files in one shared directory (prometheus_client's
multiprocess mode, chosen by the environment variable that the serve command sets before
it starts them), and every scrape answers the sum over all of them.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable
from math import isnan
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Counter as _Counter
from prometheus_client import Histogram as _Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                   10, 30, 60, 120)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1)
RATIO_BUCKETS = (-0.5, -0.25, -0.1, -0.05, 0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# prometheus_client's own name: it picks file-backed values when this is set at import.
SHARED_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def shared_metrics_dir() -> str | None:
    """The directory the worker processes of one gateway share their metric values in, or
    None when this process serves alone."""
    return os.environ.get(SHARED_DIR_ENV) or None


class _CachedChildren:
    """`labels(*values)` from a dict: prometheus_client validates, stringifies and locks on
    every call (several microseconds, ~9 calls per request). Children are never removed."""

    def labels(self, *values: Any, **kw: Any) -> Any:
        cache: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_children_by_values", {})
        child = cache.get(values)
        if child is None or kw:
            child = super().labels(*values, **kw)  # type: ignore[misc]
            if not kw:
                cache[values] = child
        return child


class Counter(_CachedChildren, _Counter):
    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        """As prometheus_client's, minus its per-call checks when they cannot fail (a
        labelled child, no exemplar): the request path counts ~5 of these per request."""
        if exemplar or amount < 0 or not self._labelvalues:
            super().inc(amount, exemplar)
        else:
            self._value.inc(amount)


class Histogram(_CachedChildren, _Histogram):
    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        """As prometheus_client's, with the bucket found by bisection rather than a loop
        over every bound (the first bound >= amount, as its `amount <= bound`)."""
        if exemplar or isnan(amount) or not self._labelvalues:  # NaN: no bucket
            super().observe(amount, exemplar)
            return
        self._sum.inc(amount)
        self._buckets[bisect_left(self._upper_bounds, amount)].inc(1)


class GatewayMetrics:
    """Every metric the gateway exports. Names are documented in docs/metrics.md."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.shared_dir = shared_metrics_dir()
        r = self.registry
        self.requests = Counter(
            "costroute_requests", "Chat requests answered", ["route", "model", "status"],
            registry=r)
        self.errors = Counter(
            "costroute_errors", "Errors returned to clients", ["route", "code"], registry=r)
        self.tenant_errors = Counter(
            "costroute_tenant_errors", "Errors returned to clients, per tenant",
            ["tenant", "code"], registry=r)
        self.latency = Histogram(
            "costroute_request_latency_seconds", "End-to-end latency as the client sees it",
            ["route", "stream"], buckets=LATENCY_BUCKETS, registry=r)
        self.upstream_latency = Histogram(
            "costroute_upstream_latency_seconds", "Upstream call latency (to last byte)",
            ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.overhead = Histogram(
            "costroute_gateway_overhead_seconds",
            "Time spent in the gateway itself: end-to-end minus upstream time",
            ["route"], buckets=OVERHEAD_BUCKETS, registry=r)
        self.tokens = Counter(
            "costroute_tokens", "Billed tokens", ["model", "route", "kind"], registry=r)
        self.cost = Counter(
            "costroute_cost_usd", "Settled cost in USD", ["model", "route", "tier"], registry=r)
        self.estimate_error = Histogram(
            "costroute_estimate_relative_error",
            "(pre-flight expected cost - actual cost) / actual cost, per model",
            ["model"], buckets=RATIO_BUCKETS, registry=r)
        self.fallbacks = Counter(
            "costroute_upstream_failures", "Upstream attempts that failed",
            ["model"], registry=r)
        self.cache = Counter(
            "costroute_cache_lookups", "Completion cache lookups", ["result"], registry=r)
        self.cache_saved = Counter(
            "costroute_cache_saved_usd", "USD the cached answers would have cost", ["model"],
            registry=r)

    def _shared_registry(self, shared_dir: str) -> CollectorRegistry:
        """Every worker's values summed (counters, histograms; gauges as each declares)."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=shared_dir)  # type: ignore[no-untyped-call]
        return registry

    def render(self) -> bytes:
        if self.shared_dir is not None:
            return generate_latest(self._shared_registry(self.shared_dir))
        return generate_latest(self.registry)

    def families(self, metric: Any) -> Iterable[Metric]:
        """`metric`'s samples as a scrape sees them: this process's, or under several
        workers every worker's summed."""
        if self.shared_dir is None:
            return metric.collect()  # type: ignore[no-any-return]
        name = metric._name  # prometheus_client's name without the _total suffix
        return [family for family in self._shared_registry(self.shared_dir).collect()
                if family.name == name]
