"""The neuron figure: the overview (/neuron) and the mini-map beside the review grid.

Developer notes: the synapse trace (trace 0) holds one point per instance id 0..max id, so
a label click patches ``data[0].marker.color[instance_id]`` with a few bytes and never
re-sends the skeleton. Ids missing from a session (dropped when a session JSON without its
discarded instances was restored) are NaN points, which plotly skips. The simplified
skeleton lines come with the neuron view (``NeuronView.display``). What the mini-map shows
is gathered by ``services.neuron.minimap``; this module only draws it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import plotly.graph_objects as go
from dash import Patch, dcc, html, set_props

from synanno_dash.core.instances import DatasetConfig, Instance
from synanno_dash.core.neuron_view import NeuronView
from synanno_dash.services import neuron
from synanno_dash.services.neuron import review_state, synapse_points_nm
from synanno_dash.ui import ids
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.skeleton_figure import (
    SYNAPSE_TRACE,
    ReviewState,
    compartment_color,
    error_rate_color,
    skeleton_figure,
    state_code,
)

MINIMAP_HEIGHT_PX = 340
OVERVIEW_HEIGHT_PX = 620
CURRENT_LINE_WIDTH = 7
# floats right of the review grid, which (a grid container) narrows beside it
PANEL_STYLE = {"float": "right", "width": "330px", "marginLeft": "10px"}


def trace_points(
    items: Sequence[Instance], config: DatasetConfig
) -> tuple[dict[int, list[float]], dict[int, ReviewState]]:
    """(points nm, review states) keyed by every id 0..max instance id, in id order."""
    n = 1 + max((i.instance_id for i in items), default=-1)
    points = np.full((n, 3), np.nan, dtype=np.float32)
    if items:
        synapses = [i.synapse for i in items]
        points[[i.instance_id for i in items]] = synapse_points_nm(
            synapses, config.neuron_id, config.target_resolution
        )
    states: dict[int, ReviewState] = {i.instance_id: review_state(i) for i in items}
    return {i: points[i].tolist() for i in range(n)}, states


def neuron_figure(
    view: NeuronView,
    items: Sequence[Instance],
    config: DatasetConfig,
    current_ids: Collection[int] = (),
    compact: bool = False,
) -> go.Figure:
    """The skeleton, one trace per compartment, and the synapses by review state."""
    points, states = trace_points(items, config)
    figure = skeleton_figure(view.display, view.compartments, points, states, current_ids)
    if compact:
        hidden = {"visible": False}
        figure.update_layout(
            height=MINIMAP_HEIGHT_PX,
            showlegend=False,
            scene={"xaxis": hidden, "yaxis": hidden, "zaxis": hidden},
        )
    else:
        figure.update_layout(height=OVERVIEW_HEIGHT_PX)
    return figure


def marker_patch(item: Instance) -> Patch:
    """The mini-map change after one label change: one colour code of the synapse trace
    (a labelled synapse counts as reviewed)."""
    patch = Patch()
    patch["data"][SYNAPSE_TRACE]["marker"]["color"][item.instance_id] = int(state_code(item.label))
    return patch


def compartment_colors_patch(
    progress: Sequence[neuron.CompartmentProgress], by_error_rate: bool
) -> Patch:
    """Recolour the compartments' lines: by their error rate (flagged over reviewed; grey
    where nothing is reviewed), or back to one colour each. Only colours and hover texts
    travel, never the skeleton."""
    patch = Patch()
    for p in progress:
        trace = patch["data"][SYNAPSE_TRACE + 1 + p.compartment]
        rate = p.error_rate
        if by_error_rate:
            trace["line"]["color"] = error_rate_color(rate.rate)
            shown = "nothing reviewed" if rate.rate is None else (
                f"{100 * rate.rate:.0f}% flagged ({rate.count} of {rate.total} reviewed)"
            )
            trace["hovertemplate"] = f"Compartment {p.compartment}: {shown}<extra></extra>"
        else:
            trace["line"]["color"] = compartment_color(p.compartment)
            trace["hovertemplate"] = f"Compartment {p.compartment}<extra></extra>"
    return patch


def graph(graph_id: str, figure: go.Figure, compact: bool) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id,
        figure=figure,
        config={"displayModeBar": not compact, "displaylogo": False, "scrollZoom": True},
        style={"height": f"{MINIMAP_HEIGHT_PX if compact else OVERVIEW_HEIGHT_PX}px"},
        className="sd-minimap" if compact else "sd-neuron-overview",
    )


def picked_by_click(figure_data: dict | None) -> tuple[str, int] | None:
    """What a click on the figure picked: ("compartment", k) for a line, ("instance", id)
    for a synapse sphere, None otherwise (``clickData`` of a dcc.Graph)."""
    points = (figure_data or {}).get("points") or []
    if not points:
        return None
    point = points[0]
    curve = int(point.get("curveNumber", -1))
    if curve == SYNAPSE_TRACE:
        instance = point.get("customdata")
        if isinstance(instance, list):
            instance = instance[0] if instance else None
        return None if instance is None else ("instance", int(instance))
    if curve > SYNAPSE_TRACE:
        return ("compartment", curve - 1)  # traces 1..K are compartments 0..K-1
    return None


def compartment_of_legend(restyle: list | None) -> int | None:
    """The compartment whose legend entry was clicked (a ``restyleData`` toggling the
    visibility of exactly one trace), or None."""
    if not restyle or len(restyle) < 2 or "visible" not in (restyle[0] or {}):
        return None
    traces = restyle[1] or []
    if len(traces) != 1 or int(traces[0]) <= SYNAPSE_TRACE:
        return None
    return int(traces[0]) - 1


def follow_label(item: Instance) -> None:
    """After a label change of a neuron-centric instance: recolour its sphere in the
    mini-map (a side update of the running callback; volume-centric sessions skip it)."""
    if item.compartment is not None:
        set_props(ids.MINIMAP, {"figure": marker_patch(item)})


def review_panel(minimap_data: neuron.Minimap | None) -> html.Div | None:
    """The mini-map beside the review grid (floats right of it), and at a compartment's
    last page the box in which to look for missed synapses; None in volume-centric mode."""
    if minimap_data is None:
        return None
    view, compartment = minimap_data.view, minimap_data.compartment
    if view is None:
        return html.Div(dbc.Alert(minimap_data.problem, color="warning"), style=PANEL_STYLE)
    figure = neuron_figure(
        view, minimap_data.items, minimap_data.config, minimap_data.current_ids, compact=True
    )
    if compartment is not None:  # the compartment under review stands out
        figure.data[SYNAPSE_TRACE + 1 + compartment].line.width = CURRENT_LINE_WIDTH
    children: list[Any] = [
        html.Div(
            [
                html.Span(f"Compartment {compartment}" if compartment is not None else ""),
                dcc.Link("overview", href="/neuron", className="ms-2 small"),
            ],
            className="small fw-bold",
        ),
        graph(ids.MINIMAP, figure, compact=True),
    ]
    if minimap_data.missed is not None:
        children.append(_missed_offer(minimap_data.missed))
    return html.Div(children, style=PANEL_STYLE, className="sd-minimap-panel")


def _missed_offer(offer: neuron.MissedOffer) -> dbc.Alert:
    if offer.box is None:
        return dbc.Alert(offer.problem, color="warning")
    box, compartment = offer.box, offer.compartment
    (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
    return dbc.Alert(
        [
            html.Div(f"Last page of compartment {compartment}."),
            html.Div(
                f"Its box: x {x0}–{x1}, y {y0}–{y1}, z {z0}–{z1} (target voxels).",
                className="small",
                **data_attrs(bbox=",".join(str(v) for v in box.as_list())),
            ),
            dbc.Button(
                "Look for missed synapses here",
                id=ids.REVIEW_MISSED,
                href=f"/missed?compartment={compartment}",
                size="sm",
                color="primary",
                className="mt-1",
            ),
        ],
        color="info",
        className="mt-2 p-2",
    )
