"""Layout of the Open Data form (SPEC 3.2). Callbacks live in ``pages/open_data.py``."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from synanno_dash.core.limits import MAX_SESSION_JSON_BYTES, MAX_SWC_BYTES
from synanno_dash.core.paging import PAGE_SIZES
from synanno_dash.ui import ids, ng_panel
from synanno_dash.ui.uploads import limited_upload

# Fields with a message under them, in the order the submit callback reports them.
VALIDATED_FIELDS = (
    ids.OD_SOURCE,
    ids.OD_TARGET,
    ids.OD_NEUROPIL,
    ids.OD_TABLE,
    ids.OD_SECRETS,
    ids.OD_BOX_START,
    ids.OD_SOURCE_RES,
    ids.OD_TARGET_RES,
    ids.OD_TABLE_RES,
    ids.OD_NEURON_ID,
    ids.OD_CROP_SIZE,
)


def text_field(field_id: str, label: str, value: str, placeholder: str = "", help_text: str = ""):
    children: list[Any] = [
        dbc.Label(label, html_for=field_id),
        dbc.Input(id=field_id, value=value, placeholder=placeholder, type="text", debounce=True),
        dbc.FormFeedback(id=ids.feedback(field_id), type="invalid"),
    ]
    if help_text:
        children.append(dbc.FormText(help_text))
    return html.Div(children, className="mb-3")


def _volume_panel(defaults: dict[str, str]) -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Axis order of the box", html_for=ids.OD_AXIS_ORDER),
                            dbc.Select(
                                id=ids.OD_AXIS_ORDER,
                                options=[{"label": o, "value": o} for o in ("xyz", "zyx")],
                                value="xyz",
                            ),
                        ],
                        md=2,
                    ),
                    dbc.Col(
                        text_field(
                            ids.OD_BOX_START,
                            "Box start (target voxels)",
                            defaults.get("box_start", ""),
                            "empty = whole table",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Box stop (target voxels)", html_for=ids.OD_BOX_STOP),
                            dbc.Input(
                                id=ids.OD_BOX_STOP,
                                value=defaults.get("box_stop", ""),
                                placeholder="empty = whole table",
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
            dbc.Label("Skeleton as SWC (optional: instead of the neuropil layer's skeletons)"),
            dbc.Row(
                [
                    dbc.Col(
                        limited_upload(
                            MAX_SWC_BYTES,
                            id=ids.OD_SWC_UPLOAD,
                            children=html.Div(["Drop an .swc file here or ", html.A("choose one")]),
                            className="border rounded p-1 text-center",
                        ),
                        md=8,
                    ),
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.Input(id=ids.OD_SWC_UNIT, value="1", debounce=True, size="sm"),
                                dbc.InputGroupText("nm per unit", className="small"),
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
            text_field(
                ids.OD_NEURON_ID,
                "Neuron id",
                defaults.get("neuron_id", ""),
                "a 64-bit segment id",
                "Type an id, pick a row of the list below, or choose it in Neuroglancer.",
            ),
            _neuron_chooser(),
            _swc_upload(),
            dbc.Button(
                "Load neuron list",
                id=ids.OD_NEURON_LIST_LOAD,
                color="secondary",
                size="sm",
                className="mb-2",
            ),
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


def form(workflow: str, defaults: dict[str, str]) -> html.Div:
    detection = workflow != "correction"
    return html.Div(
        [
            dcc.Store(id=ids.OD_WORKFLOW, data=workflow),
            html.H3("Open Data: " + ("Error Detection" if detection else "Error Correction")),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            text_field(
                                ids.OD_SOURCE,
                                "Source (EM image)",
                                defaults["source"],
                                "precomputed URL: gs://, s3://, https://, file://",
                            ),
                            text_field(
                                ids.OD_TARGET,
                                "Target (synapse clefts)",
                                defaults["target"],
                                "precomputed URL",
                            ),
                            text_field(
                                ids.OD_NEUROPIL,
                                "Neuropil (neurons, neuron-centric)",
                                defaults["neuropil"],
                                "precomputed URL (optional)",
                            ),
                            text_field(
                                ids.OD_TABLE,
                                "Synapse table (materialization)",
                                defaults["table"],
                                "CSV or Parquet path or file:// URL",
                            ),
                            text_field(
                                ids.OD_SECRETS,
                                "Credentials file (optional)",
                                "",
                                "default: ~/.cloudvolume/secrets",
                            ),
                            dbc.Label("Session JSON (optional, restores a session)"),
                            limited_upload(
                                MAX_SESSION_JSON_BYTES,
                                id=ids.OD_JSON_UPLOAD,
                                children=html.Div(["Drop a JSON here or ", html.A("choose one")]),
                                className="border rounded p-2 text-center mb-1",
                            ),
                            html.Div(id=ids.OD_JSON_STATUS, className="small mb-3"),
                        ],
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Selection"),
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
                                        text_field(
                                            ids.OD_SOURCE_RES,
                                            "Source resolution (nm)",
                                            defaults["source_res"],
                                            "x, y, z",
                                        ),
                                        md=4,
                                    ),
                                    dbc.Col(
                                        text_field(
                                            ids.OD_TARGET_RES,
                                            "Target resolution (nm)",
                                            defaults["target_res"],
                                            "x, y, z",
                                        ),
                                        md=4,
                                    ),
                                    dbc.Col(
                                        text_field(
                                            ids.OD_TABLE_RES,
                                            "Table resolution (nm)",
                                            "",
                                            "empty = target voxels",
                                        ),
                                        md=4,
                                    ),
                                ]
                            ),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        text_field(
                                            ids.OD_CROP_SIZE,
                                            "Crop size (target voxels)",
                                            defaults["crop_size"],
                                            "x, y, z",
                                        ),
                                        md=6,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label("Tiles per page"),
                                            dbc.Select(
                                                id=ids.OD_TILES_PER_PAGE,
                                                options=[
                                                    {"label": str(n), "value": str(n)}
                                                    for n in PAGE_SIZES
                                                ],
                                                value=defaults.get("tiles_per_page", "24"),
                                            ),
                                        ],
                                        md=6,
                                    ),
                                ]
                            ),
                        ],
                        lg=6,
                    ),
                ]
            ),
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
            dcc.Loading(html.Div(id=ids.OD_SUBMIT_STATUS), type="dot"),
        ]
    )
