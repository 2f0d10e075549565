"""The price catalog: every known model's price sheet, shipped and user-overridable."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from pricing.prices import ModelPrice


class CatalogError(ValueError):
    """The catalog or an override is invalid; the message names the entry."""


class PriceCatalog:
    """Read-only mapping of model name to `ModelPrice`."""

    def __init__(self, prices: Iterable[ModelPrice]):
        self._prices = {p.model: p for p in prices}

    @classmethod
    def shipped(cls) -> PriceCatalog:
        """The catalog bundled with costroute (`pricing/data/catalog.yaml`)."""
        text = resources.files("pricing").joinpath("data/catalog.yaml").read_text("utf-8")
        return cls.from_mapping(yaml.safe_load(text) or {}, source="pricing/data/catalog.yaml")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str = "catalog") -> PriceCatalog:
        models = raw.get("models", raw)
        if not isinstance(models, Mapping):
            raise CatalogError(f"{source}: expected a mapping of model name to prices")
        return cls(_parse_entry(name, entry, source) for name, entry in models.items())

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> PriceCatalog:
        """A new catalog where each override is merged over the shipped entry of that name."""
        merged = dict(self._prices)
        for name, fields in overrides.items():
            base = merged[name].model_dump() if name in merged else {}
            base.update(fields)
            merged[name] = _parse_entry(name, base, "override")
        return PriceCatalog(merged.values())

    def get(self, model: str) -> ModelPrice | None:
        return self._prices.get(model)

    def __getitem__(self, model: str) -> ModelPrice:
        return self._prices[model]

    def __contains__(self, model: object) -> bool:
        return model in self._prices

    def __iter__(self) -> Iterator[str]:
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)


def _parse_entry(name: str, entry: Any, source: str) -> ModelPrice:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{source}: entry {name!r} must be a mapping")
    try:
        return ModelPrice.model_validate({"model": name, **entry})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise CatalogError(f"{source}: model {name!r}: {problems}") from None
