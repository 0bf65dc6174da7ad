"""Neuroglancer in the app, in headless Chromium against a real server on the demo.

The viewer's own state is read inside its iframe (the client sets ``window.viewer``); keys
reach it after a click on its data panel. Waits are Playwright waits on conditions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tests.browser.test_review_browser import _open_review

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

pytestmark = pytest.mark.browser

PANEL = ".neuroglancer-rendered-data-panel"
TOLERANCE_VX = 2
POSITION_JS = "() => Array.from(window.viewer.navigationState.position.value)"
POSITION_IS_JS = """(expected) => {
    const p = window.viewer && window.viewer.navigationState.position.value;
    return !!p && p.length === 3 && expected.every((v, i) => Math.abs(p[i] - v) < 1e-3);
}"""


def viewer_frame(page: Page, iframe_selector: str) -> Frame:
    """The viewer inside an iframe, once its src is set and its client is running."""
    page.wait_for_function(
        "(sel) => { const f = document.querySelector(sel);"
        " return !!f && !!f.src && f.src.startsWith('http'); }",
        arg=iframe_selector,
    )
    handle = page.locator(iframe_selector).element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_function("() => window.viewer && window.viewer.navigationState.position.valid")
    frame.locator(PANEL).first.wait_for()
    return frame


def wait_for_position(frame: Frame, expected: list[float]) -> list[float]:
    try:
        frame.wait_for_function(POSITION_IS_JS, arg=expected, timeout=10_000)
    except Exception:
        pass  # the assertion below shows what the viewer has
    position = frame.evaluate(POSITION_JS)
    np.testing.assert_allclose(position, expected, atol=1e-3)
    return position


def focus_panel(page: Page, frame: Frame) -> tuple[float, float, float]:
    """Click the data panel (keys reach it afterwards); its centre and the zoom (vx / px)."""
    box = frame.locator(PANEL).first.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(cx, cy - 100)
    zoom = float(frame.evaluate("() => window.viewer.navigationState.zoomFactor.value"))
    return cx, cy, zoom


def enlarged_centre(page: Page) -> list[int]:
    text = page.locator("#enlarge-info").inner_text()
    found = re.search(r"centre \(x, y, z\) \[(\d+), (\d+), (\d+)\]", text)
    assert found is not None, text
    return [int(v) for v in found.groups()]


def open_in_ng(page: Page, instance_id: int) -> tuple[Frame, list[int], str]:
    page.locator(f'.sd-tile[data-instance="{instance_id}"] .sd-tile-view').click(button="right")
    page.locator("#enlarge-info").get_by_text(f"Instance #{instance_id}").wait_for()
    centre = enlarged_centre(page)
    page.get_by_role("button", name="View in NG").click()
    frame = viewer_frame(page, "#enlarge-modal iframe")
    src = page.locator("#enlarge-modal iframe").get_attribute("src") or ""
    return frame, centre, src


def test_view_in_ng_opens_at_the_instance_and_back_returns(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_review(page, server.url)
    frame, centre, _src = open_in_ng(page, 3)
    wait_for_position(frame, [c + 0.5 for c in centre])
    layers = frame.evaluate("() => window.viewer.layerManager.managedLayers.map(l => l.name)")
    assert layers == ["source", "target", "neuropil", "markers"]
    page.get_by_role("button", name="Back").click()
    page.locator("#enlarge-graph").wait_for(state="visible")
    assert not page.locator("#enlarge-modal iframe").is_visible()
    # Another tile opens the same viewer on its own instance.
    page.keyboard.press("Escape")
    page.locator("#enlarge-modal").wait_for(state="hidden")
    frame, centre, _src = open_in_ng(page, 4)
    wait_for_position(frame, [c + 0.5 for c in centre])


def test_two_browsers_have_their_own_viewers(server, new_page) -> None:  # type: ignore[no-untyped-def]
    first, second = new_page(), new_page()
    _open_review(first, server.url)
    _open_review(second, server.url)
    frame_a, centre_a, src_a = open_in_ng(first, 1)
    frame_b, centre_b, src_b = open_in_ng(second, 5)
    assert src_a != src_b
    assert centre_a != centre_b
    wait_for_position(frame_a, [c + 0.5 for c in centre_a])
    wait_for_position(frame_b, [c + 0.5 for c in centre_b])


def press_until(page: Page, key: str, changed, attempts: int = 20) -> None:  # type: ignore[no-untyped-def]
    """Press ``key`` until ``changed()`` (the segment under the mouse is known only once its
    chunk has loaded); each attempt waits up to a second for the app to show the change."""
    for _ in range(attempts):
        page.keyboard.press(key)
        try:
            changed(1_000)
            return
        except Exception:
            continue
    raise AssertionError(f"pressing {key} changed nothing")


def another_neuron(demo_info, centre: tuple[int, int, int], demo_id: int) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A voxel deep inside a neuron other than the demo neuron, near the chooser's centre."""
    from cloudvolume import CloudVolume

    cx, cy, z = centre
    half = 120
    volume = CloudVolume(demo_info.neuropil_url, progress=False)
    ids_yx = np.asarray(volume[cx - half : cx + half, cy - half : cy + half, z])[..., 0, 0].T
    best = None
    for y in range(4, 2 * half - 4, 2):
        for x in range(4, 2 * half - 4, 2):
            value = int(ids_yx[y, x])
            patch = ids_yx[y - 4 : y + 5, x - 4 : x + 5]
            if value in (0, demo_id) or not (patch == value).all():
                continue
            distance = (x - half) ** 2 + (y - half) ** 2
            if best is None or distance < best[0]:
                best = (distance, value, cx - half + x, cy - half + y)
    assert best is not None, "no other neuron near the centre of the demo"
    return best[1], best[2], best[3]


def test_choose_a_neuron_with_n(server, new_page, demo_info) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.get_by_role("radio", name="Neuron-centric").check()
    field = page.locator("#od-neuron-id")
    field.fill("")
    field.press("Tab")
    page.locator("#od-choose-neuron").click()
    frame = viewer_frame(page, "#od-chooser-frame")
    position = frame.evaluate(POSITION_JS)
    cx, cy, zoom = focus_panel(page, frame)

    def to_screen(x_vx: float, y_vx: float) -> tuple[float, float]:
        return cx + (x_vx + 0.5 - position[0]) / zoom, cy + (y_vx + 0.5 - position[1]) / zoom

    def field_is(value: str):  # type: ignore[no-untyped-def]
        return lambda timeout: page.wait_for_function(
            "(v) => document.getElementById('od-neuron-id').value === v", arg=value,
            timeout=timeout,
        )  # fmt: skip

    # n over the demo neuron's soma: its 64-bit id arrives in the form, exact.
    soma = [c / r for c, r in zip(demo_info.demo_soma_xyz_nm, demo_info.target_resolution_nm)]
    page.mouse.move(*to_screen(soma[0], soma[1]), steps=5)
    press_until(page, "n", field_is(str(demo_info.demo_neuron_id)))
    assert "Chosen neuron" in page.locator("#od-chooser-picked").inner_text()
    # n over another neuron changes the choice.
    centre = (int(position[0]), int(position[1]), int(position[2]))
    other_id, x, y = another_neuron(demo_info, centre, demo_info.demo_neuron_id)
    page.mouse.move(*to_screen(x, y), steps=5)
    press_until(page, "n", field_is(str(other_id)))
    # Closing keeps the choice.
    page.locator("#od-chooser-close").click()
    page.locator("#od-chooser-modal").wait_for(state="hidden")
    assert field.input_value() == str(other_id)


def test_missed_synapse_marked_with_c_reviewed_and_saved(server, new_page, demo_info) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_review(page, server.url)
    page.goto(server.url + "/missed?instance=3")
    frame = viewer_frame(page, "#missed-frame")
    position = frame.evaluate(POSITION_JS)
    cx, cy, zoom = focus_panel(page, frame)
    # c 60 px right and 40 px down of the centre: a yellow marker and a listed candidate.
    page.mouse.move(cx + 60, cy + 40, steps=5)
    page.keyboard.press("c")
    item = page.locator("#missed-list li").first
    item.wait_for()
    found = re.fullmatch(r"x (\d+), y (\d+), z (\d+)", item.inner_text())
    assert found is not None
    candidate = [int(v) for v in found.groups()]
    assert abs(candidate[0] - (position[0] + 60 * zoom)) <= TOLERANCE_VX
    assert abs(candidate[1] - (position[1] + 40 * zoom)) <= TOLERANCE_VX
    assert candidate[2] == int(position[2])
    frame.wait_for_function(
        "() => window.viewer.layerManager.getLayerByName('markers')"
        ".layer.localAnnotations.toJSON().some(a => a.id.startsWith('candidate-'))"
    )
    # Done: a review dialog with a box around the candidate, and its preview.
    page.locator("#missed-done").click()
    page.locator("#missed-review-title").get_by_text("Missed synapse 1 of 1").wait_for()
    start = [int(page.locator(f"#missed-{a}-start").input_value()) for a in "xyz"]
    stop = [int(page.locator(f"#missed-{a}-stop").input_value()) for a in "xyz"]
    assert all(a <= c < b for a, c, b in zip(start, candidate, stop, strict=True))
    assert [b - a for a, b in zip(start, stop, strict=True)] == [64, 64, 6]
    assert "slices z" in page.locator("#missed-review-info").inner_text()
    page.locator("#missed-preview .main-svg").first.wait_for()
    # Save: back to where the user came from; the new instance is a false negative to fix.
    page.locator("#missed-save").click()
    page.wait_for_url(re.compile(r".*/draw$"))
    page.goto(server.url + "/categorize")
    new_id = demo_info.n_table_rows  # instances 0..n-1 come from the table
    card = page.locator(f'.sd-card[data-instance="{new_id}"]')
    card.wait_for()
    assert "table row -1" in card.inner_text()  # added by hand, in no table row
    checked = card.locator("input[type=radio]:checked")
    # label incorrect, category false negative, and synapse type "none" (the empty choice):
    # a synapse added by hand has no type yet
    assert sorted(checked.evaluate_all("els => els.map(e => e.value)")) == [
        "", "false_negative", "incorrect",
    ]  # fmt: skip
    assert page.console_log.errors == []
