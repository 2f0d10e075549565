"""The artifact registry's versions and the serving pointer's promote/rollback history."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from routers.versions.pointer import pointer_file, promote, read_pointer, rollback
from routers.versions.registry import ArtifactRegistry, RegistryError, write_version_block


def _write(kind: str):
    def write(directory: Path) -> None:
        (directory / "manifest.json").write_text(json.dumps({"kind": kind}))
    return write


def test_versions_get_increasing_ids_and_complete_directories(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    first = registry.create("knn", _write("knn"))
    second = registry.create("knn", _write("knn"))
    assert (first, second) == ("v0001-knn", "v0002-knn")
    assert registry.versions() == [first, second]
    assert registry.manifest(second)["version"]["id"] == second
    assert not [p for p in registry.versions_dir.iterdir() if p.name.startswith(".tmp")]


def test_concurrent_trainings_never_share_an_id(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(registry.create("knn", _write("knn"))))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == [f"v{i:04d}-knn" for i in range(1, 7)]


def test_a_failed_write_leaves_no_version(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)

    def broken(directory: Path) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        registry.create("knn", broken)
    assert registry.versions() == [] and list(registry.versions_dir.iterdir()) == []


def test_version_block_is_merged_into_the_manifest(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    version = registry.create("knn", _write("knn"))
    write_version_block(registry.path(version), {"parent": None, "data": {"n_prompts": 3}})
    block = registry.manifest(version)["version"]
    assert block == {"id": version, "parent": None, "data": {"n_prompts": 3}}


def test_promote_then_rollback_walks_the_history(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    a, b, c = (registry.create("knn", _write("knn")) for _ in range(3))
    assert read_pointer(registry, "auto") is None
    promote(registry, "auto", a)
    promote(registry, "auto", b)
    pointer = promote(registry, "auto", c)
    assert pointer.version == c and pointer.previous == b
    assert pointer.path == registry.versions_dir / c
    assert rollback(registry, "auto").version == b  # type: ignore[union-attr]
    assert rollback(registry, "auto").version == a  # type: ignore[union-attr]
    # Past the first promote: what the config names serves again (no pointer to read), and
    # the file still moved, so replicas see it.
    before = pointer_file(registry, "auto").stat().st_ino
    assert rollback(registry, "auto") is None and read_pointer(registry, "auto") is None
    assert pointer_file(registry, "auto").stat().st_ino != before
    with pytest.raises(RegistryError, match="nothing to roll back"):
        rollback(registry, "auto")
    raw = json.loads(pointer_file(registry, "auto").read_text())
    assert (raw["version"], raw["history"]) == (None, [])
    assert [(e["action"], e["version"]) for e in raw["events"]][-3:] == [
        ("rollback", b), ("rollback", a), ("rollback", None)]
    again = promote(registry, "auto", c)  # from the config's own: pushes onto an empty stack
    assert again.version == c and again.previous is None
    assert [e["action"] for e in again.events] == ["promote"] * 3 + ["rollback"] * 3 + [
        "promote"]


def test_pointer_paths_inside_the_registry_are_relative(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path / "reg")
    version = registry.create("knn", _write("knn"))
    promote(registry, "router:knn", version)
    raw = json.loads(pointer_file(registry, "router:knn").read_text())
    assert raw["path"] == f"versions/{version}"
    moved = ArtifactRegistry(tmp_path / "reg")
    assert read_pointer(moved, "router:knn").path.is_dir()  # type: ignore[union-attr]


def test_an_artifact_outside_the_registry_can_be_promoted(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "manifest.json").write_text(json.dumps({"kind": "knn", "version": {"id": "x1"}}))
    registry = ArtifactRegistry(tmp_path / "reg")
    assert promote(registry, "auto", outside).version == "x1"


def test_unknown_versions_and_routes_are_clear_errors(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path)
    with pytest.raises(RegistryError, match="no such version"):
        promote(registry, "auto", "v0009-knn")
    with pytest.raises(RegistryError, match="nothing was promoted"):
        rollback(registry, "auto")
