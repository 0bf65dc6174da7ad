"""Callbacks of the enlarged view, shared by the review grid, the categorize cards and the
statistics view's list of disagreements."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from synanno_dash.services import review, synapse_types
from synanno_dash.services.session import NoDatasetError
from synanno_dash.ui import enlarge, ids, request_inputs, type_choice
from synanno_dash.ui.session import current_session


def open_enlarged(
    _tile_clicks: list[int | None],
    _card_clicks: list[int | None],
    _disagreement_clicks: list[int | None],
) -> tuple:
    # Pattern inputs also fire when tiles appear; only a real click opens the view.
    if not ctx.triggered_id or not ctx.triggered[0].get("value"):
        return (no_update,) * 8
    instance_id = request_inputs.pattern_index(ctx.triggered_id)
    session = current_session()
    item = review.instance(session, instance_id)
    n_slices = item.bbox_target_vx.shape_xyz[2]
    middle = item.synapse.center_xyz_vx[2] - item.bbox_target_vx.start_xyz[2]
    types = type_choice.options(synapse_types.offered(session, item))
    # The instance also goes to the Neuroglancer panel, which returns to the 2D view.
    return (
        True, instance_id, n_slices - 1, min(max(0, middle), n_slices - 1), instance_id,
        types, type_choice.value(item.synapse.synapse_type), "",
    )  # fmt: skip


def change_type(value: str | None, instance_id: int | None) -> object:
    """The enlarged instance's synapse type (one undo step; nothing when unchanged, e.g. when
    opening the view sets the choice)."""
    if instance_id is None:
        return no_update
    item = synapse_types.set_type(
        current_session(), request_inputs.instance_id(instance_id),
        request_inputs.synapse_type(value),
    )  # fmt: skip
    if item is None:
        return no_update
    return f"saved: {item.synapse.synapse_type or type_choice.NONE_LABEL}"


def draw_enlarged(instance_id: int | None, slice_index: int | None, opacity: float) -> tuple:
    if instance_id is None:
        return no_update, no_update
    instance_id = request_inputs.instance_id(instance_id)
    try:
        item, crops = review.instance_crops(current_session(), instance_id)
    except NoDatasetError as exc:
        return no_update, str(exc)
    depth = crops.cleft_zyx.shape[0]
    k = request_inputs.whole_number(slice_index or 0, "the slice", 0, max(0, depth - 1))
    opacity_value = request_inputs.fraction(opacity, "the opacity")
    return enlarge.enlarged_figure(item, crops, k, opacity_value), enlarge.info_text(item, k)


def register_callbacks(app: dash.Dash) -> None:
    """Attach these callbacks to ``app`` (module-level ``@callback`` would bind only the
    first app of a process)."""
    app.callback(
        Output(ids.ENLARGE_MODAL, "is_open"),
        Output(ids.ENLARGE_INSTANCE, "data"),
        Output(ids.ENLARGE_SLICE, "max"),
        Output(ids.ENLARGE_SLICE, "value"),
        Output(ids.ng(ids.NG_INSTANCE, ids.ENLARGE_PANEL), "data"),
        Output(ids.ENLARGE_TYPE, "options"),
        Output(ids.ENLARGE_TYPE, "value"),
        Output(ids.ENLARGE_TYPE_SAVED, "children"),
        Input(ids.tile_enlarge(ALL), "n_clicks"),
        Input(ids.pattern(ids.CAT_ENLARGE, ALL), "n_clicks"),
        Input(ids.pattern(ids.STATS_ENLARGE, ALL), "n_clicks"),
        prevent_initial_call=True,
    )(open_enlarged)
    app.callback(
        Output(ids.ENLARGE_GRAPH, "figure"),
        Output(ids.ENLARGE_INFO, "children"),
        Input(ids.ENLARGE_INSTANCE, "data"),
        Input(ids.ENLARGE_SLICE, "value"),
        Input(ids.ENLARGE_OPACITY, "value"),
        prevent_initial_call=True,
    )(draw_enlarged)
    app.callback(
        Output(ids.ENLARGE_TYPE_SAVED, "children", allow_duplicate=True),
        Input(ids.ENLARGE_TYPE, "value"),
        State(ids.ENLARGE_INSTANCE, "data"),
        prevent_initial_call=True,
    )(change_type)
