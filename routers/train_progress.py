"""Progress of a training command: what it is doing now, and a bar for the long steps.

Training code reports through `TrainProgress` (stages with an optional total, then
advances); the command line passes `RichTrainProgress`, library callers and tests get
`NullTrainProgress`. `ProgressEmbedder` turns one big `embed` call into batches so the
embedding step, the longest on a CPU, moves a bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self

import numpy as np

from routers.embedding import Embedder, Vectors

EMBED_BATCH = 256


class TrainProgress(Protocol):
    def stage(self, description: str, total: int | None = None) -> None:
        """A new step begins; `total` units of work, or None for an unmeasured step."""

    def advance(self, steps: int = 1) -> None: ...

    def close(self) -> None: ...


class NullTrainProgress:
    def stage(self, description: str, total: int | None = None) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


class RichTrainProgress:
    """One line per stage on stderr; stages with a total get a bar with elapsed time and ETA."""

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

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task: object | None = None
        self._progress.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stage(self, description: str, total: int | None = None) -> None:
        self._finish()
        # The whole sentence on its own line; the bar keeps a short label so it fits 80 columns.
        self._progress.console.print(description)
        self._task = self._progress.add_task(f"  {description.split(' ', 1)[0]}", total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)  # type: ignore[arg-type]

    def close(self) -> None:
        self._finish()
        self._progress.stop()

    def _finish(self) -> None:
        if self._task is not None:
            task = self._task
            total = self._progress.tasks[-1].total
            self._progress.update(task, completed=total if total is not None else 1,  # type: ignore[arg-type]
                                  total=total if total is not None else 1)
            self._task = None


def reuse_note(embedder: object, texts: Sequence[str]) -> str:
    """"; M reused from <source>" when `embedder` already holds vectors of some `texts`.

    An embedder over stored vectors (gateway/artifacts/stored_vectors.py) says so with
    `known(texts)` and `reuse_source`; any other embedder gets no note, and the `Embedder`
    protocol stays as narrow as serving needs it.
    """
    known = getattr(embedder, "known", None)
    if known is None:
        return ""
    return f"; {known(texts):,} reused from {getattr(embedder, 'reuse_source', 'stored vectors')}"


class ProgressEmbedder:
    """`inner`, embedding in batches and advancing `progress` by each batch's size."""

    def __init__(self, inner: Embedder, progress: TrainProgress, batch: int = EMBED_BATCH):
        self.inner = inner
        self.progress = progress
        self.batch = batch
        self.name = inner.name
        self.dim = getattr(inner, "dim", 0)

    def embed(self, texts: Sequence[str]) -> Vectors:
        parts = []
        for start in range(0, len(texts), self.batch):
            chunk = texts[start:start + self.batch]
            parts.append(self.inner.embed(chunk))
            self.progress.advance(len(chunk))
        if not parts:
            return self.inner.embed(texts)
        return np.vstack(parts)
