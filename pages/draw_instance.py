"""The drawing view of one instance (``/draw/instance?id=N``): masks per slice, markers.

Per action the server saves one slice or one marker and sends back a ``Patch`` of the
figure; slices by wheel/keys and clicks on the image go through ``assets/draw.js``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update

from synanno_dash.core.markers import clicked_pixel, display_pixel_to_target, pixel_centre_data
from synanno_dash.services import correction
from synanno_dash.services.correction import StoreError
from synanno_dash.services.session import NoDatasetError
from synanno_dash.ui import draw_auto, draw_checks, draw_figure, ids, request_inputs
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.draw_controls import markers_text, strip, tools_panel
from synanno_dash.ui.session import current_session

dash.register_page(__name__, path="/draw/instance", title="Draw · SynAnno Dash")

FIGURE = Output(ids.DI_GRAPH, "figure", allow_duplicate=True)
STROKE = Output(ids.DI_STROKE, "data", allow_duplicate=True)
# What a click or a button needs of the drawing, in this order: stroke, points per
# segment, slice index, instance metadata (the callbacks unpack them by position).
DRAWING_STATE = (
    State(ids.DI_STROKE, "data"),
    State(ids.DI_INTERP, "value"),
    State(ids.DI_SLICE, "value"),
    State(ids.DI_META, "data"),
)
STATUS = Output(ids.DI_STATUS, "children", allow_duplicate=True)
STRIP = Output(ids.DI_STRIP, "children", allow_duplicate=True)
MARKERS = Output(ids.DI_MARKERS, "children", allow_duplicate=True)


def _error(message: str) -> html.Div:
    return html.Div(
        [dbc.Alert(message, color="warning"), dbc.Button("All instances", href="/draw")]
    )


def _meta(drawing: correction.Drawing) -> dict[str, Any]:
    em = draw_figure.em_slice(drawing, 0)
    return {
        "instance_id": drawing.item.instance_id,
        "box": drawing.box.as_list(),
        "em_shape": list(em.shape),
        "n": int(drawing.masks_zyx.shape[0]),
    }


def _slice_label(drawing: correction.Drawing, k: int) -> str:
    return f"slice z = {drawing.box.start_xyz[2] + k} ({k + 1} of {drawing.masks_zyx.shape[0]})"


def _start_slice(drawing: correction.Drawing, z: str | None) -> int:
    """The slice shown first: ``z`` (absolute, from a mask check's link) or the centre's."""
    start = drawing.item.synapse.center_xyz_vx[2] if z is None else int(z)
    return min(max(0, drawing.slice_index(start)), drawing.masks_zyx.shape[0] - 1)


def layout(id: str | None = None, z: str | None = None, **_query: str) -> html.Div:  # noqa: A002 (query name)
    try:
        drawing = correction.load_drawing(current_session(), int(id or ""))
    except ValueError:
        return _error("Give an instance: /draw/instance?id=N.")
    except (StoreError, correction.CorrectionError, NoDatasetError) as exc:
        return _error(str(exc))
    try:
        k = _start_slice(drawing, z)
    except ValueError:
        return _error("Give the slice as a whole number: /draw/instance?id=N&z=Z.")
    item, box = drawing.item, drawing.box
    n = drawing.masks_zyx.shape[0]
    category = "" if item.category is None else f" · {item.category.value.replace('_', ' ')}"
    return html.Div(
        [
            dcc.Store(id=ids.DI_META, data=_meta(drawing)),
            dcc.Store(id=ids.DI_STROKE, data={}),
            dcc.Store(id=ids.DI_CLICK),
            html.Div(
                [
                    dbc.Button("← all instances", href="/draw", color="link", className="ps-0"),
                    html.H4(f"Draw instance #{item.instance_id}", className="d-inline ms-2"),
                    html.Span(
                        f" table row {item.synapse.materialization_index} · {item.label.value}"
                        f"{category} · box {box.as_list()} (target voxels)",
                        className="text-muted small ms-2",
                    ),
                ],
                className="mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(
                                dcc.Graph(
                                    id=ids.DI_GRAPH,
                                    figure=draw_figure.figure(drawing, k, 0.5),
                                    config={
                                        "displaylogo": False,
                                        "scrollZoom": False,
                                        "modeBarButtonsToAdd": ["drawclosedpath", "eraseshape"],
                                    },
                                ),  # fmt: skip
                                id=ids.DI_WRAPPER,
                                className="sd-draw-graph",
                                **data_attrs(click_store=ids.DI_CLICK, slice=k, slices=n),
                            ),
                            html.Div(
                                _slice_label(drawing, k), id=ids.DI_SLICE_LABEL, className="small"
                            ),  # fmt: skip
                            dcc.Slider(
                                id=ids.DI_SLICE,
                                min=0,
                                max=n - 1,
                                step=1,
                                value=k,
                                marks=None,
                                tooltip={"placement": "bottom"},
                            ),  # fmt: skip
                            html.Div(
                                strip(
                                    n,
                                    box.start_xyz[2],
                                    k,
                                    set(drawing.edited_z),
                                    set(drawing.saved_z),
                                ),  # fmt: skip
                                id=ids.DI_STRIP,
                                className="sd-strip",
                            ),
                        ],
                        lg=6,
                    ),
                    dbc.Col(draw_checks.panel(drawing, k), lg=3),
                    dbc.Col(
                        [
                            tools_panel(
                                markers_text(item.synapse.pre_xyz_vx, item.synapse.post_xyz_vx)
                            ),
                            draw_auto.auto_panel(),
                        ],
                        lg=3,
                    ),
                ]
            ),
        ]
    )


def _load(meta: dict) -> correction.Drawing:
    instance_id, _box, _shape = request_inputs.drawing_meta(meta)
    return correction.load_drawing(current_session(), instance_id)


def _strip(drawing: correction.Drawing, k: int) -> list:
    n = drawing.masks_zyx.shape[0]
    return strip(n, drawing.box.start_xyz[2], k, set(drawing.edited_z), set(drawing.saved_z))


def show_slice(k: int, meta: dict) -> tuple:
    drawing = _load(meta)
    k = min(request_inputs.slice_index(k), drawing.masks_zyx.shape[0] - 1)
    syn = drawing.item.synapse
    return (
        draw_figure.slice_patch(drawing, k),
        {},
        _strip(drawing, k),
        _slice_label(drawing, k),
        markers_text(syn.pre_xyz_vx, syn.post_xyz_vx),
    )


def click(click_data: dict | None, tool: str, stroke: dict | None, interp: int, k: int,
          meta: dict) -> tuple:  # fmt: skip
    """A click on the image: a control point (snapped to the displayed pixel's centre) or a
    marker on the voxel of the clicked pixel, on the current slice."""
    if not click_data or tool == "freehand":
        return no_update, no_update, no_update, no_update
    instance_id, box, em_shape = request_inputs.drawing_meta(meta)
    stroke, interp = request_inputs.stroke(stroke), request_inputs.points_per_segment(interp)
    frame = draw_figure.display_frame(box, em_shape)
    column, row = clicked_pixel(frame, *request_inputs.point_xy(click_data, "the click"))
    if tool == "points":
        points = [] if stroke.get("freehand") else list(stroke.get("points", []))
        points.append(list(pixel_centre_data(frame, column, row)))
        new_stroke = {"points": points}
        patch = draw_figure.curve_into(dash.Patch(), new_stroke, interp)
        return patch, new_stroke, no_update, no_update
    z = box[2] + request_inputs.slice_index(k)
    voxel = display_pixel_to_target(frame, column, row, z)
    item = correction.set_marker(current_session(), instance_id, tool, voxel)
    patch = draw_figure.markers_into(dash.Patch(), item, z)
    status = f"{tool}-synaptic marker placed at x={voxel[0]}, y={voxel[1]}, z={voxel[2]} (saved)"
    markers = markers_text(item.synapse.pre_xyz_vx, item.synapse.post_xyz_vx)
    return patch, no_update, status, markers


def freehand(relayout: dict | None, tool: str, interp: int) -> tuple:
    """A closed path drawn with plotly's drawclosedpath becomes the current curve."""
    relayout = request_inputs.mapping(relayout, "the drawn shape")
    stroke = request_inputs.stroke(draw_figure.freehand_stroke(relayout))
    if not stroke:
        return no_update, no_update
    patch = draw_figure.curve_into(dash.Patch(), stroke, request_inputs.points_per_segment(interp))
    patch["layout"]["shapes"] = []
    return patch, stroke


def interpolation(interp: int, stroke: dict | None) -> Any:
    stroke, interp = request_inputs.stroke(stroke), request_inputs.points_per_segment(interp)
    return draw_figure.curve_into(dash.Patch(), stroke, interp) if stroke else no_update


def tool(tool_name: str) -> Any:
    return draw_figure.tool_patch(tool_name)


def opacity(value: float) -> Any:
    patch = dash.Patch()
    patch["data"][draw_figure.MASK]["opacity"] = request_inputs.fraction(value, "the opacity")
    return patch


def edit_curve(_back: int, _discard: int, stroke: dict | None, interp: int) -> tuple:
    stroke, interp = request_inputs.stroke(stroke), request_inputs.points_per_segment(interp)
    if ctx.triggered_id == ids.DI_POINT_BACK and stroke.get("points"):
        stroke["points"] = stroke["points"][:-1]
    else:
        stroke = {}
    patch = draw_figure.curve_into(dash.Patch(), stroke, interp)
    patch["layout"]["shapes"] = []
    return patch, stroke


def act(*args: Any) -> tuple:
    """Fill, Revise, Clear, Save, Undo, Redo: saved before the answer, one undo step each."""
    stroke, interp, k, meta = args[-4:]
    instance_id, box, _shape = request_inputs.drawing_meta(meta)
    stroke, interp = request_inputs.stroke(stroke), request_inputs.points_per_segment(interp)
    k = request_inputs.slice_index(k)
    session, z = current_session(), box[2] + k
    action = ctx.triggered_id
    unchanged = (no_update,) * 6
    if action in (ids.DI_FILL, ids.DI_REVISE):
        polygon = draw_figure.curve_polygon(stroke, interp)
        if polygon is None:
            return (*unchanged[:2], "Draw a closed curve first (at least 3 points).",
                    *unchanged[3:])  # fmt: skip
        mode = "fill" if action == ids.DI_FILL else "erase"
        correction.apply_curve(session, instance_id, z, polygon, mode)
        status = f"{'Filled' if mode == 'fill' else 'Erased'} on slice z={z} (autosaved)."
    elif action == ids.DI_CLEAR:
        correction.clear_slice(session, instance_id, z)
        status = f"Slice z={z} cleared (autosaved)."
    elif action == ids.DI_SAVE:
        correction.save_slice(session, instance_id, z)
        status = f"Slice z={z} saved ✓"
    else:
        return _undo_redo(instance_id, k, "undo" if action == ids.DI_UNDO else "redo")
    drawing = _load(meta)
    k = min(k, drawing.masks_zyx.shape[0] - 1)
    if action == ids.DI_CLEAR:  # the curve stays: clear, then fill it
        return (draw_figure.mask_into(dash.Patch(), drawing.masks_zyx[k]), no_update, status,
                _strip(drawing, k), no_update, no_update)  # fmt: skip
    patch = draw_figure.mask_into(draw_figure.clear_curve_into(dash.Patch()), drawing.masks_zyx[k])
    return patch, {}, status, _strip(drawing, k), no_update, no_update


def _undo_redo(instance_id: int, k: int, direction: str) -> tuple:
    session = current_session()
    done = correction.step(session, instance_id, direction)
    if done is None:
        return (no_update, no_update, f"Nothing to {direction}.", no_update, no_update, no_update)
    drawing = correction.load_drawing(session, instance_id)
    verb = "Undid" if direction == "undo" else "Redid"
    syn = drawing.item.synapse
    markers = markers_text(syn.pre_xyz_vx, syn.post_xyz_vx)
    if done.kind in ("mask", "masks"):
        target = drawing.slice_index(int(done.z_vx or 0)) if done.kind == "mask" else k
        status = (f"{verb} a stroke on slice z={done.z_vx}." if done.kind == "mask"
                  else f"{verb} an accepted Auto proposal.")  # fmt: skip
        if target != k:  # show the slice it changed; the slice callback redraws it
            return no_update, {}, status, no_update, markers, target
        cleared = draw_figure.clear_curve_into(dash.Patch())
        patch = draw_figure.mask_into(cleared, drawing.masks_zyx[k])
        return patch, {}, status, _strip(drawing, k), markers, no_update
    patch = draw_figure.markers_into(dash.Patch(), drawing.item, drawing.box.start_xyz[2] + k)
    return patch, no_update, f"{verb} a {done.kind} marker change.", no_update, markers, no_update


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    draw_auto.register_callbacks(app)
    draw_checks.register_callbacks(app)
    app.callback(
        FIGURE, STROKE, STRIP,
        Output(ids.DI_SLICE_LABEL, "children"),
        MARKERS,
        Input(ids.DI_SLICE, "value"),
        State(ids.DI_META, "data"),
        prevent_initial_call=True,
    )(show_slice)
    app.callback(
        FIGURE, STROKE, STATUS, MARKERS,
        Input(ids.DI_CLICK, "data"),
        State(ids.DI_TOOL, "value"),
        *DRAWING_STATE,
        prevent_initial_call=True,
    )(click)
    app.callback(
        FIGURE, STROKE,
        Input(ids.DI_GRAPH, "relayoutData"),
        State(ids.DI_TOOL, "value"),
        State(ids.DI_INTERP, "value"),
        prevent_initial_call=True,
    )(freehand)
    app.callback(
        FIGURE,
        Input(ids.DI_INTERP, "value"),
        State(ids.DI_STROKE, "data"),
        prevent_initial_call=True,
    )(interpolation)
    app.callback(
        FIGURE, Input(ids.DI_TOOL, "value"), prevent_initial_call=True
    )(tool)
    app.callback(
        FIGURE,
        Input(ids.DI_OPACITY, "value"),
        prevent_initial_call=True,
    )(opacity)
    app.callback(
        FIGURE, STROKE,
        Input(ids.DI_POINT_BACK, "n_clicks"),
        Input(ids.DI_DISCARD, "n_clicks"),
        State(ids.DI_STROKE, "data"),
        State(ids.DI_INTERP, "value"),
        prevent_initial_call=True,
    )(edit_curve)
    app.clientside_callback(
        """function(k) { return String(k); }""",
        Output(ids.DI_WRAPPER, "data-slice"),
        Input(ids.DI_SLICE, "value"),
    )
    app.callback(
        FIGURE, STROKE, STATUS, STRIP, MARKERS,
        Output(ids.DI_SLICE, "value", allow_duplicate=True),
        Input(ids.DI_FILL, "n_clicks"),
        Input(ids.DI_REVISE, "n_clicks"),
        Input(ids.DI_CLEAR, "n_clicks"),
        Input(ids.DI_SAVE, "n_clicks"),
        Input(ids.DI_UNDO, "n_clicks"),
        Input(ids.DI_REDO, "n_clicks"),
        *DRAWING_STATE,
        prevent_initial_call=True,
    )(act)
