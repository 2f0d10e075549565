"""Online update: a judged prompt's labels join the serving k-NN's reference set at once.

Subscribed to the learning loop: when every answer of a shadowed prompt is graded, the
prompt and its per-model scores and costs are added to the route's k-NN (routers.knn.grow
`add_prompts`), so the next similar request already sees them, with no retraining. Only
routes whose router is a k-NN take part. Embedding and index copies run in a worker thread,
one update at a time per gateway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from gateway.learning.loop import LabelledOutcome
from gateway.learning.metrics import LearningMetrics

log = logging.getLogger("costroute.learning")


class OnlineUpdater:
    def __init__(self, router_of: Callable[[str], object | None], metrics: LearningMetrics):
        self._router_of = router_of
        self._metrics = metrics
        self._lock = asyncio.Lock()

    def knn_router(self, route: str) -> object | None:
        from routers.knn.router import KnnRouter

        router = self._router_of(route)
        return router if isinstance(router, KnnRouter) else None

    async def __call__(self, outcome: LabelledOutcome) -> None:
        await self.add([outcome])

    async def add(self, outcomes: Sequence[LabelledOutcome]) -> int:
        """Adds each outcome to its route's k-NN; returns how many prompts were added."""
        added = 0
        by_route: dict[str, list[LabelledOutcome]] = {}
        for outcome in outcomes:
            by_route.setdefault(outcome.route, []).append(outcome)
        for route, group in by_route.items():
            router = self.knn_router(route)
            if router is None:
                continue
            models = sorted({m for o in group for m in o.scores})
            nan = float("nan")
            scores = {m: [o.scores.get(m, nan) for o in group] for m in models}
            costs = {m: [o.costs.get(m, nan) for o in group] for m in models}
            prompts = [o.prompt for o in group]
            async with self._lock:
                grown = await asyncio.to_thread(
                    router.add_outcomes, prompts, scores, costs)  # type: ignore[attr-defined]
            self._metrics.online_rows.labels(route).inc(grown.appended + grown.updated)
            self._metrics.counts["online_rows"] += grown.appended + grown.updated
            added += grown.appended + grown.updated
        return added
