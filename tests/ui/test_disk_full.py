"""A full disk: clicks refused while it is full say so, every acknowledged click survives,
and the app carries on by itself once space is freed.

SQLite's own limit on the database's size (``PRAGMA max_page_count``) gives the real
"database or disk is full" error (SQLITE_FULL) without mounting a small filesystem;
``bench/bench_faults.py --faults disk`` fills a real tmpfs."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from synanno_dash.data import store_schema as schema
from synanno_dash.services import health
from synanno_dash.settings import Settings
from synanno_dash.ui.app import create_app
from tests.conftest import PreparedSession

MAX_CLICKS = 3000  # SQLite pages are 4 KiB: the log fills a page long before this
CYCLE = ["correct", "incorrect", "unsure"]


class PageLimit:
    """``PRAGMA max_page_count`` on every connection of an engine: ``full()`` caps the file at
    its current size, ``freed()`` lifts the cap."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.limit = engine, 0
        event.listen(engine, "connect", self._apply)

    def _apply(self, dbapi_connection: Any, _record: Any) -> None:
        if self.limit:
            dbapi_connection.execute(f"PRAGMA max_page_count = {self.limit}")

    def _set(self, limit: int) -> None:
        self.limit = limit
        self.engine.dispose()  # pooled connections are replaced by capped ones

    def full(self) -> None:
        self._set(1)  # SQLite keeps it at the current page count, never below

    def freed(self) -> None:
        self._set(1_073_741_823)


def _click(client: Any, key: str, n: int) -> dict[str, Any]:
    tile, view = {"index": 0, "type": "tile"}, {"index": 0, "type": "tile-view"}
    body = {
        "output": key,
        "outputs": [{"id": tile, "property": "className"}, {"id": tile, "property": "data-label"}],
        "inputs": [{"id": view, "property": "n_clicks", "value": n}],
        "changedPropIds": [json.dumps(view, separators=(",", ":")) + ".n_clicks"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return dict(response.get_json())


def _saved_clicks(prepared: PreparedSession) -> int:
    edits = schema.edits.c
    with prepared.session.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(
            edits.session_id == prepared.sid, edits.kind == "do",
            edits.field == "label", edits.instance_id == 0)).scalar_one())  # fmt: skip


def test_a_full_disk_is_named_nothing_acknowledged_is_lost_and_the_app_recovers(  # type: ignore[no-untyped-def]
    data_dir: Path, demo_info, tmp_path: Path
) -> None:
    app = create_app(Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}"))
    prepared = PreparedSession(app, demo_info)
    client = prepared.client
    key = next(k for k, spec in app.callback_map.items()
               if any("tile-view" in str(d["id"]) for d in spec["inputs"]))  # fmt: skip
    limit = PageLimit(prepared.session.store.engine)
    acknowledged, refusal = 0, None
    limit.full()
    for n in range(1, MAX_CLICKS):
        answer = _click(client, key, n)
        if "response" in answer and answer["response"]:
            acknowledged += 1
            continue
        refusal = answer["sideUpdate"]["server-error"]
        break
    assert refusal is not None, f"{MAX_CLICKS} clicks fitted in a full database"
    assert refusal["children"] == health.DISK_FULL_MESSAGE
    # a second click while full is refused the same way; nothing half-written
    assert _click(client, key, MAX_CLICKS)["sideUpdate"]["server-error"]["children"] == (
        health.DISK_FULL_MESSAGE
    )
    limit.freed()
    assert _saved_clicks(prepared) == acknowledged
    label = prepared.session.store.instance(prepared.sid, 0).label.value
    assert label == CYCLE[acknowledged % 3]

    answer = _click(client, key, MAX_CLICKS + 1)  # space freed: carries on by itself
    assert answer["response"]
    assert _saved_clicks(prepared) == acknowledged + 1
    assert prepared.session.store.instance(prepared.sid, 0).label.value == (
        CYCLE[(acknowledged + 1) % 3]
    )


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), OSError(errno.EDQUOT, "Disk quota")],
)
def test_disk_full_errors_are_recognised(error: OSError) -> None:
    wrapped = RuntimeError("writing the layer failed")
    wrapped.__cause__ = error
    assert health.disk_full(error) and health.disk_full(wrapped)


def test_other_errors_are_not_a_full_disk() -> None:
    assert not health.disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not health.disk_full(ValueError("database is locked"))


def test_healthz_names_a_data_folder_with_too_little_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synanno_dash.services.context import AppContext

    resources = AppContext.create(Settings(data_dir=tmp_path))
    try:
        free = health.shutil.disk_usage(tmp_path).free
        assert health.data_check(resources).ok == (free >= health.LOW_DISK_BYTES)
        monkeypatch.setattr(health, "LOW_DISK_BYTES", free + 1024**3)
        check = health.data_check(resources)
        assert not check.ok and "disk is full" in check.detail
    finally:
        resources.executor.shutdown(wait=True)
        resources.store.engine.dispose()
