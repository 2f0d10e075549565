"""`costroute pricing catalog|langid`: output, and bad input as one line with exit code 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pricing.cli import app


def test_catalog_lists_models() -> None:
    result = CliRunner().invoke(app, ["catalog"])
    assert result.exit_code == 0, result.output
    rows = {line.split("\t")[0]: line.split("\t") for line in result.output.splitlines()}
    assert rows["gpt-4o"][6] == "o200k_base"
    assert "smollm2-135m-instruct" in rows


def test_catalog_with_overrides(tmp_path: Path) -> None:
    overrides = tmp_path / "prices.yaml"
    overrides.write_text("gpt-4o: {input_per_mtok: 1.5}\n")
    result = CliRunner().invoke(app, ["catalog", "--overrides", str(overrides)])
    assert result.exit_code == 0
    assert "gpt-4o\t1.5\t" in result.output


def test_catalog_rejects_a_negative_price_naming_the_model(tmp_path: Path) -> None:
    overrides = tmp_path / "prices.yaml"
    overrides.write_text("gpt-4o: {output_per_mtok: -1}\n")
    result = CliRunner().invoke(app, ["catalog", "--overrides", str(overrides)])
    assert result.exit_code == 2
    assert "gpt-4o" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_langid_prints_iso639_3() -> None:
    result = CliRunner().invoke(app, ["langid", "यह वाक्य हिंदी में लिखा गया है।"])
    assert result.exit_code == 0
    assert result.output.startswith("hin\t")
