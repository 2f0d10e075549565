"""What the records' background loops (the spend drainer, the retention sweepers) share: a
pause that a stop cuts short, and a stop that lets the round in progress finish.

Both use `asyncio.timeout` and `asyncio.wait`, not `asyncio.wait_for`: on Python 3.11
`wait_for` can lose a cancellation that lands as its inner wait completes (fixed in 3.12).
"""

from __future__ import annotations

import asyncio
import contextlib


async def pause(event: asyncio.Event, seconds: float) -> None:
    """Waits `seconds`, or less if `event` is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def finish(task: asyncio.Task[None], timeout_s: float) -> BaseException | None:
    """Waits up to `timeout_s` for `task`, which was asked to stop, to end its round; cancels
    it only past that (a cancel inside a database call costs the store its connection, see
    PostgresRecordStore._connected), waiting as long again. What it ended on, if not that."""
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=timeout_s)
    if task.done() and not task.cancelled():
        return task.exception()
    return None
