"""Opening the records store that gateway.yaml's `records:` names, with its outbox."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from gateway.config import ConfigError, RecordsConfig
from gateway.records.base import RecordStore
from gateway.records.outbox import RecordOutbox
from gateway.records.outbox_metrics import OutboxMetrics

DEFAULT_FILE = "records.sqlite3"


def open_record_store(settings: RecordsConfig, default_dir: Path | None = None) -> RecordStore | None:
    """The store; nothing is connected or created until its first use. None for `none`."""
    if settings.kind == "none":
        return None
    if settings.kind == "memory":
        from gateway.records.memory import MemoryRecordStore

        return MemoryRecordStore()
    if settings.kind == "postgres":
        from gateway.records.postgres import PostgresRecordStore

        assert settings.url is not None  # RecordsConfig checks it
        return PostgresRecordStore(settings.url, **_spend_retention(settings))
    from gateway.records.sqlite import SQLiteRecordStore

    if settings.path:
        path = Path(settings.path)
    elif default_dir is None:
        raise ConfigError("records: kind `sqlite` needs `path`")
    else:
        path = default_dir / DEFAULT_FILE
    return SQLiteRecordStore(path, **_spend_retention(settings))


def _spend_retention(settings: RecordsConfig) -> dict[str, float | None]:
    return {"spend_retention_days": settings.spend_retention_days,
            "spend_hourly_retention_days": settings.spend_hourly_retention_days}


def open_records(settings: RecordsConfig, registry: CollectorRegistry,
                 default_dir: Path | None = None) -> tuple[RecordStore | None, RecordOutbox | None]:
    """The store and the outbox in front of it (its metrics on `registry`)."""
    store = open_record_store(settings, default_dir)
    if store is None:
        return None, None
    outbox = RecordOutbox(store, capacity=settings.outbox_capacity,
                          metrics=OutboxMetrics(registry))
    return store, outbox
