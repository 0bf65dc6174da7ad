"""Queries that a background job's Cancel stops while they run, on SQLite and PostgreSQL.

A job opens its connections with ``guarded_connect(engine, guard)``:

- PostgreSQL: the connection carries the job's ``tag`` as its ``application_name`` and a
  ``statement_timeout`` (both ``SET LOCAL``: they end with the transaction, so a pooled
  connection goes back as it was). ``cancel_queries(engine, tag)``, called by the process
  that handles Cancel, asks the server to cancel the statements of every backend with that
  tag (``pg_cancel_backend``), so a query stops even when the job's process is killed
  first (the server would otherwise run it to its end).
- SQLite: the query runs inside the job's process; a progress handler asks
  ``guard.stopped()`` every ``PROGRESS_OPCODES`` virtual-machine steps (at most every
  ``STOP_POLL_S``) and interrupts the statement when it says so, and when the statement
  has run longer than the timeout.

Either way the query fails with ``QueryCancelled``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

PROGRESS_OPCODES = 20_000
STOP_POLL_S = 0.1
DEFAULT_TIMEOUT_S = 600.0
_TAG = re.compile(r"^[A-Za-z0-9_.:-]{1,63}$")  # fits application_name (NAMEDATALEN - 1)


class QueryCancelled(RuntimeError):
    """A guarded query was stopped: cancelled by the user, or past its time limit."""


def _never() -> bool:
    return False


@dataclass(frozen=True)
class QueryGuard:
    """How a job's queries may be stopped: ``tag`` names its connections (letters, digits
    and ``_.:-``, at most 63), ``stopped()`` says whether Cancel was pressed, and no
    statement runs longer than ``timeout_s``."""

    tag: str
    stopped: Callable[[], bool] = _never
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not _TAG.match(self.tag):
            raise ValueError(f"a query tag is 1 to 63 of A-Z a-z 0-9 _ . : - (got {self.tag!r})")
        if not 0 < self.timeout_s <= 24 * 3600:
            raise ValueError(f"a query timeout is 0 to 86400 s (got {self.timeout_s})")


@contextmanager
def guarded_connect(engine: Engine, guard: QueryGuard | None) -> Iterator[Connection]:
    """``engine.connect()`` whose statements ``guard`` can stop (module notes); a plain
    connection without a guard. A stopped statement raises ``QueryCancelled``."""
    with engine.connect() as conn:
        if guard is None:
            yield conn
            return
        if guard.stopped():
            raise QueryCancelled("stopped before the query started")
        try:
            if conn.dialect.name == "postgresql":
                _tag_postgres(conn, guard)
                yield conn
            else:
                with _sqlite_handler(conn, guard):
                    yield conn
        except DBAPIError as exc:
            if _was_cancelled(exc):
                raise QueryCancelled(str(exc.orig).strip().splitlines()[0]) from exc
            raise


def _tag_postgres(conn: Connection, guard: QueryGuard) -> None:
    timeout_ms = max(1, int(guard.timeout_s * 1000))
    conn.execute(text("SELECT set_config('application_name', :tag, true)"), {"tag": guard.tag})
    conn.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))


@contextmanager
def _sqlite_handler(conn: Connection, guard: QueryGuard) -> Iterator[None]:
    raw: Any = conn.connection.driver_connection
    started = time.monotonic()
    last = [started]

    def check() -> int:
        now = time.monotonic()
        if now - last[0] < STOP_POLL_S:
            return 0
        last[0] = now
        return int(guard.stopped() or now - started > guard.timeout_s)

    raw.set_progress_handler(check, PROGRESS_OPCODES)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def _was_cancelled(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code == "57014" or "interrupted" in message or "canceling statement" in message


def cancel_queries(engine: Engine, tag: str) -> int:
    """Cancel the running statements of the connections tagged ``tag`` (PostgreSQL; on
    SQLite the job's own progress handler stops them). Returns how many were asked."""
    if engine.dialect.name != "postgresql" or not _TAG.match(tag):
        return 0
    query = text(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = :tag AND pid <> pg_backend_pid()"
    )
    with engine.connect() as conn:
        asked = len(conn.execute(query, {"tag": tag}).all())
        conn.commit()
    return asked
