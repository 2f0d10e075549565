"""What every router training command shares: one-line failures and the embedder choice."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

# Bad input from the user's files surfaces as these; anything else is a bug and keeps its trace.
ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError, KeyError)
# MiniLM threads of a training command (see build_embedder).
TRAIN_THREADS = 1


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
        # bit-for-bit those the gateway stores with captured prompts (torch's differ by
        # ~2e-7). One thread: a batch job beside a gateway on a shared 2-core machine gets
        # ~1.9x the texts/s of two spinning threads (bench/learning/embed_backends.py).
        inner = minilm_embedder(threads=TRAIN_THREADS)
    elif name == "static":
        inner = StaticEmbedder()
    else:
        fail(f"unknown embedder {name!r} (minilm, static or hashing)")
    return DiskCachedEmbedder(inner, cache) if cache else CachedEmbedder(inner)


def embedder_option(encoder: str) -> str:
    """The `--embedder` choice for an encoder name recorded in an artifact."""
    from routers.static_embedding import STATIC_NAME

    if encoder == "hashing":
        return "hashing"
    return "static" if encoder.startswith(STATIC_NAME) else "minilm"
