"""The built-in datasets `--data` accepts by name, read from the shared reference data.

- `routellm-mmlu`, `routellm-gsm8k`: RouteLLM's files, whole (contaminated prompts dropped).
- `routellm`: both concatenated.
- `llmrouter`: LLMRouter's test split; its train split (minus prompts also in test) is the
  training data of the baselines that learn.
- `<routellm name>:test` / `:train`: an 80/20 split by normalised prompt with seed 0, the
  split bench/knn trains its router on; with `:test` the 80% trains the learning baselines.
"""

from __future__ import annotations

from pathlib import Path

from pricing import PriceCatalog
from routers.datasets import (
    RoutingDataset,
    concat,
    llmrouter_catalog,
    load_llmrouter,
    load_routellm_gsm8k,
    load_routellm_mmlu,
    remove_overlap,
    split,
)

TEST_FRACTION = 0.2
SPLIT_SEED = 0
MMLU_NOTE = (
    "MMLU costs: catalog prices x prompt tokens; 3 output tokens assumed per answer "
    "(RouteLLM scores the answer letter). Contaminated prompts dropped."
)
GSM8K_NOTE = (
    "GSM8K costs: catalog prices x prompt tokens and each recorded response's tokens. "
    "Contaminated prompts dropped."
)
LLMROUTER_NOTE = (
    "Costs: llm_candidates.json prices; prompt tokens by a 4-bytes-per-token heuristic; "
    "128 output tokens assumed. Tasks inferred from question text. Baselines that learn "
    "are fitted on dcrouter_train.json without the prompts also in the test file."
)
SPLIT_NOTE = (
    f"Split: {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} by normalised prompt, seed "
    f"{SPLIT_SEED} (as bench/knn); baselines that learn are fitted on the larger part."
)
ROUTELLM_NAMES = ("routellm-mmlu", "routellm-gsm8k", "routellm")


class MissingData(FileNotFoundError):
    """The shared data folder lacks the files a built-in name needs."""


def builtin_names() -> list[str]:
    """Every name `load_builtin` accepts."""
    return [
        *ROUTELLM_NAMES,
        *(f"{n}:{part}" for n in ROUTELLM_NAMES for part in ("train", "test")),
        "llmrouter",
    ]


def load_builtin(
    name: str, root: Path, catalog: PriceCatalog
) -> tuple[RoutingDataset, RoutingDataset | None, tuple[str, ...], PriceCatalog]:
    """(dataset, training data or None, notes, catalog its prices come from)."""
    if name == "llmrouter":
        folder = _need(root / "routing" / "llmrouter")
        test = load_llmrouter(folder, "test")
        train = remove_overlap(load_llmrouter(folder, "train"), test)
        return test, train, (LLMROUTER_NOTE,), llmrouter_catalog(folder)
    base, _, part = name.partition(":")
    whole, notes = _routellm(base, root, catalog)
    if not part:
        return whole, None, notes, catalog
    train, test = split(whole, TEST_FRACTION, SPLIT_SEED)
    named = test if part == "test" else train
    named.name = f"{whole.name}_{part}"
    return named, (train if part == "test" else None), (*notes, SPLIT_NOTE), catalog


def _routellm(
    base: str, root: Path, catalog: PriceCatalog
) -> tuple[RoutingDataset, tuple[str, ...]]:
    folder = root / "routing" / "routellm"
    if base == "routellm-mmlu":
        return load_routellm_mmlu(_need(folder / "mmlu"), catalog), (MMLU_NOTE,)
    if base == "routellm-gsm8k":
        return load_routellm_gsm8k(_need(folder / "gsm8k"), catalog), (GSM8K_NOTE,)
    mmlu = load_routellm_mmlu(_need(folder / "mmlu"), catalog)
    gsm8k = load_routellm_gsm8k(_need(folder / "gsm8k"), catalog)
    return concat([mmlu, gsm8k], name="routellm_mmlu+gsm8k"), (MMLU_NOTE, GSM8K_NOTE)


def _need(path: Path) -> Path:
    if not path.exists():
        raise MissingData(f"{path}: not found (set --shared-data to the reference data folder)")
    return path
