"""Open Data's *Import predictions* panel (issue 13): a detector's probability map (or label
volume) turned into a dataset to review, as a background job (``ui.jobs``: progress, Cancel),
with ``services.import_predictions`` (the command line's importer).

The fields are declared in ``core.import_form``; a field's problem shows under it, an import
that cannot run (wrong dtype, threshold outside the map's range, nothing left after the size
filter, a neuropil that does not cover the map) in the job panel. On success the Open Data
form is filled with the result: target = the imported clefts, table = its ``synapses.csv``,
target resolution = the map's, least confident first (a probability map's table has a
confidence), and the source and neuropil when given; Submit then opens it for review.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update

from synanno_dash.core.import_form import (
    IMPORT_FIELD,
    IMPORT_FIELDS,
    ImportForm,
    Method,
    import_form_from_inputs,
    parse_import_form,
)
from synanno_dash.core.open_data_form import ReviewOrder
from synanno_dash.services.import_predictions import ImportedDataset, import_predictions
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import Session
from synanno_dash.ui import ids, request_inputs
from synanno_dash.ui.jobs import job_callback, job_panel

TEXT_FIELDS = tuple(f for f in IMPORT_FIELDS if f.name != "method")
# Open Data fields an import fills (in this order in the job's outputs).
FILLED = ("target", "table", "target_res", "review_order", "source", "neuropil")
_DEFAULTS = ImportForm()


def _text(name: str, width: int = 12) -> dbc.Col:
    field, field_id = IMPORT_FIELD[name], ids.import_field(name)
    children: list[Any] = [
        dbc.Label(field.label, html_for=field_id, className="small mb-0"),
        dbc.Input(
            id=field_id,
            value=getattr(_DEFAULTS, name),
            placeholder=field.placeholder,
            type="text",
            size="sm",
            debounce=True,
        ),  # fmt: skip
        dbc.FormFeedback(id=ids.feedback(field_id), type="invalid"),
    ]
    if field.help_text:
        children.append(dbc.FormText(field.help_text))
    return dbc.Col(children, md=width, className="mb-2")


def import_panel() -> dbc.Accordion:
    """The panel, folded under the form until opened."""
    method_id = ids.import_field("method")
    body = html.Div(
        [
            html.P(
                "Threshold, 3D connected components and size filter turn a detector's map "
                "into a cleft layer and a synapse table with a confidence per synapse "
                "(docs/formats.md, section 8). The result fills the form above: Submit then "
                "reviews it, least confident first.",
                className="small text-muted",
            ),
            dbc.Row([_text("map_url", 8), _text("resolution", 4)]),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(IMPORT_FIELD["method"].label, className="small mb-0"),
                            dbc.RadioItems(
                                id=method_id,
                                options=[{"label": m.label, "value": m.value} for m in Method],
                                value=_DEFAULTS.method,
                            ),
                        ],
                        md=4,
                    ),
                    _text("threshold", 4),
                    _text("hysteresis", 4),
                ]
            ),
            dbc.Row(
                [
                    _text("min_size", 3),
                    _text("max_size", 3),
                    _text("closing", 3),
                    _text("channel", 3),
                ]
            ),  # fmt: skip
            dbc.Row([_text("neuropil", 6), _text("source", 6)]),
            dbc.Button("Import", id=ids.IMP_BUTTON, color="primary", size="sm", className="mb-2"),
            job_panel(ids.IMP_JOB),
            html.Div(id=ids.IMP_RESULT, className="small"),
        ]
    )
    return dbc.Accordion(
        [dbc.AccordionItem(body, title="Import predictions (a detector's probability map)")],
        start_collapsed=True,
        className="mb-3",
        id="imp-panel",
    )


def _result(imported: ImportedDataset) -> html.Div:
    order = "least confident first" if imported.has_confidence else "table order (no confidence)"
    return html.Div(
        [
            html.Span(
                f"Imported {imported.count} synapses ({imported.components_before_filter} "
                f"components before the size filter) into {imported.out_dir}. The form is "
                f"filled with them ({order}): press Submit to review.",
                className="text-success",
            )
        ],
        id="imp-done",
    )


def import_job(job: Job, session: Session, clicks: object, *values: object) -> list[object]:
    """The panel's Import: check every field, run the import, fill the Open Data form."""
    request_inputs.whole_number(clicks, "the Import button's click count", 1, 10**9)
    fields = {f.name: v for f, v in zip(IMPORT_FIELDS, values, strict=True)}
    form = import_form_from_inputs(
        {name: request_inputs.text(v, IMPORT_FIELD[name].label, 2 * IMPORT_FIELD[name].max_chars)
         if v is not None else "" for name, v in fields.items()}
    )  # fmt: skip
    choices, errors = parse_import_form(form)
    invalid = [f.name in errors for f in TEXT_FIELDS]
    messages = [errors.get(f.name, "") for f in TEXT_FIELDS]
    if choices is None:
        status = html.Span(
            f"{len(errors)} field(s) of the import need attention: see the messages above.",
            className="text-danger",
        )
        return [*invalid, *messages, status, *([no_update] * len(FILLED))]
    imported = import_predictions(job, session, choices)
    order = ReviewOrder.LEAST_CONFIDENT if imported.has_confidence else ReviewOrder.TABLE
    filled = [
        imported.target_url,
        str(imported.table_path),
        ", ".join(f"{v:g}" for v in imported.resolution_nm),
        order.value,
        choices.source_url or no_update,
        choices.neuropil_url or no_update,
    ]
    return [*invalid, *messages, _result(imported), *filled]


def register_callbacks(app: dash.Dash) -> None:
    """The panel's job (``create_app`` calls this once)."""
    job_callback(
        app, ids.IMP_JOB, "Importing the predictions", import_job,
        [Output(ids.import_field(f.name), "invalid") for f in TEXT_FIELDS]
        + [Output(ids.feedback(ids.import_field(f.name)), "children") for f in TEXT_FIELDS]
        + [Output(ids.IMP_RESULT, "children")]
        + [Output(ids.open_data(name), "value", allow_duplicate=True) for name in FILLED],
        [Input(ids.IMP_BUTTON, "n_clicks")],
        [State(ids.import_field(f.name), "value") for f in IMPORT_FIELDS],
        start=ids.IMP_BUTTON,
    )  # fmt: skip
