"""The learning loop's counters, on the gateway's own Prometheus registry.

`counts` mirrors them in process (bench and `costroute learn status` read it without
scraping): jobs submitted, dropped (shed), skipped (no_budget, no_judge: a judge the gateway
cannot call, multi_call: a cascade's or minions' answer), failed, done; calls by kind and
outcome (ok, failed, exhausted, no_budget, store_down, unknown_model, unparsed).
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter


class LearningMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        r = registry or CollectorRegistry()
        self.jobs = Counter("costroute_learning_jobs", "Shadow-labelling jobs by outcome",
                            ["outcome"], registry=r)
        self.calls = Counter("costroute_learning_calls",
                             "Shadow and judge calls by kind and outcome",
                             ["kind", "outcome"], registry=r)
        self.spend = Counter("costroute_learning_spend_usd",
                             "USD settled against learning budgets", ["kind"], registry=r)
        self.explored = Counter("costroute_learning_explored",
                                "Routed decisions changed by exploration", ["route"], registry=r)
        self.online_rows = Counter("costroute_learning_online_rows",
                                   "Labelled prompts added to a serving k-NN", ["route"],
                                   registry=r)
        self.counts: Tally[str] = Tally()

    def job(self, outcome: str) -> None:
        self.jobs.labels(outcome).inc()
        self.counts[f"jobs_{outcome}"] += 1

    def call(self, kind: str, outcome: str, cost_usd: float = 0.0) -> None:
        self.calls.labels(kind, outcome).inc()
        self.counts[f"{kind}_{outcome}"] += 1
        if cost_usd:
            self.spend.labels(kind).inc(cost_usd)
