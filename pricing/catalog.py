"""The price catalog: every known model's price sheet, shipped and user-overridable.

Errors (all raised at load, naming the entry):

    CatalogError (ValueError)
     +-- UnknownModelError (also KeyError): a lookup of a model the catalog lacks
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from pricing.prices import ModelPrice
from pricing.tokenizers import base_tokenizer, builtin_tokenizer_names

SHIPPED_CATALOG = "data/catalog.yaml"


class CatalogError(ValueError):
    """The catalog or an override is invalid; the message names the entry."""


class UnknownModelError(CatalogError, KeyError):
    """A model that is neither in the catalog nor an alias of one."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class PriceCatalog:
    """Read-only mapping of model name (or alias) to `ModelPrice`.

    `tokenizers` is the set of exact tokenizer names an entry may use (with or without the
    `approx:` prefix); by default the ones costroute resolves on its own.
    """

    def __init__(
        self,
        prices: Iterable[ModelPrice],
        aliases: Mapping[str, str] | None = None,
        tokenizers: Collection[str] | None = None,
    ):
        self._tokenizers = frozenset(tokenizers or builtin_tokenizer_names())
        self._prices: dict[str, ModelPrice] = {}
        for price in prices:
            _check_tokenizer(price, self._tokenizers, "catalog")
            self._prices[price.model] = price
        self._aliases = dict(aliases or {})
        for alias, target in self._aliases.items():
            if target not in self._prices:
                raise CatalogError(f"alias {alias!r} points to unknown model {target!r}")

    @classmethod
    def shipped(cls, tokenizers: Collection[str] | None = None) -> PriceCatalog:
        """The catalog bundled with costroute (`pricing/data/catalog.yaml`)."""
        if tokenizers is None:
            return _shipped_catalog()
        return _load_shipped(tokenizers)

    @classmethod
    def from_mapping(
        cls,
        raw: Mapping[str, Any],
        source: str = "catalog",
        tokenizers: Collection[str] | None = None,
    ) -> PriceCatalog:
        """A catalog from `{models: {name: fields}, aliases: {alias: name}}` (or bare models)."""
        models = raw.get("models", raw)
        if not isinstance(models, Mapping):
            raise CatalogError(f"{source}: expected a mapping of model name to prices")
        aliases = (raw.get("aliases") or {}) if "models" in raw else {}
        if not isinstance(aliases, Mapping):
            raise CatalogError(f"{source}: `aliases` must map an alias to a model name")
        names = frozenset(tokenizers or builtin_tokenizer_names())
        prices = [_parse_entry(name, entry, source, names) for name, entry in models.items()]
        return cls(prices, {str(k): str(v) for k, v in aliases.items()}, names)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> PriceCatalog:
        """A new catalog where each override is merged over the shipped entry of that name."""
        merged = dict(self._prices)
        for name, fields in overrides.items():
            target = self._aliases.get(name, name)
            if not isinstance(fields, Mapping):
                raise CatalogError(f"override: entry {name!r} must be a mapping")
            base = merged[target].model_dump() if target in merged else {}
            base.update(fields)
            base.pop("model", None)
            merged[target] = _parse_entry(target, base, "override", self._tokenizers)
        return PriceCatalog(merged.values(), self._aliases, self._tokenizers)

    def resolve(self, model: str) -> str:
        """The catalog name behind `model` (itself, or the model an alias points to)."""
        return self._aliases.get(model, model)

    def get(self, model: str) -> ModelPrice | None:
        return self._prices.get(self.resolve(model))

    def __getitem__(self, model: str) -> ModelPrice:
        price = self.get(model)
        if price is None:
            raise UnknownModelError(f"model {model!r} is not in the price catalog")
        return price

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.get(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)

    @property
    def aliases(self) -> Mapping[str, str]:
        return dict(self._aliases)


def _load_shipped(tokenizers: Collection[str] | None) -> PriceCatalog:
    text = resources.files("pricing").joinpath(SHIPPED_CATALOG).read_text("utf-8")
    return PriceCatalog.from_mapping(yaml.safe_load(text) or {},
                                     source=f"pricing/{SHIPPED_CATALOG}", tokenizers=tokenizers)


@cache
def _shipped_catalog() -> PriceCatalog:
    # Parsing the file takes ~40 ms and a gateway's start-up asks for it several times (its
    # own catalog, the mounted simulator's, the embedded defaults' judge price). A catalog is
    # read-only (`with_overrides` makes a new one), so one copy serves every caller.
    return _load_shipped(None)


def _check_tokenizer(price: ModelPrice, known: frozenset[str], source: str) -> None:
    if base_tokenizer(price.tokenizer) not in known:
        raise CatalogError(
            f"{source}: model {price.model!r}: unknown tokenizer {price.tokenizer!r} "
            f"(known: {', '.join(sorted(known))}, optionally prefixed `approx:`)"
        )


def _parse_entry(name: str, entry: Any, source: str, tokenizers: frozenset[str]) -> ModelPrice:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{source}: entry {name!r} must be a mapping")
    try:
        price = ModelPrice.model_validate({**entry, "model": name})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise CatalogError(f"{source}: model {name!r}: {problems}") from None
    _check_tokenizer(price, tokenizers, source)
    return price
