"""Issue 10 in headless Chromium: the original SynAnno's JSON restored, reviewed and
downloaded; an upload above the limit refused with a message; the Menu's reset asks first."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from synanno_dash.core.session_json import parse_session_json
from tests.conftest import ServerProcess
from tests.core.test_session_json_original import SAME_KEYS
from tests.original_synanno import original_json
from tests.ui.test_original_json_app import demo_original_session

pytestmark = pytest.mark.browser
SMALL_LIMIT = 1024**2  # request bytes of the second server


@pytest.fixture(scope="module")
def small_limit_server(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:  # type: ignore[type-arg]
    """The app with SYNANNO_MAX_UPLOAD_BYTES=1 MB (its own process, the same demo data)."""
    previous = os.environ.get("SYNANNO_MAX_UPLOAD_BYTES")
    os.environ["SYNANNO_MAX_UPLOAD_BYTES"] = str(SMALL_LIMIT)
    process = ServerProcess(data_dir, tmp_path_factory.mktemp("small") / "server.log")
    try:
        process.start()
        yield process
    finally:
        process.stop()
        if previous is None:
            os.environ.pop("SYNANNO_MAX_UPLOAD_BYTES", None)
        else:
            os.environ["SYNANNO_MAX_UPLOAD_BYTES"] = previous


def test_original_json_restored_reviewed_and_downloaded(
    server, new_page, demo_info, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    session = demo_original_session(demo_info, "zyx")
    path = tmp_path / "synanno.json"
    path.write_text(original_json(session))
    original = json.loads(path.read_text())
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.locator("#od-json-upload input[type=file]").set_input_files(str(path))
    page.locator("#od-json-status").get_by_text("14 instances").wait_for()
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=60_000)
    assert "14 synapses (restored" in page.locator("#od-ready").inner_text()
    page.goto(server.url + "/annotation?page=1")
    tile = page.locator('.sd-tile[data-instance="0"]')
    tile.wait_for()
    assert tile.get_attribute("data-label") == "correct"
    tile.locator(".sd-tile-view").click()
    page.locator('.sd-tile[data-instance="0"][data-label="incorrect"]').wait_for()
    page.goto(server.url + "/export-annotate")
    with page.expect_download() as download:
        page.locator("#export-download-button").click()
    exported = json.loads(Path(download.value.path()).read_text())
    for position, (before, after) in enumerate(
        zip(original["Metadata"], exported["Metadata"], strict=True)
    ):
        for key in SAME_KEYS:
            changed = ("Label", "Error_Description") if position == 0 else ()
            if key not in (*changed, "Annotated"):  # all 14 were on the page seen: Yes
                assert after[key] == before[key], (position, key)
        assert after["Annotated"] == "Yes"
    assert exported["Metadata"][0]["Label"] == "incorrect"
    assert (exported["Metadata"][0]["Z_Index"], exported["Metadata"][0]["X_Index"]) == (0, 2)
    assert len(parse_session_json(json.dumps(exported)).instances) == 14
    assert page.console_log.errors == []


def test_an_upload_above_the_limit_is_refused_with_a_message(
    small_limit_server, new_page, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.json"
    big.write_text('{"Metadata": []}' + " " * SMALL_LIMIT)
    page = new_page()
    page.goto(small_limit_server.url + "/open-data?workflow=detection")
    page.locator("#od-json-upload input[type=file]").set_input_files(str(big))
    note = page.locator("#od-json-upload").locator("xpath=..").locator(".sd-upload-limit")
    note.get_by_text("big.json is 1.0 MB; an upload may be at most").wait_for()
    assert "SYNANNO_MAX_UPLOAD_BYTES" in note.inner_text()
    assert page.locator("#od-json-status").inner_text() == ""  # nothing was sent
    # a file within the limit clears the note and is checked as usual
    small = tmp_path / "small.json"
    small.write_text('{"Metadata": 5}')
    page.locator("#od-json-upload input[type=file]").set_input_files(str(small))
    page.locator("#od-json-status").get_by_text("no 'Metadata' list").wait_for()
    assert note.inner_text() == ""
    assert page.console_log.errors == []


def test_menu_reset_asks_then_starts_a_new_session(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=60_000)
    before = {c["name"]: c for c in page.context.cookies()}["synanno_session"]
    assert before["httpOnly"] and before["sameSite"] == "Lax"
    # declining the dialog keeps everything
    page.locator("#nav-menu").click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#menu-reset").click()
    page.goto(server.url + "/annotation")
    page.locator(".sd-tile").first.wait_for()
    # accepting posts the reset: a new, empty session
    page.locator("#nav-menu").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#menu-reset").click()
    page.wait_for_url(re.compile(r".*/$"))
    after = {c["name"]: c for c in page.context.cookies()}["synanno_session"]
    assert after["value"] != before["value"]
    page.goto(server.url + "/annotation")
    page.get_by_text("No dataset is open in this browser").wait_for()
    # a link to /reset (GET) only asks
    page.goto(server.url + "/reset")
    page.locator("#reset-confirm-button").wait_for()
    assert {c["name"]: c for c in page.context.cookies()}["synanno_session"]["value"] == after[
        "value"
    ]
