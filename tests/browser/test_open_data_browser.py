"""A person's path to a prepared first page, in headless Chromium against a real server."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def _submit_demo(page, base_url: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/")
    page.locator("#landing-detection").click()
    page.wait_for_url(re.compile(r".*/open-data\?workflow=detection"))
    assert page.locator("#od-source").input_value().startswith("file://")
    assert page.locator("#od-table").input_value().endswith(".csv")
    if mode == "neuron":
        page.get_by_role("radio", name="Neuron-centric").check()
        page.locator("#od-neuron-id").wait_for(state="visible")
        assert page.locator("#od-neuron-id").input_value().isdigit()
    assert page.locator("#od-start").is_disabled()
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=60_000)
    page.wait_for_function("() => !document.getElementById('od-start').disabled")


@pytest.mark.parametrize("mode", ["volume", "neuron"])
def test_demo_reaches_a_prepared_first_page(server, new_page, mode: str) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _submit_demo(page, server.url, mode)
    assert "Ready:" in page.locator("#od-ready").inner_text()
    page.locator("#od-start").click()
    if mode == "neuron":  # neuron-centric: the 3D overview comes first
        page.wait_for_url(re.compile(r".*/neuron"))
        page.locator("#neuron-start").click()
    page.wait_for_url(re.compile(r".*/annotation"))
    page.locator(".sd-tile").first.wait_for()
    assert page.locator(".sd-tile").count() > 0
    assert page.console_log.errors == []


def test_neuron_list_is_sortable_searchable_and_fills_the_id(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.get_by_role("radio", name="Neuron-centric").check()
    page.locator("#od-neuron-list-status").get_by_text("neurons in the table").wait_for()
    rows = page.locator("#od-neuron-list tbody tr")
    assert rows.count() > 1
    page.locator("#od-neuron-id").fill("")
    page.locator("#od-neuron-list input[type=radio]").nth(1).check()
    page.wait_for_function("() => document.getElementById('od-neuron-id').value.length > 10")
    chosen = page.locator("#od-neuron-id").input_value()
    assert chosen.isdigit() and int(chosen) > 2**53  # exact 64-bit id, not a rounded float
    assert page.console_log.errors == []


def test_bad_input_gets_a_message_per_field(server, new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.locator("#od-source").fill(f"file://{tmp_path}/nowhere")
    page.locator("#od-source").press("Tab")
    page.locator("#od-box-start").fill("9000, 9000, 900")
    page.locator("#od-box-start").press("Tab")
    page.locator("#od-box-stop").fill("9100, 9100, 910")
    page.locator("#od-box-stop").press("Tab")
    page.locator("#od-crop-size").fill("64, 64")
    page.locator("#od-crop-size").press("Tab")
    page.locator("#od-submit").click()
    feedback = page.locator("#od-source-feedback")
    feedback.wait_for(state="visible")
    assert "does not exist" in feedback.inner_text()
    assert "3 numbers" in page.locator("#od-crop-size-feedback").inner_text()
    assert page.locator("#od-start").is_disabled()
    assert "Traceback" not in page.content()


def test_two_browsers_get_separate_sessions(server, new_page) -> None:  # type: ignore[no-untyped-def]
    first, second = new_page(), new_page()
    for page in (first, second):
        page.goto(server.url + "/")
    cookie = [c["value"] for c in first.context.cookies() if c["name"] == "synanno_session"]
    other = [c["value"] for c in second.context.cookies() if c["name"] == "synanno_session"]
    assert cookie and other and cookie != other
    _submit_demo(first, server.url, "volume")
    # The second browser has no dataset: its review page says so, the first has tiles.
    second.goto(server.url + "/annotation")
    second.get_by_text("No dataset is open in this browser").wait_for()
    first.goto(server.url + "/annotation")
    first.locator(".sd-tile").first.wait_for()


def test_neuron_centric_with_an_uploaded_swc(server, new_page, demo_info, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from synanno_dash.data.skeletons import load_precomputed_skeleton, to_swc

    swc = tmp_path / "demo_neuron.swc"
    swc.write_text(to_swc(load_precomputed_skeleton(demo_info.neuropil_url,
                                                    demo_info.demo_neuron_id)))  # fmt: skip
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.get_by_role("radio", name="Neuron-centric").check()
    page.locator("#od-neuropil").fill("")
    page.locator("#od-neuropil").press("Tab")
    page.locator("#od-swc-upload input[type=file]").set_input_files(str(swc))
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=60_000)
    assert "demo_neuron.swc" in page.locator("#od-swc-status").inner_text()
    page.locator("#od-start").click()
    page.wait_for_url(re.compile(r".*/neuron"))
    page.locator("#neuron-start").wait_for()
    assert page.console_log.errors == []


def test_least_confident_first_without_a_confidence_column_says_so(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.locator("#od-review-order").select_option("least-confident")
    page.locator("#od-submit").click()
    status = page.locator("#od-submit-status")
    status.get_by_text("no 'confidence' column").wait_for(timeout=60_000)
    assert "Order:" in status.inner_text() and "choose table order" in status.inner_text()
    assert page.locator("#od-start").is_disabled()
    assert page.console_log.errors == []
