"""Session databases for tests: a SQLite file, and PostgreSQL when it is reachable.

Each PostgreSQL test gets a schema of its own in the server's database (dropped after), so
tests and engineers sharing one server never see each other's tables. The server is
``SYNANNO_TEST_POSTGRES_URL`` (default: the local one, trust auth, database ``test``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

POSTGRES_URL = os.environ.get(
    "SYNANNO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]'; ./test.sh does)"
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except SQLAlchemyError as exc:
        return (
            f"PostgreSQL is not reachable at {POSTGRES_URL.split('@')[-1]} "
            f"({type(exc.orig or exc).__name__}): start it or set SYNANNO_TEST_POSTGRES_URL"
        )
    return None


def postgres_schema_url() -> Iterator[str]:
    """A URL whose tables live in a fresh schema; the schema is dropped afterwards."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(f"PostgreSQL variant skipped: {reason}")
    schema = f"synanno_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'sessions.db'}"
    else:
        yield from postgres_schema_url()
