"""`report.json`: the machine-readable replay result.

JSON has no infinity: an infinite value (a cost-of-pass with zero accuracy, an unreached
CPT) is written as the string "inf", which `float()` reads back; unknown values are null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from eval.results import DatasetResult

SCHEMA_VERSION = 1


def report_dict(results: Sequence[DatasetResult], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The report as JSON-ready data."""
    data: dict[str, Any] = _clean(
        {
            "schema_version": SCHEMA_VERSION,
            "settings": dict(settings),
            "datasets": [_dataset(r) for r in results],
        }
    )
    return data


def write_report_json(
    path: Path, results: Sequence[DatasetResult], settings: Mapping[str, Any]
) -> None:
    """Write `report.json` to `path`."""
    data = report_dict(results, settings)
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )


def _dataset(result: DatasetResult) -> dict[str, Any]:
    data = asdict(result)
    for scope in [data["pooled"], *data["tasks"]]:
        for candidate in scope["candidates"]:
            for key in ("accuracy_ci", "mean_cost_ci", "cost_of_pass_ci"):
                ci = candidate[key]
                candidate[key] = [ci["low"], ci["high"]]
            candidate["points"] = [
                {k: v for k, v in p.items() if not (k == "strong_fraction" and v is None)}
                for p in candidate["points"]
            ]
        scope["aiq_cost_range"] = list(scope["aiq_cost_range"])
        for gain in scope["versus_lookup"]:
            gain["ci"] = [gain["ci"]["low"], gain["ci"]["high"]]
        if scope["weak_strong"] is not None:
            scope["weak_strong"] = {
                "weak": scope["weak_strong"][0],
                "strong": scope["weak_strong"][1],
            }
    return data


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value
