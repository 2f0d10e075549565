"""The stacked signal heads of a cascade artifact (`signals.py`), saved next to the scorer.

An artifact trained with post-generation signals holds, besides `scorer.npz`:

    signals.npz     per scored model its second-level head (base score, agreement with the
                    previous stage, verifier and logprob features), and per parallel stage
                    "a&b" (or vote stage "a&b&c") the head reading its answers
    manifest.json   "signals": which signals the heads read, how free-text agreement is
                    measured, and the parallel pairs

Heads are keyed by model name, so serving rebuilds the training feature layout from the
manifest's model order. An artifact without "signals" is a plain cascade (format 1 as
before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from routers.cascade.logistic import LogisticHead
from routers.cascade.signals import StackedHeads

SIGNALS = "signals.npz"
# Free-text agreement: word-set Jaccard (no model call; what the RouterBench benchmark
# trains with) or the cosine of the answers' embeddings by the scorer's embedder.
AGREEMENT_TEXT = ("jaccard", "embedding")


@dataclass(frozen=True)
class SignalConfig:
    """Which signals the stacked heads read; `models` fixes the feature layout (columns)."""

    models: tuple[str, ...]
    agreement: bool = True
    verifier: bool = False
    logprobs: bool = False
    agreement_text: str = "jaccard"
    pairs: tuple[tuple[str, ...], ...] = ()  # parallel stages: pairs and votes

    def to_json(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "agreement": self.agreement,
            "verifier": self.verifier,
            "logprobs": self.logprobs,
            "agreement_text": self.agreement_text,
            "pairs": [list(p) for p in self.pairs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignalConfig:
        text = str(data.get("agreement_text", "jaccard"))
        if text not in AGREEMENT_TEXT:
            raise ValueError(f"unknown agreement_text {text!r} (known: {', '.join(AGREEMENT_TEXT)})")
        return cls(
            models=tuple(str(m) for m in data["models"]),
            agreement=bool(data.get("agreement", True)),
            verifier=bool(data.get("verifier", False)),
            logprobs=bool(data.get("logprobs", False)),
            agreement_text=text,
            pairs=tuple(tuple(str(x) for x in p) for p in data.get("pairs", [])),
        )


@dataclass
class SignalHeads:
    """The stacked heads with model names, as a served artifact holds them."""

    config: SignalConfig
    single: dict[str, LogisticHead] = field(default_factory=dict)
    pairs: dict[tuple[str, ...], LogisticHead] = field(default_factory=dict)

    @classmethod
    def from_stacked(cls, config: SignalConfig, heads: StackedHeads) -> SignalHeads:
        names = config.models
        return cls(
            config,
            {names[b]: h for b, h in heads.single.items()},
            {tuple(names[j] for j in group): h for group, h in heads.pairs.items()},
        )

    def stacked(self) -> StackedHeads:
        index = {m: j for j, m in enumerate(self.config.models)}
        return StackedHeads(
            {index[m]: h for m, h in self.single.items()},
            {tuple(index[x] for x in group): h for group, h in self.pairs.items()},
        )


def _arrays(prefix: str, head: LogisticHead) -> dict[str, np.ndarray[Any, Any]]:
    return {
        f"{prefix}_weights": head.weights,
        f"{prefix}_bias": np.array(head.bias),
        f"{prefix}_mean": head.mean,
        f"{prefix}_scale": head.scale,
    }


def _head(data: Any, prefix: str) -> LogisticHead:
    return LogisticHead(
        weights=data[f"{prefix}_weights"].astype(np.float64),
        bias=float(data[f"{prefix}_bias"]),
        mean=data[f"{prefix}_mean"].astype(np.float64),
        scale=data[f"{prefix}_scale"].astype(np.float64),
    )


def save_signal_heads(heads: SignalHeads, directory: str | Path) -> dict[str, Any]:
    """Writes signals.npz; returns the manifest's "signals" entry (the caller writes it)."""
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    single = list(heads.single)
    pairs = list(heads.pairs)
    for i, model in enumerate(single):
        arrays.update(_arrays(f"s{i}", heads.single[model]))
    for i, pair in enumerate(pairs):
        arrays.update(_arrays(f"p{i}", heads.pairs[pair]))
    np.savez(Path(directory) / SIGNALS, **arrays)  # type: ignore[arg-type]
    entry = heads.config.to_json()
    entry["single_heads"] = single
    entry["pair_heads"] = [list(p) for p in pairs]
    return entry


def load_signal_heads(directory: str | Path, entry: dict[str, Any]) -> SignalHeads:
    config = SignalConfig.from_json(entry)
    heads = SignalHeads(config)
    with np.load(Path(directory) / SIGNALS) as data:
        for i, model in enumerate(entry.get("single_heads", [])):
            heads.single[str(model)] = _head(data, f"s{i}")
        for i, group in enumerate(entry.get("pair_heads", [])):
            heads.pairs[tuple(str(x) for x in group)] = _head(data, f"p{i}")
    return heads
