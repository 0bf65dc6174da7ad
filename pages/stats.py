"""Statistics (/stats): where the synapse table is wrong and how fast review goes, for this
session or every session on its dataset (docs/statistics.md).

Developer notes: the figures are computed when the view opens, on Refresh and when the
scope changes, never on a label click. The computation is a job of the app's one job
mechanism (``ui.jobs.job_callback``, panel ``STATS_COMPUTE_JOB``): a progress bar with the
aggregates and figures done out of all, and Cancel, which stops the job and its running
queries. The result is kept per version of the data (``services.statistics_cache``): an
unchanged dataset is read back, and *Download report* (a job too, ``STATS_REPORT_JOB``)
writes the report of exactly the numbers on screen. When that result is no longer kept, the
view says so and offers Recompute. A click on a compartment's bar opens its first page of
the review grid; a disagreement opens the enlarged view.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update

from synanno_dash.core.instances import Workflow
from synanno_dash.services import neuron
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import NoDatasetError, Session
from synanno_dash.services.statistics import Scope
from synanno_dash.services.statistics_cache import kept_statistics, statistics_for_view
from synanno_dash.ui import enlarge, ids, request_inputs
from synanno_dash.ui.jobs import job_callback, job_panel
from synanno_dash.ui.open_data_form import open_data_href
from synanno_dash.ui.session import current_session
from synanno_dash.ui.stats_figures import build_panels
from synanno_dash.ui.stats_report import report_html
from synanno_dash.ui.stats_view import (
    SCOPE_OPTIONS,
    figures_progress,
    present_statistics,
    table_from_records,
)

dash.register_page(__name__, path="/stats", title="Statistics · SynAnno Dash")

SHOWN: dict[str, str] = {}
HIDDEN = {"display": "none"}
MAX_KEY_CHARS = 96
COMPUTE_SHARE = 0.7  # of the job's progress: the aggregates; the rest builds the figures
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


def _evicted_notice() -> html.Div:
    return html.Div(
        dbc.Alert(
            [
                html.Span(id=ids.STATS_EVICTED_TEXT, className="me-2"),
                dbc.Button("Recompute", id=ids.STATS_RECOMPUTE, size="sm", color="primary"),
            ],
            color="warning",
            className="d-flex align-items-center mb-0",
        ),
        id=ids.STATS_EVICTED,
        style=HIDDEN,
        className="mb-3",
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
            dcc.Location(id=ids.STATS_REDIRECT, refresh="callback-nav"),
            _controls(chosen),
            job_panel(ids.STATS_COMPUTE_JOB),
            job_panel(ids.STATS_REPORT_JOB),
            _evicted_notice(),
            html.Div(id=ids.STATS_BODY),
            enlarge.modal(),
        ]
    )


def compute(
    job: Job, session: Session, scope: object, _refresh: object, _recompute: object
) -> list[Any]:
    """The statistics job: the aggregates (or the kept result of unchanged data), then the
    figures. Outputs: the body, the key of the result shown, the eviction notice hidden."""
    chosen = Scope.SESSION if scope is None else request_inputs.choice(Scope, scope, "the scope")
    shown = statistics_for_view(session, chosen, job.part(0.0, COMPUTE_SHARE))
    presented = present_statistics(shown.result, job.part(COMPUTE_SHARE, 1.0))
    return [presented.body, shown.key, HIDDEN, False]


def report(job: Job, session: Session, _clicks: object, key: object) -> list[Any]:
    """The report job: the offline HTML of the statistics on screen. When they are no longer
    kept on the server, a notice says so and offers Recompute (nothing is downloaded)."""
    key_text = request_inputs.text(key, "the key of the statistics shown", MAX_KEY_CHARS)
    result = kept_statistics(session, key_text) if key_text else None
    if result is None:
        message = (
            "The statistics on screen are no longer kept on the server (newer results "
            "replaced them, or the server restarted), so their report cannot be written. "
            "Press Recompute, then Download report again."
            if key_text
            else "No statistics are shown yet: press Recompute, then Download report."
        )
        return [no_update, SHOWN, message]
    panels = build_panels(result, figures_progress(job.part(0.0, 0.8)))
    job.report(0.9, "Writing the report's HTML", force=True)
    name = f"synanno-statistics-{result.scope.value}.html"
    return [dcc.send_string(report_html(result, panels), name), HIDDEN, ""]


def download_csv(
    _clicks: int | None, records: list[dict] | None, columns: list[dict] | None
) -> object:
    if not _clicks or not isinstance(ctx.triggered_id, dict):
        return no_update
    key = str(ctx.triggered_id.get("key", "table"))
    return dcc.send_string(table_from_records(records, columns).csv(), f"{key}.csv")


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
    job_callback(
        app, ids.STATS_COMPUTE_JOB, "Computing the statistics", compute,
        [Output(ids.STATS_BODY, "children"), Output(ids.STATS_JOB, "data"),
         Output(ids.STATS_EVICTED, "style"), Output(ids.STATS_REPORT_BUTTON, "disabled")],
        [Input(ids.STATS_SCOPE, "value"), Input(ids.STATS_REFRESH, "n_clicks"),
         Input(ids.STATS_RECOMPUTE, "n_clicks")],
        start=[ids.STATS_REFRESH, ids.STATS_RECOMPUTE], on_load=True,
    )  # fmt: skip
    job_callback(
        app, ids.STATS_REPORT_JOB, "Writing the report", report,
        [Output(ids.STATS_REPORT, "data"),
         Output(ids.STATS_EVICTED, "style", allow_duplicate=True),
         Output(ids.STATS_EVICTED_TEXT, "children")],
        [Input(ids.STATS_REPORT_BUTTON, "n_clicks")], [State(ids.STATS_JOB, "data")],
        start=ids.STATS_REPORT_BUTTON,
    )  # fmt: skip
    app.callback(
        Output(ids.stats_panel(ids.STATS_CSV_DOWNLOAD, MATCH), "data"),
        Input(ids.stats_panel(ids.STATS_CSV, MATCH), "n_clicks"),
        State(ids.stats_panel(ids.STATS_TABLE, MATCH), "derived_virtual_data"),
        State(ids.stats_panel(ids.STATS_TABLE, MATCH), "columns"),
        prevent_initial_call=True,
    )(download_csv)
    app.callback(
        Output(ids.STATS_REDIRECT, "href"),
        Input(ids.stats_panel(ids.STATS_GRAPH, ALL), "clickData"),
        prevent_initial_call=True,
    )(open_compartment)
