"""The synapse type of each instance in the session store, on SQLite and PostgreSQL: stored
with the instances, changed by one logged edit (one transaction), undone and redone like a
label, refused when it is not a type, and added to a database made before it existed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store import SessionStore
from synanno_dash.data.store_migrations import head_revision
from tests.data.databases import DATABASES, database_url

TYPES = ["excitatory", None, "gap junction"]
ITEMS = [
    instance_for(i, Synapse(i, (10 + i, 10, 3), synapse_type=t), (8, 8, 2))
    for i, t in enumerate(TYPES)
]


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def _types(store: SessionStore, session_id: str) -> list[str | None]:
    return [i.synapse.synapse_type for i in store.instances(session_id)]


def _log(store: SessionStore, session_id: str) -> list[tuple[str, str | None, str | None]]:
    edits = schema.edits.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(edits.kind, edits.field, edits.new_json)
            .where(edits.session_id == session_id)
            .order_by(edits.seq)
        ).all()
    return [(str(k), f, n) for k, f, n in rows]


def test_types_round_trip_and_edits_undo_like_labels(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("s", ITEMS)
    store.replace_instances("other", ITEMS)
    assert _types(store, "s") == TYPES
    changed = store.edit_if_changed("s", 1, synapse_type="Inhibitory ")  # trimmed, lower case
    assert changed.synapse.synapse_type == "inhibitory"
    store.edit_if_changed("s", 1, synapse_type="inhibitory")  # unchanged: nothing logged
    store.edit_if_changed("s", 0, synapse_type=None)  # cleared
    assert _types(store, "s") == [None, "inhibitory", "gap junction"]
    assert _log(store, "s") == [
        ("do", "synapse_type", '{"synapse_type": "inhibitory"}'),
        ("do", "synapse_type", '{"synapse_type": null}'),
    ]
    assert store.undo("s") is not None
    assert _types(store, "s") == ["excitatory", "inhibitory", "gap junction"]
    assert store.undo("s") is not None
    assert _types(store, "s") == TYPES
    redone = store.redo("s")
    assert redone is not None and redone.synapse.synapse_type == "inhibitory"
    assert _types(store, "other") == TYPES  # another session is untouched
    store.engine.dispose()


@pytest.mark.parametrize("bad", ["x" * 33, "tab\there", "untyped", 3.5, ["excitatory"]])
def test_a_value_that_is_no_type_is_refused_and_nothing_changes(db_url: str, bad: object) -> None:
    store = SessionStore(db_url)
    store.replace_instances("s", ITEMS)
    with pytest.raises(ValueError, match="synapse type|reserved"):
        store.edit("s", 0, synapse_type=bad)
    assert _types(store, "s") == TYPES and _log(store, "s") == []
    store.engine.dispose()


def test_an_older_database_gets_the_column(db_url: str) -> None:
    SessionStore(db_url).engine.dispose()
    engine = create_engine(db_url)
    with engine.begin() as conn:  # as the database was before the synapse type (0002)
        conn.execute(text("ALTER TABLE instances DROP COLUMN synapse_type"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0002_reviewer'"))
    assert "synapse_type" not in {c["name"] for c in inspect(engine).get_columns("instances")}
    engine.dispose()
    store = SessionStore(db_url)
    assert store.schema_revision() == head_revision()
    store.replace_instances("s", ITEMS)
    assert _types(store, "s") == TYPES
    store.engine.dispose()
