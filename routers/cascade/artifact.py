"""The versioned cascade artifact: what `costroute train cascade` writes and serving loads.

Layout of the directory (format_version 1):

    manifest.json   kind "cascade", format_version, data_hash, models, the scorer's
                    description, the chosen strategy, the whole Pareto set, metrics
                    (out-of-fold AUROC per model and per task, FrugalGPT comparison)
    scorer.npz      per scored model: weights, bias, mean, scale of its logistic head
    signals.npz     optional: stacked heads on agreement / verifier / logprob signals and
                    parallel stages (`signal_heads.py`; manifest key "signals")
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from routers.cascade.logistic import LogisticHead
from routers.cascade.signal_heads import SignalHeads, load_signal_heads, save_signal_heads
from routers.cascade.strategy import Strategy

FORMAT_VERSION = 1
KIND = "cascade"
MANIFEST = "manifest.json"
SCORER = "scorer.npz"


class ArtifactError(ValueError):
    """The directory is not a cascade artifact this costroute can read."""


@dataclass
class CascadeArtifact:
    """A trained cascade: scorer heads, the chosen strategy and the Pareto set."""

    heads: dict[str, LogisticHead]
    strategy: Strategy
    pareto: list[Strategy]
    manifest: dict[str, Any] = field(default_factory=dict)
    signals: SignalHeads | None = None

    @property
    def embedder_name(self) -> str:
        return str(self.manifest.get("scorer", {}).get("embedder", ""))

    @property
    def embedder_dim(self) -> int:
        return int(self.manifest.get("scorer", {}).get("dim", 0))


def save_artifact(artifact: CascadeArtifact, directory: str | Path) -> None:
    """Writes the artifact (manifest last, so a half-written directory has none)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    models = list(artifact.heads)
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for i, model in enumerate(models):
        head = artifact.heads[model]
        arrays[f"h{i}_weights"] = head.weights
        arrays[f"h{i}_bias"] = np.array(head.bias)
        arrays[f"h{i}_mean"] = head.mean
        arrays[f"h{i}_scale"] = head.scale
    np.savez(directory / SCORER, **arrays)  # type: ignore[arg-type]
    manifest = dict(artifact.manifest)
    manifest.update(
        kind=KIND,
        format_version=FORMAT_VERSION,
        strategy=artifact.strategy.to_json(),
        pareto=[s.to_json() for s in artifact.pareto],
    )
    manifest.setdefault("scorer", {})["heads"] = models
    manifest.pop("signals", None)
    if artifact.signals is not None:
        manifest["signals"] = save_signal_heads(artifact.signals, directory)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_manifest(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{directory}: no {MANIFEST} (not a cascade artifact)")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("kind") != KIND:
        raise ArtifactError(f"{directory}: artifact kind is {manifest.get('kind')!r}, not {KIND!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{directory}: format_version {manifest.get('format_version')} "
            f"(this costroute reads {FORMAT_VERSION})"
        )
    return manifest


def load_artifact(directory: str | Path) -> CascadeArtifact:
    """The artifact in `directory`; ArtifactError if it is missing or of another kind."""
    manifest = read_manifest(directory)
    models = list(manifest.get("scorer", {}).get("heads", []))
    heads: dict[str, LogisticHead] = {}
    with np.load(Path(directory) / SCORER) as data:
        for i, model in enumerate(models):
            heads[model] = LogisticHead(
                weights=data[f"h{i}_weights"].astype(np.float64),
                bias=float(data[f"h{i}_bias"]),
                mean=data[f"h{i}_mean"].astype(np.float64),
                scale=data[f"h{i}_scale"].astype(np.float64),
            )
    signals = manifest.get("signals")
    return CascadeArtifact(
        heads=heads,
        strategy=Strategy.from_json(manifest["strategy"]),
        pareto=[Strategy.from_json(s) for s in manifest.get("pareto", [])],
        manifest=manifest,
        signals=None if signals is None else load_signal_heads(directory, signals),
    )
