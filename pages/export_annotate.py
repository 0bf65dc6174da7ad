"""Review export: download the session JSON, redraw masks, or start a new process."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from synanno_dash.core import stage_times
from synanno_dash.services import exports, review
from synanno_dash.ui import ids
from synanno_dash.ui.field_export_panel import field_export_rows
from synanno_dash.ui.session import current_session
from synanno_dash.ui.shell import start_new_process_button

dash.register_page(__name__, path="/export-annotate", title="Export · SynAnno Dash")


def layout(**_query: str) -> html.Div:
    counts = review.counts(current_session())
    return html.Div(
        [
            html.H3("Review finished"),
            html.P(
                f"{counts['total']} instances: {counts['correct']} correct, "
                f"{counts['incorrect']} incorrect, {counts['unsure']} unsure.",
                className="text-muted",
            ),
            dbc.Button(
                "Download JSON", id=ids.EXPORT_DOWNLOAD_BUTTON, color="primary", className="me-2"
            ),
            dbc.Button(
                "Redraw Masks",
                id=ids.EXPORT_REDRAW,
                href="/draw",
                color="secondary",
                className="me-2",
            ),
            start_new_process_button(ids.EXPORT_NEW),
            dcc.Download(id=ids.EXPORT_DOWNLOAD),
            field_export_rows(),
        ]
    )


def download(_clicks: int | None) -> dict:
    session = current_session()
    document = review.session_json_document(session)
    text = exports.json_text(session, document, "session JSON")
    stamp = stage_times.file_stamp()
    return dcc.send_string(text, filename=f"synanno_session_{stamp}.json")


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.EXPORT_DOWNLOAD, "data"),
        Input(ids.EXPORT_DOWNLOAD_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(download)
