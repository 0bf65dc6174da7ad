"""Neuron overview (neuron-centric mode, shown after Open Data): the skeleton in 3D with one
colour per compartment, the synapses by review state, progress overall and per compartment.

A click on a compartment (its line, its legend entry or its button) opens its first page
of the review grid; a click on a synapse opens the page that holds it. "Colour by error
rate" recolours the compartments' lines by flagged over reviewed (a Patch of colours). The
mini-map beside the grid is the same figure, built by ``ui/minimap.py``; its clicks are
handled here too.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, ctx, dcc, html, no_update

from synanno_dash.core.instances import Workflow
from synanno_dash.services import neuron
from synanno_dash.services.session import NoDatasetError
from synanno_dash.ui import ids, minimap
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.open_data_form import open_data_href
from synanno_dash.ui.session import current_session
from synanno_dash.ui.skeleton_figure import compartment_color, error_rate_gradient

dash.register_page(__name__, path="/neuron", title="Neuron · SynAnno Dash")


def _notice(message: str, button: str, href: str) -> html.Div:
    return html.Div([dbc.Alert(message, color="warning"), dbc.Button(button, href=href)])


def layout(**_query: str) -> html.Div:
    try:
        shown = neuron.overview(current_session())
    except NoDatasetError as exc:
        return _notice(str(exc), "Open Data", open_data_href(Workflow.DETECTION))
    except neuron.NotNeuronCentricError as exc:
        return _notice(str(exc), "Review grid", "/annotation")
    except neuron.NeuronError as exc:
        return _notice(str(exc), "Open Data", open_data_href(Workflow.DETECTION))
    view, items, progress = shown.view, shown.items, shown.progress
    seen, total = sum(p.seen for p in progress), len(items)
    figure = minimap.neuron_figure(view, items, shown.config)
    return html.Div(
        [
            dcc.Location(id=ids.NEURON_REDIRECT, refresh="callback-nav"),
            dbc.Row(
                [
                    dbc.Col(
                        html.H4(
                            f"Neuron {view.neuron_id}: {total} synapses in "
                            f"{view.n_compartments} compartments"
                        )
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Start Data Proofread",
                            id=ids.NEURON_START,
                            href="/annotation",
                            color="success",
                        ),
                        width="auto",
                    ),
                ],
                className="mb-2 align-items-center",
            ),
            dbc.Progress(
                id=ids.NEURON_PROGRESS, value=100 * seen / max(1, total), style={"height": "12px"}
            ),
            html.Div(f"{seen} of {total} seen", className="small text-muted mb-2"),
            _color_by_control(),
            dbc.Row(
                [
                    dbc.Col(minimap.graph(ids.NEURON_GRAPH, figure, compact=False), lg=8),
                    dbc.Col(_compartment_list(progress), lg=4),
                ]
            ),
            html.Div(
                "Click a compartment (its line, its legend entry or its button) to review it "
                "from its first page; click a synapse to open its page. Yellow: not yet "
                "reviewed or unsure, green: correct, red: incorrect.",
                className="small text-muted mt-2",
            ),
        ]
    )


def _color_by_control() -> html.Div:
    """The "colour by error rate" switch and, while it is on, the scale."""
    scale = html.Span(
        [
            "0%",
            html.Span(
                style={
                    "display": "inline-block", "width": "120px", "height": "10px",
                    "background": error_rate_gradient(), "margin": "0 6px",
                }
            ),
            "100% flagged of reviewed; grey: none reviewed",
        ],
        id=ids.NEURON_COLOR_SCALE,
        className="small ms-3",
        style={"display": "none"},
    )  # fmt: skip
    switch = dbc.Switch(
        id=ids.NEURON_COLOR_BY, label="Colour by error rate", value=False, className="mb-0"
    )
    return html.Div([switch, scale], className="d-flex align-items-center mb-2")


def _compartment_list(progress: list[neuron.CompartmentProgress]) -> html.Div:
    rows: list[Any] = []
    for p in progress:
        swatch = html.Span(
            style={
                "display": "inline-block", "width": "12px", "height": "12px",
                "background": compartment_color(p.compartment), "marginRight": "6px",
            }
        )  # fmt: skip
        rows.append(
            html.Div(
                [
                    dbc.Button(
                        [swatch, f"Compartment {p.compartment}"],
                        href=f"/annotation?page={p.first_page}" if p.first_page else None,
                        disabled=p.first_page is None,
                        color="light",
                        size="sm",
                        className="sd-compartment-button",
                    ),
                    html.Span(
                        f"{p.seen}/{p.total} seen"
                        + (f", {p.flagged} flagged" if p.flagged else ""),
                        className="small ms-2",
                    ),
                    dbc.Progress(value=100 * p.seen / max(1, p.total), style={"height": "6px"}),
                ],
                className="mb-2",
                **data_attrs(
                    compartment=p.compartment,
                    first_page=p.first_page or "",
                    total=p.total,
                    seen=p.seen,
                ),
            )
        )
    return html.Div(rows, id=ids.NEURON_COMPARTMENTS)


def _href(pick: tuple[str, int] | None) -> str | None:
    """The review page of a picked compartment or synapse, None if there is none."""
    if pick is None:
        return None
    page = neuron.page_of_pick(current_session(), *pick)
    return None if page is None else f"/annotation?page={page}"


def jump_from_overview(click: dict | None, restyle: list | None) -> object:
    if ctx.triggered_prop_ids and any(k.endswith(".restyleData") for k in ctx.triggered_prop_ids):
        legend = minimap.compartment_of_legend(restyle)
        href = _href(None if legend is None else ("compartment", legend))
    else:
        href = _href(minimap.picked_by_click(click))
    return href or no_update


def jump_from_minimap(click: dict | None) -> object:
    return _href(minimap.picked_by_click(click)) or no_update


def color_by_error_rate(on: bool | None) -> tuple[object, dict[str, str]]:
    try:
        progress = neuron.overview(current_session()).progress
    except neuron.NeuronError:
        return no_update, {"display": "none"}
    scale_style = {"display": "inline"} if on else {"display": "none"}
    return minimap.compartment_colors_patch(progress, bool(on)), scale_style


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.NEURON_REDIRECT, "href"),
        Input(ids.NEURON_GRAPH, "clickData"),
        Input(ids.NEURON_GRAPH, "restyleData"),
        prevent_initial_call=True,
    )(jump_from_overview)
    app.callback(
        Output(ids.NEURON_GRAPH, "figure"),
        Output(ids.NEURON_COLOR_SCALE, "style"),
        Input(ids.NEURON_COLOR_BY, "value"),
        prevent_initial_call=True,
    )(color_by_error_rate)
    app.callback(
        Output(ids.REVIEW_REDIRECT, "href", allow_duplicate=True),
        Input(ids.MINIMAP, "clickData"),
        prevent_initial_call=True,
    )(jump_from_minimap)
