"""Error Correction ("Start Drawing" / "Redraw Masks"): not built yet (its own issue)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from synanno_dash.ui.session import app_context, session_id

dash.register_page(__name__, path="/draw", title="Correction · SynAnno Dash")


def layout(**_query: str) -> html.Div:
    flagged = [i for i in app_context().store.instances(session_id()) if i.needs_fixing]
    return html.Div(
        [
            html.H3("Error Correction"),
            dbc.Alert(
                "Mask drawing, marker placement and adding missed synapses are not built yet. "
                f"This session has {len(flagged)} instance(s) to fix; they are saved and will "
                "appear here once the correction view exists. Meanwhile, download the session "
                "JSON from the review export.",
                color="info",
            ),
            dbc.Button("Back to the review export", href="/export-annotate", color="secondary"),
        ]
    )
