"""The Error Correction path in headless Chromium on the demo dataset: draw by clicks, fill,
save, erase, markers on two slices, autosave across a restart, and every export checked
against what was clicked."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from synanno_dash.core.masks import (
    DEFAULT_POINTS_PER_SEGMENT,
    closed_spline,
    polygon_area,
    polygon_mask,
)
from synanno_dash.data.masks_zip import parse_mask_file_name

pytestmark = pytest.mark.browser

GD = "document.querySelector('#di-graph .js-plotly-plot')"
ADD_GD = "document.querySelector('#draw-add-graph .js-plotly-plot')"


def _open_flagged(page, base_url: str, flag: dict[int, int]) -> None:  # type: ignore[no-untyped-def]
    """Open the demo for review, click tiles (1 = incorrect, 2 = unsure), go to /draw."""
    page.goto(base_url + "/open-data?workflow=detection")
    page.locator("#od-tiles-per-page").select_option("6")
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=60_000)
    page.locator("#od-start").click()
    page.wait_for_url(re.compile(r".*/annotation"))
    labels = {1: "incorrect", 2: "unsure"}
    for instance_id, times in flag.items():
        for n in range(1, times + 1):
            page.locator(f'.sd-tile[data-instance="{instance_id}"] .sd-tile-view').click()
            page.locator(
                f'.sd-tile[data-instance="{instance_id}"][data-label="{labels[n]}"]'
            ).wait_for()
    page.goto(base_url + "/draw")
    page.locator(".sd-draw-tile[data-instance]").first.wait_for()


def _geometry(page, gd: str = GD) -> dict:  # type: ignore[no-untyped-def]
    """The drawing box's x, y start and the EM pixels per voxel, from the figure itself."""
    return page.evaluate(
        f"""() => {{ const gd = {gd};
        const xr = gd._fullLayout.xaxis.range, yr = gd._fullLayout.yaxis.range;
        return {{x0: xr[0] + 0.5, x1: xr[1] + 0.5, y0: yr[1] + 0.5, y1: yr[0] + 0.5,
                 dx: gd.data[0].dx, dy: gd.data[0].dy}}; }}"""
    )


def _pixel_centre(geo: dict, column: int, row: int) -> tuple[float, float]:
    """Data coordinates of displayed EM pixel (column, row)."""
    return (geo["x0"] - 0.5 + (column + 0.5) * geo["dx"], geo["y0"] - 0.5 + (row + 0.5) * geo["dy"])


def _client(page, x: float, y: float, gd: str = GD) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Page coordinates of figure data coordinates (x, y)."""
    left, top = page.evaluate(
        f"""([x, y]) => {{ const gd = {gd};
        const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
        return [r.left + gd._fullLayout.xaxis.l2p(x), r.top + gd._fullLayout.yaxis.l2p(y)]; }}""",
        [x, y],
    )
    return (left, top)


def _click_data(page, x: float, y: float, gd: str = GD) -> None:  # type: ignore[no-untyped-def]
    page.mouse.click(*_client(page, x, y, gd))


def _click_points(page, geo: dict, pixels: list[tuple[int, int]]) -> np.ndarray:  # type: ignore[no-untyped-def]
    for n, (column, row) in enumerate(pixels, 1):
        _click_data(page, *_pixel_centre(geo, column, row))
        page.wait_for_function(f"() => {GD}.data[3].x.length === {n}")
    return np.array([_pixel_centre(geo, c, r) for c, r in pixels])


def _current_z(page) -> int:  # type: ignore[no-untyped-def]
    found = re.search(r"z = (\d+)", page.locator("#di-slice-label").inner_text())
    assert found is not None
    return int(found.group(1))


def _status(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("#di-status").get_by_text(text).wait_for()


def test_draw_fill_erase_markers_export(server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cloudvolume import CloudVolume

    page = new_page()
    _open_flagged(page, server.url, {0: 1, 2: 2})
    tiles = page.locator(".sd-draw-tile[data-instance]")
    assert sorted(int(t.get_attribute("data-instance")) for t in tiles.all()) == [0, 2]

    page.locator("#draw-open-0").click()
    page.wait_for_url(re.compile(r".*/draw/instance\?id=0"))
    page.locator("#di-graph .nsewdrag").wait_for()
    geo = _geometry(page)
    assert (geo["x1"] - geo["x0"], geo["y1"] - geo["y0"]) == (64, 64)
    assert (geo["dx"], geo["dy"]) == (0.5, 0.5)  # the EM is at 4 nm, the target at 8 nm
    z = _current_z(page)

    # clear the slice, then a spline through four clicked points, filled and saved
    page.locator("#di-graph").hover()
    page.keyboard.press("x")
    _status(page, f"Slice z={z} cleared")
    drawn = _click_points(page, geo, [(20, 20), (90, 26), (84, 100), (26, 92)])
    page.locator("#di-fill").click()
    _status(page, f"Filled on slice z={z}")
    page.locator("#di-save").click()
    _status(page, f"Slice z={z} saved")
    # erase part of it: three clicks and Revise (by its key)
    erased = _click_points(page, geo, [(40, 40), (70, 44), (52, 76)])
    page.keyboard.press("r")
    _status(page, f"Erased on slice z={z}")
    assert page.locator(".sd-strip-cell.sd-strip-current").get_attribute("data-state") == "edited"

    # pre marker on this slice, post marker two slices further (wheel), by keys 1 and 2
    page.keyboard.press("1")
    page.wait_for_function(f"() => {GD}._fullLayout.dragmode === false")
    _click_data(page, *_pixel_centre(geo, 31, 47))  # EM pixel (31, 47) lies in voxel (15, 23)
    pre = (int(geo["x0"]) + 15, int(geo["y0"]) + 23, z)
    page.locator("#di-pre-text").get_by_text(f"x={pre[0]}, y={pre[1]}, z={z}").wait_for()
    page.locator("#di-graph").hover()
    page.mouse.wheel(0, 120)
    page.locator("#di-slice-label").get_by_text(f"z = {z + 1} ").wait_for()
    page.keyboard.press("ArrowDown")
    page.locator("#di-slice-label").get_by_text(f"z = {z + 2} ").wait_for()
    page.keyboard.press("2")
    page.locator('#di-tool input[value="post"]:checked').wait_for(state="attached")
    _click_data(page, *_pixel_centre(geo, 100, 10))
    post = (int(geo["x0"]) + 50, int(geo["y0"]) + 5, z + 2)
    page.locator("#di-post-text").get_by_text(f"x={post[0]}, y={post[1]}, z={z + 2}").wait_for()

    # undo and redo the post marker (Ctrl+Z / Ctrl+Shift+Z)
    page.keyboard.press("Control+z")
    _status(page, "Undid a post marker change")
    page.keyboard.press("Control+Shift+z")
    _status(page, "Redid a post marker change")

    # a server restart and a reload keep slices and markers
    server.restart()
    page.reload()
    page.locator("#di-graph .nsewdrag").wait_for()
    page.locator("#di-post-text").get_by_text(f"x={post[0]}, y={post[1]}").wait_for()
    assert page.locator(".sd-strip-cell.sd-strip-edited").all_inner_texts() == [str(z)]

    # export: Submit and Finish from the overview
    page.goto(server.url + "/draw")
    page.locator('.sd-draw-tile[data-instance="0"][data-edited="1"]').wait_for()
    page.locator("#draw-submit").click()
    page.wait_for_url(re.compile(r".*/export-draw"))
    with page.expect_download() as zip_info:
        page.locator("#exd-zip-button").click()
    with zipfile.ZipFile(zip_info.value.path()) as archive:
        names = archive.namelist()
        npys = {parse_mask_file_name(n): n for n in names if n.endswith(".npy")}
        pngs = [parse_mask_file_name(n) for n in names if n.endswith(".png")]
        ours = next(k for k in npys if k.instance_id == 0)
        mask = np.load(io.BytesIO(archive.read(npys[ours])))
    assert {k.instance_id for k in npys} == {0, 2}
    assert [(p.instance_id, p.z_vx) for p in pngs] == [(0, z)]
    box = ours.bbox_target_vx
    assert mask.shape == (16, 64, 64) and box.start_xyz[:2] == (geo["x0"], geo["y0"])
    origin = (box.start_xyz[0], box.start_xyz[1])
    per_segment = DEFAULT_POINTS_PER_SEGMENT
    expected = polygon_mask(closed_spline(drawn, per_segment), (64, 64), origin) & ~polygon_mask(
        closed_spline(erased, per_segment), (64, 64), origin
    )
    edited = mask[z - box.start_xyz[2]].astype(bool)
    assert np.array_equal(edited, expected)
    # independent of our rasterizer: the middle of the drawn shape is in, the hole is out
    mid = lambda cr: (int(round(_pixel_centre(geo, *cr)[1] - origin[1])),  # noqa: E731
                      int(round(_pixel_centre(geo, *cr)[0] - origin[0])))  # fmt: skip
    assert edited[mid((30, 80))] and not edited[mid((54, 52))] and not edited[mid((120, 120))]

    with page.expect_download() as json_info:
        page.locator("#exd-json-button").click()
    document = json.loads(open(json_info.value.path()).read())
    record = next(r for r in document["Metadata"] if r["sd_instance_id"] == 0)
    assert [record[f"pre_pt_{a}"] for a in "xyz"] == list(pre)
    assert [record[f"post_pt_{a}"] for a in "xyz"] == list(post)
    assert record["sd_edited_slices_z"] == [z]

    page.locator("#exd-layer-button").click()
    # text_content: dcc.Loading hides the result while busy, and innerText of hidden text is ""
    page.locator("#exd-layer-url").wait_for()
    url = (page.locator("#exd-layer-url").text_content() or "").removeprefix("precomputed://")
    assert url.startswith("file://")
    volume = CloudVolume(url, fill_missing=True, progress=False)
    (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
    layer = np.asarray(volume[x0:x1, y0:y1, z0:z1])[..., 0].transpose(2, 1, 0)
    assert np.array_equal(layer[z - z0] == 1, expected)  # segment id = instance id + 1

    page.locator("#exd-table-button").click()
    page.locator("#exd-table-status").get_by_text("1 with corrected points").wait_for()
    assert page.console_log.errors == []


def test_add_a_missed_synapse_by_typing(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_flagged(page, server.url, {1: 1})
    page.locator("#draw-add-open").click()
    page.locator("#draw-add-graph .nsewdrag").wait_for()
    assert page.locator("#draw-add-ng").get_attribute("href").startswith("/missed?instance=")
    for field, value in zip(("#draw-add-x", "#draw-add-y", "#draw-add-z"), (250, 260, 30)):
        page.locator(field).fill(str(value))
    page.locator("#draw-add-review").click()
    page.locator("#draw-add-box-info").get_by_text("slices z 22 to 37 (16 slices)").wait_for()
    page.locator("#draw-add-save").click()
    page.wait_for_url(re.compile(r".*/draw/instance\?id=\d+"))
    page.locator("#di-graph .nsewdrag").wait_for()
    new_id = int(page.url.rsplit("=", 1)[1])
    assert "incorrect" in page.locator("h4 + span").inner_text()
    assert "false negative" in page.locator("h4 + span").inner_text()
    assert page.locator("#di-slice-label").inner_text() == "slice z = 30 (9 of 16)"
    page.goto(server.url + "/draw")
    page.locator(f'.sd-draw-tile[data-instance="{new_id}"]').wait_for()
    assert page.locator(".sd-draw-tile[data-instance]").count() == 2
    assert page.console_log.errors == []


def _zip_slices(page, base_url: str) -> dict[int, np.ndarray]:  # type: ignore[no-untyped-def]
    """Export the masks zip and return instance 0's edited slices (PNG) by absolute z."""
    page.goto(base_url + "/export-draw")
    with page.expect_download() as info:
        page.locator("#exd-zip-button").click()
    out: dict[int, np.ndarray] = {}
    with zipfile.ZipFile(info.value.path()) as archive:
        for name in archive.namelist():
            parsed = parse_mask_file_name(name) if name != "manifest.json" else None
            if parsed is not None and parsed.z_vx is not None and parsed.instance_id == 0:
                image = Image.open(io.BytesIO(archive.read(name)))
                out[parsed.z_vx] = np.asarray(image) > 0
    return out


def test_freehand_fill_undo_redo(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_flagged(page, server.url, {0: 1})
    page.goto(server.url + "/draw/instance?id=0")
    page.locator("#di-graph .nsewdrag").wait_for()
    geo = _geometry(page)
    z = _current_z(page)
    page.locator("#di-graph").hover()
    page.keyboard.press("d")
    page.wait_for_function(f"() => {GD}._fullLayout.dragmode === 'drawclosedpath'")
    corners = [(geo["x0"] + 8, geo["y0"] + 9), (geo["x0"] + 50, geo["y0"] + 12),
               (geo["x0"] + 44, geo["y0"] + 55), (geo["x0"] + 10, geo["y0"] + 40)]  # fmt: skip
    page.mouse.move(*_client(page, *corners[0]))
    page.mouse.down()
    for corner in (*corners[1:], corners[0]):
        page.mouse.move(*_client(page, *corner), steps=8)
    page.mouse.up()
    page.wait_for_function(f"() => {GD}.data[2].x.length >= 4")  # the path became the curve
    curve = np.array(page.evaluate(f"() => [{GD}.data[2].x, {GD}.data[2].y]")).T[:-1]
    origin = (geo["x0"], geo["y0"])
    page.keyboard.press("x")
    _status(page, f"Slice z={z} cleared")
    assert page.evaluate(f"() => {GD}.data[2].x.length") == len(curve) + 1  # clear keeps it
    page.keyboard.press("f")
    _status(page, f"Filled on slice z={z}")
    slices = _zip_slices(page, server.url)
    expected = polygon_mask(curve, (64, 64), origin)
    assert np.array_equal(slices[z], expected)
    # and it is the quadrilateral dragged (plotly keeps the corners of a straight drag)
    assert expected.sum() == pytest.approx(polygon_area(np.array(corners)), rel=0.02)

    page.goto(server.url + "/draw/instance?id=0")
    page.locator("#di-graph .nsewdrag").wait_for()
    page.locator("#di-graph").hover()
    page.keyboard.press("Control+z")
    _status(page, f"Undid a stroke on slice z={z}")
    page.keyboard.press("Control+z")
    _status(page, f"Undid a stroke on slice z={z}")  # the clear: the slice is original again
    assert z not in _zip_slices(page, server.url)
    page.goto(server.url + "/draw/instance?id=0")
    page.locator("#di-graph .nsewdrag").wait_for()
    page.locator("#di-graph").hover()
    page.keyboard.press("Control+Shift+z")
    _status(page, f"Redid a stroke on slice z={z}")
    page.keyboard.press("Control+Shift+z")
    _status(page, f"Redid a stroke on slice z={z}")
    assert np.array_equal(_zip_slices(page, server.url)[z], expected)
    assert page.console_log.errors == []


def test_add_a_missed_synapse_by_clicking_a_nearby_instance(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_flagged(page, server.url, {3: 1})
    page.locator("#draw-add-open").click()
    page.locator("#draw-add-graph .nsewdrag").wait_for()
    page.locator("#draw-add-nearby").get_by_text("#0 at").wait_for()
    geo = _geometry(page, ADD_GD)
    _click_data(page, *_pixel_centre(geo, 41, 86), ADD_GD)  # voxel (20, 43) of the crop
    x_field = page.locator("#draw-add-x")
    page.wait_for_function("() => document.querySelector('#draw-add-x').value !== ''")
    assert int(x_field.input_value()) == int(geo["x0"]) + 20
    assert int(page.locator("#draw-add-y").input_value()) == int(geo["y0"]) + 43
    assert page.locator("#draw-add-z").input_value() != ""
    page.locator("#draw-add-review").click()
    page.locator("#draw-add-box-info").get_by_text("(16 slices)").wait_for()
    page.locator("#draw-add-save").click()
    page.wait_for_url(re.compile(r".*/draw/instance\?id=\d+"))
    assert page.console_log.errors == []
