"""The drawing view's *Auto (U-Net)* (key ``u``): a background job completes the mask from
the drawn slices; the proposal shows on the other slices in its own colour until the user
accepts it for every slice or for the current one (one undoable, autosaved step).

The proposal lives in a browser store (``DI_PROPOSAL``, packed bits per slice): a job's
memory ends with its process, and nothing is written until the user accepts.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update

from synanno_dash.services import correction
from synanno_dash.services.jobs import Job
from synanno_dash.services.mask_proposal import Proposal, accept, propose
from synanno_dash.services.session import Session
from synanno_dash.ui import draw_figure, ids, request_inputs
from synanno_dash.ui.draw_controls import strip
from synanno_dash.ui.jobs import job_callback, job_panel
from synanno_dash.ui.session import current_session

FIGURE = Output(ids.DI_GRAPH, "figure", allow_duplicate=True)


def auto_panel() -> html.Div:
    """The Auto button, its job panel, the proposal store and the Accept buttons."""
    small = {"size": "sm", "className": "me-1 mb-1", "n_clicks": 0}
    return html.Div(
        [
            dcc.Store(id=ids.DI_PROPOSAL, data=None),
            dbc.Button("Auto (U-Net) (u)", id=ids.DI_AUTO, color="info",
                       title="complete the mask on the other slices from the drawn ones",
                       **small),  # fmt: skip
            dbc.Button("Accept all", id=ids.DI_ACCEPT_ALL, color="success", disabled=True,
                       title="write the proposal into every slice you did not draw (one undo)",
                       **small),  # fmt: skip
            dbc.Button("Accept slice", id=ids.DI_ACCEPT_SLICE, color="outline-success",
                       disabled=True, title="write the proposal into this slice only",
                       **small),  # fmt: skip
            job_panel(ids.DI_AUTO_JOB),
            html.Div(id=ids.DI_PROPOSAL_INFO, className="small text-muted"),
        ],
        className="mt-2",
    )


def _checked(meta: object, k: object) -> tuple[int, list[int], tuple[int, int], int]:
    """The drawing store and slice as a crafted request may send them, checked at the edge
    (``request_inputs``): instance id, box [x0, y0, z0, x1, y1, z1], (y, x) shape, slice z."""
    instance_id, box, _em_shape = request_inputs.drawing_meta(meta)
    shape_yx = (box[4] - box[1], box[3] - box[0])
    if min(shape_yx) <= 0:
        raise request_inputs.RefusedInput("the drawing's box", "a box with positive extents")
    return instance_id, box, shape_yx, box[2] + request_inputs.slice_index(k or 0)


def _proposal(data: object, shape_yx: tuple[int, int]) -> Proposal | None:
    if data is None:
        return None
    return Proposal.from_json(request_inputs.mapping(data, "the proposal"), shape_yx)


def auto_job(job: Job, session: Session, _clicks: int, meta: dict) -> dict[str, Any]:
    """The job: the proposal of the instance as JSON for the browser store."""
    instance_id, _box, _shape_em = request_inputs.drawing_meta(meta)
    return propose(job, session, instance_id).to_json()


def show_proposal(data: dict | None, k: int, meta: dict) -> tuple:
    """The proposal of the current slice in its colour, the Accept buttons, a note."""
    _instance_id, _box, shape_yx, z = _checked(meta, k)
    proposal = _proposal(data, shape_yx)
    patch = dash.Patch()
    mask = None if proposal is None else proposal.masks_by_z.get(z)
    patch["data"][draw_figure.PROPOSAL]["source"] = draw_figure.proposal_uri(mask, shape_yx)
    if not proposal or not proposal.masks_by_z:
        return patch, True, True, ""
    note = (f"Proposal (cyan) on {len(proposal.masks_by_z)} slice(s) you did not draw; "
            "accept it, then edit with the tools.")  # fmt: skip
    return patch, False, mask is None, note


def accept_proposal(_all: int, _one: int, data: dict | None, k: int, meta: dict) -> tuple:
    """Accept all or the current slice: one undo step, autosaved; drawn slices stay."""
    instance_id, _box, shape_yx, z = _checked(meta, k)
    proposal = _proposal(data, shape_yx)
    if proposal is None or proposal.instance_id != instance_id:
        return no_update, "No proposal to accept: press Auto first.", no_update, no_update
    session = current_session()
    only = z if ctx.triggered_id == ids.DI_ACCEPT_SLICE else None
    written = accept(session, proposal, only)
    remaining = {s: m for s, m in proposal.masks_by_z.items() if only is not None and s != z}
    left = Proposal(proposal.instance_id, remaining).to_json() if remaining else None
    drawing = correction.load_drawing(session, proposal.instance_id)
    n = drawing.masks_zyx.shape[0]
    cells = strip(n, drawing.box.start_xyz[2], int(k), set(drawing.edited_z), set(drawing.saved_z))
    patch = draw_figure.mask_into(dash.Patch(), drawing.masks_zyx[int(k)])
    status = "Nothing accepted: those slices are drawn."
    if written:
        status = (f"Accepted the proposal on {len(written)} slice(s) (autosaved; undo removes "
                  "them in one step).")  # fmt: skip
    return patch, status, cells, left


def register_callbacks(app: dash.Dash) -> None:
    """Auto's callbacks (called by the drawing view's ``register_callbacks``)."""
    job_callback(
        app, ids.DI_AUTO_JOB, "Auto (U-Net)", auto_job,
        [Output(ids.DI_PROPOSAL, "data")],
        [Input(ids.DI_AUTO, "n_clicks")],
        [State(ids.DI_META, "data")],
        start=ids.DI_AUTO,
    )  # fmt: skip
    app.callback(
        FIGURE,
        Output(ids.DI_ACCEPT_ALL, "disabled"),
        Output(ids.DI_ACCEPT_SLICE, "disabled"),
        Output(ids.DI_PROPOSAL_INFO, "children"),
        Input(ids.DI_PROPOSAL, "data"),
        Input(ids.DI_SLICE, "value"),
        State(ids.DI_META, "data"),
        prevent_initial_call=True,
    )(show_proposal)
    app.callback(
        FIGURE,
        Output(ids.DI_STATUS, "children", allow_duplicate=True),
        Output(ids.DI_STRIP, "children", allow_duplicate=True),
        Output(ids.DI_PROPOSAL, "data", allow_duplicate=True),
        Input(ids.DI_ACCEPT_ALL, "n_clicks"),
        Input(ids.DI_ACCEPT_SLICE, "n_clicks"),
        State(ids.DI_PROPOSAL, "data"),
        State(ids.DI_SLICE, "value"),
        State(ids.DI_META, "data"),
        prevent_initial_call=True,
    )(accept_proposal)
