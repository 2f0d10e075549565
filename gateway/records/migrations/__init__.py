"""Versioned schema migrations of the records store, one numbered SQL file per dialect.

    migrations/sqlite/0001_records.sql, migrations/postgres/0001_records.sql, ...

`NNNN_name.sql` is version NNNN. A store applies, on open, every version above the highest
one in its `schema_version` table, in order, in one transaction taken under a lock, so two
replicas starting at once apply each version exactly once: SQLite's `BEGIN IMMEDIATE` (one
writer), PostgreSQL's transaction-scoped advisory lock. A file is never edited once shipped;
a change is a new file (0002_spend.sql added spend history, 0004_spend_hourly.sql its hourly totals, 0003_artifacts.sql the artifact registry, 0005_text_vectors.sql stored prompt vectors, 0006_spend_purged.sql how far spend history was purged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

Dialect = Literal["sqlite", "postgres"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file's statements; our files hold no `;` inside a statement (no triggers)."""
        lines = [ln for ln in self.sql.splitlines() if not ln.lstrip().startswith("--")]
        return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def migrations(dialect: Dialect) -> list[Migration]:
    """Every migration of `dialect`, oldest first."""
    folder = resources.files(__package__).joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2),
                                   entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"records migrations: a version repeats in {dialect}: {versions}")
    return found


def latest_version(dialect: Dialect) -> int:
    return max((m.version for m in migrations(dialect)), default=0)
