"""One JSON object per log line, with the request's structured fields at top level."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson


class JsonFormatter(logging.Formatter):
    """One line per record; the time's date part is formatted once per second (the access
    log writes a line per request, and strftime was most of its cost)."""

    _second = -1
    _prefix = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        return self.timestamp(record.created)

    def timestamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class JsonLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that can also write a line of fields without a LogRecord.

    The access log writes one line per request; a LogRecord (thread, process and
    multiprocessing lookups), the handler's filters and `format` cost more CPU than the rest
    of the line. `write_fields` writes the same JSON object `JsonFormatter` would, flushed
    as each line is, under the same lock."""

    def __init__(self, stream: Any, formatter: JsonFormatter):
        super().__init__(stream)
        self.setFormatter(formatter)
        self.json = formatter

    def write_fields(self, level: str, logger: str, msg: str, fields: dict[str, Any]) -> None:
        out = {"ts": self.json.timestamp(time.time()), "level": level, "logger": logger,
               "msg": msg, **fields}
        line = orjson.dumps(out, default=str).decode() + self.terminator
        with self.lock:  # type: ignore[union-attr]
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError):
                pass  # as Handler.handleError: a broken stderr must not fail a request


def log_fields(logger: logging.Logger, msg: str, fields: dict[str, Any]) -> None:
    """`logger.info(msg, extra={"fields": fields})`, fast when only our handler listens."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _only_json_handler(logger)
    if handler is None:
        logger.info(msg, extra={"fields": fields})
    else:
        handler.write_fields("info", logger.name, msg, fields)


def _only_json_handler(logger: logging.Logger) -> JsonLineHandler | None:
    """The one handler a record from `logger` would reach, if it is a JsonLineHandler with
    no filters anywhere on the way (else the caller takes the standard path)."""
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        found.extend(current.handlers)
        if not current.propagate:
            break
        current = current.parent
    if len(found) != 1 or not isinstance(found[0], JsonLineHandler) or found[0].filters:
        return None
    handler = found[0]
    return handler if handler.level <= logging.INFO else None


def configure_logging(level: str = "info") -> None:
    handler = JsonLineHandler(sys.stderr, JsonFormatter())
    root = logging.getLogger("costroute")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
