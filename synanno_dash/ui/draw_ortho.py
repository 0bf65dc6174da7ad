"""Orthogonal views of the drawing view: the mask of every slice cut along x-z (at one y) and
y-z (at one x), with the EM behind it, beside the x-y slice (issue 13).

Developer notes: both views put the cut's in-plane axis (x or y, target voxels) across and z
(target slices, absolute) down, voxel centres on integers like the x-y figure. The z axis is
stretched by ``resolution_nm`` (``scaleratio`` = z nm / x or y nm), so a 40 nm slice under
8 nm voxels is five pixels tall per pixel of width and nothing looks squashed. Trace order is
fixed (``EM, MASK, SLICE_LINE, CUT_LINE``): patches address traces by index. The horizontal
line is the current slice; the vertical one is where the other view cuts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import plotly.graph_objects as go
from dash import Patch

from synanno_dash.core.geometry import Resolution
from synanno_dash.services.correction import Drawing
from synanno_dash.services.tile_images import em_slice_uri, mask_slice_uri

EM, MASK, SLICE_LINE, CUT_LINE = range(4)
SLICE_COLOR, CUT_COLOR = "#ffd600", "#ffffff"
Axis = Literal["xz", "yz"]
PLOT_WIDTH_PX = 260  # the width the height is sized for; plotly keeps the ratio
MIN_HEIGHT_PX, MAX_HEIGHT_PX = 140, 300


@dataclass(frozen=True)
class Cut:
    """One orthogonal plane: ``axis`` "xz" cuts at target y = ``at``, "yz" at x = ``at``."""

    axis: Axis
    at: int


def centre_xy(drawing: Drawing) -> tuple[int, int]:
    """Where the views cut first: the synapse centre, inside the box."""
    return clamp_xy(drawing, drawing.item.synapse.center_xyz_vx[:2])


def clamp_xy(drawing: Drawing, xy: tuple[int, ...] | list[int]) -> tuple[int, int]:
    (x0, y0, _z0), (x1, y1, _z1) = drawing.box.start_xyz, drawing.box.stop_xyz
    return (min(max(int(xy[0]), x0), x1 - 1), min(max(int(xy[1]), y0), y1 - 1))


def _span(drawing: Drawing, axis: Axis) -> tuple[int, int]:
    """The across axis's [start, stop) in target voxels."""
    index = 0 if axis == "xz" else 1
    return drawing.box.start_xyz[index], drawing.box.stop_xyz[index]


def mask_plane(drawing: Drawing, cut: Cut) -> np.ndarray:
    """The mask in the cut as (z, across): every slice's row (xz) or column (yz)."""
    (x0, y0, _z0) = drawing.box.start_xyz
    if cut.axis == "xz":
        return drawing.masks_zyx[:, cut.at - y0, :]
    return drawing.masks_zyx[:, :, cut.at - x0]


def em_plane(drawing: Drawing, cut: Cut) -> np.ndarray:
    """The EM (source resolution) through the centre of the cut's target voxels."""
    em = drawing.crops.em_zyx
    start = drawing.box.start_xyz[1 if cut.axis == "xz" else 0]
    size = drawing.box.shape_xyz[1 if cut.axis == "xz" else 0]
    pixels = em.shape[1 if cut.axis == "xz" else 2]
    index = min(pixels - 1, int((cut.at - start + 0.5) * pixels / size))
    return em[:, index, :] if cut.axis == "xz" else em[:, :, index]


def _ratio(axis: Axis, resolution: Resolution) -> float:
    across = resolution.x_nm if axis == "xz" else resolution.y_nm
    return float(resolution.z_nm) / float(across)


def height_px(drawing: Drawing, axis: Axis, resolution: Resolution) -> int:
    start, stop = _span(drawing, axis)
    n = drawing.masks_zyx.shape[0]
    shown = PLOT_WIDTH_PX * n * _ratio(axis, resolution) / max(1, stop - start)
    return int(min(max(shown + 50, MIN_HEIGHT_PX), MAX_HEIGHT_PX))


def figure(drawing: Drawing, cut: Cut, other_at: int, k: int, resolution: Resolution,
           opacity: float = 0.5) -> go.Figure:  # fmt: skip
    """The view of ``cut``; ``other_at`` is where the other view cuts, ``k`` the slice."""
    start, stop = _span(drawing, cut.axis)
    z0, z1 = drawing.box.start_xyz[2], drawing.box.stop_xyz[2]
    em = em_plane(drawing, cut)
    d_across, d_z = (stop - start) / em.shape[1], (z1 - z0) / em.shape[0]
    across = "x" if cut.axis == "xz" else "y"
    fig = go.Figure()
    fig.add_trace(go.Image(
        source=em_slice_uri(em, quality=90), x0=start - 0.5 + d_across / 2, dx=d_across,
        y0=z0 - 0.5 + d_z / 2, dy=d_z, name="EM",
        hovertemplate=f"{across}=%{{x:.0f}}, z=%{{y:.0f}}<extra>click: go there</extra>",
    ))  # fmt: skip
    fig.add_trace(go.Image(source=mask_slice_uri(mask_plane(drawing, cut)), x0=start, y0=z0,
                           opacity=opacity, hoverinfo="skip", name="mask"))  # fmt: skip
    fig.add_trace(go.Scatter(mode="lines", hoverinfo="skip", name="slice",
                             line={"color": SLICE_COLOR, "width": 1}))  # fmt: skip
    fig.add_trace(go.Scatter(mode="lines", hoverinfo="skip", name="cut",
                             line={"color": CUT_COLOR, "width": 1, "dash": "dot"}))  # fmt: skip
    _lines_into(fig, drawing, cut.axis, other_at, k)
    fig.update_layout(
        margin={"l": 40, "r": 5, "t": 22, "b": 30},
        height=height_px(drawing, cut.axis, resolution),
        showlegend=False,
        dragmode=False,
        uirevision=f"{drawing.item.instance_id}-{cut.axis}",
        title={"text": _title(cut), "font": {"size": 12}, "x": 0.02, "y": 0.98},
    )
    fig.update_xaxes(range=[start - 0.5, stop - 0.5], constrain="domain", fixedrange=True,
                     showgrid=False, zeroline=False, title_text=f"{across} (target voxels)",
                     title_standoff=2)  # fmt: skip
    fig.update_yaxes(range=[z1 - 0.5, z0 - 0.5], constrain="domain", fixedrange=True,
                     scaleanchor="x", scaleratio=_ratio(cut.axis, resolution), showgrid=False,
                     zeroline=False, title_text="z")  # fmt: skip
    return fig


def _title(cut: Cut) -> str:
    return f"x-z at y = {cut.at}" if cut.axis == "xz" else f"y-z at x = {cut.at}"


def _lines(drawing: Drawing, axis: Axis, other_at: int, k: int) -> dict[int, dict]:
    start, stop = _span(drawing, axis)
    z0, z1 = drawing.box.start_xyz[2], drawing.box.stop_xyz[2]
    z = z0 + k
    return {
        SLICE_LINE: {"x": [start - 0.5, stop - 0.5], "y": [z, z]},
        CUT_LINE: {"x": [other_at, other_at], "y": [z0 - 0.5, z1 - 0.5]},
    }


def _lines_into(target: go.Figure | Patch, drawing: Drawing, axis: Axis, other_at: int,
                k: int) -> None:  # fmt: skip
    for index, xy in _lines(drawing, axis, other_at, k).items():
        target["data"][index]["x"] = xy["x"]
        target["data"][index]["y"] = xy["y"]


def patch(drawing: Drawing, cut: Cut, other_at: int, k: int) -> Patch:
    """The view after a stroke, a slice change or a new cut: images, lines and title."""
    update = Patch()
    update["data"][EM]["source"] = em_slice_uri(em_plane(drawing, cut), quality=90)
    update["data"][MASK]["source"] = mask_slice_uri(mask_plane(drawing, cut))
    _lines_into(update, drawing, cut.axis, other_at, k)
    update["layout"]["title"]["text"] = _title(cut)
    return update
