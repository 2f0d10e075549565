"""Single-model accuracies on RouteLLM's MMLU and GSM8K files after contamination filtering.

The expected values are the ones RouteLLM's files imply (stated in the shared data README):
MMLU Mixtral 68.09% / GPT-4 80.59% over 14,037 items; GSM8K 63.73% / 85.77% over 1,307.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.baselines import SingleModel
from eval.config import EvalConfig
from eval.replay import replay
from eval.scoring import evaluate
from routers.datasets import load_routellm_gsm8k, load_routellm_mmlu
from routers.datasets.routellm import GPT4, MIXTRAL

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "routing" / "routellm"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loader", "folder", "n", "mixtral", "gpt4"),
    [
        (load_routellm_mmlu, "mmlu", 14037, 68.09, 80.59),
        (load_routellm_gsm8k, "gsm8k", 1307, 63.73, 85.77),
    ],
)
def test_single_model_accuracy_matches_routellm(
    loader: object, folder: str, n: int, mixtral: float, gpt4: float
) -> None:
    if not (SHARED / folder).is_dir():
        pytest.skip(f"{SHARED / folder} not present")
    ds = loader(SHARED / folder)  # type: ignore[operator]
    curves = replay(ds, [SingleModel(MIXTRAL), SingleModel(GPT4)])
    result = evaluate(ds, curves, EvalConfig(bootstrap_resamples=0))
    acc = {c.name: round(100 * c.accuracy, 2) for c in result.pooled.candidates}
    assert result.n_prompts == n
    assert acc == {MIXTRAL: mixtral, GPT4: gpt4}
