"""Who is calling: API key -> tenant, from tenants.yaml, reloaded when the file changes.

The directory holds one immutable snapshot and swaps it whole on reload, so a request that
already authenticated keeps the TenantConfig it got, and a new one sees either the old or
the new file, never half of each. A bad edit is logged (file, line, field; never a key) and
the last good snapshot stays. Besides the schema, every load runs the learning check
(gateway/learning/checks.py): given the models the gateway serves, a tenant's learning block
naming another model (a misspelled judge) is such a bad edit, refused at start-up too; its
warnings (shadow_rate without a learning budget) are logged and the file applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.learning.checks import learning_check
from gateway.tenants.config import TenantConfig, TenantsFile, hash_key
from gateway.tenants.loader import LoadedTenants, Problem, TenantConfigError, read_tenants

log = logging.getLogger(__name__)

# The file's identity as far as a poll can tell: (mtime_ns, size, inode).
_Stamp = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    tenants: tuple[TenantConfig, ...]
    keys: tuple[tuple[bytes, TenantConfig], ...]  # (sha256 digest, owner)
    stamp: _Stamp | None


class TenantDirectory:
    """Authenticates API keys against tenants.yaml and keeps the tenants current."""

    def __init__(self, path: str | Path, *, models: Mapping[str, str] | None = None):
        """Loads `path` now; an invalid file raises TenantConfigError (fail at start-up).

        `models` (name -> catalog mode) are the models the gateway serves: a tenant's
        learning block must name chat models among them, now and on every reload. None
        (tools without a gateway) leaves models unchecked."""
        self.path = Path(path)
        self.generation = 0  # bumped on every applied reload
        self._check = learning_check(models)
        stamp = _stamp(self.path)
        loaded = read_tenants(self.path, self._check)
        _log_warnings(loaded)
        self._snapshot = _snapshot_of(loaded.tenants, stamp)
        self._watcher: asyncio.Task[None] | None = None

    @classmethod
    def from_tenants(cls, tenants: Sequence[TenantConfig], *,
                     models: Mapping[str, str] | None = None) -> TenantDirectory:
        """A fixed directory without a file (tests, embedded demo); `reload` keeps it.
        Checked as a file is (`models` as in `__init__`); errors raise TenantConfigError."""
        directory = cls.__new__(cls)
        directory.path = Path("")
        directory.generation = 0
        directory._check = learning_check(models)
        given = TenantsFile(tenants=list(tenants))
        findings = directory._check(given)
        errors = [f for f in findings if not f.warning]
        if errors:
            raise TenantConfigError("(tenants given in code)", [
                Problem(0, _field(given, f.loc), f.reason) for f in errors])
        for finding in findings:
            log.warning("tenants: %s: %s", _field(given, finding.loc), finding.reason)
        directory._snapshot = _snapshot_of(given, None)
        directory._watcher = None
        return directory

    @property
    def tenants(self) -> tuple[TenantConfig, ...]:
        return self._snapshot.tenants

    def get(self, name: str) -> TenantConfig | None:
        return next((t for t in self._snapshot.tenants if t.name == name), None)

    def authenticate(self, api_key: str) -> TenantConfig | None:
        """The tenant owning `api_key`, or None; time does not depend on which key matched."""
        digest = bytes.fromhex(hash_key(api_key))
        found: TenantConfig | None = None
        for candidate, tenant in self._snapshot.keys:
            # No early exit: every stored hash is compared, so timing reveals nothing.
            if hmac.compare_digest(candidate, digest):
                found = tenant
        return found

    def reload(self) -> bool:
        """Re-reads the file; True when a new config was applied, False when the old one stays."""
        if not str(self.path):
            return False
        stamp = _stamp(self.path)
        try:
            loaded = read_tenants(self.path, self._check)
        except TenantConfigError as exc:
            # Remember the stamp anyway so the watcher does not log the same error every poll.
            self._snapshot = _snapshot_of_existing(self._snapshot, stamp)
            log.error("tenants file rejected, keeping the last good config:\n%s", exc)
            return False
        _log_warnings(loaded)
        self._snapshot = _snapshot_of(loaded.tenants, stamp)
        self.generation += 1
        log.info("tenants file reloaded: %d tenants (generation %d)",
                 len(loaded.tenants.tenants), self.generation)
        return True

    def changed_on_disk(self) -> bool:
        """Whether the file looks different from what was last read (poll helper)."""
        return bool(str(self.path)) and _stamp(self.path) != self._snapshot.stamp

    # -- watching ---------------------------------------------------------------------------

    def start_watching(self, interval_s: float = 2.0) -> None:
        """Starts polling the file in a task of the running loop; reloads on change."""
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(
                self._watch(interval_s), name="tenants-watch"
            )

    async def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    def install_sighup(self) -> Callable[[], None]:
        """Makes SIGHUP reload the file (on the running loop); returns the uninstaller."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.reload)

        def uninstall() -> None:
            loop.remove_signal_handler(signal.SIGHUP)

        return uninstall

    async def _watch(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                if self.changed_on_disk():
                    self.reload()
            except Exception:
                log.exception("tenants watcher: poll failed")


def _log_warnings(loaded: LoadedTenants) -> None:
    for warning in loaded.warnings:
        log.warning("tenants file: %s", warning)


def _field(given: TenantsFile, loc: Sequence[int | str]) -> str:
    """`tenants[0].learning.judge.model (tenant 'acme')`, as a file's errors name fields."""
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    if len(loc) > 1 and loc[0] == "tenants" and isinstance(loc[1], int):
        text += f" (tenant {given.tenants[loc[1]].name!r})"
    return text


def _stamp(path: Path) -> _Stamp | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def _snapshot_of(loaded: TenantsFile, stamp: _Stamp | None) -> _Snapshot:
    keys = tuple(
        (bytes.fromhex(digest), tenant) for tenant in loaded.tenants for digest in tenant.key_sha256
    )
    return _Snapshot(tuple(loaded.tenants), keys, stamp)


def _snapshot_of_existing(snapshot: _Snapshot, stamp: _Stamp | None) -> _Snapshot:
    return _Snapshot(snapshot.tenants, snapshot.keys, stamp)
