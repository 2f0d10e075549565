"""tenants.yaml validation: errors name the file, the line and the field, never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.tenants.loader import TenantConfigError, load_tenants, parse_tenants
from tests.gateway.tenants.samples import VALID


def test_a_valid_file_loads_every_field() -> None:
    loaded = parse_tenants(VALID)
    acme = loaded.tenants[0]
    assert [t.name for t in loaded.tenants] == ["acme", "beta", "ops", "newbie"]
    assert [(b.period, b.limit_usd) for b in acme.budgets] == [("month", 500), ("day", 40)]
    assert acme.pacing.tight_knob == 5.0
    assert acme.rate_limits.tokens_per_minute == 200_000
    assert acme.may_use_route("router:cheapest") and not acme.may_use_model("claude-3")
    assert loaded.tenants[2].admin


def _error(text: str) -> TenantConfigError:
    with pytest.raises(TenantConfigError) as caught:
        parse_tenants(text, source="tenants.yaml")
    return caught.value


def test_a_bad_value_names_its_line_and_field() -> None:
    error = _error(VALID.replace("limit_usd: 40", "limit_usd: -40"))
    assert error.line == 9
    assert error.field == "tenants[0].budgets[1].limit_usd (tenant 'acme')"
    assert str(error).startswith("tenants.yaml:9: tenants[0].budgets[1].limit_usd")


def test_an_unknown_field_names_its_own_line() -> None:
    error = _error(VALID.replace("    admin: true\n", "    admin: true\n    colour: blue\n"))
    assert (error.line, error.field) == (20, "tenants[2].colour (tenant 'ops')")
    assert "Extra inputs" in str(error)


def test_a_missing_field_points_at_the_mapping_that_lacks_it() -> None:
    error = _error("tenants:\n  - name: ok\n  - timezone: UTC\n")
    assert (error.line, error.field) == (3, "tenants[1].name")


def test_a_raw_key_pasted_as_a_hash_is_refused_without_echoing_it() -> None:
    secret = "cr-THIS-IS-A-RAW-SECRET-KEY"
    error = _error(f"tenants:\n  - name: oops\n    key_sha256: [{secret}]\n")
    assert error.line == 3
    assert secret not in str(error)


def test_bad_names_zones_and_repeats_are_refused() -> None:
    assert "unknown time zone" in str(_error("tenants:\n  - {name: a, timezone: Mars/Base}\n"))
    assert _error("tenants:\n  - name: has space\n").field.startswith("tenants[0].name")
    assert "unique" in str(_error("tenants:\n  - name: a\n  - name: a\n"))
    assert "one budget per period" in str(_error(
        "tenants:\n  - name: a\n    budgets: [{period: day, limit_usd: 1},"
        " {period: day, limit_usd: 2}]\n"))


def test_one_key_for_two_tenants_is_refused() -> None:
    digest = "a" * 64
    error = _error(f"tenants:\n  - {{name: a, key_sha256: [{digest}]}}\n"
                   f"  - {{name: b, key_sha256: [{digest}]}}\n")
    assert "both 'a' and 'b'" in str(error)


def test_a_key_given_twice_in_one_mapping_is_refused() -> None:
    error = _error("tenants:\n  - name: a\n    admin: true\n    admin: false\n")
    assert (error.line, error.field) == (4, "admin")


@pytest.mark.parametrize(("text", "line"), [("tenants: [\n", 2), ("tenants:\n\t- a\n", 2),
                                            ("", 1)])
def test_syntax_errors_and_empty_files_name_a_line(text: str, line: int) -> None:
    assert _error(text).line == line


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError, match="cannot read"):
        load_tenants(tmp_path / "missing.yaml")


def test_the_shipped_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[3] / "gateway" / "tenants" / "tenants.example.yaml"
    loaded = load_tenants(example)
    assert [t.name for t in loaded.tenants] == ["acme", "ops"]
