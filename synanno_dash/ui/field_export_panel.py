"""Exports for connectome tools on both Export views (issue 13): a Neuroglancer annotation
layer, a CAVE table, a connectivity matrix and a Neuroglancer state link, each a button whose
background job (``ui.jobs``) writes the file with ``services.field_downloads`` (the command
line's writers) and hands it to the browser as a download.

The buttons have the same ids on both views (only one view is shown at a time); this module's
``register_callbacks`` attaches their jobs once.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from synanno_dash.services.field_downloads import DOWNLOADS, Download, field_download
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import Session
from synanno_dash.ui import ids, request_inputs
from synanno_dash.ui.jobs import job_callback, job_panel

MAX_CLICKS = 10**9
# format -> (button text, what the file holds)
_BUTTONS: dict[str, tuple[str, str]] = {
    "ng-annotations": (
        "Neuroglancer annotation layer",
        "A zip of a precomputed annotation layer: one line pre -> post per synapse not "
        "discarded, with its label, category and confidence, related to the pre and post "
        "neuron ids (neuroglancer and CloudVolume read it).",
    ),
    "cave": (
        "CAVE table",
        "A zip of the synapses in the CAVE synapse schema (pre_pt_position, post_pt_position, "
        "ctr_pt_position, root ids, size, and our label columns) as Parquet and CSV.",
    ),
    "connectivity": (
        "Connectivity matrix",
        "A zip of the neuron -> neuron synapse counts (instances not labelled incorrect, "
        "added false negatives included) as CSV and Parquet edge lists and a GraphML graph.",
    ),
    "ng-state": (
        "Neuroglancer state link",
        "A JSON state that opens source, target, neuropil and the annotation layer at the "
        "first flagged instance (local layers are served by this app while it runs).",
    ),
}


def job_name(fmt: str) -> str:
    return f"fx-{fmt}"


def field_export_rows() -> html.Div:
    """The four export buttons with their job panels and downloads."""
    rows = []
    for fmt in ids.FIELD_EXPORT_FORMATS:
        text, note = _BUTTONS[fmt]
        rows.append(dbc.Row(
            [
                dbc.Col(dbc.Button(
                    text, id=ids.field_export(fmt, "button"), color="secondary",
                    className="w-100",
                ), width=3),  # fmt: skip
                dbc.Col([
                    html.Div(note, className="small text-muted"),
                    job_panel(job_name(fmt)),
                    dcc.Download(id=ids.field_export(fmt, "download")),
                ]),  # fmt: skip
            ],
            className="mb-3 align-items-center",
        ))  # fmt: skip
    return html.Div([html.H5("For connectome tools"), *rows], id="fx-panel", className="mt-3")


def _export(job: Job, session: Session, fmt: str, clicks: object, href: object) -> dict:
    request_inputs.whole_number(clicks, "the export button's click count", 1, MAX_CLICKS)
    origin = request_inputs.page_origin(href) if fmt == "ng-state" else ""
    return dcc.send_bytes(*_named(field_download(job, session, fmt, origin)))


def _named(download: Download) -> tuple[bytes, str]:
    return download.data, download.filename


def download_annotations(job: Job, session: Session, clicks: object, href: object) -> dict:
    return _export(job, session, "ng-annotations", clicks, href)


def download_cave(job: Job, session: Session, clicks: object, href: object) -> dict:
    return _export(job, session, "cave", clicks, href)


def download_connectivity(job: Job, session: Session, clicks: object, href: object) -> dict:
    return _export(job, session, "connectivity", clicks, href)


def download_state(job: Job, session: Session, clicks: object, href: object) -> dict:
    """The state names local layers by this app's address (the page's origin)."""
    return _export(job, session, "ng-state", clicks, href)


_WORK = {
    "ng-annotations": download_annotations,
    "cave": download_cave,
    "connectivity": download_connectivity,
    "ng-state": download_state,
}
assert set(_WORK) == set(DOWNLOADS) == set(ids.FIELD_EXPORT_FORMATS)


def register_callbacks(app: dash.Dash) -> None:
    """The four export jobs (``create_app`` calls this once for both views)."""
    for fmt, work in _WORK.items():
        job_callback(
            app, job_name(fmt), f"Exporting the {DOWNLOADS[fmt][1]}", work,
            [Output(ids.field_export(fmt, "download"), "data")],
            [Input(ids.field_export(fmt, "button"), "n_clicks")],
            [State(ids.URL, "href")],
            start=ids.field_export(fmt, "button"),
            done_text=f"The {DOWNLOADS[fmt][1]} was downloaded.",
        )  # fmt: skip
