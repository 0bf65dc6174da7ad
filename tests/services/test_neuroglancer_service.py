"""The Neuroglancer viewer service without a browser.

Viewers are real ``neuroglancer.Viewer`` objects served by the package's in-process server;
their states are inspected directly. Key presses need a browser, so the actions are fired the
way the server fires them (``viewer.actions.invoke`` with the JSON action state the client
sends) or, for the handlers themselves, with a small stand-in for ``ActionState``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace

import neuroglancer
import numpy as np
import pytest
from neuroglancer.viewer_config_state import SegmentIdMapEntry

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.services import ng_state
from synanno_dash.services.context import AppContext
from synanno_dash.services.local_data import local_folder
from synanno_dash.services.neuroglancer_viewers import (
    ADD_CANDIDATE_ACTION,
    CHOOSE_NEURON_ACTION,
    ViewerRegistry,
    candidate_points,
    keys_bound,
)
from tests.services.test_local_data_route import NEURON_LEFT, write_dataset
from tests.services.test_local_data_route import registry as token_registry

BASE_URL = "http://127.0.0.1:8050"
CENTER = (60, 70, 8)
PRE = (58, 70, 8)
POST = (62, 71, 8)
CROP = (64, 64, 6)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DatasetConfig:
    return write_dataset(tmp_path_factory.mktemp("ngservice"))


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> AppContext:
    """The app's data-route tokens (a real store), which viewers register local folders with."""
    return token_registry(tmp_path_factory.mktemp("tokens"))


@pytest.fixture()
def registry(tokens: AppContext) -> Iterator[ViewerRegistry]:
    reg = ViewerRegistry("127.0.0.1", 0, BASE_URL, token_of=tokens.data_token)
    yield reg
    reg.close_all()


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def layer_names(state: neuroglancer.ViewerState) -> list[str]:
    return [layer.name for layer in state.layers]


def markers_by_id(state: neuroglancer.ViewerState) -> dict[str, tuple[list[float], str]]:
    layer = state.layers[ng_state.MARKERS_LAYER].layer
    return {a.id: ([float(v) for v in a.point], a.props[0]) for a in layer.annotations}


def client_action(mouse_xyz: list[float] | None, neuropil_value: object = None) -> dict:
    """The JSON action state the Neuroglancer client posts when a bound key is pressed."""
    state: dict = {"selectedValues": {}}
    if mouse_xyz is not None:
        state["mousePosition"] = mouse_xyz
    if neuropil_value is not None:
        state["selectedValues"][ng_state.NEUROPIL_LAYER] = {"value": neuropil_value}
    return state


def test_one_viewer_per_session_closed_with_it(registry: ViewerRegistry) -> None:
    a = registry.get_or_create("session-a")
    b = registry.get_or_create("session-b")
    assert registry.get_or_create("session-a") is a
    assert a is not b and a.get_viewer_url() != b.get_viewer_url()
    assert registry.viewer_url("session-a") == a.get_viewer_url()
    assert http_status(a.get_viewer_url()) == 200
    assert registry.close("session-a") is True
    assert "session-a" not in registry and len(registry) == 1
    assert http_status(a.get_viewer_url()) == 404  # the URL is dead at once
    assert http_status(b.get_viewer_url()) == 200
    assert registry.close("session-a") is False
    assert registry.get_or_create("session-a") is not a  # a new viewer on demand
    registry.close_all()
    assert len(registry) == 0
    assert http_status(b.get_viewer_url()) == 404


def test_least_recently_used_viewer_is_closed_beyond_the_limit() -> None:
    registry = ViewerRegistry("127.0.0.1", 0, BASE_URL, max_viewers=2)
    try:
        registry.get_or_create("one")
        registry.get_or_create("two")
        registry.get_or_create("one")  # now "two" is the least recently used
        registry.get_or_create("three")
        assert "one" in registry and "three" in registry and "two" not in registry
    finally:
        registry.close_all()


def test_viewer_url_host_can_be_replaced(registry: ViewerRegistry) -> None:
    url = registry.viewer_url("s")
    replaced = registry.viewer_url("s", browser_host="synanno.example.org")
    assert replaced.startswith("http://synanno.example.org:")
    assert replaced.split(":")[-1] == url.split(":")[-1]


def test_instance_state(
    registry: ViewerRegistry, dataset: DatasetConfig, tokens: AppContext
) -> None:
    url = registry.show("s", dataset, ng_state.instance_spec(CENTER, PRE, POST, CROP))
    state = registry.get_or_create("s").state
    assert url == registry.viewer_url("s")
    # Dimensions: the target resolution in nm, x, y, z.
    assert list(state.dimensions.names) == ["x", "y", "z"]
    np.testing.assert_allclose(np.asarray(state.dimensions.scales) * 1e9, [8, 8, 40])
    # Position: the middle of the centre voxel.
    assert [int(np.floor(v)) for v in state.position] == list(CENTER)
    np.testing.assert_allclose(state.position, np.add(CENTER, 0.5))
    # The crop fits in the expected panel with room around it.
    spec = ng_state.ViewSpec(CENTER, CROP)
    panel_nm = spec.panel_px * state.cross_section_scale * 8
    assert CROP[0] * 8 < panel_nm <= 4 * CROP[0] * 8
    assert state.layout.type == "xy"
    # Layers, types, visibility, sources through the app's data route.
    assert layer_names(state) == ["source", "target", "neuropil", "markers"]
    types = {layer.name: layer.layer.type for layer in state.layers}
    assert types == {
        "source": "image", "target": "segmentation", "neuropil": "segmentation",
        "markers": "annotation",
    }  # fmt: skip
    visible = {layer.name: layer.visible for layer in state.layers}
    assert visible == {"source": True, "target": True, "neuropil": False, "markers": True}
    em = local_folder(dataset.source_url)
    assert em is not None
    assert state.layers["source"].layer.source[0].url == (
        f"precomputed://{BASE_URL}/ngdata/{tokens.data_token(em)}"
    )
    # Markers: pre green, post blue, on their voxel centres.
    assert markers_by_id(state) == {
        "pre": ([58.5, 70.5, 8.5], ng_state.PRE_COLOR),
        "post": ([62.5, 71.5, 8.5], ng_state.POST_COLOR),
    }


def test_remote_sources_pass_through() -> None:
    config = DatasetConfig(
        source_url="gs://bucket/em", target_url="precomputed://s3://bucket/clefts",
        table_url="", source_resolution=Resolution(4, 4, 33),
        target_resolution=Resolution(8, 8, 33),
    )  # fmt: skip
    state = ng_state.build_state(config, ng_state.ViewSpec(CENTER, CROP), base_url="")
    assert state.layers["source"].layer.source[0].url == "precomputed://gs://bucket/em"
    assert state.layers["target"].layer.source[0].url == "precomputed://s3://bucket/clefts"
    assert "neuropil" not in layer_names(state)  # none configured
    np.testing.assert_allclose(np.asarray(state.dimensions.scales) * 1e9, [8, 8, 33])


def test_local_sources_need_the_app_base_url(dataset: DatasetConfig) -> None:
    with pytest.raises(ValueError, match="base URL and data route"):
        ng_state.build_state(dataset, ng_state.ViewSpec(CENTER, CROP), base_url="")


def test_neuron_chooser_shows_the_neuropil(registry: ViewerRegistry, dataset) -> None:
    registry.show("s", dataset, ng_state.chooser_spec(dataset, CENTER, None))
    state = registry.get_or_create("s").state
    assert state.layers["neuropil"].visible is True


def test_keys_bound_on_each_viewer(registry: ViewerRegistry) -> None:
    for session_id in ("a", "b"):
        viewer = registry.get_or_create(session_id)
        assert keys_bound(viewer) == {"keyn": CHOOSE_NEURON_ACTION, "keyc": ADD_CANDIDATE_ACTION}
        assert {CHOOSE_NEURON_ACTION, ADD_CANDIDATE_ACTION} <= set(
            viewer.config_state.state.actions
        )


def test_n_chooses_a_neuron_for_that_session_only(
    dataset: DatasetConfig, tokens: AppContext
) -> None:
    chosen: list[tuple[str, int]] = []
    registry = ViewerRegistry(
        "127.0.0.1", 0, BASE_URL, on_neuron_chosen=lambda s, n: chosen.append((s, n)),
        token_of=tokens.data_token,
    )  # fmt: skip
    try:
        for session_id in ("a", "b"):
            registry.show(session_id, dataset, ng_state.chooser_spec(dataset, None, None))
        viewer_a = registry.get_or_create("a")
        # The client sends 64-bit ids as decimal strings: the choice must stay exact.
        viewer_a.actions.invoke(CHOOSE_NEURON_ACTION, client_action([10, 10, 8], str(NEURON_LEFT)))
        assert registry.chosen_neuron("a") == NEURON_LEFT
        assert registry.chosen_neuron("b") is None
        assert chosen == [("a", NEURON_LEFT)]
        # Pressing n again on another neuron changes the choice; on background it does not.
        viewer_a.actions.invoke(CHOOSE_NEURON_ACTION, client_action([100, 10, 8], "7"))
        assert registry.chosen_neuron("a") == 7
        viewer_a.actions.invoke(CHOOSE_NEURON_ACTION, client_action([100, 10, 8], "0"))
        viewer_a.actions.invoke(CHOOSE_NEURON_ACTION, client_action([100, 10, 8]))
        assert registry.chosen_neuron("a") == 7
        # A mapped (agglomerated) segment: the neuron is the mapped id.
        stub = SimpleNamespace(
            selected_values={"neuropil": SimpleNamespace(value=SegmentIdMapEntry(5, NEURON_LEFT))}
        )
        assert registry.handle_choose_neuron("b", stub) == NEURON_LEFT
        assert registry.chosen_neuron("b") == NEURON_LEFT and registry.chosen_neuron("a") == 7
        registry.close("a")
        assert registry.chosen_neuron("a") is None
    finally:
        registry.close_all()


def test_c_records_candidates_for_that_session_only(
    dataset: DatasetConfig, tokens: AppContext
) -> None:
    seen: list[tuple[str, tuple[int, int, int]]] = []
    registry = ViewerRegistry(
        "127.0.0.1", 0, BASE_URL, on_candidate=lambda s, p: seen.append((s, p)),
        token_of=tokens.data_token,
    )  # fmt: skip
    try:
        for session_id in ("a", "b"):
            registry.show(session_id, dataset, ng_state.instance_spec(CENTER, PRE, POST, CROP))
        viewer_a = registry.get_or_create("a")
        viewer_a.actions.invoke(ADD_CANDIDATE_ACTION, client_action([86.1, 70.5, 8.5]))
        stub = SimpleNamespace(mouse_voxel_coordinates=np.array([20.9, 30.0, 3.2], np.float32))
        assert registry.handle_add_candidate("a", stub) == (20, 30, 3)
        assert registry.handle_add_candidate("a", SimpleNamespace()) is None  # mouse outside
        assert registry.candidates("a") == [(86, 70, 8), (20, 30, 3)]
        assert registry.candidates("b") == []
        assert seen == [("a", (86, 70, 8)), ("a", (20, 30, 3))]
        # Yellow markers in a's viewer only, beside pre and post.
        markers = markers_by_id(viewer_a.state)
        assert markers["candidate-0"] == ([86.5, 70.5, 8.5], ng_state.CANDIDATE_COLOR)
        assert candidate_points(viewer_a.state) == [(86, 70, 8), (20, 30, 3)]
        assert candidate_points(registry.get_or_create("b").state) == []
        # A later search view of a still shows them; clearing removes them.
        spec = ng_state.missed_search_spec(
            CENTER, dataset.crop_size_xyz_vx, registry.candidates("a"), NEURON_LEFT, 4.0
        )
        registry.show("a", dataset, spec)
        assert candidate_points(viewer_a.state) == [(86, 70, 8), (20, 30, 3)]
        assert viewer_a.state.layers["neuropil"].visible is True
        registry.clear_candidates("a")
        assert registry.candidates("a") == []
        assert candidate_points(viewer_a.state) == []
        assert set(markers_by_id(viewer_a.state)) == set()
    finally:
        registry.close_all()


def test_no_candidate_before_a_view_is_shown(registry: ViewerRegistry) -> None:
    registry.get_or_create("fresh")
    stub = SimpleNamespace(mouse_voxel_coordinates=[1.0, 2.0, 3.0])
    assert registry.handle_add_candidate("fresh", stub) is None
    assert registry.handle_add_candidate("unknown", stub) is None
    assert registry.candidates("fresh") == []


def test_mouse_coordinates_converted_per_dimensions() -> None:
    target = Resolution(8, 8, 40)
    # A viewer whose dimensions are 4x4x20 nm: 2 of its units per target voxel.
    dims = neuroglancer.CoordinateSpace(names=["x", "y", "z"], units="nm", scales=[4, 4, 20])
    assert ng_state.to_target_voxels([101.0, 41.9, 7.0], dims, target) == (50, 20, 3)
    dims_zyx = neuroglancer.CoordinateSpace(names=["z", "y", "x"], units="nm", scales=[40, 8, 8])
    assert ng_state.to_target_voxels([3.5, 20.2, 50.7], dims_zyx, target) == (50, 20, 3)
    same = ng_state.coordinate_space(target)
    assert ng_state.to_target_voxels([123456.9, 0.0, 7.99], same, target) == (123456, 0, 7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("18446744073709551557", 18446744073709551557),
        (18446744073709551557, 18446744073709551557),
        (np.uint64(2**63 + 1), 2**63 + 1),
        (SegmentIdMapEntry(5, None), 5),
        (SegmentIdMapEntry(5, 9), 9),
        (12.0, 12),
        ("0", None),
        (0, None),
        (None, None),
        (True, None),
        (12.5, None),
        ("#00ff00", None),
    ],
)
def test_segment_id_values_are_exact_ints(value: object, expected: int | None) -> None:
    result = ng_state.segment_id_value(value)
    assert result == expected
    assert result is None or type(result) is int


def test_proposed_bbox_inside_and_at_the_border() -> None:
    volume = BBox((0, 0, 0), (128, 128, 16))
    inside = ng_state.proposed_bbox((60, 70, 8), CROP, volume)
    assert inside.bbox_target_vx == BBox((28, 38, 5), (92, 102, 11))
    assert inside.inside_volume and inside.z_range == (5, 11)
    assert inside.padding_before_xyz == (0, 0, 0) and inside.padding_after_xyz == (0, 0, 0)
    edge = ng_state.proposed_bbox((10.7, 120.2, 1.9), CROP, volume)
    assert edge.center_xyz_vx == (10, 120, 1)
    assert edge.bbox_target_vx == BBox((-22, 88, -2), (42, 152, 4))  # padded, not shifted
    assert edge.clipped_target_vx == BBox((0, 88, 0), (42, 128, 4))
    assert not edge.inside_volume and edge.z_range == (0, 4)
    assert edge.padding_before_xyz == (22, 0, 2) and edge.padding_after_xyz == (0, 24, 0)
