"""Schema migrations (Alembic) of the session store, on SQLite and on PostgreSQL: a fresh
database gets the schema the code describes, a database made before Alembic is upgraded
keeping every row, and several processes opening a fresh database at once all succeed."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, func, insert, inspect, select

from synanno_dash.core.labels import Label
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store import SessionStore
from synanno_dash.data.store_migrations import head_revision
from tests.data.databases import DATABASES, database_url

PROCESSES = 6


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), schema.metadata))


def test_a_fresh_database_gets_the_schema_the_code_describes(db_url: str) -> None:
    store = SessionStore(db_url)
    assert store.schema_revision() == head_revision()
    assert _differences(store.engine) == []
    store.engine.dispose()


def _old_database(url: str, without: tuple[str, ...] = (), indexes_dropped: bool = False) -> None:
    """A database as the code before Alembic made it (``metadata.create_all``), holding one
    session with rows in every table; ``without`` leaves out tables that older code lacked."""
    engine = create_engine(url)
    tables = [t for t in schema.metadata.sorted_tables if t.name not in without]
    schema.metadata.create_all(engine, tables=tables)
    with engine.begin() as conn:
        if indexes_dropped:
            for index in schema.STATS_INDEXES:
                index.drop(conn)
        conn.execute(insert(schema.sessions).values(
            session_id="old", created_at=1.0, updated_at=2.0, config_json=None, state_json="{}"))
        conn.execute(insert(schema.instances), [
            dict(session_id="old", instance_id=i, materialization_index=i, center_xyz_vx="[1,2,3]",
                 bbox_target_vx="[0,0,0,4,4,4]", label="incorrect" if i % 2 else "correct",
                 seen=True, category=None, custom_category="", note=f"note {i}", discarded=False,
                 extra_json="{}", updated_at=3.0, pre_neuron_id="864691135000000123")
            for i in range(5)
        ])
        conn.execute(insert(schema.edits).values(
            session_id="old", instance_id=1, kind="do", field="label", old_json='{"label": '
            '"correct"}', new_json='{"label": "incorrect"}', ref_seq=None, at=4.0))
        conn.execute(insert(schema.masks).values(
            session_id="old", instance_id=1, z_index=2, mask_npy=b"\x93NUMPY", updated_at=5.0))
        if "seen_events" not in without:
            conn.execute(insert(schema.seen_events).values(session_id="old", instance_id=1, at=6.0))
    engine.dispose()  # fmt: skip


def _row_counts(engine: Engine) -> dict[str, int]:
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in schema.metadata.sorted_tables if t.name in present}  # fmt: skip


@pytest.mark.parametrize("older", ["current code", "before seen_events, data_tokens, indexes"])
def test_a_database_made_before_alembic_is_upgraded_keeping_every_row(
    db_url: str, older: str
) -> None:
    if older == "current code":
        _old_database(db_url)
    else:
        _old_database(db_url, without=("seen_events", "data_tokens"), indexes_dropped=True)
    engine = create_engine(db_url)
    before = _row_counts(engine)
    engine.dispose()
    assert before["instances"] == 5 and before["edits"] == 1 and before["masks"] == 1
    store = SessionStore(db_url)
    after = _row_counts(store.engine)
    assert {name: after[name] for name in before} == before
    assert store.schema_revision() == head_revision()
    assert _differences(store.engine) == []
    labels = [item.label for item in store.instances("old")]
    assert labels == [Label.CORRECT, Label.INCORRECT] * 2 + [Label.CORRECT]
    assert store.instance("old", 3).note == "note 3"
    assert store.instance("old", 0).synapse.pre_neuron_id == 864691135000000123
    assert store.cycle_label("old", 0).label is Label.INCORRECT  # and it goes on working
    store.engine.dispose()
    again = SessionStore(db_url)  # a second start finds it done
    assert _row_counts(again.engine)["edits"] == 2
    again.engine.dispose()


def _open_after(barrier, url: str, results) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    try:
        SessionStore(url).engine.dispose()
        results.put("ok")
    except Exception as exc:  # reported to the test, which fails on it
        results.put(f"{type(exc).__name__}: {exc}")


def test_several_processes_opening_a_fresh_database_at_once_all_succeed(db_url: str) -> None:
    """Issue 12: 4 gunicorn workers on an empty PostgreSQL raced creating the tables and some
    failed to start. Now one migrates under the lock and the others find the schema made."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [context.Process(target=_open_after, args=(barrier, db_url, results))
                 for _ in range(PROCESSES)]  # fmt: skip
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert outcomes == ["ok"] * PROCESSES
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar_one() == 1
    assert _differences(engine) == []
    engine.dispose()
