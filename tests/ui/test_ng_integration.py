"""Neuroglancer in the app: callbacks through Dash's HTTP endpoint, on the generated demo.

Real parts: the app (``create_app``), its session store, the demo volumes and real
``neuroglancer.Viewer`` objects. Key presses are fired the way the Neuroglancer server fires
them (``viewer.actions.invoke`` with the JSON action state the client posts).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synanno_dash.core.geometry import BBox
from synanno_dash.core.labels import Category, Label
from synanno_dash.services import missed, ng_state, ng_views
from synanno_dash.services.context import AppContext
from synanno_dash.services.false_negatives import add_false_negative
from synanno_dash.services.local_data import data_url, local_folder
from synanno_dash.services.neuroglancer_viewers import ADD_CANDIDATE_ACTION, CHOOSE_NEURON_ACTION
from synanno_dash.services.ng_client import ViewerServiceClient
from synanno_dash.services.session import open_session
from synanno_dash.ui import ids
from synanno_dash.ui.session import COOKIE
from tests.conftest import PreparedSession, free_port
from tests.services.test_local_data_route import write_dataset
from tests.services.test_neuroglancer_service import client_action

BOX_IDS = (*ids.MISSED_BOX_START, *ids.MISSED_BOX_STOP)


class DashClient:
    """Posts to Dash's callback endpoint as the browser does, for one browser session."""

    def __init__(self, app, demo_info, mode: str = "volume") -> None:  # type: ignore[no-untyped-def]
        prepared = PreparedSession(app, demo_info, mode=mode)
        self.app, self.client, self.sid = app, prepared.client, prepared.sid
        self.context: AppContext = prepared.resources

    def call(self, name: str, inputs: list, state: list = (), match: dict | None = None,  # type: ignore[no-untyped-def,assignment]
             changed: int = 0):
        """Run the callback ``name``; ``inputs``/``state`` are (id, property, value) in the
        callback's order, ``inputs[changed]`` is the one that changed.
        Returns {id: {property: value}}: empty or None when nothing changes."""
        key = next(k for k, spec in self.app.callback_map.items()
                   if getattr(spec.get("callback"), "__name__", "") == name)  # fmt: skip
        parts = key[2:-2].split("...") if key.startswith("..") else [key]
        outputs = []
        for part in parts:
            id_text, prop = part.rsplit(".", 1)
            out_id: object = id_text
            if id_text.startswith("{"):
                out_id = {k: (match or {}).get(k, v) for k, v in json.loads(id_text).items()}
            outputs.append({"id": out_id, "property": prop})
        first_id, first_prop, _ = inputs[changed]
        body = {
            "output": key,
            "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [f"{_id_text(first_id)}.{first_prop}"],
        }
        response = self.client.post("/_dash-update-component", json=body)
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.data[:800]
        return {
            k: {p.split("@")[0]: v for p, v in props.items()}
            for k, props in response.get_json()["response"].items()
        }


def _id_text(component_id: object) -> str:
    if isinstance(component_id, dict):
        return json.dumps(component_id, separators=(",", ":"), sort_keys=True)
    return str(component_id)


@pytest.fixture
def browser_a(app, demo_info) -> DashClient:  # type: ignore[no-untyped-def]
    return DashClient(app, demo_info)


def viewer_state(client: DashClient):  # type: ignore[no-untyped-def]
    return client.context.viewers.get_or_create(client.sid).state


# -- AppContext ----------------------------------------------------------------------------


def test_viewers_start_on_first_use_and_close_with_reset(browser_a: DashClient) -> None:
    context = browser_a.context
    same_site = {"Origin": "http://localhost"}
    browser_a.client.post("/reset", headers=same_site)  # nothing to close: Neuroglancer not started
    assert context._viewers is None
    sid = browser_a.client.get_cookie(COOKIE).value  # the reset issued a new id
    context.viewers.get_or_create(sid)
    assert sid in context.viewers
    assert browser_a.client.post("/reset", headers=same_site).status_code == 303
    assert sid not in context.viewers


def test_data_route_serves_registered_folders_to_our_viewer_only(
    browser_a: DashClient, demo_info, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    context, client = browser_a.context, browser_a.client
    other = write_dataset(tmp_path / "other")  # a real dataset no viewer has shown
    demo_target = local_folder(demo_info.target_url)
    other_target = local_folder(other.target_url)
    assert demo_target is not None and other_target is not None
    base = "http://localhost/"
    view_in_ng(browser_a, 3)  # shows the demo: its folders get tokens; the viewer starts
    token = context.data_token(demo_target)
    ng_origin = "http://localhost"  # the client is served by the app itself (one origin)
    response = client.get(data_url(base, token) + "/info", headers={"Origin": ng_origin})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ng_origin
    assert json.loads(response.data)["type"] == "segmentation"
    # another site's page, or a page on another port of this host, cannot read it
    other_port = client.get(
        data_url(base, token) + "/info", headers={"Origin": "http://localhost:8051"}
    )
    assert other_port.status_code == 403
    foreign = client.get(data_url(base, token) + "/info", headers={"Origin": "https://x.example"})
    assert foreign.status_code == 403 and "Access-Control-Allow-Origin" not in foreign.headers
    # a folder no viewer showed has no token; once shown (chosen on Open Data), it is served
    assert all(context.data_folder(t) != other_target for t in ("", token))
    context.allow_dataset(other)
    other_token = context.data_token(other_target)
    assert client.get(data_url(base, other_token) + "/info").status_code == 200
    # a new app on the same database (another worker, a restart) knows the same tokens
    fresh = AppContext.create(context.settings)
    assert fresh.data_folder(other_token) == other_target.resolve()
    assert fresh.data_folder(token) == demo_target.resolve()


# -- View in NG ----------------------------------------------------------------------------


def view_in_ng(client: DashClient, instance_id: int):  # type: ignore[no-untyped-def]
    panel = {"panel": ids.ENLARGE_PANEL}
    return client.call(
        "view_instance",
        [(ids.ng(ids.NG_VIEW, ids.ENLARGE_PANEL), "n_clicks", 1)],
        [(ids.ng(ids.NG_INSTANCE, ids.ENLARGE_PANEL), "data", instance_id)],
        match=panel,
    )


def test_view_in_ng_centres_the_session_viewer_on_the_instance(
    browser_a: DashClient, demo_info  # type: ignore[no-untyped-def]
) -> None:
    item = browser_a.context.store.instance(browser_a.sid, 3)
    result = view_in_ng(browser_a, 3)
    assert result is not None
    src = result[_id_text(ids.ng(ids.NG_FRAME, ids.ENLARGE_PANEL))]["src"]
    # The viewer is embedded from the app's own origin (the /neuroglancer/ proxy).
    assert src == "/neuroglancer" + browser_a.context.viewers.viewer_path(browser_a.sid)
    state = viewer_state(browser_a)
    np.testing.assert_allclose(state.position, np.add(item.synapse.center_xyz_vx, 0.5))
    markers = state.layers[ng_state.MARKERS_LAYER].layer.annotations
    points = {a.id: tuple(int(np.floor(v)) for v in a.point) for a in markers}
    assert points == {"pre": item.synapse.pre_xyz_vx, "post": item.synapse.post_xyz_vx}
    # Local layers come from this app's data route, on the host the browser used.
    folder = local_folder(demo_info.source_url)
    assert folder is not None
    assert state.layers["source"].layer.source[0].url == "precomputed://" + data_url(
        "http://localhost/", browser_a.context.data_token(folder)
    )


def test_two_sessions_have_their_own_viewers(app, browser_a: DashClient, demo_info) -> None:  # type: ignore[no-untyped-def]
    browser_b = DashClient(app, demo_info)
    src_a = view_in_ng(browser_a, 3)
    src_b = view_in_ng(browser_b, 10)
    assert src_a != src_b
    centre_a = browser_a.context.store.instance(browser_a.sid, 3).synapse.center_xyz_vx
    centre_b = browser_b.context.store.instance(browser_b.sid, 10).synapse.center_xyz_vx
    np.testing.assert_allclose(viewer_state(browser_a).position, np.add(centre_a, 0.5))
    np.testing.assert_allclose(viewer_state(browser_b).position, np.add(centre_b, 0.5))


def test_view_in_ng_of_an_unknown_instance_says_so(browser_a: DashClient) -> None:
    result = view_in_ng(browser_a, 99_999)
    assert result is not None
    message = result[_id_text(ids.ng(ids.NG_STATUS, ids.ENLARGE_PANEL))]["children"]
    assert "99999" in message


# -- Choose a Neuron -----------------------------------------------------------------------


def open_chooser(client: DashClient, demo_info, neuropil: str | None = None):  # type: ignore[no-untyped-def]
    fields = [
        (ids.OD_SOURCE, demo_info.source_url), (ids.OD_TARGET, demo_info.target_url),
        (ids.OD_NEUROPIL, demo_info.neuropil_url if neuropil is None else neuropil),
        (ids.OD_SECRETS, ""), (ids.OD_SOURCE_RES, ""), (ids.OD_TARGET_RES, "8, 8, 40"),
        (ids.OD_CROP_SIZE, "64, 64, 6"),
    ]  # fmt: skip
    return client.call(
        "open_chooser",
        [(ids.OD_CHOOSE_NEURON, "n_clicks", 1)],
        [(field, "value", value) for field, value in fields],
    )


def sync(client: DashClient, seen: str | None, is_open: bool = True, tick: bool = True):  # type: ignore[no-untyped-def]
    inputs = [(ids.OD_CHOOSER_POLL, "n_intervals", 1), (ids.OD_CHOOSER_MODAL, "is_open", is_open)]
    return client.call(
        "sync_choice", inputs,
        [(ids.OD_CHOOSER_SEEN, "data", seen), (ids.OD_CHOOSER_FRAME, "src", None)],
        changed=0 if tick else 1,
    )


def test_choose_a_neuron_with_n(browser_a: DashClient, demo_info) -> None:  # type: ignore[no-untyped-def]
    opened = open_chooser(browser_a, demo_info)
    assert opened is not None and opened[ids.OD_CHOOSER_MODAL]["is_open"] is True
    assert opened[ids.OD_CHOOSER_SEEN]["data"] is None
    state = viewer_state(browser_a)
    assert state.layers[ng_state.NEUROPIL_LAYER].visible is True
    assert [int(v) for v in state.position] == [256, 256, 32]  # the middle of the demo volume
    assert not sync(browser_a, None)  # nothing chosen: no update at all
    viewer = browser_a.context.viewers.get_or_create(browser_a.sid)
    first, second = demo_info.neuron_ids[0], demo_info.neuron_ids[1]
    viewer.actions.invoke(CHOOSE_NEURON_ACTION, client_action([215, 240, 32], str(first)))
    result = sync(browser_a, None)
    assert result is not None and result[ids.OD_NEURON_ID]["value"] == str(first)  # exact
    assert ids.OD_CHOOSER_POLL not in result  # a tick leaves the interval alone
    assert not sync(browser_a, str(first))  # the same choice is not sent again
    viewer.actions.invoke(CHOOSE_NEURON_ACTION, client_action([100, 100, 32], str(second)))
    # Closing reads the choice once more and stops polling.
    closed = sync(browser_a, str(first), is_open=False, tick=False)
    assert closed is not None and closed[ids.OD_NEURON_ID]["value"] == str(second)
    assert closed[ids.OD_CHOOSER_POLL]["disabled"] is True
    # Opening again counts the current choice as seen: a typed id is not overwritten.
    again = open_chooser(browser_a, demo_info)
    assert again is not None and again[ids.OD_CHOOSER_SEEN]["data"] == str(second)


def test_chooser_needs_the_neuropil(browser_a: DashClient, demo_info) -> None:  # type: ignore[no-untyped-def]
    result = open_chooser(browser_a, demo_info, neuropil="")
    assert result is not None and "neuropil" in result[ids.OD_CHOOSER_STATUS]["children"]
    assert ids.OD_CHOOSER_MODAL not in result
    result = open_chooser(browser_a, demo_info, neuropil="file:///nowhere/at/all")
    assert result is not None and result[ids.OD_CHOOSER_STATUS]["children"]


# -- Missed synapses -----------------------------------------------------------------------


def test_search_target_from_the_query(browser_a: DashClient) -> None:
    context, sid = browser_a.context, browser_a.sid
    config = context.store.load_config(sid)
    assert config is not None
    session = open_session(context, sid)
    add_false_negative(session, (100, 100, 30), compartment=5)
    add_false_negative(session, (121, 110, 33), compartment=5)
    target = missed.search_target(session, compartment="5")
    assert target.center_xyz_vx == (110, 105, 32) and target.compartment == 5  # rounded mean
    assert target.back == "/annotation?page=1" and not target.notice
    explicit = missed.search_target(session, compartment="5", center="7, 8, 9")
    assert explicit.center_xyz_vx == (7, 8, 9) and explicit.compartment == 5
    item = context.store.instance(sid, 4)
    from_instance = missed.search_target(session, instance="4")
    assert from_instance.center_xyz_vx == item.synapse.center_xyz_vx
    assert from_instance.back == "/draw"
    missing = missed.search_target(session, instance="99999", back="/draw?instance=2")
    assert missing.center_xyz_vx == (256, 256, 32) and "99999" in missing.notice
    assert missing.back == "/draw?instance=2"
    unknown = missed.search_target(session, compartment="8")
    assert unknown.center_xyz_vx == (256, 256, 32) and "compartment 8" in unknown.notice
    assert missed.compartment_center(context.store.instances(sid), 9) is None


def test_a_compartment_opens_on_its_skeleton_box(app, demo_info) -> None:  # type: ignore[no-untyped-def]
    from synanno_dash.services import neuron

    client = DashClient(app, demo_info, mode="neuron")
    context, sid = client.context, client.sid
    config = context.store.load_config(sid)
    assert config is not None
    box = neuron.missed_synapse_box(open_session(context, sid), 1)
    target = missed.search_target(open_session(context, sid), compartment="1")
    assert target.region == box and target.compartment == 1 and not target.notice
    assert box.contains_point(target.center_xyz_vx)
    with app.server.test_request_context(headers={"Cookie": f"{COOKIE}={sid}"}):
        ng_views.show_missed_search(
            open_session(context, sid), target.center_xyz_vx, box, "http://localhost/"
        )
    state = viewer_state(client)
    assert state.layers[ng_state.NEUROPIL_LAYER].visible is True
    assert list(state.layers[ng_state.NEUROPIL_LAYER].layer.segments) == [demo_info.demo_neuron_id]
    # The whole box fits in the expected panel (x and y, 8 nm voxels).
    panel_vx = ng_state.ViewSpec(None, (1, 1, 1)).panel_px * state.cross_section_scale
    assert max(box.shape_xyz[:2]) <= panel_vx


def test_only_local_paths_are_places_to_return_to() -> None:
    assert missed.safe_back("/annotation?page=3", "/x") == "/annotation?page=3"
    for bad in ("//evil.example.org/", "https://evil.example.org/", "", None, "/\\evil"):
        assert missed.safe_back(bad, "/annotation") == "/annotation"


def test_box_inputs_are_checked() -> None:
    assert missed.box_from_inputs([1, 2, 3, 11, 12.0, 13]) == BBox((1, 2, 3), (11, 12, 13))
    with pytest.raises(ValueError, match="z start and stop"):
        missed.box_from_inputs([1, 2, None, 11, 12, 13])
    with pytest.raises(ValueError, match="whole voxels"):
        missed.box_from_inputs([1.5, 2, 3, 11, 12, 13])
    with pytest.raises(ValueError, match="before its start"):
        missed.box_from_inputs([10, 2, 3, 1, 12, 13])


def test_mark_review_and_save_missed_synapses(browser_a: DashClient) -> None:
    context, sid = browser_a.context, browser_a.sid
    total = context.store.counts(sid)["total"]
    config = context.store.load_config(sid)
    assert config is not None
    page = {"compartment": None, "back": "/annotation?page=2"}
    with browser_a.app.server.test_request_context(headers={"Cookie": f"{COOKIE}={sid}"}):
        src = ng_views.show_missed_search(
            open_session(context, sid), (200, 200, 30), None, "http://localhost/"
        )
    viewer = context.viewers.get_or_create(sid)
    viewer.actions.invoke(ADD_CANDIDATE_ACTION, client_action([300.2, 301.7, 20.5]))
    viewer.actions.invoke(ADD_CANDIDATE_ACTION, client_action([10.5, 12.5, 2.5]))
    listed = browser_a.call(
        "poll_candidates",
        [(ids.MISSED_POLL, "n_intervals", 3)],
        [(ids.MISSED_COUNT, "data", 0), (ids.MISSED_FRAME, "src", src)],
    )
    assert listed is not None and listed[ids.MISSED_COUNT]["data"] == 2
    # Done: the candidates leave the viewer, which closes; the first dialog follows.
    done = browser_a.call(
        "finish_marking", [(ids.MISSED_DONE, "n_clicks", 1)], [(ids.MISSED_CONTEXT, "data", page)]
    )
    assert done is not None
    queue = done[ids.MISSED_QUEUE]["data"]
    assert queue == [[300, 301, 20], [10, 12, 2]] and done[ids.MISSED_STEP]["data"] == 0
    assert sid not in context.viewers
    step_state = [(ids.MISSED_QUEUE, "data", queue), (ids.MISSED_CONTEXT, "data", page)]
    shown = browser_a.call("show_step", [(ids.MISSED_STEP, "data", 0)], step_state)
    assert shown is not None and shown[ids.MISSED_REVIEW]["is_open"] is True
    box = [shown[i]["value"] for i in BOX_IDS]
    assert box == [268, 269, 17, 332, 333, 23]  # the crop size around the candidate
    # Save with an edited z range: one new instance, labelled a false negative.
    box[2], box[5] = 19, 22
    save_state = [(i, "value", v) for i, v in zip(BOX_IDS, box, strict=True)] + [
        (ids.MISSED_QUEUE, "data", queue), (ids.MISSED_STEP, "data", 0),
        (ids.MISSED_CONTEXT, "data", page),
    ]  # fmt: skip
    saved = browser_a.call(
        "save_or_skip",
        [(ids.MISSED_SAVE, "n_clicks", 1), (ids.MISSED_SKIP, "n_clicks", None)],
        save_state,
    )
    assert saved is not None and saved[ids.MISSED_STEP]["data"] == 1
    added = context.store.instance(sid, total)
    assert added.synapse.center_xyz_vx == (300, 301, 20)
    assert added.bbox_target_vx == BBox((268, 269, 19), (332, 333, 22))
    assert added.label is Label.INCORRECT and added.category is Category.FALSE_NEGATIVE
    # The second one is skipped; past the last dialog the page returns.
    skipped = browser_a.call(
        "save_or_skip",
        [(ids.MISSED_SAVE, "n_clicks", 1), (ids.MISSED_SKIP, "n_clicks", 1)],
        save_state[:6] + [(ids.MISSED_QUEUE, "data", queue), (ids.MISSED_STEP, "data", 1),
                          (ids.MISSED_CONTEXT, "data", page)],
        changed=1,
    )  # fmt: skip
    assert skipped is not None and skipped[ids.MISSED_STEP]["data"] == 2
    assert context.store.counts(sid)["total"] == total + 1
    end = browser_a.call("show_step", [(ids.MISSED_STEP, "data", 2)], step_state)
    assert end is not None and end[ids.MISSED_REDIRECT]["href"] == "/annotation?page=2"
    assert end[ids.MISSED_REVIEW]["is_open"] is False


def test_a_box_without_its_position_is_refused_in_the_dialog(browser_a: DashClient) -> None:
    queue = [[300, 301, 20]]
    box = [0, 0, 0, 10, 10, 4]
    state = [(i, "value", v) for i, v in zip(BOX_IDS, box, strict=True)] + [
        (ids.MISSED_QUEUE, "data", queue), (ids.MISSED_STEP, "data", 0),
        (ids.MISSED_CONTEXT, "data", {"compartment": None, "back": "/draw"}),
    ]  # fmt: skip
    total = browser_a.context.store.counts(browser_a.sid)["total"]
    result = browser_a.call(
        "save_or_skip",
        [(ids.MISSED_SAVE, "n_clicks", 1), (ids.MISSED_SKIP, "n_clicks", None)],
        state,
    )
    assert result is not None and "contain the position" in result[ids.MISSED_ERROR]["children"]
    assert ids.MISSED_STEP not in result
    assert browser_a.context.store.counts(browser_a.sid)["total"] == total


# -- a viewer that is gone, a service that is down -------------------------------------------


def test_a_closed_viewer_or_a_down_service_is_said_while_polling(
    browser_a: DashClient, demo_info, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    context, sid = browser_a.context, browser_a.sid
    opened = open_chooser(browser_a, demo_info)
    assert opened is not None
    src = opened[ids.OD_CHOOSER_FRAME]["src"]
    assert src == "/neuroglancer" + context.viewers.viewer_path(sid)
    inputs = [(ids.OD_CHOOSER_POLL, "n_intervals", 1), (ids.OD_CHOOSER_MODAL, "is_open", True)]
    states = [(ids.OD_CHOOSER_SEEN, "data", None), (ids.OD_CHOOSER_FRAME, "src", src)]
    assert not browser_a.call("sync_choice", inputs, states)  # open, nothing chosen: quiet
    poll = [(ids.MISSED_POLL, "n_intervals", 3)]
    missed_state = [(ids.MISSED_COUNT, "data", 0), (ids.MISSED_FRAME, "src", src)]
    assert not browser_a.call("poll_candidates", poll, missed_state)
    # The viewer is closed behind the page's back (a restarted service, evicted): said.
    context.viewers.close(sid)
    gone = browser_a.call("sync_choice", inputs, states)
    assert gone is not None
    assert gone[ids.OD_CHOOSER_PICKED]["children"] == ng_views.VIEWER_GONE_MESSAGE
    listed = browser_a.call("poll_candidates", poll, missed_state)
    assert listed is not None and "viewer was closed" in json.dumps(listed)
    # A service that cannot be reached: its message, in the same places.
    down_service = ViewerServiceClient(f"http://127.0.0.1:{free_port()}", "s")
    monkeypatch.setattr(context, "_viewers", down_service)
    down = browser_a.call("sync_choice", inputs, states)
    assert down is not None and "is not answering" in down[ids.OD_CHOOSER_PICKED]["children"]
    listed = browser_a.call("poll_candidates", poll, missed_state)
    assert listed is not None and "is not answering" in json.dumps(listed)
    failed = view_in_ng(browser_a, 3)
    assert failed is not None
    status = failed[_id_text(ids.ng(ids.NG_STATUS, ids.ENLARGE_PANEL))]["children"]
    assert "is not answering" in status and "synanno-dash serve" in status
