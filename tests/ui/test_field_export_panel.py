"""Both Export views (review and correction) show the four downloads for connectome tools,
each with its job panel and download (the jobs are registered once, for both)."""

from __future__ import annotations

import json

import dash
from plotly.utils import PlotlyJSONEncoder

from synanno_dash.ui import ids
from synanno_dash.ui.session import COOKIE


def test_both_export_views_offer_the_downloads(demo_session) -> None:  # type: ignore[no-untyped-def]
    server = demo_session.app.server
    for path in ("/export-annotate", "/export-draw"):
        layout = next(p for p in dash.page_registry.values() if p["path"] == path)["layout"]
        cookie = {"Cookie": f"{COOKIE}={demo_session.sid}"}
        with server.test_request_context(path, headers=cookie):
            shown = json.dumps(layout(), cls=PlotlyJSONEncoder)
        for fmt in ids.FIELD_EXPORT_FORMATS:
            assert ids.field_export(fmt, "button") in shown, (path, fmt)
            assert ids.field_export(fmt, "download") in shown
            assert ids.job(f"fx-{fmt}", "cancel") in shown
    outputs = [key for key in demo_session.app.callback_map if "fx-cave-download.data" in key]
    assert len(outputs) == 1  # one job for both views
