"""The parts of the missed-synapse page (``pages/missed.py``) that need no request.

Where the viewer opens (``search_target``), the candidate list, the review dialog with its
editable box, and the box read back from the dialog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from synanno_dash.core.forms import FieldError, parse_int_triple
from synanno_dash.core.geometry import BBox, Triple
from synanno_dash.core.instances import DatasetConfig, Instance, Mode, Synapse
from synanno_dash.data.store import StoreError
from synanno_dash.data.volumes import InstanceCrops, VolumeError
from synanno_dash.services import neuron, ng_state
from synanno_dash.services.context import AppContext
from synanno_dash.services.false_negatives import FalseNegativeError
from synanno_dash.ui import enlarge, ids
from synanno_dash.ui.ng_panel import volume_center

AXES = "xyz"


@dataclass(frozen=True)
class SearchTarget:
    """Where the viewer opens, which compartment new instances join, where to return."""

    center_xyz_vx: Triple
    compartment: int | None
    back: str
    notice: str = ""
    region: BBox | None = None  # the compartment's box, when known


def compartment_center(items: Sequence[Instance], compartment: int) -> Triple | None:
    """The mean centre of a compartment's instances (rounded), ``None`` if it has none."""
    centres = [i.synapse.center_xyz_vx for i in items if i.compartment == compartment]
    if not centres:
        return None
    x, y, z = (round(sum(c[axis] for c in centres) / len(centres)) for axis in range(3))
    return (x, y, z)


def safe_back(back: str | None, default: str) -> str:
    """Only a path of this app (no other host) is a place to return to."""
    if back and back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return default


def _int_or_none(text: str | None, what: str) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise FieldError(f"{what} must be a whole number, not {text!r}.") from exc


def search_target(
    context: AppContext,
    sid: str,
    config: DatasetConfig,
    compartment: str | None = None,
    center: str | None = None,
    instance: str | None = None,
    back: str | None = None,
) -> SearchTarget:
    """Read the query: an explicit centre wins, then the instance, then the compartment."""
    k = _int_or_none(compartment, "compartment")
    n = _int_or_none(instance, "instance")
    grid = f"/annotation?page={context.store.get_state(sid).get('page', 1)}"
    back_to = safe_back(back, "/draw" if instance is not None else grid)
    bounds = context.volumes.get(config).target_bounds
    if center is not None and center.strip():
        point = parse_int_triple(center, "center", minimum=0)
        return SearchTarget(point, k, back_to)
    if n is not None:
        try:
            item = context.store.instance(sid, n)
        except StoreError:
            notice = f"Instance {n} is not part of this session: showing the volume centre."
            return SearchTarget(volume_center(bounds), k, back_to, notice)
        k = k if k is not None else item.compartment
        return SearchTarget(item.synapse.center_xyz_vx, k, back_to)
    if k is not None:
        return _compartment_target(context, sid, config, k, back_to)
    return SearchTarget(volume_center(bounds), None, back_to)


def _compartment_target(
    context: AppContext, sid: str, config: DatasetConfig, k: int, back_to: str
) -> SearchTarget:
    """The box around the compartment's skeleton (neuron-centric) or else its synapses' mean."""
    if config.mode is Mode.NEURON:
        try:
            box = neuron.missed_synapse_box(context, config, k)
            return SearchTarget(volume_center(box), k, back_to, region=box)
        except (neuron.NeuronError, VolumeError):
            pass  # no skeleton: fall back to the synapses
    middle = compartment_center(context.store.instances(sid), k)
    if middle is not None:
        return SearchTarget(middle, k, back_to)
    notice = f"No instance of compartment {k} in this session: showing the volume centre."
    bounds = context.volumes.get(config).target_bounds
    return SearchTarget(volume_center(bounds), k, back_to, notice)


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


def box_from_inputs(values: Sequence[object]) -> BBox:
    """Six inputs (x, y, z start, then stop) -> a box; a clear message when one is off."""
    numbers = []
    for name, value in zip(("x", "y", "z") * 2, values, strict=True):
        if value is None or value == "":
            raise FalseNegativeError(f"give the {name} start and stop of the box.")
        number = float(value)  # type: ignore[arg-type]
        if not number.is_integer():
            raise FalseNegativeError(f"the box needs whole voxels ({name}: {value}).")
        numbers.append(int(number))
    start, stop = tuple(numbers[:3]), tuple(numbers[3:])
    try:
        return BBox.from_bounds(start, stop)
    except ValueError as exc:
        raise FalseNegativeError(str(exc)) from exc


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
