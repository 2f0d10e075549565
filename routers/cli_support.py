"""What every router training command shares: one-line failures and the embedder choice."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import typer

# Bad input from the user's files surfaces as these; anything else is a bug and keeps its trace.
ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError, KeyError)


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def build_embedder(name: str, cache: Path | None) -> object:
    """`minilm` or `static` (behind a disk cache when `cache` is given), or test-only `hashing`."""
    from routers.embedding import CachedEmbedder, Embedder, HashingEmbedder, minilm_embedder
    from routers.knn.embed_cache import DiskCachedEmbedder
    from routers.static_embedding import StaticEmbedder

    if name == "hashing":
        return HashingEmbedder()
    inner: Embedder
    if name == "minilm":
        # The serving backend (ONNX Runtime when installed), so a retrain's vectors are
        # bit-for-bit those the gateway stores with captured prompts (torch's differ by ~2e-7).
        inner = minilm_embedder(threads=train_threads())
    elif name == "static":
        inner = StaticEmbedder()
    else:
        fail(f"unknown embedder {name!r} (minilm, static or hashing)")
    return DiskCachedEmbedder(inner, cache) if cache else CachedEmbedder(inner)


def train_threads(cores: int | None = None, load: float | None = None) -> int:
    """Embedding threads for a training command: the cores not already busy, at least one.

    Measured on 2 cores (bench/learning/embed_backends.py): on a quiet machine two threads
    embed 76 texts/s against 46 for one, but beside a busy gateway (load ~6) one thread gets
    30-33 against 17 for two that spin waiting on each other. So each core the 1-minute load
    average says is busy takes a thread away.
    """
    cores = cores if cores is not None else (os.cpu_count() or 1)
    load = load if load is not None else os.getloadavg()[0]
    return max(1, cores - round(load))


def embedder_option(encoder: str) -> str:
    """The `--embedder` choice for an encoder name recorded in an artifact."""
    from routers.static_embedding import STATIC_NAME

    if encoder == "hashing":
        return "hashing"
    return "static" if encoder.startswith(STATIC_NAME) else "minilm"
