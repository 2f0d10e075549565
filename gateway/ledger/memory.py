"""The embedded SpendStore: one process, exact nano-dollars, spend durable in a JSONL file.

Every critical section is a few dictionary operations under a lock with no `await` inside,
so concurrent coroutines (or threads) see each reserve as atomic. Holds live in memory only:
a crash drops them, which is exactly what their TTL would do. Settled spend is appended to
the journal and fsync'd before `settle` returns (concurrent settles share one fsync).

Memory is bounded: window counters, live holds, and the markers of requests settled in the
last `settled_ttl_s` (a repeat settle within it is a no-op). Settled entries are not held:
with a records database a drainer copies them there (gateway/records/spend_drainer.py) and
the journal is compacted past what it copied; without one `entries()` reads the journal.
Start-up loads the last snapshot of the counters (or a compacted journal's header) and
replays only the lines after it (gateway/ledger/journal.py, snapshot.py).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
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
from gateway.ledger.entries import unix_seconds, utc_now_iso
from gateway.ledger.journal import GroupCommitter, SpendJournal, read_journal
from gateway.ledger.markers import SettledMarkers
from gateway.ledger.spend_outbox import load_checkpoint

SNAPSHOT_BYTES = 4 << 20  # start-up replays at most about this much journal (~8k settles)
COMPACT_BYTES = 64 << 20  # drained journal kept before compaction drops it
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
        settled_ttl_s: float = 120.0,
        snapshot_bytes: int = SNAPSHOT_BYTES,
        compact_bytes: int = COMPACT_BYTES,
        hook: Callable[[str], None] | None = None,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: dict[tuple[str, str], int] = {}
        self._holds: dict[str, dict[str, _LiveHold]] = {}
        # What the live holds add up to per (tenant, window key), kept as holds come and go,
        # so that a reserve checks its windows in O(1) instead of summing the tenant's holds.
        self._held: dict[tuple[str, str], int] = {}
        # (expires_at, seq, tenant, request_id, hold): the holds by expiry. A settled, released
        # or topped-up hold leaves its entry behind; it is skipped when it comes up (the hold
        # is no longer the one under that id) and dropped when the heap is rebuilt.
        self._expiry: list[tuple[float, int, str, str, _LiveHold]] = []
        self._expiry_seq = itertools.count()
        self._live = 0  # live holds, of every tenant
        # Request ids are random per request and a failed settle is undone before the guard
        # retries it, so a repeat can only come from the same request's own code paths:
        # two minutes of markers cover that, where every marker ever grew without bound.
        self._settled = SettledMarkers(settled_ttl_s, clock)
        self._entries: list[SettledEntry] = []  # only without a journal (tests, benchmarks)
        self._drained = False
        self._snapshot_bytes = snapshot_bytes
        self._compact_bytes = compact_bytes
        self._next_compaction_check = 0  # journal size at which to look again
        self._writer: GroupCommitter | None = None
        if journal_path is not None:
            journal = SpendJournal(journal_path, fsync=fsync, hook=hook)
            tail = journal.recover()
            self._spent.update(journal.spent())
            recent = time.time() - settled_ttl_s
            for entry in reversed(tail):  # newest first: lines are in settle order
                if unix_seconds(entry.settled_at) < recent:
                    break
                self._settled.add((entry.record.tenant, entry.record.request_id))
            if journal.size - max(journal.snapshot_offset, journal.header.length) >= \
                    snapshot_bytes:
                journal.snapshot()  # a long replay (a journal from before snapshots): once
            self._writer = GroupCommitter(journal, self._maintain)

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
            self._expire(now)
            if (tenant, request_id) in self._settled:
                raise RequestAlreadySettled(request_id)
            if request_id not in self._holds.get(tenant, ()):
                for window in windows:
                    self._check_fits(tenant, window, amount)
                keys = tuple(dict.fromkeys(w.key for w in windows))  # each window counted once
                self._put(tenant, request_id, _LiveHold(amount, keys, now + ttl_s))
        return Hold(tenant, request_id, amount_usd, tuple(windows))

    async def top_up(self, hold: Hold, amount_usd: float, ttl_s: float) -> Hold:
        """Raises the live hold to `amount_usd`; only the increase has to fit."""
        amount = to_nanos(amount_usd)
        check_reservation(amount, hold.windows, ttl_s)
        now = self._clock()
        with self._lock:
            self._expire(now)
            if (hold.tenant, hold.request_id) in self._settled:
                raise RequestAlreadySettled(hold.request_id)
            live = self._holds.get(hold.tenant, {}).get(hold.request_id)
            held = live.amount if live is not None else 0
            if amount <= held:
                return hold
            for window in hold.windows:
                self._check_fits(hold.tenant, window, amount - held)
            keys = tuple(dict.fromkeys(w.key for w in hold.windows))
            self._put(hold.tenant, hold.request_id, _LiveHold(amount, keys, now + ttl_s))
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
            self._drop(hold.tenant, hold.request_id)
            self._add_spend(hold.tenant, entry.window_keys, actual)
            self._settled.add(key)
            if self._writer is None:
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
            raise StoreUnavailable(
                f"cannot append to the spend log {self._writer.journal.path}: {exc.strerror}"
            ) from exc

    async def release(self, hold: Hold) -> None:
        """Drops the hold if it is still live; a no-op otherwise."""
        with self._lock:
            self._drop(hold.tenant, hold.request_id)

    async def state(self, tenant: str, windows: Sequence[BudgetWindow]) -> list[WindowState]:
        """Spent and live-held nano-dollars of each window, in the order given."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            return [
                WindowState.of_nanos(
                    w, self._spent.get((tenant, w.key), 0), self._held.get((tenant, w.key), 0)
                )
                for w in windows
            ]

    def stop_keeping_entries(self) -> None:
        """The records database holds spend history now (a drainer copies the journal):
        `entries()` has nothing to say, and the journal may drop what was drained."""
        with self._lock:
            self._drained = True
            self._entries.clear()

    async def records(self, tenant: str | None = None) -> list[SpendRecord]:
        return [entry.record for entry in await self.entries(tenant)]

    async def entries(self, tenant: str | None = None) -> list[SettledEntry]:
        """Every settled entry, from the journal (not memory); none once a drainer has
        taken history over (read it from the records database)."""
        if self._drained:
            return []
        if self._writer is None:
            with self._lock:
                found = list(self._entries)
        else:
            found, _ = await asyncio.to_thread(read_journal, self._writer.journal.path)
        return [e for e in found if tenant is None or e.record.tenant == tenant]

    @property
    def journal(self) -> SpendJournal | None:
        return None if self._writer is None else self._writer.journal

    def live_holds(self) -> tuple[int, int]:
        """How many holds are live, and how many entries the expiry heap keeps for them
        (bounded by about twice the live holds)."""
        with self._lock:
            return self._live, len(self._expiry)

    def settled_markers(self) -> int:
        """How many settled request ids the repeat check holds (bounded by settled_ttl_s)."""
        with self._lock:
            return len(self._settled)

    async def compact(self) -> bool:
        """Drops the drained part of the journal now; False if there is none (or no drainer)."""
        journal = self.journal
        if journal is None or not self._drained:
            return False
        drained = await asyncio.to_thread(load_checkpoint, journal.path)
        return await asyncio.to_thread(journal.compact, drained.generation, drained.offset)

    async def ping(self) -> None:
        """In the process: always reachable."""

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.journal.close()

    async def aclose(self) -> None:
        await self.close()

    def _maintain(self) -> None:
        """On the writer thread after each flushed batch: a snapshot every `snapshot_bytes`
        of journal, and a compaction once `compact_bytes` of it were drained."""
        journal = self.journal
        assert journal is not None
        since = journal.size - max(journal.snapshot_offset, journal.header.length)
        if since >= self._snapshot_bytes:
            journal.snapshot()
        if not self._drained or journal.size - journal.header.length < self._compact_bytes:
            return
        if journal.size < self._next_compaction_check:
            return
        # The drain position is a file: read it every quarter of `compact_bytes` appended,
        # not after every batch.
        self._next_compaction_check = journal.size + self._compact_bytes // 4
        drained = load_checkpoint(journal.path)
        if drained.generation == journal.generation and \
                drained.offset - journal.header.length >= self._compact_bytes and \
                journal.compact(drained.generation, drained.offset):
            self._next_compaction_check = journal.size + self._compact_bytes // 4

    # -- internals (call with the lock held) -------------------------------------------------

    def _expire(self, now: float) -> None:
        """Drops every hold whose TTL has run out (of any tenant), earliest first."""
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            _, _, tenant, request_id, live = heapq.heappop(expiry)
            if self._holds.get(tenant, {}).get(request_id) is live:
                self._drop(tenant, request_id)

    def _put(self, tenant: str, request_id: str, live: _LiveHold) -> None:
        """Makes `live` the hold under `request_id` (replacing a smaller one: a top-up)."""
        self._drop(tenant, request_id)
        self._holds.setdefault(tenant, {})[request_id] = live
        self._live += 1
        for key in live.window_keys:
            slot = (tenant, key)
            self._held[slot] = self._held.get(slot, 0) + live.amount
        expiry = self._expiry
        # Settled holds leave their entries until their TTL: past twice the live holds
        # (and a floor, so small stores never bother), rebuild the heap from the live ones.
        if len(expiry) > 1024 and len(expiry) > 2 * self._live:
            expiry[:] = [e for e in expiry if self._holds.get(e[2], {}).get(e[3]) is e[4]]
            heapq.heapify(expiry)
        heapq.heappush(expiry, (live.expires_at, next(self._expiry_seq), tenant, request_id,
                                live))

    def _drop(self, tenant: str, request_id: str) -> None:
        """Removes the hold under `request_id`, if any, and its amount from the totals."""
        holds = self._holds.get(tenant)
        live = holds.pop(request_id, None) if holds is not None else None
        if live is None:
            return
        self._live -= 1
        if not holds:
            del self._holds[tenant]
        for key in live.window_keys:
            slot = (tenant, key)
            # .get: a window whose holds are all $0 has no total (it was dropped at 0).
            left = self._held.get(slot, 0) - live.amount
            if left:
                self._held[slot] = left
            else:
                self._held.pop(slot, None)

    def _check_fits(self, tenant: str, window: BudgetWindow, amount: int) -> None:
        limit = limit_to_nanos(window.limit_usd)
        used = self._spent.get((tenant, window.key), 0) + self._held.get((tenant, window.key), 0)
        if used + amount > limit:
            raise InsufficientBudget(window, from_nanos(max(0, limit - used)))

    def _add_spend(self, tenant: str, window_keys: Sequence[str], nanos: int) -> None:
        for window_key in window_keys:
            slot = (tenant, window_key)
            self._spent[slot] = self._spent.get(slot, 0) + nanos

