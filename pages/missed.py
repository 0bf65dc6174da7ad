"""Missed synapses: mark them with `c` in Neuroglancer, review each box, save as false negatives.

``/missed?compartment=K`` (end of a compartment, neuron-centric), ``?center=x,y,z``, or
``?instance=N`` ("Add New Instance" in the correction view; the volume centre without N);
``&back=/path`` says where to return (default: the review grid, or ``/draw`` for an instance).

Developer notes
- The page shows this browser's viewer; `c` records a candidate and draws a yellow marker in
  the Neuroglancer service (``ViewerRegistry`` there), whichever app worker served the page.
  A ~300 ms interval, running only while the viewer shows, copies the candidates into the
  list beside it (any worker reads them from the service).
- "Done" takes the candidates, closes the viewer and opens one review dialog per candidate:
  the proposed box (the session's crop size around it, ``ng_state.proposed_bbox``) is editable;
  "Save" adds it through ``add_false_negative`` (labelled incorrect, category False negative)
  and reads its crop, so it shows at once. After the last one the page returns.
- Where the viewer opens, the proposed boxes and saving are ``services.missed``; the
  components (list, dialog, preview) are ``ui/missed_search.py``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update

from synanno_dash.core.forms import FieldError
from synanno_dash.core.geometry import Triple
from synanno_dash.core.instances import Workflow
from synanno_dash.services import missed, ng_views
from synanno_dash.services.false_negatives import FalseNegativeError
from synanno_dash.services.session import NoDatasetError
from synanno_dash.ui import ids, ng_panel
from synanno_dash.ui.missed_search import (
    candidate_list,
    preview_figure,
    review_dialog,
    review_info,
    side_panel,
)
from synanno_dash.ui.open_data_form import open_data_href
from synanno_dash.ui.session import current_session

dash.register_page(__name__, path="/missed", title="Missed synapses · SynAnno Dash")

POLL_MS = 300


def layout(
    compartment: str | None = None,
    center: str | None = None,
    instance: str | None = None,
    back: str | None = None,
    **_query: str,
) -> html.Div:
    session = current_session()
    try:
        target = missed.search_target(session, compartment, center, instance, back)
    except NoDatasetError as exc:
        return html.Div(
            [
                dbc.Alert(str(exc), color="warning"),
                dbc.Button("Open Data", href=open_data_href(Workflow.DETECTION)),
            ]
        )
    except FieldError as exc:
        return dbc.Alert(str(exc), color="danger")
    try:
        url = ng_views.show_missed_search(
            session, target.center_xyz_vx, target.region, ng_panel.base_url()
        )
        candidates = ng_views.candidates(session)
    except ng_views.NeuroglancerError as exc:
        return dbc.Alert(str(exc), color="danger")
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


def poll_candidates(_ticks: int | None, shown: int | None, frame_src: str | None) -> tuple:
    """The candidates marked so far; a viewer that is gone or a service that is down is said."""
    session = current_session()
    try:
        candidates = ng_views.candidates(session)
        if frame_src and not ng_views.viewer_is_open(session, frame_src):
            return dbc.Alert(ng_views.VIEWER_GONE_MESSAGE, color="warning"), None
    except ng_views.NeuroglancerError as exc:  # the service is down: say so, keep polling
        return dbc.Alert(str(exc), color="danger"), None
    if len(candidates) == shown:
        return no_update, no_update
    return candidate_list(candidates), len(candidates)


def finish_marking(_clicks: int | None, page: dict) -> tuple:
    """The candidates leave the viewer, which closes; the review dialogs follow."""
    session = current_session()
    try:
        candidates = ng_views.candidates(session)
    except ng_views.NeuroglancerError:  # the poll shows why
        return (no_update,) * 5
    ng_views.close_viewer(session)
    if not candidates:
        return no_update, no_update, True, ng_panel.HIDDEN, page["back"]
    return [list(c) for c in candidates], 0, True, ng_panel.HIDDEN, no_update


def cancel_marking(_clicks: int | None, page: dict) -> str:
    try:
        ng_views.clear_candidates(current_session())
    except ng_views.NeuroglancerError:
        pass  # a service that is down holds no candidates any more
    return str(page["back"])


def show_step(step: int | None, queue: list | None, page: dict) -> tuple:
    """The dialog of candidate ``step``; past the last one, back to where the user came from."""
    if step is None or not queue:
        return (no_update,) * 11
    if step >= len(queue):
        return (False, no_update, no_update, *(no_update,) * 6, "", page["back"])
    center: Triple = (int(queue[step][0]), int(queue[step][1]), int(queue[step][2]))
    try:
        proposal = missed.propose_box(current_session(), center)
    except NoDatasetError as exc:
        return (no_update,) * 9 + (str(exc), no_update)
    box = proposal.box.bbox_target_vx
    title = f"Missed synapse {step + 1} of {len(queue)}"
    info = review_info(center, proposal.box, proposal.volume)
    return (True, title, info, *box.start_xyz, *box.stop_xyz, "", no_update)


def preview(*values: Any) -> object:
    """The candidate's slice of the box as it stands in the dialog."""
    *box_values, queue, step = values
    if not queue or step is None or step >= len(queue):
        return no_update
    center = (int(queue[step][0]), int(queue[step][1]), int(queue[step][2]))
    try:
        box = missed.box_from_inputs(box_values)
    except FalseNegativeError:
        return no_update
    crops = missed.preview_crops(current_session(), center, box)
    return no_update if crops is None else preview_figure(center, box, crops)


def save_or_skip(_save: int | None, _skip: int | None, *values: Any) -> tuple[object, object]:
    """Save: crop and add the instance (one per candidate); Skip: leave it out."""
    *box_values, queue, step, page = values
    if not queue or step is None or step >= len(queue):
        return no_update, no_update
    if ctx.triggered_id == ids.MISSED_SKIP:
        return step + 1, ""
    center = (int(queue[step][0]), int(queue[step][1]), int(queue[step][2]))
    try:
        box = missed.box_from_inputs(box_values)
        missed.save_candidate(current_session(), center, box, page.get("compartment"))
    except (FalseNegativeError, NoDatasetError) as exc:
        return no_update, str(exc)
    return step + 1, ""


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.MISSED_LIST, "children"),
        Output(ids.MISSED_COUNT, "data"),
        Input(ids.MISSED_POLL, "n_intervals"),
        State(ids.MISSED_COUNT, "data"),
        State(ids.MISSED_FRAME, "src"),
        prevent_initial_call=True,
    )(poll_candidates)
    app.callback(
        Output(ids.MISSED_QUEUE, "data"),
        Output(ids.MISSED_STEP, "data"),
        Output(ids.MISSED_POLL, "disabled"),
        Output(ids.MISSED_VIEWER, "style"),
        Output(ids.MISSED_REDIRECT, "href", allow_duplicate=True),
        Input(ids.MISSED_DONE, "n_clicks"),
        State(ids.MISSED_CONTEXT, "data"),
        prevent_initial_call=True,
    )(finish_marking)
    app.callback(
        Output(ids.MISSED_REDIRECT, "href", allow_duplicate=True),
        Input(ids.MISSED_CANCEL, "n_clicks"),
        State(ids.MISSED_CONTEXT, "data"),
        prevent_initial_call=True,
    )(cancel_marking)
    app.callback(
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
    )(show_step)
    app.callback(
        Output(ids.MISSED_PREVIEW, "figure"),
        [Input(i, "value") for i in (*ids.MISSED_BOX_START, *ids.MISSED_BOX_STOP)],
        State(ids.MISSED_QUEUE, "data"),
        State(ids.MISSED_STEP, "data"),
        prevent_initial_call=True,
    )(preview)
    app.callback(
        Output(ids.MISSED_STEP, "data", allow_duplicate=True),
        Output(ids.MISSED_ERROR, "children", allow_duplicate=True),
        Input(ids.MISSED_SAVE, "n_clicks"),
        Input(ids.MISSED_SKIP, "n_clicks"),
        [State(i, "value") for i in (*ids.MISSED_BOX_START, *ids.MISSED_BOX_STOP)],
        State(ids.MISSED_QUEUE, "data"),
        State(ids.MISSED_STEP, "data"),
        State(ids.MISSED_CONTEXT, "data"),
        prevent_initial_call=True,
    )(save_or_skip)
