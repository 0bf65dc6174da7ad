"""The statistics report opens offline in headless Chromium: every request but the file
itself is refused, and still every figure draws, interactive, without a console error."""

from __future__ import annotations

from pathlib import Path

import pytest

from synanno_dash.core.labels import Label
from synanno_dash.services import review
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.session import open_session
from synanno_dash.services.statistics import collect_statistics
from synanno_dash.settings import Settings
from synanno_dash.ui.stats_figures import build_panels
from synanno_dash.ui.stats_report import write_report

pytestmark = pytest.mark.browser


def test_report_of_a_demo_review_opens_offline(data_dir: Path, tmp_path: Path, demo_info,
                                               new_page) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    ctx = AppContext.create(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}")
    )
    form = OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url,
        neuropil=demo_info.neuropil_url, table=demo_info.table_url, mode="neuron",
        neuron_id=str(demo_info.demo_neuron_id), tiles_per_page="6",
    )  # fmt: skip
    assert prepare_session(ctx, "r", form).ok
    session = open_session(ctx, "r")
    for page in (1, 2):
        review.load_page(session, page)
    review.set_label(session, 1, Label.INCORRECT)
    review.set_label(session, 4, Label.UNSURE)
    result = collect_statistics(ctx.store, "r", volumes=ctx.volumes)
    figures = [p.key for p in build_panels(result) if p.figure is not None]
    assert {"compartments", "accuracy", "confusion", "positions"} <= set(figures)
    assert result.compartments.value is not None
    first = result.compartments.value[0].counts
    out = write_report(result, tmp_path / "report.html")
    ctx.executor.shutdown(wait=True)
    ctx.store.engine.dispose()

    page = new_page()
    refused: list[str] = []

    def only_the_file(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_file)
    page.goto(out.as_uri())
    page.locator(f"#figure-{figures[-1]} .main-svg").first.wait_for()
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].map(e => e.id)"
    )
    assert drawn == [f"figure-{key}" for key in figures]
    assert refused == [] and page.console_log.errors == []
    # interactive: the compartment bars answer a hover with their numbers
    page.locator("#figure-compartments").scroll_into_view_if_needed()
    bar = page.locator("#figure-compartments .bars path").first.bounding_box()
    assert bar is not None
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] - 3, steps=5)
    page.wait_for_function(
        "() => (document.querySelector('#figure-compartments .hoverlayer') || {textContent: ''})"
        f".textContent.includes('{first.flagged} flagged of {first.seen} reviewed')"
    )
