"""Where the learning benchmarks read the shared data and write their results."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# ../shared beside the checkout (a git worktree one level deeper finds it one level up).
ROUTING = next((p / "shared" / "data" / "routing" for p in (REPO.parent, REPO.parent.parent)
                if (p / "shared" / "data" / "routing").is_dir()),
               REPO.parent / "shared" / "data" / "routing")
DATA = ROUTING / "routerbench"
OUT = REPO / "bench" / "results" / "learning"
