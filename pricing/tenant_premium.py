"""What a tenant paid because of its languages: spend vs the same traffic in English.

A request in a language with premium p spent p tokens for every token the same request in
English would have, so its English-equivalent cost is cost / p and the premium paid is
cost - cost / p (negative for the few languages a tokenizer encodes more compactly than
English). Languages missing from the table (and `und`) count at premium 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ALL = "*"  # not "all": that is an ISO 639-3 code (Allar)


@dataclass(frozen=True, slots=True)
class PremiumPaid:
    """A tenant's spend in one language (or `*` for all), and the part of it due to the premium."""

    requests: int
    prompt_tokens: int
    english_equivalent_tokens: float
    cost_usd: float
    english_equivalent_usd: float

    @property
    def premium_usd(self) -> float:
        return self.cost_usd - self.english_equivalent_usd

    @property
    def premium(self) -> float:
        """Effective premium: spend over English-equivalent spend (1.0 when nothing spent)."""
        if self.english_equivalent_usd <= 0:
            return 1.0
        return self.cost_usd / self.english_equivalent_usd


def _add(a: PremiumPaid | None, b: PremiumPaid) -> PremiumPaid:
    if a is None:
        return b
    return PremiumPaid(
        a.requests + b.requests,
        a.prompt_tokens + b.prompt_tokens,
        a.english_equivalent_tokens + b.english_equivalent_tokens,
        a.cost_usd + b.cost_usd,
        a.english_equivalent_usd + b.english_equivalent_usd,
    )


def premium_paid(
    records: Iterable[tuple[str, int, float]], premiums: Mapping[str, float]
) -> dict[str, PremiumPaid]:
    """Per language (and `*` for all), spend and English-equivalent spend of `records`.

    `records` are (ISO 639-3 language, prompt_tokens, cost_usd) per request; `premiums` is
    one tokenizer's table (language -> premium), e.g. from `pricing.premium.read_csv`.
    """
    totals: dict[str, PremiumPaid] = {}
    for language, prompt_tokens, cost in records:
        factor = premiums.get(language, 1.0)
        if factor <= 0:
            factor = 1.0
        row = PremiumPaid(1, prompt_tokens, prompt_tokens / factor, cost, cost / factor)
        totals[language] = _add(totals.get(language), row)
        totals[ALL] = _add(totals.get(ALL), row)
    return totals
