"""Session databases for tests: a SQLite file, and PostgreSQL when it is reachable.

Each PostgreSQL test gets a schema of its own in the server's database (dropped after), so
tests and engineers sharing one server never see each other's tables. The server is
``SYNANNO_TEST_POSTGRES_URL``, else the local one (trust auth, database ``test``) as user
``root`` or ``postgres``. When none answers, the PostgreSQL variants are skipped with the
reason (``./test.sh`` starts or installs a server first, so there they run).
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

DATABASES = ("sqlite", "postgresql")
CANDIDATE_URLS = tuple(
    filter(None, (
        os.environ.get("SYNANNO_TEST_POSTGRES_URL", ""),
        "postgresql+psycopg://root@127.0.0.1:5432/test",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    ))
)  # fmt: skip


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@cache
def postgres_server() -> tuple[str | None, str]:
    """(the first reachable server URL, or None; why none is reachable)."""
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed (pip install 'psycopg[binary]'; ./test.sh does)"
    errors = []
    for url in CANDIDATE_URLS:
        try:
            psycopg.connect(_dsn(url), connect_timeout=3).close()
        except psycopg.Error as exc:
            errors.append(f"{url.split('://')[-1]}: {(str(exc).strip().splitlines() or [''])[0]}")
            continue
        return url, ""
    return None, (
        "no PostgreSQL server reachable (./test.sh starts one, or set "
        f"SYNANNO_TEST_POSTGRES_URL): {'; '.join(errors)}"
    )


def schema_url(server: str, schema: str) -> str:
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}"


def postgres_schema_url() -> Iterator[str]:
    """A URL whose tables live in a fresh schema; the schema is dropped afterwards."""
    import psycopg

    server, reason = postgres_server()
    if server is None:
        pytest.skip(f"PostgreSQL variant skipped: {reason}")
    schema = f"synanno_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_dsn(server), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(server, schema)
    finally:
        gc.collect()  # engines the test dropped close their connections
        with psycopg.connect(_dsn(server), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'sessions.db'}"
    else:
        yield from postgres_schema_url()
