"""Statistics (/stats): where the synapse table is wrong and how fast review goes, for this
session or every session on its dataset (docs/statistics.md).

Developer notes: the figures are computed when the view opens, on Refresh and when the
scope changes, never on a label click. The computation runs as a background job
(``services.statistics_jobs``): the first callback waits briefly and shows the figures if
they are ready, else "Computing ..." with a Cancel button while an interval polls the job.
The panels are ``ui.stats_view`` over ``ui.stats_figures``, built in the job too (seconds
for a big dataset); *Download report* writes the offline HTML of ``ui.stats_report`` from
the job on screen, reusing its panels. A click on a compartment's bar
opens its first page of the review grid; a disagreement opens the enlarged view.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update

from synanno_dash.core.instances import Workflow
from synanno_dash.services import neuron
from synanno_dash.services.session import NoDatasetError
from synanno_dash.services.statistics import Scope
from synanno_dash.services.statistics_jobs import (
    JobState,
    JobStatus,
    cancel_statistics,
    job_status,
    start_statistics,
)
from synanno_dash.ui import enlarge, ids
from synanno_dash.ui.open_data_form import open_data_href
from synanno_dash.ui.session import current_session
from synanno_dash.ui.stats_report import report_html
from synanno_dash.ui.stats_view import (
    SCOPE_OPTIONS,
    ShownStatistics,
    present_statistics,
    table_from_records,
)

dash.register_page(__name__, path="/stats", title="Statistics · SynAnno Dash")

POLL_MS = 400
SHOWN: dict[str, str] = {}
HIDDEN = {"display": "none"}
# bars whose customdata is a compartment number: a click opens its first page
COMPARTMENT_FIGURES = ("compartments", "categories_by_compartment")


def _controls(scope: Scope) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(html.H3("Statistics"), width="auto"),
            dbc.Col(
                dbc.RadioItems(
                    id=ids.STATS_SCOPE,
                    options=SCOPE_OPTIONS,
                    value=scope.value,
                    inline=True,
                ),
                width="auto",
            ),
            dbc.Col(
                [
                    dbc.Button("Refresh", id=ids.STATS_REFRESH, color="primary", className="me-2"),
                    dbc.Button(
                        "Download report",
                        id=ids.STATS_REPORT_BUTTON,
                        color="secondary",
                        disabled=True,
                        title="one HTML file with every figure and table; opens offline",
                    ),
                    dcc.Download(id=ids.STATS_REPORT),
                ],
                width="auto",
            ),
        ],
        className="mb-3 align-items-center g-3",
    )


def layout(scope: str = Scope.SESSION.value, **_query: str) -> html.Div:
    try:
        current_session().config  # noqa: B018 - raises NoDatasetError
    except NoDatasetError as exc:
        return html.Div(
            [
                dbc.Alert(str(exc), color="warning"),
                dbc.Button("Open Data", href=open_data_href(Workflow.DETECTION)),
            ]
        )
    chosen = Scope.DATASET if scope == Scope.DATASET.value else Scope.SESSION
    return html.Div(
        [
            dcc.Store(id=ids.STATS_JOB),
            dcc.Interval(id=ids.STATS_POLL, interval=POLL_MS, disabled=True),
            dcc.Location(id=ids.STATS_REDIRECT, refresh="callback-nav"),
            _controls(chosen),
            html.Div(
                [
                    dbc.Spinner(size="sm", color="primary", spinner_class_name="me-2"),
                    html.Span(id=ids.STATS_RUNNING_TEXT, className="me-3"),
                    dbc.Button(
                        "Cancel", id=ids.STATS_CANCEL, size="sm", color="danger", outline=True
                    ),
                ],
                id=ids.STATS_RUNNING,
                style=HIDDEN,
                className="mb-3",
            ),
            html.Div(id=ids.STATS_BODY),
            enlarge.modal(),
        ]
    )


def _shown(status: JobStatus) -> tuple[Any, ...]:
    """(job token, poll disabled, running style, running text, body, report disabled)."""
    if status.state is JobState.RUNNING:
        whom = "every session on this dataset" if status.scope is Scope.DATASET else "this session"
        text = f"Computing the statistics of {whom} ... {status.elapsed_s:.0f} s"
        return status.token, False, SHOWN, text, no_update, True
    if status.state is JobState.DONE and isinstance(status.presented, ShownStatistics):
        return status.token, True, HIDDEN, "", status.presented.body, False
    alert = dbc.Alert(status.message, color="danger", className="sd-stats-failed")
    return status.token, True, HIDDEN, "", alert, True


def update(
    scope: str | None, _refresh: int | None, _ticks: int | None, _cancel: int | None,
    token: str | None,
) -> tuple[Any, ...]:  # fmt: skip
    """Start (open, Refresh, scope switch), poll or cancel the computation."""
    session = current_session()
    trigger = ctx.triggered_id
    if trigger == ids.STATS_CANCEL:
        if token:
            cancel_statistics(session, token)
        alert = dbc.Alert("Cancelled: press Refresh to compute the statistics.", color="info")
        return token, True, HIDDEN, "", alert, True
    if trigger == ids.STATS_POLL and token:
        return _shown(job_status(session, token))
    chosen = Scope.DATASET if scope == Scope.DATASET.value else Scope.SESSION
    return _shown(start_statistics(session, chosen, present_statistics))


def download_csv(
    _clicks: int | None, records: list[dict] | None, columns: list[dict] | None
) -> object:
    if not _clicks or not isinstance(ctx.triggered_id, dict):
        return no_update
    key = str(ctx.triggered_id.get("key", "table"))
    return dcc.send_string(table_from_records(records, columns).csv(), f"{key}.csv")


def download_report(_clicks: int | None, token: str | None) -> object:
    if not _clicks or not token:
        return no_update
    status = job_status(current_session(), token)
    result, shown = status.result, status.presented
    if result is None or not isinstance(shown, ShownStatistics):
        return no_update
    name = f"synanno-statistics-{result.scope.value}.html"
    return dcc.send_string(report_html(result, shown.panels), name)


def open_compartment(clicks: list[dict | None]) -> object:
    """A click on a compartment's bar: its first page of the review grid."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or trigger.get("key") not in COMPARTMENT_FIGURES:
        return no_update
    click = next(
        (c for c, spec in zip(clicks, ctx.inputs_list[0], strict=False)
         if spec["id"] == trigger and c),
        None,
    )  # fmt: skip
    points = (click or {}).get("points") or []
    compartment = points[0].get("customdata") if points else None
    if isinstance(compartment, list):
        compartment = compartment[0] if compartment else None
    if compartment is None:
        return no_update
    page = neuron.page_of_pick(current_session(), "compartment", int(compartment))
    return no_update if page is None else f"/annotation?page={page}"


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.STATS_JOB, "data"),
        Output(ids.STATS_POLL, "disabled"),
        Output(ids.STATS_RUNNING, "style"),
        Output(ids.STATS_RUNNING_TEXT, "children"),
        Output(ids.STATS_BODY, "children"),
        Output(ids.STATS_REPORT_BUTTON, "disabled"),
        Input(ids.STATS_SCOPE, "value"),
        Input(ids.STATS_REFRESH, "n_clicks"),
        Input(ids.STATS_POLL, "n_intervals"),
        Input(ids.STATS_CANCEL, "n_clicks"),
        State(ids.STATS_JOB, "data"),
    )(update)
    app.callback(
        Output(ids.stats_panel(ids.STATS_CSV_DOWNLOAD, MATCH), "data"),
        Input(ids.stats_panel(ids.STATS_CSV, MATCH), "n_clicks"),
        State(ids.stats_panel(ids.STATS_TABLE, MATCH), "derived_virtual_data"),
        State(ids.stats_panel(ids.STATS_TABLE, MATCH), "columns"),
        prevent_initial_call=True,
    )(download_csv)
    app.callback(
        Output(ids.STATS_REPORT, "data"),
        Input(ids.STATS_REPORT_BUTTON, "n_clicks"),
        State(ids.STATS_JOB, "data"),
        prevent_initial_call=True,
    )(download_report)
    app.callback(
        Output(ids.STATS_REDIRECT, "href"),
        Input(ids.stats_panel(ids.STATS_GRAPH, ALL), "clickData"),
        prevent_initial_call=True,
    )(open_compartment)
