"""Health and readiness of one app process (``/healthz``, ``/readyz``), and the messages a
user sees while the session database is down or the data folder's disk is full.

- Health: the session database answers a query, and the data folder is a writable folder.
  Each check is named; a failing one says what failed and how to fix it, never a password
  (database URLs are not quoted) nor file contents.
- A full disk (the data folder's, or the database server's) is its own answer: SQLite's
  "database or disk is full", PostgreSQL's disk-full state, an ``OSError`` with ``ENOSPC`` or
  ``EDQUOT``. Nothing acknowledged is lost (the failing transaction rolls back) and the app
  carries on by itself once space is freed; ``/healthz`` fails ``data`` below
  ``LOW_DISK_BYTES`` free.
- Readiness: the database answers and its schema is at the newest migration, so this process
  can serve requests (a load balancer sends traffic only then).
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError

from synanno_dash.data.store_migrations import head_revision
from synanno_dash.services.context import AppContext

# Errors that mean "the database cannot be reached now" (server down, restarting, network).
DATABASE_DOWN_ERRORS: tuple[type[Exception], ...] = (OperationalError,)
DATABASE_DOWN_MESSAGE = (
    "The session database is not reachable right now, so this change was not saved. "
    "Nothing saved earlier is lost: try again in a moment (the app reconnects by itself)."
)

DISK_FULL_MESSAGE = (
    "The server's disk is full, so this change was not saved. Nothing saved earlier is lost: "
    "try again once the people who host this instance have freed space in its data folder "
    "(the app carries on by itself)."
)
# Below this much free space in the data folder, /healthz reports "data" as failing.
LOW_DISK_BYTES = 8 * 1024**2
_SQLITE_FULL = 13  # sqlite3's SQLITE_FULL result code
_POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "failing",
            "failing": [check.name for check in self.checks if not check.ok],
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
            "pid": os.getpid(),
        }


def database_down(error: BaseException) -> bool:
    """Whether ``error`` means the database is unreachable (not a bug in a query)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, DATABASE_DOWN_ERRORS)


def disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means a disk has no space left."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == _POSTGRES_DISK_FULL:
            return True
        if "database or disk is full" in str(current):
            return True
        cause = getattr(current, "orig", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return False


def _reason(error: Exception) -> str:
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first_line}"


def database_check(resources: AppContext) -> Check:
    try:
        resources.store.ping()
    except Exception as exc:  # any failure here is the answer, not a crash
        return Check(
            "database", False,
            f"not reachable ({_reason(exc)}); check that the database server runs and "
            "that SYNANNO_DATABASE_URL names it",
        )  # fmt: skip
    return Check("database", True, f"reachable ({resources.store.engine.dialect.name})")


def data_check(resources: AppContext) -> Check:
    folder = resources.settings.data_dir
    if not folder.is_dir():
        return Check("data", False, "the data folder is missing; check SYNANNO_DATA_DIR")
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return Check("data", False, "the data folder is not readable and writable by the app")
    free_bytes = shutil.disk_usage(folder).free
    free_mb = free_bytes // 1024**2
    if free_bytes < LOW_DISK_BYTES:
        return Check(
            "data", False,
            f"the data folder's disk is full ({free_mb} MB free, less than "
            f"{LOW_DISK_BYTES // 1024**2} MB); free space there (old exports, jobs/, tables/)",
        )  # fmt: skip
    return Check("data", True, f"readable and writable, {free_mb} MB free")


def health(resources: AppContext) -> Report:
    return Report((database_check(resources), data_check(resources)))


def readiness(resources: AppContext) -> Report:
    database = database_check(resources)
    if not database.ok:
        return Report((database,))
    try:
        revision = resources.store.schema_revision()
    except Exception as exc:
        return Report((Check("schema", False, f"unreadable ({_reason(exc)})"),))
    head = head_revision()
    schema = Check(
        "schema", revision == head,
        f"at {revision}" if revision == head else f"at {revision}, not yet at {head}",
    )  # fmt: skip
    return Report((database, schema))
