from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.core.labels import Category, Label
from synanno_dash.data.store import SessionStore, StoreError
from tests.data.databases import DATABASES, database_url

BIG_ID = 864691135000000123


def _items(n: int = 3) -> list:
    return [
        instance_for(
            i,
            Synapse(i * 10, (100 + i, 200, 5), (98 + i, 200, 5), None, BIG_ID, BIG_ID + i),
            (64, 64, 6),
        )
        for i in range(n)
    ]


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test here runs on SQLite and on PostgreSQL (a schema of its own)."""
    yield from database_url(request.param, tmp_path)


def test_instances_round_trip_exactly(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("a", _items())
    back = store.instances("a")
    assert [b.synapse for b in back] == [i.synapse for i in _items()]
    assert back[2].synapse.post_neuron_id == BIG_ID + 2
    assert back[0].synapse.post_xyz_vx is None


def test_sessions_are_isolated_and_reset_only_one(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("a", _items())
    store.replace_instances("b", _items(2))
    store.edit("a", 0, label=Label.INCORRECT)
    assert store.instance("b", 0).label is Label.CORRECT
    store.reset_session("a")
    assert store.instances("a") == []
    assert len(store.instances("b")) == 2


def test_edits_survive_a_restart_with_undo_redo(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("a", _items())
    store.edit("a", 1, label=Label.INCORRECT)
    store.edit("a", 1, category=Category.FALSE_POSITIVE, custom_category="")
    store.edit("a", 2, label=Label.UNSURE)
    store.update_state("a", page=2)
    restarted = SessionStore(db_url)
    assert restarted.get_state("a")["page"] == 2
    assert restarted.instance("a", 2).label is Label.UNSURE
    assert restarted.undo("a").label is Label.CORRECT  # type: ignore[union-attr]
    assert restarted.undo("a").category is None  # type: ignore[union-attr]
    assert restarted.redo("a").category is Category.FALSE_POSITIVE  # type: ignore[union-attr]
    # a new edit clears the redo stack
    restarted.edit("a", 0, label=Label.UNSURE)
    assert restarted.redo("a") is None
    assert restarted.can_undo_redo("a") == (True, False)
    kinds = [row["kind"] for row in restarted.history("a")]
    assert kinds == ["do", "do", "do", "undo", "undo", "redo", "do"]


def test_counts_and_seen(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("a", _items())
    store.mark_seen("a", [0, 1])
    store.edit("a", 0, label=Label.INCORRECT)
    assert store.counts("a") == {"total": 3, "seen": 2, "correct": 2, "incorrect": 1, "unsure": 0}


def test_edit_rejects_unknown_fields_and_instances(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("a", _items())
    with pytest.raises(StoreError):
        store.edit("a", 0, materialization_index=5)
    with pytest.raises(StoreError):
        store.edit("a", 99, label=Label.INCORRECT)


def test_mask_slices(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("a", _items())
    store.save_mask_slice("a", 0, 3, b"one")
    store.save_mask_slice("a", 0, 3, b"two")
    assert store.mask_slices("a", 0) == {3: b"two"}


def _click_concurrently(store: SessionStore, threads: int, clicks: int) -> None:
    import threading

    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def clicker() -> None:
        try:
            start.wait()
            for _ in range(clicks):
                store.cycle_label("a", 0)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    workers = [threading.Thread(target=clicker) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []


def _check_every_click_counted(store: SessionStore, total: int) -> None:
    expected = Label.CORRECT
    for _ in range(total):
        expected = expected.next
    assert store.instance("a", 0).label is expected
    log = [e for e in store.history("a") if e["kind"] == "do"]
    assert len(log) == total
    chain = [(json.loads(e["old_json"])["label"], json.loads(e["new_json"])["label"]) for e in log]
    assert chain[0][0] == Label.CORRECT.value and chain[-1][1] == expected.value
    assert all(chain[n][1] == chain[n + 1][0] for n in range(total - 1))  # log = what was seen


def test_simultaneous_clicks_on_one_tile_all_count(db_url: str) -> None:
    store = SessionStore(db_url)
    store.replace_instances("a", _items(1))
    _click_concurrently(store, threads=4, clicks=5)
    _check_every_click_counted(store, 20)
    store.engine.dispose()


def test_a_click_is_one_transaction_and_one_round_trip_on_postgresql(db_url: str) -> None:
    from sqlalchemy import event

    store = SessionStore(db_url)
    database = store.engine.dialect.name
    store.replace_instances("a", _items(2))
    statements: list[str] = []
    begins: list[object] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2].split()[0].upper()))
    event.listen(store.engine, "begin", lambda conn: begins.append(conn))
    assert store.cycle_label("a", 1).label is Label.INCORRECT
    assert len(begins) == 1
    assert statements == (["WITH"] if database == "postgresql" else ["UPDATE", "INSERT"])
    assert store.instance("a", 1).label is Label.INCORRECT
    assert store.undo("a").label is Label.CORRECT  # type: ignore[union-attr]
    store.engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_pages_stored_on_demand_keep_what_is_stored(
    database: str, db_url: str, request: pytest.FixtureRequest
) -> None:
    """A review stored page by page: adding a page twice (the page and its prefetch at one
    moment) keeps the first rows and their labels; ranges and neighbours follow the ids."""
    url = db_url if database == "sqlite" else request.getfixturevalue("postgres_url")
    store = SessionStore(url)
    store.ensure_session("a")
    far = [instance_for(1000 + i, Synapse(5000 + i, (1, 2, 3)), (8, 8, 2)) for i in range(3)]
    store.add_instances_if_absent("a", _items(3) + far)
    store.cycle_label("a", 1)
    store.add_instances_if_absent("a", _items(3))
    assert store.instance("a", 1).label is Label.INCORRECT
    assert [i.instance_id for i in store.instances_in_range("a", 2, 1001)] == [2, 1000]
    assert store.neighbours("a", 10, 20, 1002) == ((2, 20), (1000, 5000))
    assert store.neighbours("a", 10, 20, 1000) == ((2, 20), None)  # beyond the selection
    assert store.instance_id_end("a") == 1003 and store.instance_id_end("b") == 0
    store.engine.dispose()
