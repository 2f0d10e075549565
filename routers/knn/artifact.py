"""The versioned k-NN router artifact: what `costroute train knn` writes and routers load.

Layout of the directory (format_version 1):

    manifest.json        kind "knn", format_version, replay factory, data_hash, models,
                         default_space, params, held-out metrics, calibration, added models
    index.faiss          FAISS index over the reference prompts in the default space
                         (optional: without it the index is built from the vectors at load,
                         which keeps small shipped artifacts small)
    reference_raw.npy    raw MiniLM vectors of the reference prompts (float16)
    prompt_hashes.json   text_hash of each reference prompt (matches outcomes to rows)
    scores.npy           (n, m) outcomes in [0, 1], NaN = unknown (float32)
    costs.npy            (n, m) recorded USD costs, NaN = unknown (float32)
    projection.npz       the CSCR projection weights
    descriptors.npy      (m, d) model descriptors, rows in `models` order
    stage1/              only in a two-stage ("hybrid") artifact: a complete k-NN artifact
                         over the same reference prompts and outcomes, embedded with the
                         static encoder; the manifest's `stage1` block names its encoder and
                         the gate (routers.knn.gate) that decides when it is sure enough.
                         Older costroutes ignore the folder and serve the MiniLM stage alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from routers.datasets.text import normalise
from routers.knn.gate import Gate
from routers.knn.index import build_index, index_kind, load_index, save_index
from routers.knn.predict import KnnParams
from routers.knn.projection import Projection, Vectors

FORMAT_VERSION = 1
KIND = "knn"
Space = Literal["raw", "cscr"]
FloatMatrix = npt.NDArray[np.float64]
STAGE1_DIR = "stage1"


class ArtifactVersionError(ValueError):
    """The artifact was written in a format this costroute does not understand."""


@dataclass
class KnnArtifact:
    """Everything a k-NN router needs, in memory."""

    models: list[str]
    raw: Vectors
    prompt_hashes: list[str]
    scores: FloatMatrix
    costs: FloatMatrix
    projection: Projection
    descriptors: Vectors
    default_space: Space = "cscr"
    params: KnnParams = field(default_factory=KnnParams)
    manifest: dict[str, Any] = field(default_factory=dict)
    index: Any = None
    # Two-stage artifacts only: the static encoder's artifact over the same prompts.
    stage1: Stage1 | None = None

    def space_vectors(self, raw: Vectors, space: Space | None = None) -> Vectors:
        """`raw` MiniLM vectors mapped into `space` (default: the artifact's default)."""
        if (space or self.default_space) == "cscr":
            return self.projection.apply(raw)
        return raw

    def ensure_index(self) -> Any:
        if self.index is None:
            self.index = build_index(self.space_vectors(self.raw))
        return self.index


@dataclass
class Stage1:
    """The first stage of a two-stage artifact and the gate that trusts its decisions."""

    artifact: KnnArtifact
    gate: Gate

    def manifest_block(self) -> dict[str, Any]:
        return {
            "path": STAGE1_DIR,
            "embedder": self.artifact.manifest.get("embedder"),
            "space": self.artifact.default_space,
            "index": index_kind(self.artifact.ensure_index()),
            "gate": self.gate.to_json(),
        }


def data_hash(prompts: list[str], models: list[str], scores: FloatMatrix, costs: FloatMatrix) -> str:
    """sha256 over normalised prompts, model names and the outcome and cost matrices."""
    h = hashlib.sha256()
    for prompt in prompts:
        h.update(normalise(prompt).encode("utf-8") + b"\x00")
    h.update(json.dumps(models).encode("utf-8"))
    h.update(np.ascontiguousarray(scores, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(costs, dtype=np.float64).tobytes())
    return h.hexdigest()


def save_artifact(artifact: KnnArtifact, directory: Path, write_index: bool = True) -> None:
    """Write `artifact` to `directory` (created if needed), manifest last."""
    directory.mkdir(parents=True, exist_ok=True)
    index_path = directory / "index.faiss"
    if write_index:
        save_index(artifact.ensure_index(), index_path)
    else:
        artifact.ensure_index()
        index_path.unlink(missing_ok=True)
    np.save(directory / "reference_raw.npy", artifact.raw.astype(np.float16))
    np.save(directory / "scores.npy", artifact.scores.astype(np.float32))
    np.save(directory / "costs.npy", artifact.costs.astype(np.float32))
    np.save(directory / "descriptors.npy", artifact.descriptors.astype(np.float32))
    artifact.projection.save(directory / "projection.npz")
    (directory / "prompt_hashes.json").write_text(json.dumps(artifact.prompt_hashes))
    manifest = dict(artifact.manifest)
    if artifact.stage1 is not None:
        save_artifact(artifact.stage1.artifact, directory / STAGE1_DIR, write_index)
        manifest["stage1"] = artifact.stage1.manifest_block()
    else:  # a single-stage artifact, even one saved over a two-stage one
        manifest.pop("stage1", None)
        shutil.rmtree(directory / STAGE1_DIR, ignore_errors=True)
    manifest.update(
        kind=KIND,
        format_version=FORMAT_VERSION,
        # eval.registry builds the offline replay candidate from this factory.
        replay="routers.knn.replay:load_replayable",
        models=list(artifact.models),
        n_reference=len(artifact.prompt_hashes),
        default_space=artifact.default_space,
        index={"type": index_kind(artifact.index), "space": artifact.default_space},
        params=artifact.params.to_json(),
    )
    artifact.manifest = manifest
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest alone (calibration results), atomically."""
    tmp = directory / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    tmp.replace(directory / "manifest.json")


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest, after checking kind and format version."""
    path = directory / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: not a knn artifact (no manifest.json)")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("kind") != KIND:
        raise ArtifactVersionError(f"{directory}: kind {manifest.get('kind')!r} is not 'knn'")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactVersionError(
            f"{directory}: knn artifact format_version {manifest.get('format_version')!r} "
            f"is not supported (this costroute reads version {FORMAT_VERSION})"
        )
    return manifest


def load_artifact(directory: str | Path) -> KnnArtifact:
    """The artifact stored in `directory`; refuses a format version it does not know."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    params = KnnParams(**manifest.get("params", {}))
    loaded = KnnArtifact(
        models=list(manifest["models"]),
        raw=np.load(directory / "reference_raw.npy").astype(np.float32),
        prompt_hashes=json.loads((directory / "prompt_hashes.json").read_text()),
        scores=np.load(directory / "scores.npy").astype(np.float64),
        costs=np.load(directory / "costs.npy").astype(np.float64),
        projection=Projection.load(directory / "projection.npz"),
        descriptors=np.load(directory / "descriptors.npy").astype(np.float32),
        default_space=manifest.get("default_space", "cscr"),
        params=params,
        manifest=manifest,
        index=load_index(index) if (index := directory / "index.faiss").is_file() else None,
    )
    block = manifest.get("stage1")
    if isinstance(block, dict):
        loaded.stage1 = Stage1(load_artifact(directory / block.get("path", STAGE1_DIR)),
                               Gate.from_json(block["gate"]))
        _check_in_step(loaded, loaded.stage1.artifact, directory)
    return loaded


def _check_in_step(second: KnnArtifact, first: KnnArtifact, directory: Path) -> None:
    """Both stages must read the same prompts and models, row for row."""
    if first.models != second.models or first.prompt_hashes != second.prompt_hashes:
        raise ValueError(
            f"{directory}: the static stage ({len(first.prompt_hashes)} prompts, models "
            f"{first.models}) is out of step with the MiniLM stage "
            f"({len(second.prompt_hashes)} prompts, models {second.models}); retrain it"
        )
