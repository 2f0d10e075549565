"""The VersionStore contract, the same on every backend: files, SQLite and PostgreSQL records.

Real parts: a registry directory, a SQLite file, the session's PostgreSQL server. Database
replicas are separate registry objects (own connection, own cache directory), as on two hosts.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.artifacts.db_registry import RecordsRegistry
from gateway.artifacts.packing import pack, unpack
from routers.versions.manifest import RegistryError
from tests.gateway.artifacts.conftest import BACKENDS, DB_BACKENDS, OpenReplica


def _write(tag: str) -> Callable[[Path], None]:
    def write(directory: Path) -> None:
        (directory / "manifest.json").write_text(json.dumps({"kind": "knn", "tag": tag}))
        (directory / "sub").mkdir()
        (directory / "sub" / "weights.bin").write_bytes(tag.encode() * 1000)

    return write


@pytest.mark.parametrize("open_replica", BACKENDS, indirect=True)
def test_versions_pointer_promote_and_rollback(open_replica: OpenReplica) -> None:
    store = open_replica("a")
    assert store.versions() == [] and store.read_pointer("auto") is None
    assert store.pointer_revision("auto") is None
    first, second = store.create("knn", _write("one")), store.create("knn", _write("two"))
    assert (first, second) == ("v0001-knn", "v0002-knn")
    assert store.versions() == [first, second]
    assert store.manifest(second)["tag"] == "two"
    assert store.manifest(second)["version"]["id"] == second
    assert (store.path(first) / "sub" / "weights.bin").read_bytes() == b"one" * 1000

    annotated = store.annotate(first, {"parent": None, "metrics": {"aiq": 0.5}})
    assert annotated["version"] == {"id": first, "parent": None, "metrics": {"aiq": 0.5}}
    assert store.manifest(first)["version"]["metrics"] == {"aiq": 0.5}

    with pytest.raises(RegistryError, match="nothing to roll back"):
        store.rollback("auto")
    store.promote("auto", first)
    revision = store.pointer_revision("auto")
    pointer = store.promote("auto", second)
    assert store.pointer_revision("auto") != revision
    assert (pointer.version, pointer.previous) == (second, first)
    assert json.loads((store.checkout(pointer) / "manifest.json").read_text())["tag"] == "two"
    assert store.routes() == ["auto"]
    back = store.rollback("auto")
    assert back.version == first and [e["action"] for e in back.events] == [
        "promote", "promote", "rollback"]
    assert json.loads((store.checkout(back) / "manifest.json").read_text())["version"][
        "metrics"] == {"aiq": 0.5}
    # Past the first promote: back to what the config names. The pointer reads as never
    # promoted, but its revision moved (replicas see the move) and the history goes on.
    revision = store.pointer_revision("auto")
    assert store.rollback("auto") is None and store.read_pointer("auto") is None
    assert store.pointer_revision("auto") not in (None, revision)
    assert store.routes() == ["auto"]
    with pytest.raises(RegistryError, match="nothing to roll back"):
        store.rollback("auto")
    again = store.promote("auto", second)
    assert (again.version, again.previous) == (second, None)
    assert [(e["action"], e["version"]) for e in again.events] == [
        ("promote", first), ("promote", second), ("rollback", first), ("rollback", None),
        ("promote", second)]
    assert json.loads((store.checkout(again) / "manifest.json").read_text())["tag"] == "two"
    with pytest.raises(RegistryError, match="no such version"):
        store.promote("auto", "v0042-knn")


@pytest.mark.parametrize("open_replica", DB_BACKENDS, indirect=True)
def test_a_second_replica_fetches_verified_files_into_its_own_cache(
        open_replica: OpenReplica, tmp_path: Path) -> None:
    trainer, replica = open_replica("trainer"), open_replica("replica")
    version = trainer.create("knn", _write("x"))
    pointer = trainer.promote("auto", version)
    seen = replica.read_pointer("auto")
    assert seen is not None and seen.version == version and seen.digest == pointer.digest
    directory = replica.checkout(seen)
    assert directory.is_relative_to(tmp_path / "replica" / "cache")
    assert (directory / "sub" / "weights.bin").read_bytes() == b"x" * 1000


@pytest.mark.parametrize("open_replica", DB_BACKENDS, indirect=True)
def test_a_corrupt_blob_is_refused_and_not_cached(open_replica: OpenReplica) -> None:
    trainer, replica = open_replica("trainer"), open_replica("replica")
    version = trainer.create("knn", _write("x"))
    pointer = trainer.promote("auto", version)
    assert isinstance(trainer, RecordsRegistry)
    with trainer.database.transaction() as tx:  # bytes flipped at rest: a hash mismatch
        tx.run("UPDATE artifact_versions SET files = ? WHERE version = ?",
               (pack_of({"manifest.json": b"{}"}), version))
    with pytest.raises(RegistryError, match="corrupt"):
        replica.checkout(pointer)
    assert isinstance(replica, RecordsRegistry)
    assert not any(p.name.startswith("v") for p in replica.cache_dir.iterdir())


def pack_of(files: dict[str, bytes]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in files.items():
            (Path(tmp) / name).write_bytes(body)
        return pack(Path(tmp))[0]


@pytest.mark.parametrize("open_replica", DB_BACKENDS, indirect=True)
def test_concurrent_promotes_and_trainings_lose_nothing(open_replica: OpenReplica) -> None:
    """Eight replicas promote at once: eight history entries, revisions 1..8; ids unique."""
    base = open_replica("base")
    versions = [base.create("knn", _write(str(i))) for i in range(8)]
    writers = [open_replica(f"w{i}") for i in range(8)]
    errors: list[BaseException] = []
    created: list[str] = []
    start = threading.Barrier(len(writers))

    def work(i: int) -> None:
        try:
            start.wait()
            writers[i].promote("auto", versions[i])
            created.append(writers[i].create("cascade", _write(f"c{i}")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    pointer = base.read_pointer("auto")
    assert pointer is not None and pointer.revision == 8
    assert sorted(h["version"] for h in pointer.history) == sorted(versions)
    assert [e["action"] for e in pointer.events] == ["promote"] * 8
    assert len(set(created)) == 8 and len(base.versions()) == 16


def test_packing_is_deterministic_and_checks_its_hash(tmp_path: Path) -> None:
    source = tmp_path / "a"
    source.mkdir()
    _write("z")(source)
    blob, sha = pack(source)
    assert pack(source) == (blob, sha)
    out = tmp_path / "out"
    out.mkdir()
    unpack(blob, sha, out)
    assert (out / "sub" / "weights.bin").read_bytes() == b"z" * 1000
    with pytest.raises(RegistryError, match="corrupt"):
        unpack(blob, "0" * 64, tmp_path)


@pytest.mark.parametrize("open_replica", DB_BACKENDS, indirect=True)
def test_the_cache_keeps_the_recent_and_the_serving_versions(
        open_replica: OpenReplica) -> None:
    trainer = open_replica("trainer")
    versions = [trainer.create("knn", _write(str(i))) for i in range(10)]
    trainer.promote("auto", versions[0])
    trainer.promote("auto", versions[1])  # serves; versions[0] is what a rollback restores
    trainer.promote("cheap", versions[2])
    replica = open_replica("replica")
    assert isinstance(replica, RecordsRegistry)
    replica.cache_keep = 3
    stale = replica.cache_dir / ".fetch-crashed"
    stale.mkdir(parents=True)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    for version in versions:
        replica.path(version)
        time.sleep(0.01)  # distinct modification times: the order of use
    cached = {p.name.rsplit("-", 1)[0] for p in replica.cache_dir.iterdir()}
    assert cached == {versions[0], versions[1], versions[2], *versions[-3:]}
    # A pruned version is only a cache miss: fetched again, verified, and served.
    assert (replica.path(versions[4]) / "sub" / "weights.bin").read_bytes() == b"4" * 1000
    assert isinstance(trainer, RecordsRegistry)
    assert len([p for p in trainer.cache_dir.iterdir()]) <= trainer.cache_keep + 3
