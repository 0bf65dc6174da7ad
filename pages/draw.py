"""Error Correction ("Start Drawing" / "Redraw Masks"): the instances to fix, Add New
Instance (a missed synapse), Submit and Finish. Drawing happens on /draw/instance."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Workflow
from synanno_dash.core.markers import clicked_pixel, display_pixel_to_target
from synanno_dash.services import correction, review
from synanno_dash.services.correction import StoreError
from synanno_dash.services.false_negatives import FalseNegativeError, add_false_negative
from synanno_dash.services.session import NoDatasetError
from synanno_dash.ui import draw_figure, ids, request_inputs
from synanno_dash.ui.draw_tiles import add_modal, add_tile, draw_tile
from synanno_dash.ui.open_data_form import open_data_href
from synanno_dash.ui.session import current_session

dash.register_page(__name__, path="/draw", title="Correction · SynAnno Dash")


def layout(all: str | None = None, **_query: str) -> html.Div:  # noqa: A002 (query name)
    session = current_session()
    if not session.has_dataset:
        return html.Div(
            [
                dbc.Alert(str(NoDatasetError()), color="warning"),
                dbc.Button("Open Data", href=open_data_href(Workflow.CORRECTION)),
            ]
        )
    if all in ("0", "1"):
        correction.set_show_all(session, all == "1")
    review.mark_stage(session, "start_draw", overwrite=False)
    items = correction.correction_instances(session)
    try:
        tiles = [draw_tile(correction.load_drawing(session, i.instance_id)) for i in items]
    except correction.CorrectionError as exc:
        tiles = [dbc.Alert(str(exc), color="danger")]
    everything = correction.shows_all(session)
    what = "every instance" if everything else "the instances marked incorrect or unsure"
    return html.Div(
        [
            html.H3("Error Correction"),
            html.P(
                f"{len(items)} instance(s) to fix: {what}, and those added by hand. "
                "Draw Mask opens an instance; Add New Instance adds a missed synapse.",
                className="text-muted",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("slices per drawing"),
                                dbc.Input(
                                    id=ids.DRAW_SLICES,
                                    type="number",
                                    min=1,
                                    step=1,
                                    max=correction.MAX_DRAW_SLICES,
                                    debounce=True,
                                    value=correction.draw_slices(session),
                                    style={"maxWidth": "90px"},
                                ),  # fmt: skip
                            ],
                            size="sm",
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        dbc.Switch(
                            id=ids.DRAW_SHOW_ALL, label="show every instance", value=everything
                        ),  # fmt: skip
                        width="auto",
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Submit and Finish",
                            id=ids.DRAW_SUBMIT,
                            color="success",
                            href="/export-draw",
                        ),  # fmt: skip
                        width="auto",
                    ),
                ],
                className="mb-3 g-3 align-items-center",
            ),
            html.Div([*tiles, add_tile()], id=ids.DRAW_LIST, className="sd-draw-grid"),
            add_modal(review.instances(session)),
            dcc.Location(id=ids.DRAW_REDIRECT, refresh="callback-nav"),
            html.Div(id=ids.DRAW_NOTICE, className="small text-muted mt-2"),
        ]
    )


def slices(value: Any) -> str:
    try:
        count = correction.set_draw_slices(current_session(), int(value))
    except (TypeError, ValueError):
        return "Slices per drawing must be a whole number."
    return f"Drawings now span {count} slices around each centre."


def show_all(value: bool) -> str:
    return f"/draw?all={1 if value else 0}"


def open_add(_clicks: int) -> bool:
    return True


def nearby(instance_id: int | None) -> tuple:
    if instance_id is None:
        return {}, "/missed"
    instance_id = request_inputs.instance_id(instance_id)
    try:
        drawing = correction.load_drawing(current_session(), instance_id)
    except (StoreError, correction.CorrectionError, NoDatasetError):
        return {}, no_update
    k = drawing.slice_index(drawing.item.synapse.center_xyz_vx[2])
    figure = draw_figure.figure(drawing, k, 0.4)
    figure.update_layout(height=420)
    return figure, f"/missed?instance={int(instance_id)}"


def pick(click: dict | None, instance_id: int | None) -> list:
    """A click in the nearby instance's view: the voxel of the clicked pixel, centre slice."""
    if not click or instance_id is None:
        return [no_update] * 3
    drawing = correction.load_drawing(current_session(), int(instance_id))
    em = draw_figure.em_slice(drawing, 0)
    frame = draw_figure.display_frame(drawing.box.as_list(), list(em.shape))
    column, row = clicked_pixel(frame, float(click["x"]), float(click["y"]))
    return list(display_pixel_to_target(frame, column, row, drawing.item.synapse.center_xyz_vx[2]))


def _triple(values: list[Any]) -> tuple[int, int, int]:
    if any(v is None or v == "" for v in values):
        raise ValueError("give x, y and z")
    x, y, z = (int(v) for v in values)
    return (x, y, z)


def review_box(_clicks: int, *position: Any) -> list:
    try:
        box = correction.proposed_box(current_session(), _triple(list(position)))
    except (ValueError, correction.CorrectionError, NoDatasetError) as exc:
        return [no_update] * 6 + [f"Position: {exc}."]
    return [*box.start_xyz, *box.stop_xyz, ""]


def box_info(*values: Any) -> str:
    try:
        start, stop = _triple(list(values[:3])), _triple(list(values[3:]))
        box = BBox(start, stop)
    except ValueError:
        return ""
    sx, sy, sz = box.shape_xyz
    return f"{sx} x {sy} voxels, slices z {start[2]} to {stop[2] - 1} ({sz} slices)"


def save_added(_clicks: int, *values: Any) -> tuple:
    """Crop and add the missed synapse (incorrect, False negative), then draw it."""
    session = current_session()
    try:
        center = _triple(list(values[:3]))
        box = None
        if all(v not in (None, "") for v in values[3:]):
            box = BBox(_triple(list(values[3:6])), _triple(list(values[6:9])))
        item = add_false_negative(session, center, box or correction.proposed_box(session, center))
    except (ValueError, FalseNegativeError, correction.CorrectionError, NoDatasetError) as exc:
        return no_update, str(exc)
    return f"/draw/instance?id={item.instance_id}", ""


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.DRAW_NOTICE, "children"),
        Input(ids.DRAW_SLICES, "value"),
        prevent_initial_call=True,
    )(slices)
    app.callback(
        Output(ids.DRAW_REDIRECT, "href"),
        Input(ids.DRAW_SHOW_ALL, "value"),
        prevent_initial_call=True,
    )(show_all)
    app.callback(
        Output(ids.DRAW_ADD_MODAL, "is_open"),
        Input(ids.DRAW_ADD_OPEN, "n_clicks"),
        prevent_initial_call=True,
    )(open_add)
    app.callback(
        Output(ids.DRAW_ADD_GRAPH, "figure"),
        Output(ids.DRAW_ADD_NG, "href"),
        Input(ids.DRAW_ADD_NEARBY, "value"),
    )(nearby)
    app.callback(
        [Output(field, "value") for field in ids.DRAW_ADD_POS],
        Input(ids.DRAW_ADD_CLICK, "data"),
        State(ids.DRAW_ADD_NEARBY, "value"),
        prevent_initial_call=True,
    )(pick)
    app.callback(
        [Output(field, "value") for field in (*ids.DRAW_ADD_BOX_START, *ids.DRAW_ADD_BOX_STOP)],
        Output(ids.DRAW_ADD_ERROR, "children", allow_duplicate=True),
        Input(ids.DRAW_ADD_REVIEW, "n_clicks"),
        [State(field, "value") for field in ids.DRAW_ADD_POS],
        prevent_initial_call=True,
    )(review_box)
    app.callback(
        Output(ids.DRAW_ADD_BOX_INFO, "children"),
        [Input(field, "value") for field in (*ids.DRAW_ADD_BOX_START, *ids.DRAW_ADD_BOX_STOP)],
    )(box_info)
    app.callback(
        Output(ids.DRAW_REDIRECT, "href", allow_duplicate=True),
        Output(ids.DRAW_ADD_ERROR, "children", allow_duplicate=True),
        Input(ids.DRAW_ADD_SAVE, "n_clicks"),
        [State(field, "value") for field in ids.DRAW_ADD_POS],
        [State(field, "value") for field in (*ids.DRAW_ADD_BOX_START, *ids.DRAW_ADD_BOX_STOP)],
        prevent_initial_call=True,
    )(save_added)
