"""The session store's database engine: SQLite pragmas, PostgreSQL connection options, and
the schema brought up to date (``data.store_migrations``) before first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from synanno_dash.data.store_migrations import migrate

CONNECT_TIMEOUT_S = 5  # PostgreSQL: how long a request waits for a server that is down


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers and the single writer of several workers proceed together.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def open_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if database_url.startswith("postgresql"):
        # Pre-ping: after the server restarted, a pooled connection is replaced instead of
        # failing a request. The timeout bounds how long a request waits for a down server.
        options = {"pool_pre_ping": True, "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    engine = create_engine(database_url, future=True, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return engine
