"""Layout of the Open Data form (SPEC 3.2). Callbacks live in ``pages/open_data.py``."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from synanno_dash.core.instances import Workflow
from synanno_dash.core.limits import MAX_SESSION_JSON_BYTES, MAX_SWC_BYTES
from synanno_dash.core.open_data_form import FIELD, FIELDS, FieldKind, ReviewOrder
from synanno_dash.core.paging import PAGE_SIZES
from synanno_dash.ui import ids, ng_panel
from synanno_dash.ui.import_panel import import_panel
from synanno_dash.ui.jobs import job_panel
from synanno_dash.ui.uploads import limited_upload

# Fields with a message under them, in declaration order.
FEEDBACK_FIELDS = tuple(f for f in FIELDS if f.kind is FieldKind.TEXT)

def open_data_href(workflow: Workflow) -> str:
    """The Open Data page for a workflow."""
    return f"/open-data?workflow={workflow.value}"


def text_field(name: str, value: str) -> html.Div:
    """A declared text field (``core.open_data_form``) with its label, hint and message."""
    field, field_id = FIELD[name], ids.open_data(name)
    children: list[Any] = [
        dbc.Label(field.label, html_for=field_id),
        dbc.Input(
            id=field_id, value=value, placeholder=field.placeholder, type="text", debounce=True
        ),
        dbc.FormFeedback(id=ids.feedback(field_id), type="invalid"),
    ]
    if field.help_text:
        children.append(dbc.FormText(field.help_text))
    return html.Div(children, className="mb-3")


def _label(name: str) -> dbc.Label:
    return dbc.Label(FIELD[name].label, html_for=ids.open_data(name))


def _review_order() -> list:
    """Table order, or least confident first (the table's confidence column)."""
    field = FIELD["review_order"]
    return [
        _label("review_order"),
        dbc.Select(
            id=ids.open_data("review_order"),
            options=[{"label": o.label, "value": o.value} for o in ReviewOrder],
            value=ReviewOrder.TABLE.value,
        ),
        dbc.FormText(field.help_text),
    ]


def _upload(name: str, kind_limit: int, class_name: str) -> html.Div:
    """A declared upload field, bounded in the browser (``ui.uploads``)."""
    return limited_upload(
        kind_limit,
        id=ids.open_data(name),
        children=html.Div([FIELD[name].placeholder, html.A("choose one")]),
        className=class_name,
    )


def _volume_panel(defaults: dict[str, str]) -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        [
                            _label("axis_order"),
                            dbc.Select(
                                id=ids.OD_AXIS_ORDER,
                                options=[{"label": o, "value": o} for o in ("xyz", "zyx")],
                                value="xyz",
                            ),
                        ],
                        md=2,
                    ),
                    dbc.Col(
                        text_field("box_start", defaults.get("box_start", "")),
                        md=5,
                    ),
                    dbc.Col(
                        [
                            _label("box_stop"),
                            dbc.Input(
                                id=ids.OD_BOX_STOP,
                                value=defaults.get("box_stop", ""),
                                placeholder=FIELD["box_stop"].placeholder,
                                debounce=True,
                            ),
                        ],
                        md=5,
                    ),
                ]
            ),
        ],
        id=ids.OD_VOLUME_PANEL,
    )


def _neuron_chooser() -> html.Div:
    """The button "Choose a Neuron" opens this browser's viewer; `n` over a neuron picks it."""
    return html.Div(
        [
            dbc.Button(
                "Choose a Neuron",
                id=ids.OD_CHOOSE_NEURON,
                color="info",
                size="sm",
                className="me-2",
                title="Open Neuroglancer; hover a neuron and press n",
            ),
            html.Span(id=ids.OD_CHOOSER_STATUS, className="small text-danger"),
            dcc.Interval(id=ids.OD_CHOOSER_POLL, interval=300, disabled=True),
            dcc.Store(id=ids.OD_CHOOSER_SEEN),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Choose a Neuron")),
                    dbc.ModalBody(
                        [
                            html.Div(
                                "Click in the view, hover a neuron and press n; press n over "
                                "another neuron to change the choice. The id goes into the "
                                "form at once; closing keeps it.",
                                className="small mb-1",
                            ),
                            html.Div(id=ids.OD_CHOOSER_PICKED, className="fw-bold mb-2"),
                            ng_panel.viewer_iframe(ids.OD_CHOOSER_FRAME, height="68vh"),
                        ]
                    ),
                    dbc.ModalFooter(dbc.Button("Close", id=ids.OD_CHOOSER_CLOSE, color="primary")),
                ],
                id=ids.OD_CHOOSER_MODAL,
                is_open=False,
                size="xl",
            ),
        ],
        className="mb-2",
    )


def _swc_upload() -> html.Div:
    """An SWC skeleton of the neuron, for datasets whose neuropil layer has no skeletons."""
    return html.Div(
        [
            _label("swc_text"),
            dbc.Row(
                [
                    dbc.Col(
                        _upload("swc_text", MAX_SWC_BYTES, "border rounded p-1 text-center"),
                        md=8,
                    ),
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.Input(id=ids.OD_SWC_UNIT, value="1", debounce=True, size="sm"),
                                dbc.InputGroupText(FIELD["swc_unit_nm"].label, className="small"),
                            ],
                            size="sm",
                        ),
                        md=4,
                    ),
                ],
                className="g-1",
            ),
            html.Div(id=ids.OD_SWC_STATUS, className="small mb-2"),
        ]
    )


def _neuron_panel(defaults: dict[str, str]) -> html.Div:
    return html.Div(
        [
            text_field("neuron_id", defaults.get("neuron_id", "")),
            _neuron_chooser(),
            _swc_upload(),
            dbc.Button(
                "Load neuron list",
                id=ids.OD_NEURON_LIST_LOAD,
                color="secondary",
                size="sm",
                className="mb-2",
            ),
            job_panel(ids.OD_NEURONS_JOB),
            html.Div(id=ids.OD_NEURON_LIST_STATUS, className="small text-muted mb-1"),
            dash_table.DataTable(  # type: ignore[attr-defined]
                id=ids.OD_NEURON_LIST,
                columns=[
                    {"name": "Neuron id", "id": "neuron_id"},
                    {"name": "as pre", "id": "n_pre", "type": "numeric"},
                    {"name": "as post", "id": "n_post", "type": "numeric"},
                    {"name": "total", "id": "total", "type": "numeric"},
                ],
                data=[],
                sort_action="native",
                filter_action="native",
                page_size=10,
                row_selectable="single",
                style_table={"maxWidth": "640px"},
            ),
        ],
        id=ids.OD_NEURON_PANEL,
    )


def demo_alert(demo_dir: str) -> dbc.Alert:
    """The demo dataset is missing: a button writes it (a background job) and fills the form."""
    return dbc.Alert(
        [
            html.Div(
                f"The demo dataset is not in {demo_dir} yet. Write it (about a minute) to try "
                "the app on it; the form is filled when it is ready.",
                className="mb-2",
            ),
            dbc.Button("Write the demo dataset", id=ids.OD_DEMO_WRITE, color="primary", size="sm"),
            job_panel(ids.OD_DEMO_JOB),
        ],
        id=ids.OD_DEMO_ALERT,
        color="info",
    )


def form(workflow: Workflow, defaults: dict[str, str], missing_demo: str = "") -> html.Div:
    """The form; ``missing_demo``: the demo's folder when it has no complete demo."""
    detection = workflow is Workflow.DETECTION
    return html.Div(
        [
            dcc.Store(id=ids.OD_WORKFLOW, data=workflow.value),
            html.H3("Open Data: " + ("Error Detection" if detection else "Error Correction")),
            demo_alert(missing_demo) if missing_demo else "",
            dbc.Row(
                [
                    dbc.Col(
                        [
                            text_field("reviewer", defaults.get("reviewer", "")),
                            text_field("source", defaults["source"]),
                            text_field("target", defaults["target"]),
                            text_field("neuropil", defaults["neuropil"]),
                            text_field("table", defaults["table"]),
                            text_field("secrets", ""),
                            _label("session_json"),
                            _upload(
                                "session_json",
                                MAX_SESSION_JSON_BYTES,
                                "border rounded p-2 text-center mb-1",
                            ),
                            html.Div(id=ids.OD_JSON_STATUS, className="small mb-3"),
                        ],
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            _label("mode"),
                            dbc.RadioItems(
                                id=ids.OD_MODE,
                                options=[
                                    {"label": "Volume-centric", "value": "volume"},
                                    {"label": "Neuron-centric", "value": "neuron"},
                                ],
                                value=defaults.get("mode", "volume"),
                                inline=True,
                                className="mb-2",
                            ),
                            _volume_panel(defaults),
                            _neuron_panel(defaults),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        text_field("source_res", defaults["source_res"]),
                                        md=4,
                                    ),
                                    dbc.Col(
                                        text_field("target_res", defaults["target_res"]),
                                        md=4,
                                    ),
                                    dbc.Col(
                                        text_field("table_res", ""),
                                        md=4,
                                    ),
                                ]
                            ),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        text_field("crop_size", defaults["crop_size"]),
                                        md=4,
                                    ),
                                    dbc.Col(
                                        [
                                            _label("tiles_per_page"),
                                            dbc.Select(
                                                id=ids.OD_TILES_PER_PAGE,
                                                options=[
                                                    {"label": str(n), "value": str(n)}
                                                    for n in PAGE_SIZES
                                                ],
                                                value=defaults.get("tiles_per_page", "24"),
                                            ),
                                        ],
                                        md=4,
                                    ),
                                    dbc.Col(_review_order(), md=4),
                                ]
                            ),
                        ],
                        lg=6,
                    ),
                ]
            ),
            import_panel(),
            html.Div(
                [
                    dbc.Button("Submit", id=ids.OD_SUBMIT, color="primary", className="me-2"),
                    dbc.Button(
                        "Start Data Proofread" if detection else "Start Drawing",
                        id=ids.OD_START,
                        color="success",
                        disabled=True,
                        href="/annotation" if detection else "/draw",
                    ),
                ],
                className="mb-2",
            ),
            job_panel(ids.OD_SUBMIT_JOB),
            html.Div(id=ids.OD_SUBMIT_STATUS),
        ]
    )
