"""Mask checks and orthogonal views in the drawing view, in headless Chromium on the demo:
draw a mask with a hole on one slice and an empty slice before a drawn one, see both listed,
click them and the slice slider jumps there; the x-z and y-z views show what was drawn (read
back from the figures' images); a click in an orthogonal view moves the slice and the cut;
the export step's check list links to the drawing view at the issue's slice."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.browser.test_draw_browser import (
    GD,
    _click_data,
    _click_points,
    _current_z,
    _geometry,
    _open_flagged,
    _status,
)

pytestmark = pytest.mark.browser

XZ = "document.querySelector('#di-xz .js-plotly-plot')"
YZ = "document.querySelector('#di-yz .js-plotly-plot')"
BIG = [(16, 16), (112, 16), (112, 112), (16, 112)]  # EM pixels of the filled curve
SMALL = [(56, 56), (72, 56), (72, 72), (56, 72)]  # erased inside it: a hole


def _mask(page, gd: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The mask trace of a figure, decoded from its PNG (bool, rows x columns)."""
    uri = page.evaluate(f"() => {gd}.data[1].source")
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data))) != 0


def _wait_mask(page, gd: str, before: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"(old) => {gd}.data[1].source !== old", arg=before)


def _fill(page, geo: dict, pixels: list, key: str, text: str) -> None:  # type: ignore[no-untyped-def]
    _click_points(page, geo, pixels)
    page.keyboard.press(key)
    _status(page, text)


def _check(page, problem: str, z: int):  # type: ignore[no-untyped-def]
    return page.locator(f'.sd-check-item[data-problem="{problem}"][data-z="{z}"]')


def test_checks_jump_and_orthogonal_views(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_flagged(page, server.url, {0: 1})
    page.locator("#draw-open-0").click()
    page.wait_for_url(re.compile(r".*/draw/instance\?id=0"))
    page.locator("#di-graph .nsewdrag").wait_for()
    page.locator("#di-xz .nsewdrag").wait_for()
    geo = _geometry(page)
    x0, y0 = int(geo["x0"]), int(geo["y0"])
    z = _current_z(page)
    z0 = int(page.evaluate(f"() => Math.round({XZ}._fullLayout.yaxis.range[1] + 0.5)"))
    k = z - z0
    # the views are not squashed: a 40 nm slice is five times an 8 nm voxel on screen
    ratio = page.evaluate(
        f"""() => {{ const l = {XZ}._fullLayout;
        return (l.yaxis._length / Math.abs(l.yaxis.range[1] - l.yaxis.range[0])) /
               (l.xaxis._length / Math.abs(l.xaxis.range[1] - l.xaxis.range[0])); }}"""
    )
    assert ratio == pytest.approx(5.0, rel=0.02)

    # slice z: cleared, a filled curve, a smaller one erased inside it -> a hole on z
    page.locator("#di-graph").hover()
    page.keyboard.press("x")
    _status(page, f"Slice z={z} cleared")
    _fill(page, geo, BIG, "f", f"Filled on slice z={z}")
    _fill(page, geo, SMALL, "r", f"Erased on slice z={z}")
    _check(page, "hole", z).wait_for()
    drawn = _mask(page, GD)
    assert drawn.shape == (64, 64) and not drawn[30, 32] and drawn[30, 12]

    # a click in the y-z view at a row through the hole: the x-z view cuts there (it cut at
    # the synapse centre before), the slice stays z
    assert page.evaluate(f"() => {YZ}.data[3].x[0]") != y0 + 30
    before = page.evaluate(f"() => {XZ}.data[1].source")
    _click_data(page, y0 + 30, z, YZ)
    _wait_mask(page, XZ, before)
    page.locator("#di-xz .gtitle").get_by_text(f"x-z at y = {y0 + 30}").wait_for()
    assert _current_z(page) == z
    xz = _mask(page, XZ)
    assert xz.shape == (16, 64)
    assert np.array_equal(xz[k], drawn[30])  # the x-z row of slice z is the drawn row
    assert xz[k, 12] and not xz[k, 32]  # the hole, seen from the side

    # slice z+2 drawn, z+1 cleared: an empty slice between masked ones (a gap on z+1)
    page.locator("#di-graph").hover()
    page.keyboard.press("ArrowDown")
    page.locator("#di-slice-label").get_by_text(f"z = {z + 1} ").wait_for()
    page.keyboard.press("x")
    _status(page, f"Slice z={z + 1} cleared")
    page.keyboard.press("ArrowDown")
    page.locator("#di-slice-label").get_by_text(f"z = {z + 2} ").wait_for()
    _fill(page, geo, BIG, "f", f"Filled on slice z={z + 2}")
    _check(page, "gap", z + 1).wait_for()
    yz = _mask(page, YZ)
    cut_x = int(page.evaluate(f"() => {XZ}.data[3].x[0]"))
    assert not yz[k + 1].any()  # the cleared slice is empty in the y-z view too
    assert np.array_equal(yz[k + 2], _mask(page, GD)[:, cut_x - x0])

    # a click on a listed check: the slider jumps to its slice
    page.keyboard.press("ArrowDown")
    page.locator("#di-slice-label").get_by_text(f"z = {z + 3} ").wait_for()
    _check(page, "gap", z + 1).click()
    page.locator("#di-slice-label").get_by_text(f"z = {z + 1} ").wait_for()
    assert page.locator(".sd-strip-current").get_attribute("data-k") == str(k + 1)
    _check(page, "hole", z).click()
    page.locator("#di-slice-label").get_by_text(f"z = {z} ").wait_for()
    assert np.array_equal(_mask(page, GD), drawn)
    # the current slice's line in both orthogonal views
    page.wait_for_function(f"() => {XZ}.data[2].y[0] === {z} && {YZ}.data[2].y[0] === {z}")

    # a click in the x-z view: that slice, and the y-z view cuts at that x
    _click_data(page, x0 + 20, z + 2, XZ)
    page.locator("#di-slice-label").get_by_text(f"z = {z + 2} ").wait_for()
    page.locator("#di-yz .gtitle").get_by_text(f"y-z at x = {x0 + 20}").wait_for()

    # the export step links each issue to its slice
    page.goto(server.url + "/draw")
    page.locator("#draw-submit").click()
    page.wait_for_url(re.compile(r".*/export-draw"))
    page.locator("#exd-check-button").click()
    link = page.locator(f".exd-check-issue.z-{z + 1} a").first
    link.wait_for(timeout=60_000)
    link.click()
    page.wait_for_url(re.compile(rf".*/draw/instance\?id=0&z={z + 1}"))
    page.locator("#di-slice-label").get_by_text(f"z = {z + 1} ").wait_for()
    assert page.console_log.errors == []
