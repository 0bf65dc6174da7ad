"""Schema migrations of the session store (Alembic), run once when a store is opened.

- ``migrate(engine)`` brings a database to the newest revision (``migrations/versions``):
  a fresh one gets every table, one made before Alembic (by ``metadata.create_all``) gets
  what it lacks and keeps its rows, an up-to-date one is left alone after one quick query.
- Several processes may start at once (gunicorn workers, a Celery worker): the upgrade runs
  under a lock, so exactly one of them changes the schema and the others then find it done.
  PostgreSQL: a transaction-level advisory lock keyed by the current schema, taken in the
  same transaction as the migration (PostgreSQL's DDL is transactional). SQLite: a lock file
  beside the database file.
- A new revision: add ``migrations/versions/NNNN_name.py`` with ``revision`` and
  ``down_revision`` (the previous one) and plain Alembic operations (see docs/hosting.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_TIMEOUT_S = 120  # another process migrating for longer than this is stuck
# pg_advisory_xact_lock key: one per schema, so separate schemas (tests) never wait on each other
_PG_LOCK = "SELECT pg_advisory_xact_lock(hashtext('synanno_dash migrate ' || current_schema()))"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: fresh, or made before Alembic)."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema; safe when several processes start at once."""
    head = head_revision()
    if schema_revision(engine) == head:
        return
    with _migration_lock(engine) as conn:
        found = current_revision(conn)
        if found != head:  # another process may have done it meanwhile
            log.warning("migrating the session database from %s to %s", found or "nothing", head)
            command.upgrade(alembic_config(conn), "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only one process at a time holds (see above)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(_PG_LOCK))
            yield conn
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        with FileLock(f"{database}.migrate-lock", timeout=LOCK_TIMEOUT_S), engine.begin() as conn:
            yield conn
        return
    with engine.begin() as conn:
        yield conn
