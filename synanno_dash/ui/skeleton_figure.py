"""The 3D neuron overview: skeleton lines by compartment, synapses by review state.

Developer notes. ``display_skeleton`` simplifies the skeleton once per neuron (branch
points, leaves and compartment borders kept, every ``step``-th node of the runs between
them) so a 100,000-node neuron becomes a figure of a few hundred kB. ``skeleton_figure``
then builds the figure:

- trace ``SYNAPSE_TRACE`` (0): the synapses, Scatter3d markers in review order,
  ``customdata`` = materialization index, plain lists so a Dash ``Patch`` can set one
  element; a label click updates only ``data[0].marker.color`` (``synapse_colors``: numeric
  codes on a fixed colour scale), a page change ``marker.size`` and ``marker.line.color``
  (``synapse_marker_style``);
- traces 1..K: compartment k = trace k + 1, named "Compartment k", ``meta`` = k, drawn as
  one Scatter3d of lines whose runs are separated by NaN (plotly's gap, like ``None``).

Coordinates are nm, x, y, z, as float32 numpy arrays: plotly sends them base64-encoded
(``{"dtype": "f4", "bdata": ...}``), smaller than JSON numbers and ~100x faster to
build than lists; float32 is exact to 1 nm up to 16 mm. NaN gaps in such arrays were
checked to render as gaps in headless Chromium.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import plotly.graph_objects as go

from synanno_dash.core.compartments import Compartments, NeuronSkeleton
from synanno_dash.core.labels import Label

SYNAPSE_TRACE = 0
DEFAULT_MAX_POINTS = 20_000


class MarkerCode(IntEnum):
    """Synapse marker colours as numbers on ``MARKER_COLORSCALE``: numbers validate ~10x
    faster than colour strings and make small Patches."""

    UNREVIEWED = 0
    CORRECT = 1
    INCORRECT = 2
    UNSURE = 3
    OUTLINE = 4  # marker.line only: the current page's outline


CODE_COLORS = {  # the tile border colours of assets/app.css
    MarkerCode.UNREVIEWED: "#ffc107",
    MarkerCode.CORRECT: "#28a745",
    MarkerCode.INCORRECT: "#dc3545",
    MarkerCode.UNSURE: "#ffc107",
    MarkerCode.OUTLINE: "#212529",
}
# each code sits exactly on a stop, so no colour is ever interpolated
MARKER_COLORSCALE = [[code / MarkerCode.OUTLINE, color] for code, color in CODE_COLORS.items()]
MARKER_SIZE, CURRENT_MARKER_SIZE = 4, 9
# no pure green, red or yellow: those mean review states
COMPARTMENT_PALETTE = (
    "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#393b79", "#637939", "#843c39", "#6b6ecf", "#a55194",
)  # fmt: skip

State = Label | str | None
_SCALE = {"cmin": 0, "cmax": int(MarkerCode.OUTLINE), "colorscale": MARKER_COLORSCALE}


@dataclass(frozen=True, eq=False)
class CompartmentLines:
    """One compartment's polylines: x, y, z in nm (float32) with NaN between runs."""

    compartment: int
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray


@dataclass(frozen=True)
class SkeletonDisplay:
    lines: tuple[CompartmentLines, ...]
    n_points: int  # drawn vertices, separators excluded
    step: int  # every step-th node kept between branch points


def compartment_color(compartment: int) -> str:
    if compartment < len(COMPARTMENT_PALETTE):
        return COMPARTMENT_PALETTE[compartment]
    hue = (compartment * 137.508) % 360  # golden angle: neighbours far apart on the wheel
    return f"hsl({hue:.0f},55%,45%)"


def display_skeleton(
    skeleton: NeuronSkeleton, compartments: Compartments, max_points: int = DEFAULT_MAX_POINTS
) -> SkeletonDisplay:
    """Polylines per compartment with at most about ``max_points`` vertices.

    A run is a stretch of consecutive traversal indices, each node the child of the one
    before, within one compartment; it starts at its top node's parent so runs join up.
    Branch points, leaves and run ends are always kept, so the topology is exact.
    """
    order, parent = compartments.order, compartments.parent
    n = len(order)
    if n != skeleton.n_nodes:
        raise ValueError("the compartments were computed for another skeleton")
    comp = compartments.node_compartment[order]
    breaks = np.ones(n, dtype=bool)
    breaks[1:] = (parent[order[1:]] != order[:-1]) | (comp[1:] != comp[:-1])
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], n)
    n_children = np.bincount(parent[parent >= 0], minlength=n)
    forced = n_children[order] != 1  # branch points and leaves
    forced[ends - 1] = True
    n_forced = int(forced.sum()) + 2 * len(starts)  # + each run's first node and its join
    n_free = n - n_forced
    step = max(1, math.ceil(n_free / max(1, max_points - n_forced))) if n_free > 0 else 1
    offset = np.arange(n) - np.repeat(starts, ends - starts)
    keep = forced | (offset % step == 0)
    runs: dict[int, list[list[int]]] = {}
    kept_positions = np.flatnonzero(keep)
    bounds = np.searchsorted(kept_positions, np.append(starts, n))
    for i, start in enumerate(starts.tolist()):
        nodes = order[kept_positions[bounds[i] : bounds[i + 1]]].tolist()
        up = int(parent[order[start]])
        runs.setdefault(int(comp[start]), []).append(([up] if up >= 0 else []) + nodes)
    xyz = skeleton.vertices_nm.astype(np.float32)
    lines = tuple(_lines(k, runs.get(k, []), xyz) for k in range(compartments.n_compartments))
    n_points = sum(len(run) for group in runs.values() for run in group)
    return SkeletonDisplay(lines=lines, n_points=n_points, step=step)


def _lines(compartment: int, runs: list[list[int]], xyz: np.ndarray) -> CompartmentLines:
    if not runs:
        empty = np.zeros(0, dtype=np.float32)
        return CompartmentLines(compartment, empty, empty, empty)
    nodes = np.concatenate([np.append(np.asarray(run, dtype=np.int64), -1) for run in runs])
    nodes = nodes[:-1]  # no separator after the last run
    coords = xyz[np.maximum(nodes, 0)]
    coords[nodes < 0] = np.nan
    x, y, z = (np.ascontiguousarray(axis) for axis in coords.T)
    for axis in (x, y, z):
        axis.setflags(write=False)
    return CompartmentLines(compartment, x, y, z)


def state_code(state: State) -> MarkerCode:
    if state is None or state == "":
        return MarkerCode.UNREVIEWED
    return MarkerCode[Label.parse(str(state)).name]


def synapse_colors(states: Iterable[State]) -> list[int]:
    """Values for ``data[SYNAPSE_TRACE].marker.color``, in trace order: None (not yet
    reviewed) and unsure yellow, correct green, incorrect red (see ``CODE_COLORS``)."""
    return [int(state_code(state)) for state in states]


def synapse_marker_style(
    ids: Sequence[int], states: Mapping[int, State], current_ids: Collection[int]
) -> dict[str, list[int]]:
    """``color``, ``size`` and ``line_color`` lists for the synapse trace, in ``ids`` order:
    the current page's synapses are bigger and outlined."""
    current = set(current_ids)
    colors = synapse_colors(states.get(i) for i in ids)
    return {
        "color": colors,
        "size": [CURRENT_MARKER_SIZE if i in current else MARKER_SIZE for i in ids],
        "line_color": [
            int(MarkerCode.OUTLINE) if i in current else color
            for i, color in zip(ids, colors, strict=True)
        ],
    }


def skeleton_figure(
    skeleton_display: SkeletonDisplay,
    compartments: Compartments,
    synapse_points: Mapping[int, Sequence[float]],
    states: Mapping[int, State],
    current_ids: Collection[int] = (),
) -> go.Figure:
    """The overview figure. ``synapse_points`` maps materialization index -> x, y, z nm, in
    review order; ``states`` maps it to a label (missing or None: not yet reviewed)."""
    if len(skeleton_display.lines) != compartments.n_compartments:
        raise ValueError("the display was built for other compartments")
    figure = go.Figure(data=[_synapse_trace(synapse_points, states, current_ids)])
    for lines in skeleton_display.lines:
        k = lines.compartment
        figure.add_trace(
            go.Scatter3d(
                x=lines.x,
                y=lines.y,
                z=lines.z,
                mode="lines",
                name=f"Compartment {k}",
                meta=k,
                legendgroup=f"compartment-{k}",
                line={"color": compartment_color(k), "width": 3},
                hovertemplate=f"Compartment {k}<extra></extra>",
            )
        )
    figure.update_layout(
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        uirevision="neuron",  # keep the camera when a Patch updates the markers
        legend={"itemsizing": "constant", "y": 0.92, "yanchor": "top"},  # below the modebar
        scene={
            "aspectmode": "data",
            **{
                axis: {"title": {"text": f"{axis[0]} (nm)"}} for axis in ("xaxis", "yaxis", "zaxis")
            },
        },
    )
    return figure


def _synapse_trace(
    synapse_points: Mapping[int, Sequence[float]],
    states: Mapping[int, State],
    current_ids: Collection[int],
) -> go.Scatter3d:
    ids = [int(i) for i in synapse_points]
    points = np.array([synapse_points[i] for i in ids], dtype=np.float32).reshape(-1, 3)
    style = synapse_marker_style(ids, states, current_ids)
    return go.Scatter3d(
        x=points[:, 0],
        y=points[:, 1],
        z=points[:, 2],
        mode="markers",
        name="Synapses",
        customdata=ids,
        marker={
            "color": style["color"],
            **_SCALE,
            "size": style["size"],
            "line": {"color": style["line_color"], "width": 2, **_SCALE},
            "opacity": 1.0,
        },
        hovertemplate="Synapse %{customdata}<extra></extra>",
    )
