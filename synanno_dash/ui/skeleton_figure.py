"""The 3D neuron overview: skeleton lines by compartment, synapses by review state.

Developer notes. The lines come simplified from the neuron view (``core.skeleton_lines``,
computed once when the view is prepared) so a 100,000-node neuron becomes a figure of a few
hundred kB. ``skeleton_figure`` builds the figure:

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

from collections.abc import Collection, Iterable, Mapping, Sequence
from enum import IntEnum

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from synanno_dash.core.compartments import Compartments
from synanno_dash.core.labels import Label
from synanno_dash.core.skeleton_lines import SkeletonDisplay

SYNAPSE_TRACE = 0


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

# "colour by error rate": light (no error) to dark red (every reviewed synapse flagged)
ERROR_RATE_COLORSCALE = "OrRd"
ERROR_RATE_LOW = 0.12  # the scale's first stops are near white: start where a line shows
NOT_REVIEWED_COLOR = "#adb5bd"  # a compartment with nothing reviewed has no rate

ReviewState = Label | str | None
_SCALE = {"cmin": 0, "cmax": int(MarkerCode.OUTLINE), "colorscale": MARKER_COLORSCALE}


def compartment_color(compartment: int) -> str:
    if compartment < len(COMPARTMENT_PALETTE):
        return COMPARTMENT_PALETTE[compartment]
    hue = (compartment * 137.508) % 360  # golden angle: neighbours far apart on the wheel
    return f"hsl({hue:.0f},55%,45%)"


def error_rate_color(rate: float | None) -> str:
    """A compartment's line colour by its error rate (0..1; None: nothing reviewed)."""
    if rate is None:
        return NOT_REVIEWED_COLOR
    position = ERROR_RATE_LOW + (1 - ERROR_RATE_LOW) * min(max(float(rate), 0.0), 1.0)
    return str(sample_colorscale(ERROR_RATE_COLORSCALE, [position])[0])


def error_rate_gradient() -> str:
    """A CSS ``linear-gradient`` of the error-rate scale, 0 % left to 100 % right."""
    stops = [error_rate_color(k / 10) for k in range(11)]
    return f"linear-gradient(to right, {', '.join(stops)})"


def state_code(state: ReviewState) -> MarkerCode:
    if state is None or state == "":
        return MarkerCode.UNREVIEWED
    return MarkerCode[Label.parse(str(state)).name]


def synapse_colors(states: Iterable[ReviewState]) -> list[int]:
    """Values for ``data[SYNAPSE_TRACE].marker.color``, in trace order: None (not yet
    reviewed) and unsure yellow, correct green, incorrect red (see ``CODE_COLORS``)."""
    return [int(state_code(state)) for state in states]


def synapse_marker_style(
    ids: Sequence[int], states: Mapping[int, ReviewState], current_ids: Collection[int]
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
    states: Mapping[int, ReviewState],
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
    states: Mapping[int, ReviewState],
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
