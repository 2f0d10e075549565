"""Which requests the in-process store settled recently: its repeat check, in bounded memory.

A marker is kept at least `ttl_s` and at most about twice that: two generations of sets,
the older dropped whole each time the newer one has been filling for `ttl_s`, so memory is
the markers of the last 1-2 TTLs however many requests were ever settled (it used to grow
by one marker per request, forever).

A marker is the key's hash, not the key: an int costs ~77 bytes with its set slot against
~188 for a (tenant, request id) tuple and its strings, and the sets hold up to two TTLs of
a busy replica's requests. Markers never leave the process, so the per-process string hash
is fine; two keys colliding (about n / 2**64 per settle) would make one settle look like a
repeat, far rarer than anything else that can go wrong with a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Key = tuple[str, str]  # (tenant, request id)


class SettledMarkers:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.ttl_s = ttl_s
        self._clock = clock
        self._current: set[int] = set()
        self._previous: set[int] = set()
        self._started = clock()

    def add(self, key: Key) -> None:
        self._roll()
        self._current.add(hash(key))

    def discard(self, key: Key) -> None:
        marker = hash(key)
        self._current.discard(marker)
        self._previous.discard(marker)

    def __contains__(self, key: object) -> bool:
        self._roll()
        marker = hash(key)
        return marker in self._current or marker in self._previous

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def _roll(self) -> None:
        now = self._clock()
        age = now - self._started
        if age < self.ttl_s:
            return
        # After two TTLs without a roll even the newer set is old enough to drop.
        self._previous = self._current if age < 2 * self.ttl_s else set()
        self._current = set()
        self._started = now
