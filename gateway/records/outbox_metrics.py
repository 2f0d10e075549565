"""The records outbox's figures: Prometheus metrics (README, Metrics) and a plain summary."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


class OutboxMetrics:
    """The outbox's figures, on the gateway's own registry (docs/metrics.md)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        r = registry or CollectorRegistry()
        self.dropped = Counter("costroute_records_dropped",
                               "Records dropped: the outbox was full, or shut down undrained",
                               ["kind", "why"], registry=r)
        self.written = Counter("costroute_records_written", "Records written to the store",
                               ["kind"], registry=r)
        self.failures = Counter("costroute_records_write_failures",
                                "Batch writes that failed and will be retried", registry=r)
        # Under several workers: the sum over the live ones (it is set by each drainer).
        self.depth = Gauge("costroute_records_outbox_depth",
                           "Records waiting in the outbox (queued and in flight)", registry=r,
                           multiprocess_mode="livesum")
        for kind in ("request", "label"):  # exported as 0 from the start, for alert rules
            self.written.labels(kind)
            for why in ("full", "shutdown", "error", "closed"):
                self.dropped.labels(kind, why)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    capacity: int
    written: int
    dropped: int
    failures: int
    last_error: str | None
