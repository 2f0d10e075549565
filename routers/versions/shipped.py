"""The router artifacts costroute ships (built by scripts/build_default_artifacts.py)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

ShippedKind = Literal["knn", "cascade"]


def shipped_artifact(kind: ShippedKind) -> Path:
    """The directory of the shipped `kind` artifact inside the installed `routers` package."""
    return Path(str(resources.files("routers").joinpath(f"data/default_{kind}")))
