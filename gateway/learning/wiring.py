"""Attaching the learning loop to an assembled Gateway (shadow runner, explorer, online k-NN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gateway.learning.budget import LearningBudget
from gateway.learning.calls import LearningCaller
from gateway.learning.explore import Explorer
from gateway.learning.loop import LearningLoop
from gateway.learning.metrics import LearningMetrics
from gateway.learning.online import OnlineUpdater
from gateway.upstream.base import Upstream

if TYPE_CHECKING:
    from gateway.assembly import Gateway


def attach_learning(gateway: Gateway, upstreams: Mapping[str, Upstream],
                    secrets: Sequence[str] = (), *, concurrency: int = 2,
                    queue_size: int = 64, seed: int | None = None) -> LearningLoop:
    """Builds the loop on `gateway` (its store and records sink are read at call time)."""
    metrics = LearningMetrics(gateway.metrics.registry)
    budget = LearningBudget(lambda: gateway.store,
                            hold_ttl_s=gateway.config.store.reservation_ttl_s)

    def records():  # type: ignore[no-untyped-def]
        return gateway.records

    def pool(route: str) -> Sequence[str]:
        return gateway.routes.pool(route)

    loop = LearningLoop(LearningCaller(upstreams, gateway.service.estimator, budget, metrics,
                                       records, lambda t, text: loop.redact(t, text)),
                        metrics, records, pool, secrets=secrets, concurrency=concurrency,
                        queue_size=queue_size, seed=seed)
    loop.subscribe(OnlineUpdater(gateway.routes.router, metrics))
    gateway.service.explorer = Explorer(metrics, seed)
    gateway.learning = loop
    gateway.on_close.append(loop.aclose)
    return loop
