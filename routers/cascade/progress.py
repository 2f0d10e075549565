"""What `train cascade` reports while it works: one named phase at a time, with a bar.

Training calls `phase(description, total)` then `advance()`; the CLI shows a Rich bar per
phase (what it is doing, done/total, elapsed, ETA) and library use passes nothing.
"""

from __future__ import annotations

from typing import Any, Protocol, Self


class TrainProgress(Protocol):
    def phase(self, description: str, total: int) -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class NoProgress:
    """Reports nothing (tests, library use)."""

    def phase(self, description: str, total: int) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


class RichTrainProgress:
    """A Rich bar per phase on stderr; use as a context manager."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<44}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self._console,
        )
        self._task: Any = None

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def phase(self, description: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total)
        self._task = self._progress.add_task(description, total=max(total, 1))
        if not self._console.is_terminal:
            # Bars only redraw on a terminal; a log still learns what is being done.
            self._console.print(f"{description} ({total:,} steps)")

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)
