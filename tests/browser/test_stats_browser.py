"""The statistics view in headless Chromium, on a server of its own (its own database, so
the dataset scope holds exactly the sessions made here): label known tiles of the demo
neuron, read the figures' data on /stats, jump from a compartment's bar to its grid page,
download a table's CSV and the report (opened offline), compare two sessions (agreement,
a disagreement opening the enlarged view) and colour the neuron overview by error rate."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from synanno_dash.ui.skeleton_figure import compartment_color, error_rate_color
from tests.browser.test_neuron_browser import PER_PAGE, expected_pages
from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser
JOB_MS = 240_000
FIGURE = "document.querySelector('#stats-panel-{} .js-plotly-plot')"


@pytest.fixture
def stats_server(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SYNANNO_DATABASE_URL", f"sqlite:///{tmp_path / 'stats-sessions.db'}")
    process = ServerProcess(data_dir, tmp_path / "stats-server.log")
    process.start()
    yield process
    process.stop()


def _open_demo_neuron(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/open-data?workflow=detection")
    page.locator("#od-tiles-per-page").select_option(str(PER_PAGE))
    page.get_by_role("radio", name="Neuron-centric").check()
    page.locator("#od-neuron-id").wait_for(state="visible")
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=90_000)


def _label(page, url: str, number: int, clicks: dict[int, int]) -> None:  # type: ignore[no-untyped-def]
    """Show grid page ``number`` and click tiles (instance id -> clicks: 1 incorrect,
    2 unsure)."""
    page.goto(f"{url}/annotation?page={number}")
    page.locator(".sd-tile").first.wait_for()
    names = {1: "incorrect", 2: "unsure"}
    for instance, n in clicks.items():
        for _ in range(n):
            page.locator(f'.sd-tile[data-instance="{instance}"] .sd-tile-view').click()
        page.locator(f'.sd-tile[data-instance="{instance}"][data-label="{names[n]}"]').wait_for()


def _figure(page, key: str, expression: str):  # type: ignore[no-untyped-def]
    return page.evaluate(f"() => {FIGURE.format(key)}.{expression}")


def _open_stats(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#nav-stats").click()
    page.wait_for_url(re.compile(r".*/stats$"))
    # the statistics are a background job (a process of its own): generous on a shared machine
    page.wait_for_function(f"() => {FIGURE.format('compartments')}?.data", timeout=JOB_MS)


def test_stats_view_counts_jumps_downloads_and_agreement(
    stats_server, new_page, data_dir, tmp_path, demo_info
) -> None:  # type: ignore[no-untyped-def]
    pages = expected_pages(data_dir, tmp_path, demo_info)
    compartment_of = {i: k for tiles in pages for i, k in tiles}
    first_page: dict[int, int] = {}
    for number, tiles in enumerate(pages, start=1):
        first_page.setdefault(tiles[0][1], number)
    last = max(first_page)  # the last compartment, on a later page than the first
    later = first_page[last]
    assert later > 1
    url = stats_server.url

    page = new_page()
    _open_demo_neuron(page, url)
    one = [i for i, _k in pages[0]]
    two = [i for i, _k in pages[later - 1]]
    labels = {one[0]: 1, one[2]: 2, two[0]: 1}  # incorrect, unsure, incorrect
    _label(page, url, 1, {one[0]: 1, one[2]: 2})
    _label(page, url, later, {two[0]: 1})

    # /stats from the navbar: the per-compartment figure holds the labels made
    _open_stats(page)
    seen = {k: 0 for k in first_page}
    flagged = {k: 0 for k in first_page}
    for i in one + two:
        seen[compartment_of[i]] += 1
        flagged[compartment_of[i]] += i in labels
    bars = _figure(page, "compartments", "data[0]")
    shown = dict(zip(bars["customdata"], zip(bars["y"], bars["hovertext"], strict=True),
                     strict=True))  # fmt: skip
    for k in first_page:
        rate, text = shown[k]
        if seen[k] == 0:
            assert rate is None
            continue
        assert rate == pytest.approx(100 * flagged[k] / seen[k])
        assert text.startswith(f"{flagged[k]} flagged of {seen[k]} reviewed")
    # the confusion matrix against the demo's ground truth counts the same labels
    confusion = _figure(page, "confusion", "data[0]")
    rows = {label: sum(r) for label, r in zip(confusion["y"], confusion["z"], strict=True)}
    assert rows["incorrect"] == 2 and rows["unsure"] == 1
    assert rows["correct"] == len(one) + len(two) - 3
    categories = _figure(page, "categories", "data[0]")
    assert sum(categories["x"]) == 3

    # the table's CSV holds the figure's numbers
    with page.expect_download() as download_info:
        page.locator('#stats-panel-compartments button:has-text("Download CSV")').click()
    table = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    by_compartment = {int(r["Compartment"]): r for r in table}
    assert int(by_compartment[last]["Reviewed"]) == seen[last]
    assert int(by_compartment[last]["Incorrect"]) == 1

    # the report: downloaded, then opened offline with every figure drawn
    with page.expect_download(timeout=JOB_MS) as download_info:
        page.locator("#stats-report-button").click()
    report = tmp_path / "report.html"
    download_info.value.save_as(report)
    offline = new_page()
    refused: list[str] = []

    def only_the_file(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    offline.context.route("**/*", only_the_file)
    offline.goto(report.as_uri())
    offline.locator("#figure-compartments .main-svg").first.wait_for()
    drawn = offline.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(e => e.querySelector('.main-svg')).map(e => e.id)"
    )
    assert {"figure-compartments", "figure-confusion", "figure-positions"} <= set(drawn)
    assert refused == [] and offline.console_log.errors == []

    # a click on the last compartment's bar opens its first grid page
    index = bars["customdata"].index(last)
    page.locator("#stats-panel-compartments").scroll_into_view_if_needed()
    bar = page.locator("#stats-panel-compartments .bars .point path").nth(index).bounding_box()
    assert bar is not None
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] - 2)
    page.wait_for_url(re.compile(rf".*/annotation\?page={later}$"))
    page.locator(f'.sd-tile[data-instance="{two[0]}"][data-label="incorrect"]').wait_for()

    # the neuron overview, coloured by error rate, and back
    page.goto(url + "/neuron")
    graph = "document.querySelector('#neuron-graph .js-plotly-plot')"
    page.wait_for_function(f"() => {graph}?.data")
    page.get_by_label("Colour by error rate").check()
    expected = error_rate_color(flagged[last] / seen[last])
    page.wait_for_function(f"() => {graph}.data[{1 + last}].line.color === '{expected}'")
    untouched = next(k for k in first_page if seen[k] == 0)
    assert page.evaluate(f"() => {graph}.data[{1 + untouched}].line.color") == error_rate_color(
        None
    )
    page.get_by_label("Colour by error rate").uncheck()
    page.wait_for_function(
        f"() => {graph}.data[{1 + last}].line.color === '{compartment_color(last)}'"
    )

    # a second reviewer sees page 1 and leaves every tile correct: they disagree on two rows
    other = new_page()
    _open_demo_neuron(other, url)
    _label(other, url, 1, {})
    page.goto(url + "/stats?scope=dataset")
    page.wait_for_function(f"() => {FIGURE.format('agreement')}?.data", timeout=JOB_MS)
    note = page.locator("#stats-panel-agreement").inner_text()
    assert "Cohen's kappa" in note and f"over {len(one)} table rows" in note
    assert "2 row(s) labelled differently" in note
    page.locator(f'#stats-panel-agreement button:has-text("Open instance #{one[0]}")').click()
    page.locator("#enlarge-modal").wait_for()
    page.wait_for_function(
        f"() => document.getElementById('enlarge-info')?.textContent.includes('Instance #{one[0]}')"
    )
    assert page.console_log.errors == [] and other.console_log.errors == []
