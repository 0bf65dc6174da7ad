"""Missed synapses: mark them with `c` in Neuroglancer, review each box, save as false negatives.

``/missed?compartment=K`` (end of a compartment, neuron-centric), ``?center=x,y,z``, or
``?instance=N`` ("Add New Instance" in the correction view; the volume centre without N);
``&back=/path`` says where to return (default: the review grid, or ``/draw`` for an instance).

Developer notes
- The page shows this browser's viewer; `c` records a candidate and draws a yellow marker in
  the viewer's own thread (``ViewerRegistry``). A ~300 ms interval, running only while the
  viewer shows, copies the candidates into the list beside it.
- "Done" takes the candidates, closes the viewer and opens one review dialog per candidate:
  the proposed box (the session's crop size around it, ``ng_state.proposed_bbox``) is editable;
  "Save" adds it through ``add_false_negative`` (labelled incorrect, category False negative)
  and reads its crop, so it shows at once. After the last one the page returns.
- Pure parts (target, list, dialog, box parsing) live in ``ui/missed_search.py``.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from synanno_dash.core.forms import FieldError
from synanno_dash.core.geometry import Triple
from synanno_dash.services import ng_state
from synanno_dash.services.false_negatives import FalseNegativeError, add_false_negative
from synanno_dash.ui import ids, ng_panel
from synanno_dash.ui.missed_search import (
    box_from_inputs,
    candidate_list,
    preview_figure,
    review_dialog,
    review_info,
    search_target,
    side_panel,
)
from synanno_dash.ui.session import app_context, session_id

dash.register_page(__name__, path="/missed", title="Missed synapses · SynAnno Dash")

POLL_MS = 300
MAX_PREVIEW_VOXELS = 512 * 512 * 64  # a typo must not read a huge box


def layout(
    compartment: str | None = None,
    center: str | None = None,
    instance: str | None = None,
    back: str | None = None,
    **_query: str,
) -> html.Div:
    context, sid = app_context(), session_id()
    config = context.store.load_config(sid)
    if config is None:
        return html.Div(
            [
                dbc.Alert("No dataset is open in this browser: open one first.", color="warning"),
                dbc.Button("Open Data", href="/open-data?workflow=detection"),
            ]
        )
    try:
        target = search_target(context, sid, config, compartment, center, instance, back)
    except FieldError as exc:
        return dbc.Alert(str(exc), color="danger")
    url = ng_panel.show_missed_search(
        context, sid, config, target.center_xyz_vx, target.region
    )
    candidates = context.viewers.candidates(sid)
    return html.Div(
        [
            dcc.Store(
                id=ids.MISSED_CONTEXT,
                data={"compartment": target.compartment, "back": target.back},
            ),
            dcc.Store(id=ids.MISSED_COUNT, data=len(candidates)),
            dcc.Store(id=ids.MISSED_QUEUE),
            dcc.Store(id=ids.MISSED_STEP),
            dcc.Interval(id=ids.MISSED_POLL, interval=POLL_MS),
            dcc.Location(id=ids.MISSED_REDIRECT, refresh="callback-nav"),
            html.H3("Missed synapses"),
            dbc.Alert(target.notice, color="warning") if target.notice else None,
            dbc.Row(
                [
                    dbc.Col(
                        html.Div(
                            ng_panel.viewer_iframe(ids.MISSED_FRAME, url, height="75vh"),
                            id=ids.MISSED_VIEWER,
                        ),
                        lg=9,
                    ),
                    dbc.Col(side_panel(target, candidates), lg=3),
                ]
            ),
            review_dialog(),
        ]
    )


@callback(
    Output(ids.MISSED_LIST, "children"),
    Output(ids.MISSED_COUNT, "data"),
    Input(ids.MISSED_POLL, "n_intervals"),
    State(ids.MISSED_COUNT, "data"),
    prevent_initial_call=True,
)
def poll_candidates(_ticks: int | None, shown: int | None) -> tuple:
    candidates = app_context().viewers.candidates(session_id())
    if len(candidates) == shown:
        return no_update, no_update
    return candidate_list(candidates), len(candidates)


@callback(
    Output(ids.MISSED_QUEUE, "data"),
    Output(ids.MISSED_STEP, "data"),
    Output(ids.MISSED_POLL, "disabled"),
    Output(ids.MISSED_VIEWER, "style"),
    Output(ids.MISSED_REDIRECT, "href", allow_duplicate=True),
    Input(ids.MISSED_DONE, "n_clicks"),
    State(ids.MISSED_CONTEXT, "data"),
    prevent_initial_call=True,
)
def finish_marking(_clicks: int | None, page: dict) -> tuple:
    """The candidates leave the viewer, which closes; the review dialogs follow."""
    context, sid = app_context(), session_id()
    candidates = context.viewers.candidates(sid)
    context.close_viewer(sid)
    if not candidates:
        return no_update, no_update, True, ng_panel.HIDDEN, page["back"]
    return [list(c) for c in candidates], 0, True, ng_panel.HIDDEN, no_update


@callback(
    Output(ids.MISSED_REDIRECT, "href", allow_duplicate=True),
    Input(ids.MISSED_CANCEL, "n_clicks"),
    State(ids.MISSED_CONTEXT, "data"),
    prevent_initial_call=True,
)
def cancel_marking(_clicks: int | None, page: dict) -> str:
    app_context().viewers.clear_candidates(session_id())
    return str(page["back"])


@callback(
    Output(ids.MISSED_REVIEW, "is_open"),
    Output(ids.MISSED_REVIEW_TITLE, "children"),
    Output(ids.MISSED_REVIEW_INFO, "children"),
    [Output(i, "value") for i in (*ids.MISSED_BOX_START, *ids.MISSED_BOX_STOP)],
    Output(ids.MISSED_ERROR, "children"),
    Output(ids.MISSED_REDIRECT, "href", allow_duplicate=True),
    Input(ids.MISSED_STEP, "data"),
    State(ids.MISSED_QUEUE, "data"),
    State(ids.MISSED_CONTEXT, "data"),
    prevent_initial_call=True,
)
def show_step(step: int | None, queue: list | None, page: dict) -> tuple:
    """The dialog of candidate ``step``; past the last one, back to where the user came from."""
    if step is None or not queue:
        return (no_update,) * 11
    if step >= len(queue):
        return (False, no_update, no_update, *(no_update,) * 6, "", page["back"])
    context, sid = app_context(), session_id()
    config = context.store.load_config(sid)
    if config is None:
        return (no_update,) * 9 + ("No dataset is open in this browser.", no_update)
    center: Triple = (int(queue[step][0]), int(queue[step][1]), int(queue[step][2]))
    volume = context.volumes.get(config).target_bounds
    proposal = ng_state.proposed_bbox(center, config.crop_size_xyz_vx, volume)
    box = proposal.bbox_target_vx
    title = f"Missed synapse {step + 1} of {len(queue)}"
    info = review_info(center, proposal, volume)
    return (True, title, info, *box.start_xyz, *box.stop_xyz, "", no_update)


@callback(
    Output(ids.MISSED_PREVIEW, "figure"),
    [Input(i, "value") for i in (*ids.MISSED_BOX_START, *ids.MISSED_BOX_STOP)],
    State(ids.MISSED_QUEUE, "data"),
    State(ids.MISSED_STEP, "data"),
    prevent_initial_call=True,
)
def preview(*values):  # type: ignore[no-untyped-def]
    """The candidate's slice of the box as it stands in the dialog."""
    *box_values, queue, step = values
    if not queue or step is None or step >= len(queue):
        return no_update
    center = (int(queue[step][0]), int(queue[step][1]), int(queue[step][2]))
    try:
        box = box_from_inputs(box_values)
    except FalseNegativeError:
        return no_update
    context, sid = app_context(), session_id()
    config = context.store.load_config(sid)
    if config is None or not box.contains_point(center) or box.size > MAX_PREVIEW_VOXELS:
        return no_update
    crops = context.volumes.get(config).read_instance(box)
    return preview_figure(center, box, crops)


@callback(
    Output(ids.MISSED_STEP, "data", allow_duplicate=True),
    Output(ids.MISSED_ERROR, "children", allow_duplicate=True),
    Input(ids.MISSED_SAVE, "n_clicks"),
    Input(ids.MISSED_SKIP, "n_clicks"),
    [State(i, "value") for i in (*ids.MISSED_BOX_START, *ids.MISSED_BOX_STOP)],
    State(ids.MISSED_QUEUE, "data"),
    State(ids.MISSED_STEP, "data"),
    State(ids.MISSED_CONTEXT, "data"),
    prevent_initial_call=True,
)
def save_or_skip(_save, _skip, *values):  # type: ignore[no-untyped-def]
    """Save: crop and add the instance (one per candidate); Skip: leave it out."""
    *box_values, queue, step, page = values
    if not queue or step is None or step >= len(queue):
        return no_update, no_update
    if ctx.triggered_id == ids.MISSED_SKIP:
        return step + 1, ""
    context, sid = app_context(), session_id()
    center = (int(queue[step][0]), int(queue[step][1]), int(queue[step][2]))
    try:
        box = box_from_inputs(box_values)
        add_false_negative(context, sid, center, box, page.get("compartment"))
    except FalseNegativeError as exc:
        return no_update, str(exc)
    config = context.store.load_config(sid)
    if config is not None:
        context.volumes.get(config).read_instance(box)  # cached: the grid shows it at once
    return step + 1, ""
