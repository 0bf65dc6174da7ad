"""Landing page: choose Error Detection or Error Correction."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from synanno_dash.core.instances import Workflow
from synanno_dash.ui import ids
from synanno_dash.ui.open_data_form import open_data_href

dash.register_page(__name__, path="/", title="SynAnno Dash")


def _card(title: str, text: str, href: str, button_id: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H4(title, className="card-title"),
                html.P(text),
                dbc.Button(title, id=button_id, href=href, color="primary", size="lg"),
            ]
        ),
        className="h-100",
    )


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            html.H2("SynAnno Dash", className="mb-1"),
            html.P(
                "Proofread and correct synapse annotations in electron-microscopy volumes.",
                className="lead",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        _card(
                            "Error Detection",
                            "Review synapses as a grid of tiles, mark each correct, incorrect "
                            "or unsure, and name the errors.",
                            open_data_href(Workflow.DETECTION),
                            ids.LANDING_DETECTION,
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        _card(
                            "Error Correction",
                            "Redraw wrong masks, move pre/post markers and add missed synapses.",
                            open_data_href(Workflow.CORRECTION),
                            ids.LANDING_CORRECTION,
                        ),
                        md=6,
                    ),
                ],
                className="g-4",
            ),
        ]
    )
