"""Per-prompt USD costs for datasets that record only outcomes.

Prompt tokens are counted with each model's own tokenizer through `pricing.Estimator`, the
prompt sent as one user message (so OpenAI's chat framing is included). Output tokens are
counted on the model's recorded response when the dataset has one; otherwise a per-dataset
assumption is used, which each loader documents and the caller can override.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pricing import Estimator, PriceCatalog, TokenizerRegistry, Usage, cost_usd
from routers.datasets.format import FloatMatrix


class MissingPriceError(ValueError):
    """A model has no recorded cost and no entry in the price catalog."""


def compute_costs(
    prompts: Sequence[str],
    models: Sequence[str],
    catalog: PriceCatalog,
    output_tokens: int,
    responses: Mapping[str, Sequence[str | None]] | None = None,
    tokenizers: TokenizerRegistry | None = None,
) -> FloatMatrix:
    """A (n_prompts, n_models) USD matrix from catalog prices and token counts.

    `output_tokens` is used where no response text is recorded for a prompt and model.
    """
    missing = [m for m in models if m not in catalog]
    if missing:
        raise MissingPriceError(f"no cost column and no catalog price for models {missing}")
    estimator = Estimator(catalog, tokenizers or TokenizerRegistry())
    responses = responses or {}
    costs = np.empty((len(prompts), len(models)))
    for j, model in enumerate(models):
        price = catalog[model]
        tokenizer = estimator.tokenizers.get(price.tokenizer)
        answers = responses.get(model)
        for i, prompt in enumerate(prompts):
            n_in = estimator.prompt_tokens(price, [{"role": "user", "content": prompt}])
            answer = answers[i] if answers is not None else None
            n_out = tokenizer.count(answer) if answer else output_tokens
            costs[i, j] = cost_usd(price, Usage(n_in, n_out))
    return costs


def fill_missing_costs(
    costs: FloatMatrix,
    scores: FloatMatrix,
    prompts: Sequence[str],
    models: Sequence[str],
    catalog: PriceCatalog,
    output_tokens: int,
    responses: Mapping[str, Sequence[str | None]] | None = None,
) -> FloatMatrix:
    """`costs` with NaN cells of known outcomes computed from the catalog (others kept).

    A cell whose score is unknown keeps a NaN cost: nobody ran that model on that prompt.
    """
    out = costs.copy()
    holes = np.isnan(out) & ~np.isnan(scores)
    todo = [j for j in range(len(models)) if holes[:, j].any()]
    if not todo:
        return out
    subset = [models[j] for j in todo]
    computed = compute_costs(prompts, subset, catalog, output_tokens, responses)
    for k, j in enumerate(todo):
        out[holes[:, j], j] = computed[holes[:, j], k]
    return out
