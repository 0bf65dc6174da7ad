"""Neuron-centric review of the demo neuron in headless Chromium: the 3D overview, pages
that follow compartments, jumps to a compartment, and the mini-map following a label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.settings import Settings

pytestmark = pytest.mark.browser
PER_PAGE = 6
FIGURE = "document.getElementById('{}')?.querySelector('.js-plotly-plot')"


def expected_pages(data_dir: Path, tmp_path: Path, demo_info) -> list[list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
    """(instance id, compartment) per page, prepared in this process from the same data."""
    from synanno_dash.core.paging import ReviewPages

    context = AppContext.create(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 'expected.db'}")
    )
    form = OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url,
        neuropil=demo_info.neuropil_url, table=demo_info.table_url, mode="neuron",
        neuron_id=str(demo_info.demo_neuron_id), tiles_per_page=str(PER_PAGE),
    )  # fmt: skip
    assert prepare_session(context, "expected", form).ok
    items = context.store.instances("expected")
    return [
        [(i.instance_id, int(i.compartment)) for i in items[a:b]]  # type: ignore[arg-type]
        for a, b in ReviewPages.of([i.compartment for i in items], PER_PAGE).bounds
    ]


def _tile_ids(page) -> list[int]:  # type: ignore[no-untyped-def]
    page.locator(".sd-tile").first.wait_for()
    return [int(t.get_attribute("data-instance")) for t in page.locator(".sd-tile").all()]


def _minimap_color(page, instance_id: int) -> int:  # type: ignore[no-untyped-def]
    return page.evaluate(
        f"() => {FIGURE.format('review-minimap')}.data[0].marker.color[{instance_id}]"
    )


def test_neuron_overview_pages_jumps_and_minimap(
    server, new_page, data_dir, tmp_path, demo_info
) -> None:  # type: ignore[no-untyped-def]
    pages = expected_pages(data_dir, tmp_path, demo_info)
    first_page: dict[int, int] = {}
    for number, tiles in enumerate(pages, start=1):
        first_page.setdefault(tiles[0][1], number)

    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.locator("#od-tiles-per-page").select_option(str(PER_PAGE))
    page.get_by_role("radio", name="Neuron-centric").check()
    page.locator("#od-neuron-id").wait_for(state="visible")
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=90_000)
    page.wait_for_function(
        "() => document.getElementById('od-start').getAttribute('href') === '/neuron'"
    )
    page.wait_for_function("() => !document.getElementById('od-start').disabled")
    page.locator("#od-start").click()
    page.wait_for_url(re.compile(r".*/neuron$"))

    # the 3D overview: one trace per compartment (after the synapse trace), one list entry each
    page.wait_for_function(f"() => {FIGURE.format('neuron-graph')}?.data")
    names = page.evaluate(f"() => {FIGURE.format('neuron-graph')}.data.map(t => t.name)")
    n_compartments = len(page.locator("#neuron-compartments [data-compartment]").all())
    assert names == ["Synapses"] + [f"Compartment {k}" for k in range(n_compartments)]
    assert {k for tiles in pages for _, k in tiles} <= set(range(n_compartments))
    shown_first = {
        int(row.get_attribute("data-compartment")): int(row.get_attribute("data-first-page"))
        for row in page.locator("#neuron-compartments [data-compartment]").all()
        if row.get_attribute("data-first-page")
    }
    assert shown_first == first_page

    # pages follow compartments: each page holds the expected instances of one compartment
    page.locator("#neuron-start").click()
    page.wait_for_url(re.compile(r".*/annotation"))
    assert _tile_ids(page) == [i for i, _ in pages[0]]
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r".*page=2"))
    page.locator(f'.sd-tile[data-instance="{pages[1][0][0]}"]').wait_for()
    assert _tile_ids(page) == [i for i, _ in pages[1]]

    # a compartment's legend entry on the overview jumps to its first page
    target = max(first_page, key=lambda k: first_page[k])  # the last compartment
    page.goto(server.url + "/neuron")
    page.locator("#neuron-graph .legend .traces").nth(1 + target).click()
    page.wait_for_url(re.compile(rf".*/annotation\?page={first_page[target]}$"))
    assert _tile_ids(page) == [i for i, _ in pages[first_page[target] - 1]]
    assert page.locator(".sd-minimap-panel").get_by_text(f"Compartment {target}").count() == 1

    # its button does too
    other = min(k for k in first_page if first_page[k] > 1)
    page.goto(server.url + "/neuron")
    page.locator(f'#neuron-compartments [data-compartment="{other}"] a').click()
    page.wait_for_url(re.compile(rf".*/annotation\?page={first_page[other]}$"))
    assert _tile_ids(page) == [i for i, _ in pages[first_page[other] - 1]]

    # labelling a tile recolours its sphere in the mini-map, with a small Patch
    page.locator("#review-minimap .js-plotly-plot").wait_for()
    instance = _tile_ids(page)[1]
    assert _minimap_color(page, instance) == 1  # seen, correct
    with page.expect_response(lambda r: "_dash-update-component" in r.url) as response_info:
        page.locator(f'.sd-tile[data-instance="{instance}"] .sd-tile-view').click()
    page.locator(f'.sd-tile[data-instance="{instance}"][data-label="incorrect"]').wait_for()
    page.wait_for_function(
        f"() => {FIGURE.format('review-minimap')}.data[0].marker.color[{instance}] === 2"
    )
    body = response_info.value.text()
    assert "sideUpdate" in body and len(body) < 1000  # one colour, never the skeleton
    n_traces = page.evaluate(f"() => {FIGURE.format('review-minimap')}.data.length")
    assert n_traces == 1 + n_compartments

    # the last page of a compartment offers the search for missed synapses, with its box
    last_page = next(n for n in range(1, len(pages)) if pages[n - 1][0][1] != pages[n][0][1])
    page.goto(server.url + f"/annotation?page={last_page}")
    button = page.locator("#review-missed")
    button.wait_for()
    assert button.get_attribute("href") == f"/missed?compartment={pages[last_page - 1][0][1]}"
    assert "target voxels" in page.locator(".sd-minimap-panel").inner_text()
    assert page.console_log.errors == []
