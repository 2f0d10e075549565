"""Fixtures for the routing-dataset tests: the shared reference data, skipped if absent."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def routing_data() -> Path:
    """`../shared/data/routing` relative to the repo root; skips when it is not there."""
    path = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "routing"
    if not path.is_dir():
        pytest.skip("shared reference data not available")
    return path
