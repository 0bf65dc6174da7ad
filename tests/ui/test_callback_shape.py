"""Callback requests whose shape does not match the named callback get a 400 with a message
(not Dash's 500), and the server goes on serving."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash.ui import ids
from synanno_dash.ui.callback_shape import REFUSED_MESSAGE, UNKNOWN_MESSAGE, shape_problem

VIEW, TILE = {"index": 0, "type": "tile-view"}, {"index": 0, "type": "tile"}


def _click_key(app: Any) -> str:
    return next(k for k, spec in app.callback_map.items()
                if any("tile-view" in str(d["id"]) for d in spec["inputs"]))  # fmt: skip


def _click_body(key: str, **changes: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "output": key,
        "outputs": [{"id": TILE, "property": "className"}, {"id": TILE, "property": "data-label"}],
        "inputs": [{"id": VIEW, "property": "n_clicks", "value": 1}],
        "changedPropIds": [json.dumps(VIEW, separators=(",", ":")) + ".n_clicks"],
        "state": [],
    }
    return {**body, **changes}


def _refusal(response: Any) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    return str(response.get_json()["sideUpdate"][ids.SERVER_ERROR]["children"])


def test_mismatched_callback_requests_get_400_and_the_server_goes_on(demo_session) -> None:  # type: ignore[no-untyped-def]
    app, client = demo_session.app, demo_session.client
    key = _click_key(app)
    post = lambda body: client.post("/_dash-update-component", json=body)  # noqa: E731
    inputs = REFUSED_MESSAGE.format(part="inputs")
    other_id = {"index": 0, "type": "tile"}
    assert _refusal(post(_click_body(key, inputs=[]))) == inputs
    assert _refusal(post(_click_body(key, inputs=[{"id": other_id, "property": "n_clicks",
                                                    "value": 1}]))) == inputs  # fmt: skip
    assert _refusal(post(_click_body(key, inputs=[{"id": VIEW, "property": "children",
                                                    "value": 1}]))) == inputs  # fmt: skip
    two = [{"id": VIEW, "property": "n_clicks", "value": 1}] * 2
    assert _refusal(post(_click_body(key, inputs=two))) == inputs
    assert _refusal(post(_click_body(key, inputs="n_clicks"))) == inputs
    assert _refusal(post(_click_body(key, state=[{"id": "x", "property": "y"}]))) == (
        REFUSED_MESSAGE.format(part="state values")
    )
    assert _refusal(post(_click_body("no-such.children"))) == UNKNOWN_MESSAGE
    assert _refusal(post([1, 2])) == UNKNOWN_MESSAGE
    assert _refusal(client.post("/_dash-update-component", data=b"{not json",
                                content_type="application/json")) == UNKNOWN_MESSAGE  # fmt: skip
    # a callback with an ALL pattern: its entry must be a list of matching ids
    all_key = next(k for k, s in app.callback_map.items()
                   if any('["ALL"]' in d["id"] for d in s["inputs"] + s["state"]))  # fmt: skip
    spec = app.callback_map[all_key]
    wrong = [{"id": "x", "property": "y", "value": 1} for _ in spec["inputs"]]
    refused = post({"output": all_key, "outputs": [], "inputs": wrong, "state": [],
                    "changedPropIds": []})  # fmt: skip
    assert _refusal(refused).startswith("This request was refused")

    before = demo_session.session.store.instance(demo_session.sid, 0).label.value
    answer = post(_click_body(key))  # a real click still works, and only it changed the label
    assert answer.status_code == 200
    label = answer.get_json()["response"][json.dumps(TILE, separators=(",", ":"))]["data-label"]
    assert label != before
    assert label == demo_session.session.store.instance(demo_session.sid, 0).label.value


def test_a_match_pattern_accepts_any_index_of_the_declared_shape(demo_session) -> None:  # type: ignore[no-untyped-def]
    key = _click_key(demo_session.app)
    spec = demo_session.app.callback_map
    view = {"index": 3, "type": "tile-view"}
    assert shape_problem(spec, _click_body(key, inputs=[{"id": view, "property": "n_clicks",
                                                         "value": 2}])) is None  # fmt: skip
    extra_key = {**view, "other": 1}
    assert shape_problem(spec, _click_body(key, inputs=[{"id": extra_key, "property":
                                                         "n_clicks"}])) is not None  # fmt: skip


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),  # fmt: skip
    max_leaves=12,
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(inputs=JSON, state=JSON, outputs=JSON, changed=JSON)
def test_hostile_shapes_never_get_a_server_error(demo_session, inputs, state, outputs,  # type: ignore[no-untyped-def]
                                                 changed) -> None:  # fmt: skip
    app, client = demo_session.app, demo_session.client
    router = next(k for k, spec in app.callback_map.items()
                  if any(d["id"] == "_pages_location" for d in spec["inputs"]))  # fmt: skip
    for key in (_click_key(app), router):
        body = {"output": key, "inputs": inputs, "state": state, "outputs": outputs,
                "changedPropIds": changed}  # fmt: skip
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code in (200, 204, 400), response.get_data(as_text=True)[:300]
