"""Where costroute keeps its files when the config names none: one place for every command."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "COSTROUTE_DATA_DIR"


def data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "costroute"
