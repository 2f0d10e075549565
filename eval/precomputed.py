"""A router artifact that is just its recorded decisions, matched to prompts by text.

`manifest.json`: `{"kind": "precomputed", "name": ..., "candidate_kind": "router"|"cascade",
"file": "steps.jsonl"}`. Each line of the file is one decision:
`{"prompt": ..., "knob": <number|null>, "model": ...}` for a router, or
`{"prompt": ..., "knob": ..., "cost_usd": ..., "score": ...}` for anything that may call
several models. Any router can export its decisions this way and be replayed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.registry import ArtifactError
from eval.sweep import KINDS, CandidateKind, Choices, Outcomes, SweepStep, column_of
from routers.datasets.format import RoutingDataset

Decision = dict[str, Any]


@dataclass(frozen=True)
class Precomputed:
    """Recorded per-prompt decisions, grouped by knob."""

    name: str
    kind: CandidateKind
    decisions: Sequence[Decision]
    source: str = "precomputed"

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        by_knob: dict[float | None, dict[str, Decision]] = {}
        for d in self.decisions:
            by_knob.setdefault(_knob(d.get("knob")), {})[str(d["prompt"])] = d
        return [
            self._step(knob, table, dataset)
            for knob, table in sorted(by_knob.items(), key=lambda kv: _order(kv[0]))
        ]

    def _step(
        self, knob: float | None, table: Mapping[str, Decision], dataset: RoutingDataset
    ) -> SweepStep:
        missing = [p for p in dataset.prompts if p not in table]
        if missing:
            raise ArtifactError(
                f"{self.source}: knob {knob}: no decision for {len(missing)} of "
                f"{len(dataset)} prompts (first: {missing[0][:60]!r})"
            )
        rows = [table[p] for p in dataset.prompts]
        if all("model" in r for r in rows):
            cols = {m: column_of(dataset, m) for m in {str(r["model"]) for r in rows}}
            return Choices(knob, np.array([cols[str(r["model"])] for r in rows], dtype=np.int64))
        return Outcomes(
            knob,
            np.array([float(r["cost_usd"]) for r in rows]),
            np.array([float(r["score"]) for r in rows]),
        )


def load_precomputed(directory: Path, manifest: Mapping[str, Any]) -> Precomputed:
    """The artifact in `directory` (see the module docstring for its layout)."""
    path = directory / str(manifest.get("file", "steps.jsonl"))
    if not path.is_file():
        raise ArtifactError(f"router artifact {directory}: no {path.name}")
    kind = manifest.get("candidate_kind", "router")
    if kind not in KINDS:
        raise ArtifactError(f"{directory}: candidate_kind {kind!r} is not one of {KINDS}")
    decisions = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                decisions.append(_decision(path, number, line))
    return Precomputed(str(manifest.get("name", directory.name)), kind, decisions, str(path))


def write_precomputed(
    directory: Path, name: str, decisions: Sequence[Decision], kind: CandidateKind = "router"
) -> None:
    """Store `decisions` as a precomputed artifact in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"kind": "precomputed", "name": name, "candidate_kind": kind, "file": "steps.jsonl"}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    with (directory / "steps.jsonl").open("w", encoding="utf-8") as fh:
        for d in decisions:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")


def _decision(path: Path, number: int, line: str) -> Decision:
    try:
        d = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}:{number}: not JSON ({exc.msg})") from None
    if not isinstance(d, dict) or "prompt" not in d:
        raise ArtifactError(f"{path}:{number}: expected an object with 'prompt'")
    if "model" not in d and not {"cost_usd", "score"} <= d.keys():
        raise ArtifactError(f"{path}:{number}: needs 'model', or 'cost_usd' and 'score'")
    return d


def _knob(value: Any) -> float | None:
    return None if value is None else float(value)


def _order(knob: float | None) -> float:
    return -math.inf if knob is None else knob
