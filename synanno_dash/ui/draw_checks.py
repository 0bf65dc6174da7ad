"""The drawing view's *Mask checks* panel (issue 13): the current instance's holes, islands,
gap slices and border contacts (``core.mask_checks``), each a click that jumps to its slice,
and the orthogonal x-z / y-z views (``ui.draw_ortho``) with the current slice and cuts.

Developer notes: the panel refreshes whenever the slice strip (``DI_STRIP``) is redrawn; every
callback that changes a mask (a stroke, Save, Clear, undo/redo, an accepted Auto proposal) or
the slice redraws the strip, so the panel needs no hook in those callbacks. A refresh reads the
drawing (crops come from the crop cache) and runs the checks on its masks: milliseconds on a
crop (``bench/`` measures it). A click in an orthogonal view reaches the server through the
same ``data-click-store`` mechanism as the x-y view (``assets/draw.js``): data coordinates
where the mouse was.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from synanno_dash.core.mask_checks import MaskIssue, Problem, check_mask
from synanno_dash.services import correction
from synanno_dash.ui import draw_ortho, ids, request_inputs
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.draw_ortho import Cut
from synanno_dash.ui.session import current_session

MAX_LISTED = 40  # issues listed; the rest are counted
BADGE = {Problem.HOLE: "danger", Problem.ISLAND: "warning", Problem.GAP: "info",
         Problem.BORDER: "secondary"}  # fmt: skip
GRAPH_CONFIG: Any = {"displaylogo": False, "displayModeBar": False, "scrollZoom": False}


def _item(index: int, issue: MaskIssue, current_z: int) -> html.Button:
    active = " active" if issue.z == current_z else ""
    return html.Button(
        [
            dbc.Badge(issue.problem.value, color=BADGE[issue.problem], className="me-2"),
            issue.message,
        ],
        id={"type": ids.DI_CHECK_ITEM, "index": index},
        n_clicks=0,
        type="button",
        className=f"list-group-item list-group-item-action py-1 px-2 small sd-check-item{active}",
        title=f"show slice z={issue.z}",
        **data_attrs(z=issue.z, problem=issue.problem.value),
    )


def check_list(drawing: correction.Drawing, k: int) -> tuple[list, list[int]]:
    """The list's children and the slice index each item jumps to."""
    z0 = drawing.box.start_xyz[2]
    found = check_mask(drawing.masks_zyx, z0)
    if not found:
        clean = "No holes, islands, gap slices or border contacts."
        return [html.Div(clean, className="small text-success", id=ids.DI_CHECKS_CLEAN)], []
    shown = found[:MAX_LISTED]
    items: list = [_item(i, issue, z0 + k) for i, issue in enumerate(shown)]
    if len(found) > len(shown):
        more = f"... and {len(found) - len(shown)} more"
        items.append(html.Div(more, className="list-group-item py-1 px-2 small text-muted"))
    summary = html.Div(f"{len(found)} issue(s); click one to show its slice.",
                       className="small mb-1")  # fmt: skip
    listed = html.Div(items, className="list-group list-group-flush")
    return [summary, listed], [issue.z - z0 for issue in shown]


def _ortho_graph(graph_id: str, click_id: str, fig: Any) -> html.Div:
    return html.Div(
        dcc.Graph(id=graph_id, figure=fig, config=GRAPH_CONFIG),
        **data_attrs(click_store=click_id),
        className="sd-ortho-graph",
    )


def panel(drawing: correction.Drawing, k: int) -> html.Div:
    """The orthogonal views and the checks of ``drawing`` shown at slice index ``k``."""
    resolution = current_session().config.target_resolution
    x, y = draw_ortho.centre_xy(drawing)
    children, jumps = check_list(drawing, k)
    return html.Div(
        [
            dcc.Store(id=ids.DI_ORTHO_XY, data=[x, y]),
            dcc.Store(id=ids.DI_CHECK_JUMPS, data=jumps),
            dcc.Store(id=ids.DI_XZ_CLICK),
            dcc.Store(id=ids.DI_YZ_CLICK),
            _ortho_graph(ids.DI_XZ, ids.DI_XZ_CLICK,
                         draw_ortho.figure(drawing, Cut("xz", y), x, k, resolution)),
            _ortho_graph(ids.DI_YZ, ids.DI_YZ_CLICK,
                         draw_ortho.figure(drawing, Cut("yz", x), y, k, resolution)),
            html.Div("Click a view: slice and cut move there.", className="small text-muted"),
            html.H6("Mask checks", className="mt-2 mb-1"),
            html.Div(children, id=ids.DI_CHECKS),
        ],
        className="sd-draw-checks",
    )  # fmt: skip


def _load(meta: object) -> correction.Drawing:
    instance_id, _box, _shape = request_inputs.drawing_meta(meta)
    return correction.load_drawing(current_session(), instance_id)


def _position(drawing: correction.Drawing, value: object) -> tuple[int, int]:
    return draw_ortho.clamp_xy(drawing, request_inputs.voxel_xy(value, "the cut position"))


def refresh(_strip: object, xy: object, k: object, meta: object) -> tuple:
    """After a mask or slice change, or a new cut: the checks and both orthogonal views."""
    drawing = _load(meta)
    k_now = min(request_inputs.slice_index(k), drawing.masks_zyx.shape[0] - 1)
    x, y = _position(drawing, xy)
    children, jumps = check_list(drawing, k_now)
    xz = draw_ortho.patch(drawing, Cut("xz", y), x, k_now)
    yz = draw_ortho.patch(drawing, Cut("yz", x), y, k_now)
    return children, jumps, xz, yz


def jump(_clicks: list, jumps: object) -> Any:
    """A click on a listed issue: its slice."""
    triggered = ctx.triggered[0] if ctx.triggered else {}
    if not triggered.get("value") or not isinstance(ctx.triggered_id, dict):
        return no_update  # the list was redrawn, nothing was clicked
    index = request_inputs.listed_position(ctx.triggered_id, jumps, "the clicked check")
    return request_inputs.slice_index(jumps[index])  # type: ignore[index]


def ortho_click(xz_click: object, yz_click: object, xy: object, meta: object) -> tuple:
    """A click in an orthogonal view: the slice under it, and the other view cuts there."""
    drawing = _load(meta)
    x, y = _position(drawing, xy)
    from_xz = ctx.triggered_id == ids.DI_XZ_CLICK
    across, z = request_inputs.point_xy(xz_click if from_xz else yz_click, "the click")
    across_vx = int(round(across))
    x, y = draw_ortho.clamp_xy(drawing, (across_vx, y) if from_xz else (x, across_vx))
    n = drawing.masks_zyx.shape[0]
    k = min(max(0, int(round(z)) - drawing.box.start_xyz[2]), n - 1)
    return k, [x, y]


def register_callbacks(app: dash.Dash) -> None:
    """The panel's callbacks (called by the drawing view's ``register_callbacks``)."""
    app.callback(
        Output(ids.DI_CHECKS, "children"),
        Output(ids.DI_CHECK_JUMPS, "data"),
        Output(ids.DI_XZ, "figure"),
        Output(ids.DI_YZ, "figure"),
        Input(ids.DI_STRIP, "children"),
        Input(ids.DI_ORTHO_XY, "data"),
        State(ids.DI_SLICE, "value"),
        State(ids.DI_META, "data"),
        prevent_initial_call=True,
    )(refresh)
    app.callback(
        Output(ids.DI_SLICE, "value", allow_duplicate=True),
        Input({"type": ids.DI_CHECK_ITEM, "index": ALL}, "n_clicks"),
        State(ids.DI_CHECK_JUMPS, "data"),
        prevent_initial_call=True,
    )(jump)
    app.callback(
        Output(ids.DI_SLICE, "value", allow_duplicate=True),
        Output(ids.DI_ORTHO_XY, "data"),
        Input(ids.DI_XZ_CLICK, "data"),
        Input(ids.DI_YZ_CLICK, "data"),
        State(ids.DI_ORTHO_XY, "data"),
        State(ids.DI_META, "data"),
        prevent_initial_call=True,
    )(ortho_click)
