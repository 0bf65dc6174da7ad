"""Neuron-centric preparation and review on the demo neuron: review order, pages per
compartment, the figure, the mini-map Patch of a label click, the missed-synapse box."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from synanno_dash.core.instances import Mode
from synanno_dash.core.labels import Label
from synanno_dash.core.paging import ReviewPages
from synanno_dash.data.bounded_cache import BoundedCache
from synanno_dash.services import neuron, review
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.session import open_session
from synanno_dash.settings import Settings
from synanno_dash.ui import ids, minimap
from synanno_dash.ui.app import create_app
from synanno_dash.ui.session import COOKIE, EXTENSION_KEY
from synanno_dash.ui.skeleton_figure import MarkerCode
from tests import conftest
from tests.conftest import PreparedSession

PER_PAGE = 6


def demo_form(demo_info, mode: str = "neuron") -> OpenDataForm:  # type: ignore[no-untyped-def]
    return conftest.demo_form(demo_info, mode=mode, tiles_per_page=str(PER_PAGE))


@pytest.fixture
def app_and_sid(neuron_session: PreparedSession):  # type: ignore[no-untyped-def]
    return neuron_session.app, neuron_session.client, neuron_session.sid


def _pages(items: list, per_page: int) -> list[tuple[int, int]]:
    """The grid's pages (``core.paging``), from the instances' compartments."""
    return list(ReviewPages.of([i.compartment for i in items], per_page).bounds)


def test_instances_follow_compartments_then_the_traversal(app_and_sid, demo_info) -> None:  # type: ignore[no-untyped-def]
    app, _client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    items = context.store.instances(sid)
    table = context.tables.get(demo_info.table_url)
    # every synapse of the demo neuron is there, on the skeleton
    assert len(items) == table.count(neuron_id=demo_info.demo_neuron_id) > 2 * PER_PAGE
    assert [i.instance_id for i in items] == list(range(len(items)))
    assert all(i.compartment is not None and i.traversal_index is not None for i in items)
    keys = [(i.compartment, i.traversal_index, i.synapse.materialization_index) for i in items]
    assert keys == sorted(keys)
    view = neuron.neuron_view(context, context.store.load_config(sid))
    assert len({i.compartment for i in items}) > 1
    assert {i.compartment for i in items} <= set(range(view.n_compartments))
    # each synapse sits on its nearest node (brute force), nm from target voxels
    points = neuron.synapse_points_nm(
        [i.synapse for i in items], demo_info.demo_neuron_id, demo_info.target_resolution
    )
    squared = ((points[:, None, :] - view.skeleton.vertices_nm[None, :, :]) ** 2).sum(axis=2)
    nearest = squared.argmin(axis=1)
    assert [i.compartment for i in items] == view.compartments.node_compartment[nearest].tolist()
    assert [i.traversal_index for i in items] == view.compartments.node_order[nearest].tolist()


def test_pages_never_mix_compartments_and_start_where_the_overview_says(app_and_sid) -> None:  # type: ignore[no-untyped-def]
    app, _client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    items = context.store.instances(sid)
    bounds = _pages(items, PER_PAGE)
    for page, (start, stop) in enumerate(bounds, start=1):  # the grid serves these pages
        _config, served, count = review.page_instances(open_session(context, sid), page)
        assert [i.instance_id for i in served] == [i.instance_id for i in items[start:stop]]
        assert count == len(bounds)
    for start, stop in bounds:
        assert len({i.compartment for i in items[start:stop]}) == 1
    first = neuron.first_pages(items, PER_PAGE)
    for k, page in first.items():
        start, _stop = bounds[page - 1]
        assert items[start].compartment == k
        assert all(i.compartment != k for i in items[:start])
    progress = neuron.compartment_progress(items, max(first) + 1, PER_PAGE)
    assert sum(p.total for p in progress) == len(items)
    assert [p.first_page for p in progress if p.total] == [
        first[p.compartment] for p in progress if p.total
    ]
    # the last page of each compartment, and only that one, offers the missed-synapse search
    lasts = {
        page: neuron.last_page_of_compartment(items, PER_PAGE, page)
        for page in range(1, len(bounds) + 1)
    }
    ends = {p: k for p, k in lasts.items() if k is not None}
    assert sorted(ends.values()) == sorted(first)
    for page, k in ends.items():
        _start, stop = bounds[page - 1]
        assert stop == len(items) or items[stop].compartment != k
    assert neuron.page_of_instance(items, PER_PAGE, items[-1].instance_id) == len(bounds)


def test_the_session_json_pages_are_the_grids_pages(app_and_sid) -> None:  # type: ignore[no-untyped-def]
    app, _client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    items = context.store.instances(sid)
    bounds = _pages(items, PER_PAGE)
    assert len(bounds) > len(items) // PER_PAGE + 1  # compartments cut short pages
    grid_page = {
        i.instance_id: page
        for page, (start, stop) in enumerate(bounds, start=1)
        for i in items[start:stop]
    }
    document = review.session_json_document(open_session(context, sid))
    assert {r["Image_Index"]: r["Page"] for r in document["Metadata"]} == grid_page


def test_the_view_is_prepared_once_and_the_cache_is_bounded(app_and_sid, demo_info) -> None:  # type: ignore[no-untyped-def]
    app, _client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    config = context.store.load_config(sid)
    view = neuron.neuron_view(context, config)
    assert neuron.neuron_view(context, config) is view
    assert len(context.neurons) == 1
    small: BoundedCache[tuple[str, int], object] = BoundedCache(1)
    built: list[int] = []

    def build(n: int):  # type: ignore[no-untyped-def]
        built.append(n)
        return view

    small.get_or_build(("a", 1), lambda: build(1))
    small.get_or_build(("a", 1), lambda: build(1))
    small.get_or_build(("b", 2), lambda: build(2))
    small.get_or_build(("a", 1), lambda: build(1))
    assert built == [1, 2, 1] and len(small) == 1


def test_a_neuropil_without_skeletons_is_reported_on_its_field(
    data_dir, tmp_path, demo_info
) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}"))
    context = app.server.extensions[EXTENSION_KEY]
    # the cleft layer is a segmentation without skeletons
    form = replace(demo_form(demo_info), neuropil=demo_info.target_url)
    outcome = prepare_session(context, "s1", form)
    assert not outcome.ok
    assert "no skeletons" in outcome.errors["neuropil"]
    assert context.store.instances("s1") == []


def test_missed_synapse_box_holds_the_compartment_within_the_volume(app_and_sid, demo_info) -> None:  # type: ignore[no-untyped-def]
    app, _client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    config = context.store.load_config(sid)
    view = neuron.neuron_view(context, config)
    volume = context.volumes.get(config).target_bounds
    resolution = np.asarray(demo_info.target_resolution_nm)
    for k in range(view.n_compartments):
        box = neuron.missed_synapse_box(open_session(context, sid), k)
        assert not box.is_empty
        assert volume.intersect(box) == box
        nodes_vx = np.floor(view.skeleton.vertices_nm[view.compartments.nodes_in(k)] / resolution)
        inside = [box.contains_point(tuple(p)) for p in nodes_vx if volume.contains_point(tuple(p))]
        assert inside and all(inside)
        unpadded = neuron.compartment_box_vx(view, k, config.target_resolution, (0, 0, 0))
        assert unpadded.start_xyz == tuple(int(v) for v in nodes_vx.min(axis=0))
        assert unpadded.stop_xyz == tuple(int(v) + 1 for v in nodes_vx.max(axis=0))
    with pytest.raises(neuron.NeuronError, match="does not exist"):
        neuron.missed_synapse_box(open_session(context, sid), view.n_compartments)


def test_figure_has_a_trace_per_compartment_and_stays_small(app_and_sid) -> None:  # type: ignore[no-untyped-def]
    app, _client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    config = context.store.load_config(sid)
    view = neuron.neuron_view(context, config)
    context.store.mark_seen(sid, [0, 1])
    context.store.edit(sid, 1, label=Label.INCORRECT)
    items = context.store.instances(sid)
    figure = minimap.neuron_figure(view, items, config, current_ids=[0, 1])
    data = json.loads(figure.to_json())["data"]
    assert [t["name"] for t in data[1:]] == [f"Compartment {k}" for k in range(view.n_compartments)]
    colors = data[0]["marker"]["color"]
    assert isinstance(colors, list) and len(colors) == len(items)  # plain list: Patchable
    assert colors[:3] == [MarkerCode.CORRECT, MarkerCode.INCORRECT, MarkerCode.UNREVIEWED]
    assert data[0]["customdata"] == list(range(len(items)))
    # Performance: what goes to the browser for the demo neuron, overview and mini-map
    for compact in (False, True):
        size = len(minimap.neuron_figure(view, items, config, compact=compact).to_json())
        assert size < 80_000, size
    assert view.display is neuron.neuron_view(context, config).display  # simplified once


def _click(client, app, instance_id: int) -> dict:  # type: ignore[no-untyped-def]
    key = next(
        k
        for k, spec in app.callback_map.items()
        if any(d["property"] == "n_clicks" and "tile-view" in str(d["id"]) for d in spec["inputs"])
    )
    tile_id = {"index": instance_id, "type": "tile"}
    view_id = {"index": instance_id, "type": "tile-view"}
    body = {
        "output": key,
        "outputs": [
            {"id": tile_id, "property": "className"},
            {"id": tile_id, "property": "data-label"},
        ],
        "inputs": [{"id": view_id, "property": "n_clicks", "value": 1}],
        "changedPropIds": [json.dumps(view_id, separators=(",", ":")) + ".n_clicks"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:500]
    return response.get_json()


def test_a_label_click_patches_one_sphere_of_the_minimap(app_and_sid) -> None:  # type: ignore[no-untyped-def]
    app, client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    result = _click(client, app, 4)
    tile_key = json.dumps({"index": 4, "type": "tile"}, separators=(",", ":"))
    assert list(result["response"]) == [tile_key]
    assert result["response"][tile_key]["data-label"] == "incorrect"
    side = result["sideUpdate"]
    assert list(side) == [ids.MINIMAP]
    patch = side[ids.MINIMAP]["figure"]
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    assert patch["operations"] == [
        {
            "operation": "Assign",
            "location": ["data", 0, "marker", "color", 4],
            "params": {"value": int(MarkerCode.INCORRECT)},
        }
    ]
    assert len(json.dumps(result)) < 600  # never the skeleton
    assert context.store.instance(sid, 4).label is Label.INCORRECT


def test_volume_sessions_get_no_minimap_update(data_dir, tmp_path, demo_info) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}"))
    client = app.server.test_client()
    client.get("/")
    sid = client.get_cookie(COOKIE).value
    context = app.server.extensions[EXTENSION_KEY]
    assert prepare_session(context, sid, demo_form(demo_info, mode="volume")).ok
    result = _click(client, app, 2)
    assert "sideUpdate" not in result
    assert len(context.neurons) == 0  # no skeleton was loaded


def _layout(app, sid: str, path: str, **query: str):  # type: ignore[no-untyped-def]
    import dash

    layout = next(p["layout"] for p in dash.page_registry.values() if p["path"] == path)
    with app.server.test_request_context("/", headers={"Cookie": f"{COOKIE}={sid}"}):
        return json.loads(json.dumps(layout(**query), cls=_Encoder))


class _Encoder(json.JSONEncoder):
    def default(self, o):  # type: ignore[no-untyped-def]
        import plotly.io.json as pio_json

        if hasattr(o, "to_plotly_json"):
            return o.to_plotly_json()
        return json.loads(pio_json.to_json_plotly(o))


def _find(node, wanted: str):  # type: ignore[no-untyped-def]
    """The first component (as JSON) with id ``wanted``, else None."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == wanted:
            return node
        for value in node.values():
            found = _find(value, wanted)
            if found is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _find(value, wanted)
            if found is not None:
                return found
    return None


def test_review_pages_show_the_minimap_and_the_search_at_a_compartments_end(
    app_and_sid,
) -> None:  # type: ignore[no-untyped-def]
    app, _client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    items = context.store.instances(sid)
    ends = {
        page: k
        for page in range(1, len(_pages(items, PER_PAGE)) + 1)
        if (k := neuron.last_page_of_compartment(items, PER_PAGE, page)) is not None
    }
    middle = next(p for p in range(1, len(_pages(items, PER_PAGE)) + 1) if p not in ends)
    page_view = _layout(app, sid, "/annotation", page=str(middle))
    assert _find(page_view, ids.MINIMAP) is not None
    assert _find(page_view, ids.REVIEW_MISSED) is None
    last, k = next(iter(ends.items()))
    page_view = _layout(app, sid, "/annotation", page=str(last))
    button = _find(page_view, ids.REVIEW_MISSED)
    assert button["props"]["href"] == f"/missed?compartment={k}"
    assert "target voxels" in json.dumps(page_view)
    overview = _layout(app, sid, "/neuron")
    assert _find(overview, ids.NEURON_GRAPH) is not None
    assert context.store.load_config(sid).mode is Mode.NEURON


def test_clicks_on_the_figures_open_the_right_page(app_and_sid) -> None:  # type: ignore[no-untyped-def]
    app, client, sid = app_and_sid
    context = app.server.extensions[EXTENSION_KEY]
    items = context.store.instances(sid)
    first = neuron.first_pages(items, PER_PAGE)
    k = max(first)
    synapse = items[-1].instance_id

    def post(graph: str, output: dict, prop: str, value: object) -> dict:
        key = next(
            key
            for key, spec in app.callback_map.items()
            if any(d["id"] == graph and d["property"] == prop for d in spec["inputs"])
        )
        inputs = [
            {
                "id": d["id"],
                "property": d["property"],
                "value": value if d["property"] == prop else None,
            }
            for d in app.callback_map[key]["inputs"]
        ]
        body = {"output": key, "outputs": output, "inputs": inputs,
                "changedPropIds": [f"{graph}.{prop}"], "state": []}  # fmt: skip
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code in (200, 204), response.data[:500]
        return response.get_json() if response.status_code == 200 else {}

    overview = {"id": ids.NEURON_REDIRECT, "property": "href"}
    line = {"points": [{"curveNumber": 1 + k, "pointNumber": 3}]}
    sphere = {"points": [{"curveNumber": 0, "pointNumber": synapse, "customdata": synapse}]}
    result = post(ids.NEURON_GRAPH, overview, "clickData", line)
    assert result["response"][ids.NEURON_REDIRECT]["href"] == f"/annotation?page={first[k]}"
    result = post(ids.NEURON_GRAPH, overview, "clickData", sphere)
    last_page = len(_pages(items, PER_PAGE))
    assert result["response"][ids.NEURON_REDIRECT]["href"] == f"/annotation?page={last_page}"
    # a legend click toggles one compartment trace: it opens that compartment
    result = post(ids.NEURON_GRAPH, overview, "restyleData", [{"visible": ["legendonly"]}, [1 + k]])
    assert result["response"][ids.NEURON_REDIRECT]["href"] == f"/annotation?page={first[k]}"
    # the synapse legend entry is no compartment: nothing happens
    result = post(ids.NEURON_GRAPH, overview, "restyleData", [{"visible": [False]}, [0]])
    assert not result.get("response")
    review = {"id": ids.REVIEW_REDIRECT, "property": "href"}
    result = post(ids.MINIMAP, review, "clickData", line)
    assert result["response"][ids.REVIEW_REDIRECT]["href"] == f"/annotation?page={first[k]}"
