"""What the SQLite and PostgreSQL record stores share: the queries and the row mapping.

Each store supplies only `_write(sql, rows)` (one transaction) and `_fetch(sql, params)`;
queries are written with `?` placeholders, which the PostgreSQL store turns into `%s`.
Which label is current is decided in Python by gateway/records/current.py, the same code
the in-process store runs, so every store agrees on it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import orjson

from gateway.records.base import (
    JUDGE_REASON,
    AnswerText,
    Label,
    LabelCounts,
    Outcome,
    PurgeCounts,
    RequestRecord,
    TextVector,
)
from gateway.records.current import current_scores
from gateway.records.retention import vector_keys

REQUEST_COLUMNS = (
    "request_id", "tenant", "created_at", "route", "model", "purpose", "parent_id", "reason",
    "explored", "candidates", "prompt", "answer", "cost_usd", "prompt_tokens",
    "completion_tokens", "language", "status", "artifact_version", "extra",
)
LABEL_COLUMNS = ("request_id", "tenant", "model", "metric", "source", "created_at", "score",
                 "grader", "comment")
LABEL_KEY = "request_id, model, metric, source, created_at"

_REQ = ", ".join(f"r.{c}" for c in REQUEST_COLUMNS)
_LAB = ", ".join(f"l.{c}" for c in LABEL_COLUMNS)

INSERT_REQUEST = (f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) VALUES "
                  f"({', '.join('?' for _ in REQUEST_COLUMNS)}) "
                  "ON CONFLICT (request_id) DO NOTHING")
INSERT_VECTOR = ("INSERT INTO text_vectors (encoder, text_hash, dim, vector, created_at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (encoder, text_hash) DO NOTHING")
# Keys per lookup query: well under SQLite's 999 bound parameters of old builds.
VECTOR_LOOKUP_CHUNK = 500
# Requests per purge transaction: a short write, so the outbox's writes wait little for it,
# and ids bound per DELETE well under SQLite's 999 parameters of old builds.
PURGE_BATCH = 500
INSERT_LABEL = (f"INSERT INTO labels ({', '.join(LABEL_COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in LABEL_COLUMNS)}) ON CONFLICT ({LABEL_KEY}) DO NOTHING")


def request_row(record: RequestRecord) -> tuple[Any, ...]:
    return (record.request_id, record.tenant, record.created_at, record.route, record.model,
            record.purpose, record.parent_id, record.reason, bool(record.explored),
            orjson.dumps([dict(c) for c in record.candidates], default=str).decode(),
            record.prompt, record.answer, record.cost_usd, record.prompt_tokens,
            record.completion_tokens, record.language, record.status, record.artifact_version,
            orjson.dumps(dict(record.extra), default=str).decode())


def label_row(label: Label) -> tuple[Any, ...]:
    return (label.request_id, label.tenant, label.model, label.metric, label.source,
            label.created_at, label.score, label.grader, label.comment)


def record_of(row: Sequence[Any]) -> RequestRecord:
    values = dict(zip(REQUEST_COLUMNS, row, strict=True))
    values["explored"] = bool(values["explored"])
    values["candidates"] = tuple(orjson.loads(values["candidates"] or "[]"))
    values["extra"] = orjson.loads(values["extra"] or "{}")
    return RequestRecord(**values)


def label_of(row: Sequence[Any]) -> Label:
    return Label(**dict(zip(LABEL_COLUMNS, row, strict=True)))


def _roots(tenant: str | None, since: float | None) -> tuple[str, list[Any]]:
    """The WHERE clause over `r`: captured traffic prompts of a tenant, since a time."""
    where = ["r.purpose = 'traffic'", "r.prompt IS NOT NULL"]
    params: list[Any] = []
    if tenant is not None:
        where.append("r.tenant = ?")
        params.append(tenant)
    if since is not None:
        where.append("r.created_at >= ?")
        params.append(since)
    return " AND ".join(where), params


class SqlRecordStore(ABC):
    """A RecordStore over a SQL database (the protocol's methods, on `_write` and `_fetch`)."""

    @abstractmethod
    async def _write(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Runs `sql` once per row, all in one transaction."""

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query."""

    @abstractmethod
    async def _delete(self, statements: Sequence[tuple[str, Sequence[Any]]],
                      dry_run: bool = False) -> list[int]:
        """Runs each (sql, params) in one transaction and returns their row counts; rolls
        the transaction back instead of committing it when `dry_run`."""

    async def write_requests(self, records: Sequence[RequestRecord]) -> None:
        if records:
            await self._write(INSERT_REQUEST, [request_row(r) for r in records])
            await self.write_vectors([r.vector for r in records if r.vector is not None])

    async def write_vectors(self, vectors: Sequence[TextVector]) -> None:
        if vectors:
            now = time.time()
            await self._write(INSERT_VECTOR, [(v.encoder, v.key, v.dim, v.vector, now)
                                              for v in vectors])

    async def vectors(self, encoder: str, keys: Sequence[str]) -> dict[str, TextVector]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, TextVector] = {}
        for start in range(0, len(wanted), VECTOR_LOOKUP_CHUNK):
            chunk = wanted[start:start + VECTOR_LOOKUP_CHUNK]
            rows = await self._fetch(
                "SELECT text_hash, dim, vector FROM text_vectors WHERE encoder = ? AND "
                f"text_hash IN ({', '.join('?' for _ in chunk)})", [encoder, *chunk])
            for key, dim, blob in rows:
                found[str(key)] = TextVector(str(key), encoder, int(dim), bytes(blob))
        return found

    async def write_labels(self, labels: Sequence[Label]) -> None:
        if labels:
            await self._write(INSERT_LABEL, [label_row(x) for x in labels])

    async def get_request(self, tenant: str, request_id: str) -> RequestRecord | None:
        rows = await self._fetch(
            f"SELECT {_REQ} FROM requests r WHERE r.request_id = ? AND r.tenant = ?",
            (request_id, tenant))
        return record_of(rows[0]) if rows else None

    async def label_history(self, tenant: str, request_id: str) -> list[Label]:
        rows = await self._fetch(
            f"SELECT {_LAB} FROM labels l WHERE l.tenant = ? AND l.request_id = ? "
            "ORDER BY l.created_at, l.id", (tenant, request_id))
        return [label_of(row) for row in rows]

    async def outcomes(self, tenant: str | None, *, metric: str = "default",
                       since: float | None = None) -> list[Outcome]:
        where, params = _roots(tenant, since)
        labelled = "EXISTS (SELECT 1 FROM labels x WHERE x.request_id = r.request_id " \
                   "AND x.metric = ?)"
        roots = await self._fetch(
            f"SELECT {_REQ} FROM requests r WHERE {where} AND {labelled} "
            "ORDER BY r.created_at, r.request_id", [*params, metric])
        if not roots:
            return []
        label_rows = await self._fetch(
            f"SELECT {_LAB} FROM labels l JOIN requests r ON r.request_id = l.request_id "
            f"WHERE {where} AND l.metric = ?", [*params, metric])
        shadow_rows = await self._fetch(
            "SELECT c.parent_id, c.model, c.cost_usd FROM requests c "
            f"JOIN requests r ON r.request_id = c.parent_id WHERE {where} AND c.reason <> ?",
            [*params, JUDGE_REASON])
        labels: dict[str, list[Label]] = {}
        for row in label_rows:
            label = label_of(row)
            labels.setdefault(label.request_id, []).append(label)
        costs: dict[str, dict[str, float]] = {}
        for parent, model, cost in shadow_rows:
            costs.setdefault(parent, {})[model] = float(cost)
        out = []
        for row in roots:
            record = record_of(row)
            own = costs.setdefault(record.request_id, {})
            own[record.model] = record.cost_usd
            out.append(Outcome(record.request_id, record.tenant, record.created_at,
                               record.route, record.prompt or "",
                               current_scores(labels.get(record.request_id, [])), own))
        return out

    async def answers(self, tenant: str | None, *,
                      since: float | None = None) -> list[AnswerText]:
        where, params = _roots(tenant, since)
        # The served answers, then the shadow answers of the same roots (parent_id is indexed).
        rows = await self._fetch(
            f"SELECT r.request_id, r.model, r.answer, r.created_at FROM requests r WHERE {where} "
            "UNION ALL "
            "SELECT c.parent_id, c.model, c.answer, c.created_at FROM requests c "
            f"JOIN requests r ON r.request_id = c.parent_id WHERE {where} "
            "AND c.purpose = 'learning' AND c.reason <> ?", [*params, *params, JUDGE_REASON])
        out = [AnswerText(str(rid), str(model), answer, float(at))
               for rid, model, answer, at in rows]
        return sorted(out, key=lambda a: (a.created_at, a.request_id, a.model))

    async def purge(self, before: float, tenant: str | None = None, *,
                    dry_run: bool = False) -> PurgeCounts:
        where = "created_at < ?" if tenant is None else "created_at < ? AND tenant = ?"
        params: list[Any] = [before] if tenant is None else [before, tenant]
        requests = labels = vectors = 0
        seen: set[str] = set()  # a dry run deletes nothing: count each vector key once
        after = ""
        while True:
            # Keyset pages by request id: memory and each transaction stay small.
            rows = await self._fetch(
                f"SELECT request_id, prompt, answer FROM requests WHERE {where} AND "
                f"request_id > ? ORDER BY request_id LIMIT {PURGE_BATCH}", [*params, after])
            if not rows:
                break
            after = str(rows[-1][0])
            ids = [str(row[0]) for row in rows]
            keys = sorted(vector_keys(text for row in rows for text in row[1:]) - seen)
            if dry_run:
                seen.update(keys)
            marks = ", ".join("?" for _ in ids)
            statements: list[tuple[str, Sequence[Any]]] = [
                (f"DELETE FROM labels WHERE request_id IN ({marks})", ids),
                (f"DELETE FROM requests WHERE request_id IN ({marks})", ids)]
            for start in range(0, len(keys), VECTOR_LOOKUP_CHUNK):
                chunk = keys[start:start + VECTOR_LOOKUP_CHUNK]
                marks_k = ", ".join("?" for _ in chunk)
                statements.append((f"DELETE FROM text_vectors WHERE text_hash IN ({marks_k})",
                                   chunk))
            counted = await self._delete(statements, dry_run)
            labels, requests = labels + counted[0], requests + counted[1]
            vectors += sum(counted[2:])
            if len(rows) < PURGE_BATCH:
                break
        # Labels whose request was never stored (its write dropped) age out on their own.
        orphans = ("(SELECT 1 FROM requests r WHERE r.request_id = labels.request_id)")
        tail: list[tuple[str, Sequence[Any]]] = [
            (f"DELETE FROM labels WHERE {where} AND NOT EXISTS {orphans}", params)]
        if tenant is None:
            # In a dry run these may include keys counted above: an upper bound.
            tail.append(("DELETE FROM text_vectors WHERE created_at < ?", [before]))
        counted = await self._delete(tail, dry_run)
        return PurgeCounts(requests, labels + counted[0], vectors + sum(counted[1:]))

    async def counts(self, tenant: str | None) -> LabelCounts:
        where, params = ("WHERE tenant = ?", [tenant]) if tenant is not None else ("", [])
        traffic = "purpose = 'traffic'"
        rows = await self._fetch(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN prompt IS NULL THEN 0 ELSE 1 END), 0) "
            f"FROM requests {where + ' AND ' if where else 'WHERE '}{traffic}", params)
        requests, captured = rows[0]
        # A label re-given (a client's later rating) is counted once: its current value.
        current = ("SELECT DISTINCT request_id, model, metric, source FROM labels "
                   f"{where}")

        async def grouped(column: str, source: str) -> dict[str, int]:
            found = await self._fetch(f"SELECT {column}, COUNT(*) FROM ({source}) k "
                                      "GROUP BY 1", params)
            # A label of a request not (yet) stored has no route: "?" as in the memory store.
            return {"?" if key is None else str(key): int(n) for key, n in found}

        by_route_source = (
            "SELECT r.route AS route FROM "
            f"({current}) k2 LEFT JOIN requests r ON r.request_id = k2.request_id")
        return LabelCounts(
            requests=int(requests), captured=int(captured),
            labels_by_model=await grouped("model", current),
            labels_by_route=await grouped("route", by_route_source),
            labels_by_source=await grouped("source", current),
        )
