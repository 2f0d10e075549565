"""The simulated models: name, price, tokenizer, latency and which recordings each replays."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pricing import ModelPrice, PriceCatalog

SHIPPED_PROFILES = "models.yaml"


class ProfileError(ValueError):
    """The models file is invalid; the message names the entry."""


class LatencyProfile(BaseModel):
    """How fast a model seems to answer, before the simulator's latency scale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttft_s: float = Field(ge=0)
    tokens_per_s: float = Field(gt=0)
    jitter: float = Field(default=0.0, ge=0, lt=1)


class ModelProfile(BaseModel):
    """One model the simulator answers as."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    price: ModelPrice
    latency: LatencyProfile
    replays: str | None = None
    synthetic_tokens: tuple[int, int] = (60, 200)
    dimensions: int | None = Field(default=None, gt=0)  # embedding models: vector length

    @model_validator(mode="after")
    def _check_range(self) -> ModelProfile:
        low, high = self.synthetic_tokens
        if not 1 <= low <= high:
            raise ValueError("synthetic_tokens must be [min, max] with 1 <= min <= max")
        return self

    @property
    def tokenizer(self) -> str:
        return self.price.tokenizer


class ModelProfiles(Mapping[str, ModelProfile]):
    """Read-only mapping of model name to its profile, in file order."""

    def __init__(self, profiles: list[ModelProfile]):
        self._profiles = {p.name: p for p in profiles}

    @classmethod
    def shipped(cls, catalog: PriceCatalog | None = None) -> ModelProfiles:
        """The models in `gateway/simulator/models.yaml`, priced from `catalog`."""
        text = resources.files("gateway.simulator").joinpath(SHIPPED_PROFILES).read_text("utf-8")
        return cls.from_yaml(text, catalog, source=f"gateway/simulator/{SHIPPED_PROFILES}")

    @classmethod
    def from_path(cls, path: Path, catalog: PriceCatalog | None = None) -> ModelProfiles:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ProfileError(f"{path}: cannot read models file ({exc.strerror})") from None
        return cls.from_yaml(text, catalog, source=str(path))

    @classmethod
    def from_yaml(
        cls, text: str, catalog: PriceCatalog | None = None, source: str = "models file"
    ) -> ModelProfiles:
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ProfileError(f"{source}: not valid YAML ({exc.__class__.__name__})") from None
        models = raw.get("models") if isinstance(raw, Mapping) else None
        if not isinstance(models, Mapping) or not models:
            raise ProfileError(f"{source}: expected a non-empty `models:` mapping")
        prices = catalog if catalog is not None else PriceCatalog.shipped()
        return cls([_parse(str(name), entry, prices, source) for name, entry in models.items()])

    def __getitem__(self, name: str) -> ModelProfile:
        return self._profiles[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)


def _parse(name: str, entry: Any, catalog: PriceCatalog, source: str) -> ModelProfile:
    if not isinstance(entry, Mapping):
        raise ProfileError(f"{source}: model {name!r} must be a mapping")
    fields = dict(entry)
    own_price = fields.pop("price", None)
    if own_price is not None and not isinstance(own_price, Mapping):
        raise ProfileError(f"{source}: model {name!r}: `price:` must be a mapping")
    try:
        price = _price(name, own_price, catalog)
        return ModelProfile.model_validate({"name": name, "price": price, **fields})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ProfileError(f"{source}: model {name!r}: {problems}") from None
    except LookupError as exc:
        raise ProfileError(f"{source}: model {name!r}: {exc.args[0]}") from None


def _price(name: str, own: Mapping[str, Any] | None, catalog: PriceCatalog) -> ModelPrice:
    shipped = catalog.get(name)
    if own is None:
        if shipped is None:
            raise LookupError("not in the price catalog; give it a `price:` block")
        return shipped
    # A model the catalog does not know is counted with the heuristic unless it names one.
    base = shipped.model_dump() if shipped else {"tokenizer": "heuristic"}
    return ModelPrice.model_validate({**base, **own, "model": name})
