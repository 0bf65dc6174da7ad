"""The Error Detection path in headless Chromium: label, reload, undo, categorize, export,
restore in a new browser."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.browser


def _label(page, instance_id: int) -> str:  # type: ignore[no-untyped-def]
    return page.locator(f'.sd-tile[data-instance="{instance_id}"]').get_attribute("data-label")


def _wait_label(page, instance_id: int, label: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(f'.sd-tile[data-instance="{instance_id}"][data-label="{label}"]').wait_for()


def _open_review(page, base_url: str, tiles: str = "6") -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/open-data?workflow=detection")
    page.locator("#od-tiles-per-page").select_option(tiles)
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=60_000)
    page.locator("#od-start").click()
    page.wait_for_url(re.compile(r".*/annotation"))
    page.locator(".sd-tile").first.wait_for()


def _click_tile(page, instance_id: int, times: int = 1) -> None:  # type: ignore[no-untyped-def]
    expected = {1: "incorrect", 2: "unsure", 3: "correct"}
    for n in range(1, times + 1):
        page.locator(f'.sd-tile[data-instance="{instance_id}"] .sd-tile-view').click()
        _wait_label(page, instance_id, expected[n])


def test_review_categorize_export_and_restore(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_review(page, server.url)
    assert page.locator(".sd-tile").count() == 6
    assert page.locator("#review-page-label").inner_text().startswith("page 1 of")

    # page 1: a click cycles the label, the border colour follows
    _click_tile(page, 0, 1)
    _click_tile(page, 1, 2)
    assert "label-unsure" in page.locator('.sd-tile[data-instance="1"]').get_attribute("class")

    # the wheel moves through slices in the browser
    view = page.locator('.sd-tile[data-instance="2"] .sd-tile-view')
    before = page.locator('.sd-tile[data-instance="2"]').get_attribute("data-slice")
    view.hover()
    page.mouse.wheel(0, 120)
    page.wait_for_function(
        "() => document.querySelector('.sd-tile[data-instance=\"2\"]').dataset.slice"
        f" !== '{before}'"
    )

    # page 2 by keyboard: a click and a key press over a tile
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r".*page=2"))
    page.locator('.sd-tile[data-instance="6"]').wait_for()
    _click_tile(page, 6, 1)
    page.locator('.sd-tile[data-instance="7"] .sd-tile-view').hover()
    page.keyboard.press("3")
    _wait_label(page, 7, "unsure")

    # a reload returns to the same page with every label
    page.reload()
    page.locator('.sd-tile[data-instance="6"]').wait_for()
    assert (_label(page, 6), _label(page, 7)) == ("incorrect", "unsure")

    # undo and redo of the last change
    page.locator("#review-grid").click(position={"x": 1, "y": 1}, force=True)
    page.keyboard.press("Control+z")
    _wait_label(page, 7, "correct")
    page.keyboard.press("Control+Shift+z")
    _wait_label(page, 7, "unsure")

    page.goto(server.url + "/annotation?page=1")
    page.locator('.sd-tile[data-instance="0"]').wait_for()
    assert (_label(page, 0), _label(page, 1)) == ("incorrect", "unsure")

    # categorize: one card per flagged instance
    page.locator("#review-to-categorize").click()
    page.wait_for_url(re.compile(r".*/categorize"))
    cards = page.locator(".sd-card[data-instance]")
    cards.first.wait_for()
    assert sorted(int(c.get_attribute("data-instance")) for c in cards.all()) == [0, 1, 6, 7]
    card = {i: page.locator(f'.sd-card[data-instance="{i}"]') for i in (0, 1, 6, 7)}
    card[0].get_by_label("False positive").check()
    card[6].get_by_label("Poorly aligned mask").check()
    card[1].get_by_placeholder("custom category (free text)").fill("odd membrane")
    card[1].get_by_placeholder("custom category (free text)").press("Enter")
    card[7].get_by_placeholder("note").fill("fuzzy cleft")
    card[7].get_by_placeholder("note").blur()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.sd-card[data-instance=\"1\"] input[type=radio]')]"
        ".some(r => r.checked && r.value === 'custom')"
    )

    # Submit and Finish asks whether to discard the false positive: yes
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#cat-submit").click()
    page.wait_for_url(re.compile(r".*/export-annotate"))

    with page.expect_download() as download_info:
        page.locator("#export-download-button").click()
    path = download_info.value.path()
    document = json.loads(open(path).read())
    records = {r["Image_Index"]: r for r in document["Metadata"]}
    assert 0 not in records  # discarded false positive left the export
    assert records[1]["Label"] == "unsure" and records[1]["Error_Description"] == "odd membrane"
    assert records[6]["Label"] == "incorrect" and records[6]["Error_Description"] == "badFit"
    assert records[7]["sd_note"] == "fuzzy cleft"
    assert records[2]["Label"] == "correct" and records[2]["Annotated"] == "Yes"
    assert records[20]["Annotated"] == "No"
    assert {"start_grid", "finish_grid", "start_categorize", "finish_categorize",
            "difference_grid"} <= set(document["Proofread Time"])
    assert page.console_log.errors == []

    # a new browser restores everything from the JSON
    other = new_page()
    other.goto(server.url + "/open-data?workflow=detection")
    other.locator("#od-json-upload input[type=file]").set_input_files(path)
    other.locator("#od-json-status").get_by_text("Submit restores").wait_for()
    other.locator("#od-submit").click()
    other.locator("#od-ready").wait_for(timeout=60_000)
    assert "restored" in other.locator("#od-ready").inner_text()
    # the discarded instance is gone, so instance 6 moved to page 1 and 7 opens page 2
    other.goto(server.url + "/annotation?page=1")
    other.locator('.sd-tile[data-instance="6"]').wait_for()
    assert _label(other, 6) == "incorrect" and _label(other, 1) == "unsure"
    assert other.locator('.sd-tile[data-instance="0"]').count() == 0
    other.goto(server.url + "/annotation?page=2")
    other.locator('.sd-tile[data-instance="7"]').wait_for()
    assert _label(other, 7) == "unsure"
    assert other.console_log.errors == []


def test_labels_survive_a_server_restart(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_review(page, server.url, tiles="12")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r".*page=2"))
    page.locator('.sd-tile[data-instance="13"]').wait_for()
    _click_tile(page, 13, 2)
    server.restart()
    page.goto(server.url + "/annotation")  # no page number: the last page seen
    page.locator('.sd-tile[data-instance="13"]').wait_for()
    assert page.locator("#review-page-label").inner_text().startswith("page 2 of")
    assert _label(page, 13) == "unsure"


def test_enlarge_by_right_click_shows_coordinates(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_review(page, server.url)
    page.locator('.sd-tile[data-instance="3"] .sd-tile-view').click(button="right")
    info = page.locator("#enlarge-info")
    info.get_by_text("Instance #3").wait_for()
    assert "centre (x, y, z)" in info.inner_text()
    page.locator("#enlarge-graph .main-svg").first.wait_for()
    # a right-click does not change the label
    assert _label(page, 3) == "correct"
    # the overlay key hides the masks of every tile
    page.keyboard.press("Escape")
    page.locator("#enlarge-modal").wait_for(state="hidden")
    page.keyboard.press("o")
    assert "sd-no-overlay" in page.locator("#review-grid").get_attribute("class")


def test_synapse_types_on_the_enlarged_view_and_categorize(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open_review(page, server.url)
    # the enlarged view of a tile: choose a type, it is stored at once
    page.locator('.sd-tile[data-instance="3"] .sd-tile-view').click(button="right")
    page.locator("#enlarge-info").get_by_text("Instance #3").wait_for()
    page.locator("#enlarge-type").get_by_label("inhibitory").check()
    page.locator("#enlarge-type-saved").get_by_text("saved: inhibitory").wait_for()
    page.keyboard.press("Escape")
    page.locator("#enlarge-modal").wait_for(state="hidden")
    _click_tile(page, 0, 1)
    _click_tile(page, 4, 1)
    # Categorize: a card's own choice, and the enlarged view opened from another card
    page.locator("#review-to-categorize").click()
    page.wait_for_url(re.compile(r".*/categorize"))
    card = page.locator('.sd-card[data-instance="0"]')
    card.wait_for()
    card.get_by_label("excitatory").check()
    card.locator(".sd-type-saved").wait_for()
    page.locator('.sd-card[data-instance="4"]').get_by_role("button", name="enlarge").click()
    page.locator("#enlarge-info").get_by_text("Instance #4").wait_for()
    page.locator("#enlarge-type").get_by_label("unknown").check()
    page.locator("#enlarge-type-saved").get_by_text("saved: unknown").wait_for()
    page.keyboard.press("Escape")
    page.locator("#enlarge-modal").wait_for(state="hidden")
    page.locator("#cat-submit").click()
    page.wait_for_url(re.compile(r".*/export-annotate"))
    with page.expect_download() as download_info:
        page.locator("#export-download-button").click()
    document = json.loads(open(download_info.value.path()).read())
    types = {r["sd_instance_id"]: r["sd_synapse_type"] for r in document["Metadata"]}
    assert (types[0], types[3], types[4], types[1]) == ("excitatory", "inhibitory", "unknown", None)
    assert page.console_log.errors == []
