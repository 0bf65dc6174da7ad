"""The reviewer recorded with every decision in the edit log (issue 12, item 6), on SQLite
and PostgreSQL (where a label click is one statement: its log row too), and the column added
to a database made before it existed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.core.labels import Label
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store import SessionStore
from tests.data.databases import database_url

ITEMS = [instance_for(i, Synapse(i, (10 + i, 10, 3)), (8, 8, 2)) for i in range(3)]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def _log(store: SessionStore, session_id: str) -> list[tuple[str, str | None]]:
    edits = schema.edits.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(edits.kind, edits.reviewer)
            .where(edits.session_id == session_id)
            .order_by(edits.seq)
        ).all()
    return [(str(kind), reviewer) for kind, reviewer in rows]


def test_every_logged_decision_names_its_reviewer(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("s1", ITEMS)
    store.replace_instances("s2", ITEMS)
    store.set_reviewer("s1", "Ada Lovelace")
    assert store.reviewer("s1") == "Ada Lovelace" and store.reviewer("s2") == ""
    store.cycle_label("s1", 0)  # a click (one statement on PostgreSQL)
    store.edit_if_changed("s1", 1, label=Label.UNSURE)  # a key or a card
    store.edit("s1", 2, note="membrane only")
    store.undo("s1")
    store.cycle_label("s2", 0)  # another session, no reviewer given
    store.set_reviewer("s1", "Grace Hopper")  # a new Submit: later decisions are Grace's
    store.redo("s1")
    assert _log(store, "s1") == [
        ("do", "Ada Lovelace"), ("do", "Ada Lovelace"), ("do", "Ada Lovelace"),
        ("undo", "Ada Lovelace"), ("redo", "Grace Hopper"),
    ]  # fmt: skip
    assert _log(store, "s2") == [("do", None)]
    store.engine.dispose()


def test_an_older_database_gets_the_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    SessionStore(url).engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # as the database was before the reviewer existed (0001)
        conn.execute(text("ALTER TABLE edits DROP COLUMN reviewer"))
        conn.execute(text("ALTER TABLE sessions DROP COLUMN reviewer"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0001_baseline'"))
    assert "reviewer" not in {c["name"] for c in inspect(engine).get_columns("edits")}
    engine.dispose()
    store = SessionStore(url)
    store.replace_instances("s", ITEMS)
    store.set_reviewer("s", "Ada")
    store.cycle_label("s", 0)
    assert _log(store, "s") == [("do", "Ada")]
