"""The drawing view's mask checks and orthogonal views through Dash's endpoint (real app,
real demo session): a stroke that leaves a hole and a gap is listed with its slice, a click on
an item answers that slice, the views show the stored masks, crafted values get a named
message; the drawing view opens at a slice given in its address."""

from __future__ import annotations

import base64
import io
import sys

import dash
import numpy as np
import pytest
from PIL import Image

from synanno_dash.services import correction
from synanno_dash.ui import ids
from tests.conftest import PreparedSession
from tests.ui.crafted_requests import CraftedCaller


def _png(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))) != 0


def _key(caller: CraftedCaller, name: str) -> str:
    return next(k for k in caller.server_callbacks() if caller.name(k) == name)


@pytest.fixture
def drawn(demo_session: PreparedSession) -> tuple[PreparedSession, dict, int]:
    """Instance 0 with slice k0 = 3 holding a ring (a hole), slice 4 empty and 5 a square."""
    session = demo_session.session
    drawing = correction.load_drawing(session, 0)
    z0 = drawing.box.start_xyz[2]
    ring = np.zeros(drawing.masks_zyx.shape[1:], dtype=bool)
    ring[20:40, 20:40] = True
    ring[28:32, 28:32] = False
    square = np.zeros_like(ring)
    square[20:40, 20:40] = True
    empty = np.zeros_like(ring)
    correction.write_slices(session, 0, {z0 + 3: ring, z0 + 4: empty, z0 + 5: square})
    meta = {"instance_id": 0, "box": drawing.box.as_list(), "em_shape": [128, 128],
            "n": int(drawing.masks_zyx.shape[0])}  # fmt: skip
    return demo_session, meta, z0


def test_refresh_lists_the_hole_and_the_gap_and_shows_the_cuts(drawn) -> None:  # type: ignore[no-untyped-def]
    prepared, meta, z0 = drawn
    caller = CraftedCaller(prepared.app, prepared.client)
    x0, y0 = meta["box"][0], meta["box"][1]
    answer = caller.call(_key(caller, "refresh"), {0: [], 1: [x0 + 25, y0 + 30], 2: 3, 3: meta})
    assert answer.status == 200 and answer.toast == "", answer.toast
    response = answer.body["response"]  # type: ignore[index]
    listed = str(response[ids.DI_CHECKS]["children"])
    assert f"slice z={z0 + 3}: a hole of 16 voxels inside the mask" in listed
    assert f"slices z={z0 + 4}..{z0 + 4}: no mask between masked slices" in listed
    jumps = response[ids.DI_CHECK_JUMPS]["data"]
    assert 3 in jumps and 4 in jumps
    drawing = correction.load_drawing(prepared.session, 0)
    xz_ops = response[ids.DI_XZ]["figure"]["operations"]
    sources = [op["params"]["value"] for op in xz_ops if op["location"][-1] == "source"]
    xz = _png(sources[1])  # EM first, then the mask
    assert np.array_equal(xz, drawing.masks_zyx[:, 30, :])
    assert list(xz[3, 26:34]) == [True, True, False, False, False, False, True, True]
    assert not xz[4].any()


def test_a_click_on_a_check_answers_its_slice(drawn) -> None:  # type: ignore[no-untyped-def]
    """The crafted request clicks the first listed item (its n_clicks goes to 1)."""
    prepared, _meta, _z0 = drawn
    caller = CraftedCaller(prepared.app, prepared.client)
    key = _key(caller, "jump")
    answer = caller.call(key, {0: 1, 1: [4, 3]})
    assert answer.toast == "" and answer.body["response"][ids.DI_SLICE]["value"] == 4  # type: ignore[index]
    redrawn = caller.call(key, {0: 0, 1: [4, 3]})  # a new list: nothing was clicked
    assert redrawn.toast == "" and ids.DI_SLICE not in (redrawn.body or {}).get("response", {})
    for jumps in ("abc", [], [10**30], None):
        answer = caller.call(key, {0: 1, 1: jumps})
        assert answer.status == 200 and "This request was refused" in answer.toast, answer.toast


def test_a_click_in_an_orthogonal_view_moves_slice_and_cut(drawn) -> None:  # type: ignore[no-untyped-def]
    prepared, meta, z0 = drawn
    caller = CraftedCaller(prepared.app, prepared.client)
    key = _key(caller, "ortho_click")
    x0, y0 = meta["box"][0], meta["box"][1]
    answer = caller.call(key, {0: {"x": x0 + 10.4, "y": z0 + 5.2}, 2: [x0 + 1, y0 + 2], 3: meta})
    response = answer.body["response"]  # type: ignore[index]
    assert response[ids.DI_SLICE]["value"] == 5
    assert response[ids.DI_ORTHO_XY]["data"] == [x0 + 10, y0 + 2]
    far = {"x": x0 + 10**6, "y": z0 - 10**6}  # outside the box: the nearest slice and voxel
    answer = caller.call(key, {0: far, 2: [x0 + 1, y0 + 2], 3: meta})
    response = answer.body["response"]  # type: ignore[index]
    assert response[ids.DI_SLICE]["value"] == 0
    assert response[ids.DI_ORTHO_XY]["data"] == [meta["box"][3] - 1, y0 + 2]


def test_the_drawing_view_opens_at_the_slice_in_its_address(drawn) -> None:  # type: ignore[no-untyped-def]
    """A check's link from the export step: ``z`` (absolute) starts the view there; a slice
    outside the box starts at the nearest one."""
    prepared, _meta, z0 = drawn
    view = next(
        sys.modules[page["module"]]
        for page in dash.page_registry.values()
        if page["module"].endswith("draw_instance")
    )
    drawing = correction.load_drawing(prepared.session, 0)
    n = drawing.masks_zyx.shape[0]
    assert view._start_slice(drawing, str(z0 + 4)) == 4
    assert view._start_slice(drawing, str(z0 - 99)) == 0
    assert view._start_slice(drawing, str(z0 + 10**6)) == n - 1
    centre = drawing.item.synapse.center_xyz_vx[2] - z0
    assert view._start_slice(drawing, None) == centre
    with pytest.raises(ValueError):
        view._start_slice(drawing, "9" * 5000)
