"""Shared helpers of the cascade benchmarks: paths, machine line, cached MiniLM, curves."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.machine import machine
from routers.embedding import MiniLMEmbedder
from routers.knn.embed_cache import DiskCachedEmbedder

SHARED = REPO / ".." / "shared" / "data"
RESULTS = REPO / "bench" / "results" / "cascade"
CACHE = Path(
    os.environ.get("COSTROUTE_BENCH_CACHE", Path.home() / ".cache" / "costroute" / "bench")
)
PRICES_ROUTELLM = (
    "GPT-4-1106-preview $10/$30, Mixtral-8x7B-Instruct $0.60/$0.60 per 1M in/out tokens "
    "(shipped catalog; tokens counted on the recorded prompt and answer)"
)


def header(script: str, argv: Sequence[str]) -> None:
    print(f"command: .venv/bin/python bench/cascade/{script} {' '.join(argv)}".rstrip())
    print(machine())


def embedder() -> DiskCachedEmbedder:
    """MiniLM (1 torch thread: the 2-core box is shared) behind a disk cache kept between runs."""
    return DiskCachedEmbedder(MiniLMEmbedder(threads=1), CACHE / "cascade_minilm.npz")


def cost_to_match(points: Sequence[tuple[float, float]], accuracy: float) -> float | None:
    """The lowest cost among (cost, accuracy) points reaching `accuracy`; None if none does."""
    reaching = [c for c, a in points if a >= accuracy - 1e-12]
    return min(reaching) if reaching else None


def pct(value: float | None, of: float) -> str:
    return "not reached" if value is None else f"{100 * value / of:.1f}%"
