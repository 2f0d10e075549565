"""gateway.metrics' Counter and Histogram export exactly what prometheus_client's would."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Counter as StockCounter
from prometheus_client import Histogram as StockHistogram

from gateway.metrics import LATENCY_BUCKETS, RATIO_BUCKETS, Counter, Histogram

VALUES = (0.0, 0.0005, 0.0004999, 0.00051, 1, 2.5, 7.0, 120, 121.0, 1e9, -0.3, -5.0,
          math.inf, math.nan)


def _exported(counter: type, histogram: type) -> list[str]:
    registry = CollectorRegistry()
    c = counter("c", "a counter", ["a"], registry=registry)
    h = histogram("h", "latency", ["a"], buckets=LATENCY_BUCKETS, registry=registry)
    r = histogram("r", "ratio", ["a"], buckets=RATIO_BUCKETS, registry=registry)
    for i, value in enumerate(VALUES):
        c.labels(str(i % 2)).inc(1 if math.isnan(value) else abs(value))
        h.labels(str(i % 3)).observe(value)
        r.labels("x").observe(value)
    # _created samples carry the creation time, which differs between the two runs.
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]


def test_the_same_observations_export_the_same_text() -> None:
    assert _exported(Counter, Histogram) == _exported(StockCounter, StockHistogram)
