"""docs/grafana/costroute.json queries only metrics the gateway exports, under their names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gateway.metrics import GatewayMetrics

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "costroute.json"


def exported_series() -> set[str]:
    """Every series name a gateway's /metrics can show (histograms: bucket, sum, count)."""
    names = set()
    for metric in GatewayMetrics().registry.collect():
        kind = metric.type
        if kind == "counter":
            names |= {f"{metric.name}_total"}
        elif kind == "histogram":
            names |= {f"{metric.name}_{s}" for s in ("bucket", "sum", "count")}
        else:
            names.add(metric.name)
    return names


def test_every_query_names_an_exported_metric_and_every_panel_has_a_unit() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_series()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    used = set()
    for panel in panels:
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        for target in panel["targets"]:
            used |= set(re.findall(r"\bcostroute_[a-z_]+", target["expr"]))
    assert used <= exported, used - exported
    assert {"costroute_cost_usd_total", "costroute_requests_total",
            "costroute_errors_total"} <= used


def test_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        g = panel["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, panel["title"]
        cells |= mine
