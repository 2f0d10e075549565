"""What every router training command shares: one-line failures and the embedder choice."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

# Bad input from the user's files surfaces as these; anything else is a bug and keeps its trace.
ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError, KeyError)


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def build_embedder(name: str, cache: Path | None) -> object:
    """`minilm` (behind a disk cache when `cache` is given) or the test-only `hashing`."""
    from routers.embedding import CachedEmbedder, HashingEmbedder, MiniLMEmbedder
    from routers.knn.embed_cache import DiskCachedEmbedder

    if name == "hashing":
        return HashingEmbedder()
    if name != "minilm":
        fail(f"unknown embedder {name!r} (minilm or hashing)")
    inner = MiniLMEmbedder(threads=2)
    return DiskCachedEmbedder(inner, cache) if cache else CachedEmbedder(inner)
