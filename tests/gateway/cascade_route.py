"""A two-stage cascade route (gpt-4o-mini, then gpt-4o) for gateway tests over the simulator.

The artifact's threshold lies between the scores of SURE and UNSURE, so scripting the cheap
model's answer decides whether a request escalates (as in tests/routers/cascade).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from routers.cascade.artifact import CascadeArtifact, load_artifact, save_artifact
from routers.cascade.fit_scorer import encode, fit_heads
from routers.cascade.orchestrator import load_cascade
from routers.cascade.strategy import Stage, Strategy
from routers.embedding import HashingEmbedder
from tests.routers.cascade.synthetic import arithmetic_dataset

CHEAP, STRONG = "gpt-4o-mini", "gpt-4o"
QUESTION = "Question 1: what is 12 + 30? Answer with a number."
SURE = "We compute 12 + 30 = 42.\n#### 42"
UNSURE = "We compute 12 + 30 = 47.\n#### 47"


def make_cascade_artifact(directory: Path) -> Path:
    """Fits the cascade's scorer on synthetic data and saves the artifact in `directory`."""
    ds = arithmetic_dataset(300, seed=9, models=(CHEAP, STRONG))
    heads = fit_heads(encode(ds, HashingEmbedder()))
    draft = CascadeArtifact(heads, Strategy((Stage(CHEAP, 0.5), Stage(STRONG))), [],
                            {"scorer": {"embedder": "hashing", "dim": HashingEmbedder().dim}})
    save_artifact(draft, directory)
    scorer = load_cascade(directory).scorer
    messages = [{"role": "user", "content": QUESTION}]
    sure, unsure = (scorer.score_chat(CHEAP, messages, a) for a in (SURE, UNSURE))
    assert sure > unsure
    loaded = load_artifact(directory)
    strategy = Strategy((Stage(CHEAP, (sure + unsure) / 2), Stage(STRONG)))
    save_artifact(type(loaded)(loaded.heads, strategy, [strategy], loaded.manifest), directory)
    return directory


def cascade_route(directory: Path) -> dict[str, Any]:
    """The gateway.yaml route entry of the cascade saved in `directory`."""
    return {"router": "cascade", "artifact": str(directory), "models": [CHEAP, STRONG]}
