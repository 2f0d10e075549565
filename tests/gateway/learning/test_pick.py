"""The shadow picker asks k models per prompt and keeps every model's label count level."""

from __future__ import annotations

import pytest

from gateway.learning.pick import ShadowPicker
from gateway.tenants.config import LearningConfig

MODELS = [f"m{i}" for i in range(10)]


def test_asks_k_least_labelled_and_spreads_labels_evenly() -> None:
    picker = ShadowPicker(seed=1)
    for i in range(100):
        served = MODELS[0] if i % 3 else MODELS[1]
        others = [m for m in MODELS if m != served]
        chosen = picker.pick("t", "auto", served, others, 2)
        assert len(chosen) == 2 and served not in chosen and len(set(chosen)) == 2
    counts = picker.counts("t", "auto")
    shadowed = [counts[m] for m in MODELS[2:]]
    assert min(shadowed) > 0  # every model gets outcomes
    assert max(shadowed) - min(shadowed) <= 1  # and the least-labelled go first


def test_none_or_large_k_asks_every_other_model() -> None:
    picker = ShadowPicker(seed=0)
    assert picker.pick("t", "auto", "m0", MODELS[1:], None) == tuple(MODELS[1:])
    assert picker.pick("t", "auto", "m0", MODELS[1:], 50) == tuple(MODELS[1:])


def test_counts_are_per_tenant_and_route() -> None:
    picker = ShadowPicker(seed=0)
    picker.pick("a", "auto", "m0", MODELS[1:], 1)
    assert picker.counts("b", "auto") == {}
    assert sum(picker.counts("a", "auto").values()) == 2


def test_config_default_and_validation() -> None:
    assert LearningConfig().shadow_models_per_prompt == 2
    assert LearningConfig(shadow_models_per_prompt=None).shadow_models_per_prompt is None
    with pytest.raises(ValueError):
        LearningConfig(shadow_models_per_prompt=0)
