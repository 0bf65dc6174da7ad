"""The components of the missed-synapse page (``pages/missed.py``): the candidate list, the
side panel, the review dialog with its editable box, and the candidate's preview figure.
Where the viewer opens and what is saved is ``services.missed``."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from synanno_dash.core.geometry import BBox, Triple
from synanno_dash.core.instances import Instance, Synapse
from synanno_dash.data.volumes import InstanceCrops
from synanno_dash.services import ng_state
from synanno_dash.services.missed import SearchTarget
from synanno_dash.ui import enlarge, ids

AXES = "xyz"


def candidate_list(candidates: Sequence[Sequence[int]]) -> Component:
    if not candidates:
        return html.Div(
            "None yet: hover a missed synapse and press c.", className="small text-muted"
        )
    return html.Ol(
        [html.Li(f"x {c[0]}, y {c[1]}, z {c[2]}") for c in candidates], className="small"
    )


def number_input(input_id: str) -> dbc.Input:
    # debounce: the preview follows a value once it is typed, not every keystroke
    return dbc.Input(id=input_id, type="number", step=1, debounce=True)


def review_dialog() -> dbc.Modal:
    def box_inputs(axis: int) -> dbc.Row:
        label = AXES[axis]
        return dbc.Row(
            [
                dbc.Col(dbc.Label(f"{label} start / stop"), width=4),
                dbc.Col(number_input(ids.MISSED_BOX_START[axis]), width=4),
                dbc.Col(number_input(ids.MISSED_BOX_STOP[axis]), width=4),
            ],
            className="mb-2 g-2 align-items-center",
        )

    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id=ids.MISSED_REVIEW_TITLE), close_button=False),
            dbc.ModalBody(
                [
                    html.Div(id=ids.MISSED_REVIEW_INFO, className="small mb-2"),
                    html.Div("Box (target voxels, stop excluded)", className="fw-bold mb-1"),
                    *(box_inputs(axis) for axis in range(3)),
                    html.Div(id=ids.MISSED_ERROR, className="small text-danger"),
                    dcc.Graph(id=ids.MISSED_PREVIEW, config={"displaylogo": False}),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Skip", id=ids.MISSED_SKIP, color="secondary"),
                    dbc.Button("Save", id=ids.MISSED_SAVE, color="primary"),
                ]
            ),
        ],
        id=ids.MISSED_REVIEW,
        is_open=False,
        size="lg",
        backdrop="static",
        keyboard=False,
    )


def side_panel(target: SearchTarget, candidates: Sequence[Triple]) -> list:
    where = (
        f"compartment {target.compartment}, " if target.compartment is not None else ""
    ) + f"centre {list(target.center_xyz_vx)}"
    if target.region is not None:
        box = target.region
        where += f", box {list(box.start_xyz)} to {list(box.stop_xyz)}"
    return [
        html.P(
            [
                f"Showing {where}. Click in the view, hover a synapse the table missed and "
                "press ",
                html.Kbd("c"),
                ": a yellow marker appears. Then Done: each one is reviewed before it is added.",
            ],
            className="small",
        ),
        html.H6("Candidates"),
        html.Div(candidate_list(candidates), id=ids.MISSED_LIST),
        dbc.Button("Done", id=ids.MISSED_DONE, color="primary", className="me-2"),
        dbc.Button("Cancel", id=ids.MISSED_CANCEL, color="secondary"),
    ]


def review_info(center: Triple, proposal: ng_state.ProposedBox, volume: BBox) -> list:
    z0, z1 = proposal.z_range
    box = proposal.bbox_target_vx
    lines = [
        f"Position (x, y, z) {list(center)} target voxels.",
        f"Proposed box {list(box.start_xyz)} to {list(box.stop_xyz)}: slices z {box.start_xyz[2]}"
        f" to {box.stop_xyz[2] - 1} ({box.shape_xyz[2]} slices; {z1 - z0} inside the volume).",
    ]
    if not proposal.inside_volume:
        lines.append(
            f"The box reaches past the volume {list(volume.start_xyz)}..{list(volume.stop_xyz)}:"
            " the crop is padded there."
        )
    return [html.Div(line) for line in lines]


def preview_figure(center_xyz_vx: Triple, box: BBox, crops: InstanceCrops) -> go.Figure:
    """The candidate's slice of the box: EM, clefts and a yellow marker at the position."""
    item = Instance(instance_id=-1, synapse=Synapse(-1, center_xyz_vx), bbox_target_vx=box)
    figure = enlarge.enlarged_figure(item, crops, center_xyz_vx[2] - box.start_xyz[2], 0.4)
    figure.add_trace(
        go.Scatter(
            x=[center_xyz_vx[0]], y=[center_xyz_vx[1]], mode="markers", name="missed synapse",
            marker={"size": 14, "color": ng_state.CANDIDATE_COLOR,
                    "line": {"width": 2, "color": "black"}},
        )
    )  # fmt: skip
    figure.update_layout(height=380, uirevision=str(center_xyz_vx))
    return figure
