"""Correction export ("Submit and Finish"): mask checks, session JSON, masks zip, a
precomputed layer, the corrected table, Start New Process.

The mask checks (holes, islands, gap slices, border contacts per instance) come first, so the
user sees them before exporting. The JSON is made in the request; the checks, the masks zip,
the layer and the table are background jobs (``ui.jobs``): each has a panel with progress,
Cancel and its outcome.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from synanno_dash.core import stage_times
from synanno_dash.services import correction, exports, review, table_export
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import NoDatasetError, Session
from synanno_dash.ui import ids
from synanno_dash.ui.field_export_panel import field_export_rows
from synanno_dash.ui.jobs import job_callback, job_panel
from synanno_dash.ui.session import current_session
from synanno_dash.ui.shell import start_new_process_button

dash.register_page(__name__, path="/export-draw", title="Export masks · SynAnno Dash")


# Job panels (``ui.jobs``) of this view.
ZIP_JOB, LAYER_JOB, TABLE_JOB = "exd-zip", "exd-layer", "exd-table"
CHECK_JOB = "exd-check"
MAX_LISTED_ISSUES = 20  # per instance; the rest are counted


def _row(
    button: dbc.Button, text: str, status_id: str | None = None, job: str | None = None
) -> dbc.Row:
    status = html.Div(id=status_id, className="small") if status_id else ""
    return dbc.Row(
        [
            dbc.Col(button, width=3),
            dbc.Col(
                [
                    html.Div(text, className="small text-muted"),
                    job_panel(job) if job else "",
                    status,
                ]
            ),
        ],
        className="mb-3 align-items-center",
    )


def layout(**_query: str) -> html.Div:
    session = current_session()
    if not session.has_dataset:
        return dbc.Alert(str(NoDatasetError()), color="warning")
    items = correction.correction_instances(session)
    review.mark_stage(session, "finish_draw")
    edited = sum(1 for i in items if correction.edited_slices(session, i.instance_id))
    added = sum(1 for i in items if correction.is_added(i))
    return html.Div(
        [
            html.H3("Export corrections"),
            html.P(
                f"{len(items)} instance(s) in the correction view, {edited} with edited slices, "
                f"{added} added by hand.",
                className="text-muted",
            ),
            _row(
                dbc.Button("Check masks", id=ids.EXD_CHECK_BUTTON, color="warning"),
                "Before exporting: lists per instance the holes inside a slice, islands apart "
                "from the main mask, empty slices between masked ones, and masks touching the "
                "crop border, each with its slice: a click opens the drawing view there.",
                ids.EXD_CHECK_STATUS,
                CHECK_JOB,
            ),
            _row(
                dbc.Button("Download JSON", id=ids.EXD_JSON_BUTTON, color="primary"),
                "The session JSON (restores this session; compatible with the original SynAnno) "
                "with the corrected points, the added instances and the edited slices.",
            ),
            _row(
                dbc.Button("Save Masks", id=ids.EXD_ZIP_BUTTON, color="primary"),
                "A zip: one .npy per instance (z, y, x; target resolution) and one PNG per "
                "edited slice; names give instance, box and slice (docs/formats.md).",
                job=ZIP_JOB,
            ),
            _row(
                dbc.Button("Write precomputed layer", id=ids.EXD_LAYER_BUTTON, color="secondary"),
                "The corrected masks as a new segmentation layer (one segment per instance: "
                "instance id + 1), in a folder under the data directory.",
                ids.EXD_LAYER_STATUS,
                LAYER_JOB,
            ),
            _row(
                dbc.Button("Write corrected table", id=ids.EXD_TABLE_BUTTON, color="secondary"),
                "The input synapse table with corrected pre/post points, the added synapses, "
                "and discarded false positives removed, in the input's format and schema.",
                ids.EXD_TABLE_STATUS,
                TABLE_JOB,
            ),
            field_export_rows(),
            html.Hr(),
            dbc.Button("Back to the instances", href="/draw", color="link"),
            start_new_process_button(ids.EXD_NEW),
            dcc.Download(id=ids.EXD_JSON),
            dcc.Download(id=ids.EXD_ZIP),
            dcc.Download(id=ids.EXD_TABLE),
        ]
    )


def _stamp() -> str:
    return stage_times.file_stamp()


def _issue_list(found: list[exports.InstanceIssues]) -> html.Ul:
    items = []
    for entry in found:
        shown = entry.issues[:MAX_LISTED_ISSUES]
        more = len(entry.issues) - len(shown)
        lines = [
            html.Li(
                dcc.Link(
                    issue.message,
                    href=f"/draw/instance?id={entry.instance_id}&z={issue.z}",
                    title="open the drawing view at this slice",
                ),
                className=f"exd-check-issue z-{issue.z}",
            )
            for issue in shown
        ]
        if more:
            lines.append(html.Li(f"... and {more} more"))
        items.append(html.Li([
            f"Instance {entry.instance_id} (table index {entry.materialization_index}): "
            f"{len(entry.issues)} issue(s)",
            html.Ul(lines),
        ], className="exd-check-instance"))  # fmt: skip
    return html.Ul(items, id="exd-check-list")


def check_masks(job: Job, session: Session, _clicks: int) -> list:
    """The mask checks of every correction-view instance, as a list."""
    found = exports.mask_issues(session, job)
    checked = len(correction.correction_instances(session))
    if not found:
        return [html.Div(f"{checked} mask(s) checked: no holes, islands, gaps or border "
                         "contacts.", id="exd-check-clean")]  # fmt: skip
    return [
        html.Div(f"{len(found)} of {checked} mask(s) have issues:"),
        _issue_list(found),
    ]


def download_json(_clicks: int) -> dict:
    session = current_session()
    text = exports.json_text(session, exports.correction_json(session), "correction JSON")
    return dcc.send_string(text, filename=f"synanno_correction_{_stamp()}.json")


def download_zip(job: Job, session: Session, _clicks: int) -> dict:
    data = exports.masks_zip_bytes(session, job)
    return dcc.send_bytes(data, filename=f"synanno_masks_{_stamp()}.zip")


def layer(job: Job, session: Session, _clicks: int) -> list:
    written = exports.write_layer(session, job=job)
    return [
        html.Div(f"{written.segments} segments written."),
        html.Code(f"precomputed://{written.url}", id="exd-layer-url"),
    ]


def table(job: Job, session: Session, _clicks: int) -> tuple:
    written = table_export.write_table(session, job=job)
    summary = (
        f"{written.rows} rows: {written.changed} with corrected points, {written.dropped} "
        f"removed, {written.added} added."
    )
    return [html.Div(summary), html.Code(str(written.path), id="exd-table-path")], dcc.send_file(
        str(written.path)
    )


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.EXD_JSON, "data"),
        Input(ids.EXD_JSON_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(download_json)
    job_callback(
        app, CHECK_JOB, "Checking the masks", check_masks,
        [Output(ids.EXD_CHECK_STATUS, "children")], [Input(ids.EXD_CHECK_BUTTON, "n_clicks")],
        start=ids.EXD_CHECK_BUTTON,
    )  # fmt: skip
    job_callback(
        app, ZIP_JOB, "Saving the masks", download_zip,
        [Output(ids.EXD_ZIP, "data")], [Input(ids.EXD_ZIP_BUTTON, "n_clicks")],
        start=ids.EXD_ZIP_BUTTON, done_text="The masks zip was saved.",
    )  # fmt: skip
    job_callback(
        app, LAYER_JOB, "Writing the layer", layer,
        [Output(ids.EXD_LAYER_STATUS, "children")], [Input(ids.EXD_LAYER_BUTTON, "n_clicks")],
        start=ids.EXD_LAYER_BUTTON,
    )  # fmt: skip
    job_callback(
        app, TABLE_JOB, "Writing the corrected table", table,
        [Output(ids.EXD_TABLE_STATUS, "children"), Output(ids.EXD_TABLE, "data")],
        [Input(ids.EXD_TABLE_BUTTON, "n_clicks")],
        start=ids.EXD_TABLE_BUTTON,
    )  # fmt: skip
