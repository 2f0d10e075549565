"""The artifact registry in the records database: versions and serving pointers as rows.

For replicas on different hosts (pods), which share a database but no disk. Tables come
from migration 0003_artifacts (gateway/records/migrations):

    artifact_versions        version id, number, kind, manifest JSON, sha256, the files
                             (a deterministic tar.gz, gateway.artifacts.packing)
    artifact_pointers        per route: the version serving, the serving stack, and a
                             revision raised by one on every promote or rollback. An
                             empty stack is a route rolled back past its first promote: it
                             serves what its config names again (the `version` column, NOT
                             NULL, keeps the version it left; read_pointer answers None)
    artifact_pointer_events  per route and revision: promote / rollback, what, when

A replica polls `revision` (a primary-key read), and when it moved reads the pointer,
fetches the version's blob into its local cache (`<cache>/<version>-<sha256[:16]>/`),
verified by the hash, and swaps as with the file registry. Promote and rollback are one
transaction each that compare-and-swap the revision (`UPDATE ... WHERE revision = seen`),
so of two concurrent moves one wins and the other retries on top of it: no history entry
is lost. Version ids are allocated by the UNIQUE `number`: a concurrent trainer retries with
the next one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

from gateway.artifacts.packing import pack, unpack
from gateway.artifacts.sync_db import Conflict, Database, Tx
from routers.versions.manifest import (
    RegistryError,
    read_manifest,
    write_manifest,
    write_version_block,
)
from routers.versions.pointer import MAX_EVENTS, Pointer, nothing_to_roll_back

MAX_TRIES = 20
# Cached copies kept beyond those a route serves or would roll back to: the most recently
# used. The cache only saves fetches; a pruned version is fetched again when asked for.
CACHE_KEEP = 8
# A temporary directory this old is a crashed fetch's or edit's leftover.
STALE_TMP_S = 3600.0
# An event's `version` where a rollback went back to what the route's config names.
CONFIGURED = ""

log = logging.getLogger("costroute.artifacts")


class RecordsRegistry:
    """The VersionStore kept in the records database, with a local cache of fetched files."""

    def __init__(self, database: Database, cache_dir: Path, cache_keep: int = CACHE_KEEP):
        self.database = database
        self.cache_dir = Path(cache_dir)
        self.cache_keep = cache_keep

    def describe(self) -> str:
        return self.database.describe()

    def close(self) -> None:
        self.database.close()

    # -- versions -----------------------------------------------------------------------

    def versions(self) -> list[str]:
        with self.database.transaction(write=False) as tx:
            rows = tx.fetch("SELECT version FROM artifact_versions ORDER BY number")
        return [str(v) for (v,) in rows]

    def manifest(self, version_or_path: str | Path) -> dict[str, Any]:
        with self.database.transaction(write=False) as tx:
            rows = tx.fetch("SELECT manifest FROM artifact_versions WHERE version = ?",
                            (str(version_or_path),))
        if rows:
            found: dict[str, Any] = json.loads(rows[0][0])
            return found
        return read_manifest(self._directory(version_or_path))

    def path(self, version_or_path: str | Path) -> Path:
        """A version, fetched into the cache where it is not there yet; or a directory."""
        with self.database.transaction(write=False) as tx:
            rows = tx.fetch("SELECT sha256 FROM artifact_versions WHERE version = ?",
                            (str(version_or_path),))
        if rows:
            return self._fetch(str(version_or_path), str(rows[0][0]))
        return self._directory(version_or_path)

    def create(self, kind: str, write: Callable[[Path], None]) -> str:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=self.cache_dir))
        try:
            write(tmp)
            return self._publish(kind, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def annotate(self, version: str, block: Mapping[str, Any]) -> dict[str, Any]:
        """A new manifest (so a new blob and hash) for an existing version."""
        tmp = Path(tempfile.mkdtemp(prefix=".edit-", dir=self._cache_root()))
        try:
            shutil.copytree(self.path(version), tmp, dirs_exist_ok=True)
            manifest = write_version_block(tmp, block)
            blob, sha = pack(tmp)
            with self.database.transaction() as tx:
                changed = tx.run(
                    "UPDATE artifact_versions SET manifest = ?, files = ?, sha256 = ?, "
                    "size_bytes = ? WHERE version = ?",
                    (json.dumps(manifest, sort_keys=True), blob, sha, len(blob), version))
            if not changed:
                raise RegistryError(f"{version}: no such version in {self.describe()}")
            self._keep(tmp, version, sha)
            return manifest
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _publish(self, kind: str, directory: Path) -> str:
        for _ in range(MAX_TRIES):
            with self.database.transaction(write=False) as tx:
                (number,), = tx.fetch("SELECT COALESCE(MAX(number), 0) + 1 FROM artifact_versions")
            new_id = f"v{int(number):04d}-{kind}"
            manifest = read_manifest(directory)
            manifest.setdefault("version", {})["id"] = new_id
            write_manifest(directory, manifest)
            blob, sha = pack(directory)  # outside the transaction: it may take a while
            try:
                with self.database.transaction() as tx:
                    tx.run("INSERT INTO artifact_versions (version, number, kind, created_at, "
                           "manifest, sha256, size_bytes, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (new_id, int(number), kind, time.time(),
                            json.dumps(manifest, sort_keys=True), sha, len(blob), blob))
            except Conflict:
                continue  # a concurrent trainer took that number: take the next one
            self.prune_cache(self._keep(directory, new_id, sha))
            return new_id
        raise RegistryError(f"no free version id after {MAX_TRIES} tries in {self.describe()}")

    # -- the local cache ----------------------------------------------------------------

    def _cache_root(self) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.cache_dir

    def _cached(self, version: str, sha: str) -> Path:
        return self.cache_dir / f"{version}-{sha[:16]}"

    def _fetch(self, version: str, sha: str) -> Path:
        """The cached copy of (version, sha), downloaded and verified when missing."""
        target = self._cached(version, sha)
        if (target / "manifest.json").is_file():
            with contextlib.suppress(OSError):
                os.utime(target)  # used now: the pruning keeps the most recently used
            return target
        with self.database.transaction(write=False) as tx:
            rows = tx.fetch("SELECT files, sha256 FROM artifact_versions WHERE version = ?",
                            (version,))
        if not rows:
            raise RegistryError(f"{version}: no such version in {self.describe()}")
        blob, stored = bytes(rows[0][0]), str(rows[0][1])
        tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=self._cache_root()))
        try:
            unpack(blob, stored, tmp)
            # The stored hash may be newer than `sha` (the manifest was annotated since).
            kept = self._keep(tmp, version, stored)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.prune_cache(kept)
        return kept

    def prune_cache(self, keep_also: Path | None = None) -> list[Path]:
        """Deletes cached copies beyond the `cache_keep` most recently used, never one that
        a route serves or would roll back to (nor `keep_also`), and stale temporary
        directories; returns what it deleted. Never raises: a cache left too big is better
        than a failed fetch."""
        try:
            with self.database.transaction(write=False) as tx:
                rows = tx.fetch("SELECT stack FROM artifact_pointers")
            protected = {str(entry["version"]) for (stack,) in rows
                         for entry in json.loads(stack)[-2:]}
            copies: list[tuple[float, Path]] = []
            deleted: list[Path] = []
            now = time.time()
            for path in self.cache_dir.iterdir() if self.cache_dir.is_dir() else ():
                age = now - path.stat().st_mtime
                if path.name.startswith("."):
                    if age > STALE_TMP_S:
                        shutil.rmtree(path, ignore_errors=True)
                        deleted.append(path)
                elif path.is_dir():
                    copies.append((age, path))
            for _, path in sorted(copies)[self.cache_keep:]:
                # `<version>-<sha256[:16]>`: the version id is all before the last dash.
                if path != keep_also and path.name.rsplit("-", 1)[0] not in protected:
                    shutil.rmtree(path, ignore_errors=True)
                    deleted.append(path)
            return deleted
        except Exception:  # see the docstring: never fail the fetch
            log.warning("artifact cache %s: pruning failed", self.cache_dir, exc_info=True)
            return []

    def _keep(self, directory: Path, version: str, sha: str) -> Path:
        """Move a complete directory into the cache by rename (so a copy is whole or absent)."""
        target = self._cached(version, sha)
        if (target / "manifest.json").is_file():
            return target  # another process (or an earlier call) got there first
        keep = Path(tempfile.mkdtemp(prefix=".keep-", dir=self._cache_root()))
        shutil.copytree(directory, keep, dirs_exist_ok=True)
        try:
            keep.rename(target)
        except OSError:
            shutil.rmtree(keep, ignore_errors=True)
            if not (target / "manifest.json").is_file():
                raise
        return target

    def _directory(self, version_or_path: str | Path) -> Path:
        direct = Path(version_or_path)
        if (direct / "manifest.json").is_file():
            return direct.resolve()
        known = ", ".join(self.versions()[-5:]) or "none"
        raise RegistryError(f"{version_or_path}: no such version in {self.describe()} "
                            f"(latest: {known}) and no artifact directory at that path")

    # -- serving pointers ---------------------------------------------------------------

    def routes(self) -> list[str]:
        with self.database.transaction(write=False) as tx:
            rows = tx.fetch("SELECT route FROM artifact_pointers ORDER BY route")
        return [str(r) for (r,) in rows]

    def pointer_revision(self, route: str) -> Hashable | None:
        with self.database.transaction(write=False) as tx:
            rows = tx.fetch("SELECT revision FROM artifact_pointers WHERE route = ?", (route,))
        return int(rows[0][0]) if rows else None

    def read_pointer(self, route: str) -> Pointer | None:
        with self.database.transaction(write=False) as tx:
            return self._pointer(tx, route)

    def checkout(self, pointer: Pointer) -> Path:
        if pointer.digest is None:
            raise RegistryError(f"route {pointer.route}: pointer without a content hash")
        return self._fetch(pointer.version, pointer.digest)

    def promote(self, route: str, version_or_path: str | Path) -> Pointer:
        version = str(version_or_path)
        with self.database.transaction(write=False) as tx:
            known = tx.fetch("SELECT 1 FROM artifact_versions WHERE version = ?", (version,))
        if not known:
            # A directory: upload it as a new version first, so every replica can fetch it.
            directory = self._directory(version_or_path)
            kind = str(read_manifest(directory).get("kind", "artifact"))

            def copy(target: Path) -> None:
                shutil.copytree(directory, target, dirs_exist_ok=True)

            version = self.create(kind, copy)

        def push(stack: list[dict[str, Any]], now: float) -> tuple[list[dict[str, Any]], str]:
            return [*stack, {"version": version, "at": now}], "promote"

        pointer = self._move(route, push)
        assert pointer is not None  # a promote leaves a version on the stack
        return pointer

    def rollback(self, route: str) -> Pointer | None:
        """The version promoted before the last one; from the first promoted version, what
        the route's config names (an empty stack; the answer is then None)."""
        def pop(stack: list[dict[str, Any]], now: float) -> tuple[list[dict[str, Any]], str]:
            if not stack:
                raise nothing_to_roll_back(route)
            return stack[:-1], "rollback"

        return self._move(route, pop)

    def _move(self, route: str, change: Callable[[list[dict[str, Any]], float],
                                                 tuple[list[dict[str, Any]], str]]
              ) -> Pointer | None:
        """One compare-and-swap of the route's pointer, retried when another writer won."""
        for _ in range(MAX_TRIES):
            try:
                with self.database.transaction() as tx:
                    rows = tx.fetch("SELECT revision, version, stack FROM artifact_pointers "
                                    "WHERE route = ?", (route,))
                    revision = int(rows[0][0]) if rows else 0
                    old_stack = json.loads(rows[0][2]) if rows else []
                    before = str(old_stack[-1]["version"]) if old_stack else None
                    now = time.time()
                    stack, action = change(old_stack, now)
                    top = str(stack[-1]["version"]) if stack else None
                    # Back to the config's own: the NOT NULL column keeps the version left.
                    column = top if top is not None else str(rows[0][1])
                    if rows:
                        swapped = tx.run(
                            "UPDATE artifact_pointers SET revision = ?, version = ?, stack = ?, "
                            "updated_at = ? WHERE route = ? AND revision = ?",
                            (revision + 1, column, json.dumps(stack), now, route, revision))
                    else:
                        swapped = tx.run(
                            "INSERT INTO artifact_pointers (route, revision, version, stack, "
                            "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (route) DO NOTHING",
                            (route, 1, column, json.dumps(stack), now))
                    if swapped != 1:
                        raise Conflict(f"route {route}: revision {revision} moved")
                    # The events' NOT NULL `version`: '' is the config's own (None when read).
                    tx.run("INSERT INTO artifact_pointer_events (route, revision, action, "
                           "version, from_version, at) VALUES (?, ?, ?, ?, ?, ?)",
                           (route, revision + 1, action, top or CONFIGURED, before, now))
                    pointer = self._pointer(tx, route)
            except Conflict:
                continue  # another promote or rollback committed first: redo on top of it
            return pointer
        raise RegistryError(f"route {route!r}: the pointer kept moving ({MAX_TRIES} tries)")

    def _pointer(self, tx: Tx, route: str) -> Pointer | None:
        rows = tx.fetch(
            "SELECT p.revision, p.version, p.updated_at, p.stack, v.sha256 "
            "FROM artifact_pointers p JOIN artifact_versions v ON v.version = p.version "
            "WHERE p.route = ?", (route,))
        if not rows or not json.loads(rows[0][3]):
            return None  # nothing promoted, or rolled back to what the config names
        revision, version, updated_at, stack, sha = rows[0]
        events = tx.fetch(
            "SELECT action, version, from_version, at FROM artifact_pointer_events "
            "WHERE route = ? ORDER BY revision DESC LIMIT ?", (route, MAX_EVENTS))
        return Pointer(
            route=route, version=str(version), path=self._cached(str(version), str(sha)),
            updated_at=float(updated_at), history=list(json.loads(stack)),
            events=[{"action": a, "version": v if v != CONFIGURED else None, "at": float(at),
                     **({"from": f} if a == "rollback" and f else {})}
                    for a, v, f, at in reversed(events)],
            digest=str(sha), revision=int(revision))
