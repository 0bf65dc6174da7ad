"""The drawing view's figure and the small patches that keep per-click work tiny.

Developer notes: axes are in target voxel coordinates with voxel centres on integers (the
EM image, often at the finer source resolution, is placed with ``dx``), so every click
maps to a displayed EM pixel and from there, with ``core.markers``, to a target voxel.
Trace order is fixed (``EM, MASK, CURVE, POINTS, PRE, POST, PROPOSAL``): patches address traces
by index. A curve being drawn lives in a browser store (``DI_STROKE``) as control points
or a freehand polygon; it reaches the server only when it is filled or erased.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import Patch

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Instance
from synanno_dash.core.markers import DisplayFrame
from synanno_dash.core.masks import closed_spline, drawn_polygon
from synanno_dash.services.correction import Drawing
from synanno_dash.services.tile_images import (
    PROPOSAL_RGB,
    em_slice_uri,
    mask_slice_uri,
    source_slices_for_target,
)

EM, MASK, CURVE, POINTS, PRE, POST, PROPOSAL = range(7)
PRE_COLOR, POST_COLOR = "#00c853", "#2962ff"
CURVE_COLOR, ERASE_COLOR = "#ffd600", "#ff6d00"
MUTED_ALPHA = 0.35
PROPOSAL_OPACITY = 0.45
TOOLS = ("points", "freehand", "pre", "post")


def em_slice(drawing: Drawing, k: int) -> np.ndarray:
    return source_slices_for_target(drawing.crops.em_zyx, drawing.masks_zyx.shape[0])[k]


def display_frame(box_list: list[int], em_shape_yx: list[int]) -> DisplayFrame:
    """The displayed EM image over the drawing box (from the view's small store)."""
    box = BBox.from_bounds(tuple(box_list[:3]), tuple(box_list[3:]))
    return DisplayFrame(box, int(em_shape_yx[1]), int(em_shape_yx[0]))


def _marker(name: str, point: tuple[int, int, int] | None, z: int, color: str) -> go.Scatter:
    return go.Scatter(
        x=[] if point is None else [point[0]],
        y=[] if point is None else [point[1]],
        mode="markers",
        name=name,
        marker=_marker_style(point, z, color),
        hoverinfo="skip",
    )


def _marker_style(point: tuple[int, int, int] | None, z: int, color: str) -> dict[str, Any]:
    bright = point is not None and point[2] == z
    return {
        "size": 16 if bright else 11,
        "color": color,
        "opacity": 1.0 if bright else MUTED_ALPHA,
        "symbol": "circle",
        "line": {"width": 2, "color": "white"},
    }


def figure(drawing: Drawing, k: int, opacity: float, tool: str = "points") -> go.Figure:
    box = drawing.box
    (x0, y0, z0), (x1, y1, _z1) = box.start_xyz, box.stop_xyz
    em = em_slice(drawing, k)
    dx, dy = box.shape_xyz[0] / em.shape[1], box.shape_xyz[1] / em.shape[0]
    fig = go.Figure()
    fig.add_trace(
        go.Image(
            source=em_slice_uri(em, quality=92), x0=x0 - 0.5 + dx / 2, dx=dx,
            y0=y0 - 0.5 + dy / 2, dy=dy, name="EM",
            hovertemplate="x=%{x:.0f}, y=%{y:.0f}<extra>target voxels</extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Image(
            source=mask_slice_uri(drawing.masks_zyx[k]),
            x0=x0,
            y0=y0,
            opacity=opacity,
            hoverinfo="skip",
            name="mask",
        )  # fmt: skip
    )
    fig.add_trace(go.Scatter(x=[], y=[], mode="lines", hoverinfo="skip", name="curve",
                             line={"color": CURVE_COLOR, "width": 2}))  # fmt: skip
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", hoverinfo="skip", name="points",
                             marker={"color": CURVE_COLOR, "size": 7}))  # fmt: skip
    syn, z = drawing.item.synapse, z0 + k
    fig.add_trace(_marker("pre", syn.pre_xyz_vx, z, PRE_COLOR))
    fig.add_trace(_marker("post", syn.post_xyz_vx, z, POST_COLOR))
    empty = proposal_uri(None, drawing.masks_zyx.shape[1:])
    fig.add_trace(go.Image(source=empty, x0=x0, y0=y0, opacity=PROPOSAL_OPACITY,
                           hoverinfo="skip", name="proposal"))  # fmt: skip
    fig.update_layout(
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        height=640,
        showlegend=False,
        dragmode=_dragmode(tool),
        newshape={"line": {"color": CURVE_COLOR, "width": 2}, "fillcolor": "rgba(0,0,0,0)"},
        uirevision=drawing.item.instance_id,
        hovermode="closest",
    )
    fig.update_xaxes(range=[x0 - 0.5, x1 - 0.5], constrain="domain", fixedrange=True,
                     showgrid=False, zeroline=False, title_text="x (target voxels)")  # fmt: skip
    fig.update_yaxes(range=[y1 - 0.5, y0 - 0.5], constrain="domain", fixedrange=True,
                     scaleanchor="x", showgrid=False, zeroline=False, title_text="y")  # fmt: skip
    return fig


def proposal_uri(mask_yx: np.ndarray | None, shape_yx: tuple[int, ...]) -> str:
    """The Auto proposal of one slice in its own colour (transparent where there is none)."""
    return mask_slice_uri(np.zeros(shape_yx, bool) if mask_yx is None else mask_yx, PROPOSAL_RGB)


def _dragmode(tool: str) -> str | bool:
    return "drawclosedpath" if tool == "freehand" else False


# -- patches ------------------------------------------------------------------------------
def slice_patch(drawing: Drawing, k: int) -> Patch:
    """A new slice: EM, mask and marker brightness; any unfinished curve is dropped."""
    patch = Patch()
    patch["data"][EM]["source"] = em_slice_uri(em_slice(drawing, k), quality=92)
    patch["data"][MASK]["source"] = mask_slice_uri(drawing.masks_zyx[k])
    markers_into(patch, drawing.item, drawing.box.start_xyz[2] + k)
    clear_curve_into(patch)
    return patch


def markers_into(patch: Patch, item: Instance, z: int) -> Patch:
    for index, point, color in ((PRE, item.synapse.pre_xyz_vx, PRE_COLOR),
                                (POST, item.synapse.post_xyz_vx, POST_COLOR)):  # fmt: skip
        patch["data"][index]["x"] = [] if point is None else [point[0]]
        patch["data"][index]["y"] = [] if point is None else [point[1]]
        patch["data"][index]["marker"] = _marker_style(point, z, color)
    return patch


def mask_into(patch: Patch, mask_yx: np.ndarray) -> Patch:
    patch["data"][MASK]["source"] = mask_slice_uri(mask_yx)
    return patch


def clear_curve_into(patch: Patch) -> Patch:
    for index in (CURVE, POINTS):
        patch["data"][index]["x"] = []
        patch["data"][index]["y"] = []
    patch["layout"]["shapes"] = []
    return patch


def tool_patch(tool: str) -> Patch:
    patch = Patch()
    patch["layout"]["dragmode"] = _dragmode(tool)
    return patch


# -- the curve being drawn ----------------------------------------------------------------
def curve_polygon(stroke: dict | None, points_per_segment: int) -> np.ndarray | None:
    """The closed curve of a stroke: a spline through control points, or a freehand path."""
    if not stroke:
        return None
    if stroke.get("freehand"):
        polygon = np.asarray(stroke["freehand"], dtype=float).reshape(-1, 2)
    else:
        control = np.asarray(stroke.get("points", []), dtype=float).reshape(-1, 2)
        polygon = closed_spline(control, points_per_segment)
    return polygon if len(polygon) >= 3 else None


def curve_into(patch: Patch, stroke: dict | None, points_per_segment: int) -> Patch:
    """Show the stroke: its control points and the closed curve through them."""
    control = np.asarray((stroke or {}).get("points", []), dtype=float).reshape(-1, 2)
    patch["data"][POINTS]["x"] = control[:, 0].tolist()
    patch["data"][POINTS]["y"] = control[:, 1].tolist()
    polygon = curve_polygon(stroke, points_per_segment)
    line = control if polygon is None else np.vstack([polygon, polygon[:1]])
    patch["data"][CURVE]["x"] = line[:, 0].tolist()
    patch["data"][CURVE]["y"] = line[:, 1].tolist()
    return patch


def freehand_stroke(relayout: dict | None) -> dict | None:
    """A stroke from a shape drawn with plotly's ``drawclosedpath``, or ``None``."""
    polygon = drawn_polygon(relayout)
    if polygon is None or len(polygon) < 3:
        return None
    return {"freehand": np.round(polygon, 3).tolist()}
