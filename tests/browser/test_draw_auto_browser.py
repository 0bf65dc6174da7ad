"""Auto (U-Net) in the drawing view, in headless Chromium on the demo dataset: draw one
slice -> Auto (key u) -> progress -> proposal on other slices -> Accept all -> undo / redo
-> Submit -> the masks zip holds the completed slices and the drawn one unchanged."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from synanno_dash.data.masks_zip import parse_mask_file_name
from tests.browser.test_draw_browser import GD, _current_z, _open_flagged, _status

pytestmark = pytest.mark.browser


def _proposal_shown(page) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The proposal trace of the current slice, decoded from the figure (bool (y, x))."""
    uri = page.evaluate(f"() => {GD}.data[6].source")
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data))) != 0


def _edited_cells(page) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(t) for t in page.locator(".sd-strip-cell.sd-strip-edited").all_inner_texts()]


def test_auto_proposal_accept_undo_export(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_flagged(page, server.url, {0: 1})
    page.locator("#draw-open-0").click()
    page.wait_for_url(re.compile(r".*/draw/instance\?id=0"))
    page.locator("#di-graph .nsewdrag").wait_for()
    z = _current_z(page)
    # the drawn slice: the cleft shown on the centre slice, saved as the user's
    page.locator("#di-save").click()
    _status(page, f"Slice z={z} saved")
    drawn = page.evaluate(f"() => {GD}.data[1].source")

    page.locator("#di-graph").hover()
    page.keyboard.press("u")
    page.locator("#job-draw-auto-running").wait_for(state="visible")
    page.locator("#di-proposal-info").get_by_text("Proposal (cyan) on 15 slice(s)").wait_for(
        timeout=60_000
    )
    assert not _proposal_shown(page).any()  # none on the drawn slice
    page.keyboard.press("ArrowDown")
    page.locator("#di-slice-label").get_by_text(f"z = {z + 1} ").wait_for()
    page.wait_for_function(f"() => {GD}.data[6].source.length > 200")
    proposed = _proposal_shown(page)
    assert proposed.any() and proposed.shape == (64, 64)

    page.locator("#di-accept-all").click()
    _status(page, "Accepted the proposal on 15 slice(s)")
    assert len(_edited_cells(page)) == 15 and z not in _edited_cells(page)
    page.keyboard.press("Control+z")
    _status(page, "Undid an accepted Auto proposal")
    page.wait_for_function("() => document.querySelectorAll('.sd-strip-edited').length === 0")
    page.keyboard.press("Control+Shift+z")
    _status(page, "Redid an accepted Auto proposal")
    page.wait_for_function("() => document.querySelectorAll('.sd-strip-edited').length === 15")
    page.keyboard.press("ArrowUp")
    page.locator("#di-slice-label").get_by_text(f"z = {z} ").wait_for()
    assert page.evaluate(f"() => {GD}.data[1].source") == drawn

    page.goto(server.url + "/draw")
    page.locator('.sd-draw-tile[data-instance="0"][data-edited="16"]').wait_for()
    page.locator("#draw-submit").click()
    page.wait_for_url(re.compile(r".*/export-draw"))
    with page.expect_download() as zip_info:
        page.locator("#exd-zip-button").click()
    with zipfile.ZipFile(zip_info.value.path()) as archive:
        npys = {parse_mask_file_name(n): n for n in archive.namelist() if n.endswith(".npy")}
        ours = next(k for k in npys if k.instance_id == 0)
        mask = np.load(io.BytesIO(archive.read(npys[ours]))).astype(bool)
    k = z - ours.bbox_target_vx.start_xyz[2]
    assert np.array_equal(mask[k + 1], proposed)
    assert mask[k].any()
