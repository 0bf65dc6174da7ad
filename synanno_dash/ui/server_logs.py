"""Structured logs of the served app: one JSON object per line on stderr.

- Access log: one line per request (``"event": "request"``) with method, path, status,
  duration in ms, bytes sent, client address, the worker's pid and a short hash of the
  session cookie (never the cookie itself), so one browser's requests can be followed across
  workers.
- Error log: gunicorn's own messages and the app's log records (``"event": "log"``), each with
  its level and logger; a traceback is one escaped string in ``"error"``, so it stays on one
  line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

from synanno_dash.ui.session import COOKIE


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line; ``extra={"fields": {...}}`` adds fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", None) or {}
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "event": fields.get("event", "log"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        if not fields:
            entry["message"] = record.getMessage()
        entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def use_json_logs(level: int = logging.INFO) -> None:
    """Send every log record of this process (and the workers it forks) as JSON to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic says "Context impl ..." whenever a store checks its revision; migrations that
    # run are logged by data.store_migrations.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def session_hash(cookie_header: str) -> str | None:
    """A short, one-way name of the session cookie in a ``Cookie`` header."""
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return hashlib.sha256(value.encode()).hexdigest()[:12]
    return None


def access_fields(status: int, environ: dict[str, Any], duration: timedelta,
                  sent_bytes: int | None) -> dict[str, Any]:  # fmt: skip
    return {
        "event": "request",
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": environ.get("QUERY_STRING") or None,
        "status": status,
        "ms": round(duration.total_seconds() * 1000, 2),
        "bytes": sent_bytes,
        "remote": environ.get("REMOTE_ADDR"),
        "session": session_hash(environ.get("HTTP_COOKIE", "")),
    }


class JsonGunicornLogger(GunicornLogger):
    """gunicorn's logger with JSON lines for its error log and one JSON line per request."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in [*self.error_log.handlers, *self.access_log.handlers]:
            handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.cfg.accesslog:
            return
        status = getattr(resp, "status_code", None) or int(str(resp.status).split()[0])
        fields = access_fields(status, environ, request_time, getattr(resp, "sent", None))
        self.access_log.info("request", extra={"fields": fields})
