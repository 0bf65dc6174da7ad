"""The statistics view's two jobs (``pages/stats.py``), called as the job mechanism calls
them: the statistics, and the report, which for a result no longer kept on the server says
so and offers Recompute instead of failing silently."""

from __future__ import annotations

import sys

import dash

from synanno_dash.services.jobs import Job
from synanno_dash.services.statistics_cache import forget_statistics
from synanno_dash.ui import ids


def _stats_page():  # type: ignore[no-untyped-def]
    return next(
        sys.modules[p["module"]] for p in dash.page_registry.values()
        if p["module"].endswith("stats")
    )  # fmt: skip


def test_the_report_of_an_evicted_result_says_so_and_offers_recompute(  # type: ignore[no-untyped-def]
    neuron_session,
) -> None:
    session = neuron_session.session
    page = _stats_page()
    body, key, evicted_style, report_disabled = page.compute(Job(), session, "session", 1, None)
    assert body and not report_disabled and evicted_style == {"display": "none"}
    download, style, text = page.report(Job(), session, 1, key)
    assert download["filename"] == "synanno-statistics-session.html"
    assert "plotly" in download["content"] and style == {"display": "none"} and text == ""
    forget_statistics(session, key)  # pushed out by newer results
    download, style, text = page.report(Job(), session, 1, key)
    assert download is dash.no_update  # nothing downloaded, and the view says why
    assert style != {"display": "none"}
    assert "no longer kept on the server" in text and "Recompute" in text
    # the notice's Recompute button restarts the statistics job
    job = next(
        c for key, c in neuron_session.app.callback_map.items()
        if f"{ids.STATS_BODY}.children" in key
    )  # fmt: skip
    assert ids.STATS_RECOMPUTE in {i["id"] for i in job["inputs"]}
    again = page.compute(Job(), session, "session", None, 1)
    assert again[1] == key  # the data did not change: the same result, kept again
    assert page.report(Job(), session, 1, key)[0]["filename"].endswith(".html")
