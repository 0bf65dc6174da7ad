"""Review callbacks through Dash's own HTTP endpoint, on the generated demo dataset."""

from __future__ import annotations

import json

import pytest

from synanno_dash.core.labels import Label
from synanno_dash.ui.session import EXTENSION_KEY
from tests.conftest import PreparedSession


@pytest.fixture
def app_and_client(app, demo_info):  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info, neuropil="")
    return app, prepared.client, prepared.sid


def _callbacks_with_input(app, component_type: str, prop: str) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    for key, spec in app.callback_map.items():
        for dep in spec["inputs"]:
            dep_id = dep["id"]
            if isinstance(dep_id, str) and dep_id.startswith("{"):
                dep_id = json.loads(dep_id)
            if isinstance(dep_id, dict) and dep_id.get("type") == component_type:
                if dep["property"] == prop:
                    found.append(key)
    return found


def _post(client, output: str, outputs: list, inputs: list, changed: list[str]):  # type: ignore[no-untyped-def]
    body = {
        "output": output,
        "outputs": outputs,
        "inputs": inputs,
        "changedPropIds": changed,
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:500]
    return response.get_json()


def test_a_label_click_fires_one_callback_and_sends_back_one_tile(app_and_client) -> None:  # type: ignore[no-untyped-def]
    app, client, sid = app_and_client
    context = app.server.extensions[EXTENSION_KEY]
    # Exactly one server callback listens to a tile click, and nothing listens to a
    # tile's label, so a click cannot start a chain of callbacks.
    listeners = _callbacks_with_input(app, "tile-view", "n_clicks")
    assert len(listeners) == 1
    assert _callbacks_with_input(app, "tile", "className") == []
    assert _callbacks_with_input(app, "tile", "data-label") == []

    tile_id, view_id = {"index": 3, "type": "tile"}, {"index": 3, "type": "tile-view"}
    outputs = [{"id": tile_id, "property": "className"}, {"id": tile_id, "property": "data-label"}]
    result = _post(
        client,
        listeners[0],
        outputs,
        [{"id": view_id, "property": "n_clicks", "value": 1}],
        [json.dumps(view_id, separators=(",", ":")) + ".n_clicks"],
    )
    changed = result["response"]
    assert list(changed) == [json.dumps(tile_id, separators=(",", ":"))]
    assert changed[json.dumps(tile_id, separators=(",", ":"))] == {
        "className": "sd-tile label-incorrect",
        "data-label": "incorrect",
    }
    # saved before it was acknowledged
    assert context.store.instance(sid, 3).label is Label.INCORRECT
    assert context.store.instance(sid, 2).label is Label.CORRECT


def test_undo_through_the_endpoint_updates_only_the_changed_tile(app_and_client) -> None:  # type: ignore[no-untyped-def]
    app, client, sid = app_and_client
    context = app.server.extensions[EXTENSION_KEY]
    context.store.edit(sid, 1, label=Label.UNSURE)
    key = next(
        k
        for k, spec in app.callback_map.items()
        if any(d["id"] == "review-undo" for d in spec["inputs"])
    )
    tiles = [{"index": i, "type": "tile"} for i in range(6)]
    outputs = [
        [{"id": t, "property": "className"} for t in tiles],
        [{"id": t, "property": "data-label"} for t in tiles],
        {"id": "review-notice", "property": "children"},
        {"id": "review-notice", "property": "is_open"},
    ]
    result = _post(
        client,
        key,
        outputs,
        [
            {"id": "review-undo", "property": "n_clicks", "value": 1},
            {"id": "review-redo", "property": "n_clicks", "value": None},
        ],
        ["review-undo.n_clicks"],
    )
    changed = result["response"]
    tile_keys = [k for k in changed if k.startswith("{")]
    assert tile_keys == [json.dumps({"index": 1, "type": "tile"}, separators=(",", ":"))]
    assert context.store.instance(sid, 1).label is Label.CORRECT
    assert "Undid" in changed["review-notice"]["children"]


def test_review_page_lists_the_first_tiles_and_marks_them_seen(app_and_client) -> None:  # type: ignore[no-untyped-def]
    app, client, sid = app_and_client
    context = app.server.extensions[EXTENSION_KEY]
    from synanno_dash.services.review import load_page
    from synanno_dash.services.session import open_session

    page = load_page(open_session(context, sid), 2)
    assert [i.instance_id for i in page.instances] == list(range(6, 12))
    assert len(page.images[0].em) == len(page.images[0].masks) == 6  # 6 slices, both layers
    assert context.store.counts(sid)["seen"] == 6
    assert context.store.get_state(sid)["page"] == 2
