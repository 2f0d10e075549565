"""Progress reporting for long evaluations: a rich bar with ETA and USD spent so far."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressReporter(Protocol):
    """Receives how much work is done and how much money it has (or would have) cost."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, steps: int = 1, spent_usd: float = 0.0) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    """Reports nothing; for tests and library use."""

    def start(self, description: str, total: int) -> None:
        return None

    def advance(self, steps: int = 1, spent_usd: float = 0.0) -> None:
        return None

    def close(self) -> None:
        return None


class RichProgress:
    """A rich progress bar on stderr: done/total, elapsed, ETA, and spend so far.

    Replay labels the money "replayed" (recorded costs of the replayed choices), live runs
    "spent" (what was actually paid).
    """

    def __init__(self, console: Console | None = None, spend_label: str = "spent") -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn(spend_label + " ${task.fields[spent]:.4f}"),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task: TaskID | None = None
        self._spent = 0.0

    def start(self, description: str, total: int) -> None:
        if self._task is None:
            self._progress.start()
        else:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(description, total=total, spent=self._spent)

    def advance(self, steps: int = 1, spent_usd: float = 0.0) -> None:
        if self._task is None:
            return
        self._spent += spent_usd
        self._progress.update(self._task, advance=steps, spent=self._spent)

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
