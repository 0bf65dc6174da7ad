"""A job's Cancel stops its running queries, on SQLite (the progress handler interrupts the
statement) and PostgreSQL (the server cancels the tagged backend's statement), and no
statement outlives its time limit. The queries would otherwise run for minutes."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from synanno_dash.data.query_guard import (
    QueryCancelled,
    QueryGuard,
    cancel_queries,
    guarded_connect,
)
from tests.data.databases import DATABASES, database_url

JOIN_S = 120  # generous on a shared machine; the queries below take far longer uncancelled
SLOW = {
    # ~10^11 rows: hours
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 100000000000) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(3600)",
}


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    for url in database_url(request.param, tmp_path):
        made = create_engine(url)
        yield made
        made.dispose()


def _run(engine: Engine, guard: QueryGuard, errors: list[BaseException]) -> threading.Thread:
    def work() -> None:
        try:
            with guarded_connect(engine, guard) as conn:
                conn.execute(text(SLOW[engine.dialect.name])).all()
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            errors.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _wait_running(engine: Engine, tag: str, asked: threading.Event) -> None:
    """Until the statement runs: PostgreSQL lists it as active under its tag; SQLite's
    progress handler has asked whether to stop."""
    if engine.dialect.name == "sqlite":
        assert asked.wait(JOIN_S)
        return
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :tag "
        "AND state = 'active' AND query LIKE '%pg_sleep%'"
    )
    for _ in range(JOIN_S * 10):
        with engine.connect() as conn:  # a new transaction: a fresh view of the activity
            if conn.execute(query, {"tag": tag}).scalar():
                return
        threading.Event().wait(0.1)
    raise AssertionError("the guarded statement never showed up as running")


def test_cancel_stops_a_running_query(engine: Engine) -> None:
    stop, asked = threading.Event(), threading.Event()

    def stopped() -> bool:
        asked.set()
        return stop.is_set()

    guard = QueryGuard(f"synanno-test-cancel-{uuid.uuid4().hex[:8]}", stopped)
    errors: list[BaseException] = []
    thread = _run(engine, guard, errors)
    _wait_running(engine, guard.tag, asked)
    stop.set()  # what Cancel does: the stop signal, then the server-side cancel
    asked_backends = cancel_queries(engine, guard.tag)
    thread.join(JOIN_S)
    assert not thread.is_alive(), "the query still runs after Cancel"
    assert len(errors) == 1 and isinstance(errors[0], QueryCancelled), errors
    assert asked_backends == (1 if engine.dialect.name == "postgresql" else 0)
    # the connection went back to the pool as it was: no tag, no time limit
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert conn.execute(text("SHOW application_name")).scalar() != guard.tag
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_a_statement_past_its_time_limit_is_stopped(engine: Engine) -> None:
    errors: list[BaseException] = []
    thread = _run(engine, QueryGuard("synanno-test-timeout", timeout_s=0.5), errors)
    thread.join(JOIN_S)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], QueryCancelled), errors


def test_a_stop_before_the_query_starts_runs_nothing(engine: Engine) -> None:
    with pytest.raises(QueryCancelled), guarded_connect(
        engine, QueryGuard("synanno-test-early", lambda: True)
    ) as conn:
        conn.execute(text("SELECT 1"))


def test_other_connections_are_left_alone(engine: Engine) -> None:
    """Cancel of one tag touches no other statement (another job, a page request)."""
    guard = QueryGuard("synanno-test-other")
    with guarded_connect(engine, guard) as conn:
        assert cancel_queries(engine, "synanno-test-nobody") == 0
        assert conn.execute(text("SELECT 41 + 1")).scalar() == 42


@pytest.mark.parametrize("tag", ["", "x" * 64, "a b", "x'; DROP TABLE t; --"])
def test_tags_are_bounded(tag: str) -> None:
    with pytest.raises(ValueError, match="query tag"):
        QueryGuard(tag)
