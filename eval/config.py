"""Evaluation settings: bootstrap, the human-expert cost, model classes, the base language.

Read from an optional YAML file (`--config`), e.g.::

    human_expert_cost_usd: 0.50            # or per task: {default: 0.5, gsm8k: 2.0}
    model_classes: {gpt-4-1106-preview: large, mistralai/Mixtral-8x7B-Instruct-v0.1: light}
    base_language: en
    bootstrap_resamples: 1000
    confidence: 0.95
    seed: 0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eval.metrics import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES


class ConfigError(ValueError):
    """The evaluation config is invalid; the message names the field."""


@dataclass(frozen=True)
class EvalConfig:
    """What a replay needs beyond the data and the candidates."""

    human_expert_cost_usd: Mapping[str, float] = field(default_factory=dict)
    model_classes: Mapping[str, str] = field(default_factory=dict)
    base_language: str = "en"
    bootstrap_resamples: int = DEFAULT_RESAMPLES
    confidence: float = DEFAULT_CONFIDENCE
    seed: int = 0

    def human_cost(self, task: str) -> float | None:
        """The human-expert cost of one problem of `task` (or the default), if configured."""
        costs = self.human_expert_cost_usd
        value = costs.get(task, costs.get("default"))
        return None if value is None else float(value)


def load_config(path: str | Path | None) -> EvalConfig:
    """The config in `path`, or the defaults when no path is given."""
    if path is None:
        return EvalConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config {path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path}: not valid YAML ({exc})") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config {path}: expected a mapping at the top")
    return config_from_mapping(raw, str(path))


def config_from_mapping(raw: Mapping[str, Any], source: str = "config") -> EvalConfig:
    """An `EvalConfig` from parsed YAML; unknown keys are an error, not silently ignored."""
    known = {
        "human_expert_cost_usd",
        "model_classes",
        "base_language",
        "bootstrap_resamples",
        "confidence",
        "seed",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown} (known: {sorted(known)})")
    human = raw.get("human_expert_cost_usd", {})
    if isinstance(human, (int, float)):
        human = {"default": human}
    if not isinstance(human, Mapping) or not all(
        isinstance(v, (int, float)) and v >= 0 for v in human.values()
    ):
        raise ConfigError(f"{source}: human_expert_cost_usd must be a USD amount or a map")
    classes = raw.get("model_classes", {})
    if not isinstance(classes, Mapping):
        raise ConfigError(f"{source}: model_classes must map model names to class names")
    confidence = float(raw.get("confidence", DEFAULT_CONFIDENCE))
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"{source}: confidence must be in (0, 1), got {confidence}")
    resamples = int(raw.get("bootstrap_resamples", DEFAULT_RESAMPLES))
    if resamples < 0:
        raise ConfigError(f"{source}: bootstrap_resamples must be >= 0")
    return EvalConfig(
        human_expert_cost_usd={str(k): float(v) for k, v in human.items()},
        model_classes={str(k): str(v) for k, v in classes.items()},
        base_language=str(raw.get("base_language", "en")),
        bootstrap_resamples=resamples,
        confidence=confidence,
        seed=int(raw.get("seed", 0)),
    )
