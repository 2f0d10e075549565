"""The embedded SpendStore: one process, exact nano-dollars, spend durable in a JSONL file.

Every critical section is a few dictionary operations under a lock with no `await` inside,
so concurrent coroutines (or threads) see each reserve as atomic. Holds live in memory only:
a crash drops them, which is exactly what their TTL would do. Settled spend is appended to
the journal and fsync'd before `settle` returns (concurrent settles share one fsync).

On start the window counters come from the journal's drained checkpoint (written by the
spend-history drainer, gateway/ledger/spend_outbox.py) plus a replay of the journal's tail
after it; without a checkpoint (no records database) the whole journal is replayed. Only
tail entries are then known to settle's repeat check, and once a drainer runs
(`stop_keeping_entries`) `entries()` holds nothing: history is the records database's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.ledger.base import (
    BudgetWindow,
    Hold,
    InsufficientBudget,
    RequestAlreadySettled,
    SettledEntry,
    SpendRecord,
    StoreUnavailable,
    WindowState,
    from_nanos,
    limit_to_nanos,
    to_nanos,
)
from gateway.ledger.entries import utc_now_iso
from gateway.ledger.journal import GroupCommitter, SpendJournal
from gateway.ledger.spend_outbox import load_checkpoint
from gateway.ledger.validation import check_reservation, check_settlement


@dataclass(frozen=True, slots=True)
class _LiveHold:
    amount: int
    window_keys: tuple[str, ...]
    expires_at: float  # on the store's monotonic clock


class InMemorySpendStore:
    """A SpendStore for one gateway process; pass `journal_path` to keep spend across restarts."""

    def __init__(
        self,
        journal_path: str | Path | None = None,
        *,
        fsync: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: dict[tuple[str, str], int] = {}
        self._holds: dict[str, dict[str, _LiveHold]] = {}
        self._settled: set[tuple[str, str]] = set()
        self._entries: list[SettledEntry] = []
        self._keep_entries = True
        self._writer: GroupCommitter | None = None
        if journal_path is not None:
            journal = SpendJournal(journal_path, fsync=fsync)
            checkpoint = load_checkpoint(journal.path)
            self._spent.update(checkpoint.spent)
            for entry in journal.replay(checkpoint.offset):
                self._count(entry)
            self._writer = GroupCommitter(journal)

    async def reserve(
        self,
        tenant: str,
        request_id: str,
        amount_usd: float,
        windows: Sequence[BudgetWindow],
        ttl_s: float,
    ) -> Hold:
        """Holds `amount_usd` in every window at once, or raises InsufficientBudget."""
        amount = to_nanos(amount_usd)
        check_reservation(amount, windows, ttl_s)
        now = self._clock()
        with self._lock:
            holds = self._live_holds(tenant, now)
            if (tenant, request_id) in self._settled:
                raise RequestAlreadySettled(request_id)
            if request_id not in holds:
                for window in windows:
                    self._check_fits(tenant, holds, window, amount)
                keys = tuple(w.key for w in windows)
                holds[request_id] = _LiveHold(amount, keys, now + ttl_s)
        return Hold(tenant, request_id, amount_usd, tuple(windows))

    async def top_up(self, hold: Hold, amount_usd: float, ttl_s: float) -> Hold:
        """Raises the live hold to `amount_usd`; only the increase has to fit."""
        amount = to_nanos(amount_usd)
        check_reservation(amount, hold.windows, ttl_s)
        now = self._clock()
        with self._lock:
            holds = self._live_holds(hold.tenant, now)
            if (hold.tenant, hold.request_id) in self._settled:
                raise RequestAlreadySettled(hold.request_id)
            live = holds.get(hold.request_id)
            held = live.amount if live is not None else 0
            if amount <= held:
                return hold
            for window in hold.windows:
                self._check_fits(hold.tenant, holds, window, amount - held)
            keys = tuple(w.key for w in hold.windows)
            holds[hold.request_id] = _LiveHold(amount, keys, now + ttl_s)
        return Hold(hold.tenant, hold.request_id, amount_usd, tuple(hold.windows))

    async def settle(self, hold: Hold, actual_usd: float, record: SpendRecord) -> None:
        """Counts `actual_usd` in the hold's windows, drops the hold, logs the record durably."""
        actual = to_nanos(actual_usd)
        check_settlement(hold, actual, record)
        key = (hold.tenant, hold.request_id)
        entry = SettledEntry(record, utc_now_iso(), tuple(w.key for w in hold.windows), actual)
        with self._lock:
            if key in self._settled:
                return
            self._holds.get(hold.tenant, {}).pop(hold.request_id, None)
            self._add_spend(hold.tenant, entry.window_keys, actual)
            self._settled.add(key)
            if self._keep_entries:
                self._entries.append(entry)
        if self._writer is None:
            return
        try:
            await self._writer.append(entry)
        except OSError as exc:
            with self._lock:
                # Undo, so that a retried settle counts it once the disk is back.
                self._add_spend(hold.tenant, entry.window_keys, -actual)
                self._settled.discard(key)
                if entry in self._entries:
                    self._entries.remove(entry)
            raise StoreUnavailable(
                f"cannot append to the spend log {self._writer.journal.path}: {exc.strerror}"
            ) from exc

    async def release(self, hold: Hold) -> None:
        """Drops the hold if it is still live; a no-op otherwise."""
        with self._lock:
            self._holds.get(hold.tenant, {}).pop(hold.request_id, None)

    async def state(self, tenant: str, windows: Sequence[BudgetWindow]) -> list[WindowState]:
        """Spent and live-held nano-dollars of each window, in the order given."""
        now = self._clock()
        with self._lock:
            holds = self._live_holds(tenant, now)
            return [
                WindowState.of_nanos(
                    w, self._spent.get((tenant, w.key), 0), _held(holds, w.key)
                )
                for w in windows
            ]

    def stop_keeping_entries(self) -> None:
        """The records database holds spend history now (a drainer copies the journal):
        stop holding every settled entry in memory, where it grew without bound."""
        with self._lock:
            self._keep_entries = False
            self._entries.clear()

    async def records(self, tenant: str | None = None) -> list[SpendRecord]:
        return [entry.record for entry in await self.entries(tenant)]

    async def entries(self, tenant: str | None = None) -> list[SettledEntry]:
        with self._lock:
            return [e for e in self._entries if tenant is None or e.record.tenant == tenant]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.journal.close()

    async def aclose(self) -> None:
        await self.close()

    # -- internals (call with the lock held) -------------------------------------------------

    def _live_holds(self, tenant: str, now: float) -> dict[str, _LiveHold]:
        holds = self._holds.setdefault(tenant, {})
        for request_id in [rid for rid, h in holds.items() if h.expires_at <= now]:
            del holds[request_id]
        return holds

    def _check_fits(
        self, tenant: str, holds: dict[str, _LiveHold], window: BudgetWindow, amount: int
    ) -> None:
        limit = limit_to_nanos(window.limit_usd)
        used = self._spent.get((tenant, window.key), 0) + _held(holds, window.key)
        if used + amount > limit:
            raise InsufficientBudget(window, from_nanos(max(0, limit - used)))

    def _add_spend(self, tenant: str, window_keys: Sequence[str], nanos: int) -> None:
        for window_key in window_keys:
            slot = (tenant, window_key)
            self._spent[slot] = self._spent.get(slot, 0) + nanos

    def _count(self, entry: SettledEntry) -> None:
        self._add_spend(entry.record.tenant, entry.window_keys, entry.actual_nanos)
        self._settled.add((entry.record.tenant, entry.record.request_id))
        self._entries.append(entry)


def _held(holds: dict[str, _LiveHold], window_key: str) -> int:
    return sum(h.amount for h in holds.values() if window_key in h.window_keys)
