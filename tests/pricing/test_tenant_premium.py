"""Per-tenant premium: what a tenant's languages cost it beyond English-equivalent spend."""

from __future__ import annotations

import pytest

from pricing.tenant_premium import ALL, premium_paid

PREMIUMS = {"eng": 1.0, "hin": 4.0, "zho": 0.8}


def test_premium_paid_per_language_and_in_total() -> None:
    records = [("hin", 400, 0.04), ("hin", 800, 0.08), ("eng", 100, 0.01), ("zho", 80, 0.008)]
    paid = premium_paid(records, PREMIUMS)
    hin = paid["hin"]
    assert (hin.requests, hin.prompt_tokens) == (2, 1200)
    assert hin.english_equivalent_tokens == pytest.approx(300)
    assert hin.english_equivalent_usd == pytest.approx(0.03)
    assert hin.premium_usd == pytest.approx(0.09)
    assert hin.premium == pytest.approx(4.0)
    assert paid["eng"].premium_usd == pytest.approx(0.0)
    assert paid["zho"].premium_usd == pytest.approx(0.008 - 0.01)  # cheaper than English
    total = paid[ALL]
    assert total.requests == 4
    assert total.cost_usd == pytest.approx(0.138)
    assert total.premium_usd == pytest.approx(0.09 - 0.002)


def test_unknown_languages_count_at_premium_one() -> None:
    paid = premium_paid([("und", 10, 0.5), ("xyz", 10, 0.5)], PREMIUMS)
    assert paid["und"].premium_usd == 0.0 and paid["xyz"].premium == 1.0


def test_no_records_no_rows() -> None:
    assert premium_paid([], PREMIUMS) == {}
