"""gateway.yaml's `records:`: which store each kind opens, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from gateway.config import ConfigError, RecordsConfig, parse_config
from gateway.records.factory import open_records
from gateway.records.memory import MemoryRecordStore
from gateway.records.postgres import PostgresRecordStore
from gateway.records.sqlite import SQLiteRecordStore

MODELS = [{"name": "m", "upstream": {"base_url": "http://127.0.0.1:9/v1"}}]


def test_the_default_is_sqlite_in_the_data_directory_created_on_first_use(tmp_path: Path) -> None:
    store, outbox = open_records(RecordsConfig(), CollectorRegistry(), tmp_path)
    assert isinstance(store, SQLiteRecordStore) and outbox is not None
    assert store.path == tmp_path / "records.sqlite3" and not store.path.exists()


def test_each_kind(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    assert open_records(RecordsConfig(kind="none"), registry) == (None, None)
    memory, _ = open_records(RecordsConfig(kind="memory"), registry)
    assert isinstance(memory, MemoryRecordStore)
    pg, outbox = open_records(RecordsConfig(kind="postgres", url="postgresql://h/db",
                                            outbox_capacity=5), CollectorRegistry())
    assert isinstance(pg, PostgresRecordStore) and outbox is not None and outbox.capacity == 5
    with pytest.raises(ConfigError, match="needs `path`"):
        open_records(RecordsConfig(kind="sqlite"), CollectorRegistry(), None)


@pytest.mark.parametrize(("records", "message"), [
    ({"kind": "postgres"}, "needs `url`"), ({"kind": "mongo"}, "records.kind"),
    ({"outbox_capacity": 0}, "outbox_capacity"), ({"pth": "x"}, "records.pth"),
])
def test_bad_records_config_is_a_clear_error(records: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"models": MODELS, "records": records})
