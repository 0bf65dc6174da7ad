"""Categorize ("Error Processing"): name the error of each incorrect or unsure instance."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html, no_update

from synanno_dash.core.labels import Category, Label
from synanno_dash.data.volumes import VolumeError
from synanno_dash.services import review
from synanno_dash.ui import enlarge, ids
from synanno_dash.ui.cards import CARD_BORDER, card
from synanno_dash.ui.session import app_context, session_id

dash.register_page(__name__, path="/categorize", title="Categorize · SynAnno Dash")


def _flagged(sid: str) -> list:
    return [i for i in app_context().store.instances(sid) if i.needs_fixing]


def layout(**_query: str) -> html.Div:
    context, sid = app_context(), session_id()
    config = context.store.load_config(sid)
    if config is None:
        return dbc.Alert(
            "No dataset is open in this browser yet: open one on Open Data first.", color="warning"
        )
    review.mark_stage(context, sid, "start_categorize", overwrite=False)
    flagged = _flagged(sid)
    page = context.store.get_state(sid).get("page", 1)
    try:
        images = review.page_images(context, config, flagged)
    except VolumeError as exc:
        return dbc.Alert(str(exc), color="danger")
    body = (
        [
            card(item, slices, context.settings.categories)
            for item, slices in zip(flagged, images, strict=True)
        ]
        if flagged
        else [
            dbc.Alert(
                "No instance is marked incorrect or unsure: nothing to categorize.", color="info"
            )
        ]
    )
    return html.Div(
        [
            html.H3("Categorize errors"),
            html.P(f"{len(flagged)} instances marked incorrect or unsure.", className="text-muted"),
            html.Div(body, id=ids.CAT_CARDS),
            dbc.Button(
                "Back to the grid",
                href=f"/annotation?page={page}",
                color="secondary",
                className="me-2",
            ),
            dbc.Button("Submit and Finish", id=ids.CAT_SUBMIT, color="primary"),
            dcc.ConfirmDialog(id=ids.CAT_CONFIRM_DISCARD, message=""),
            dcc.Location(id=ids.CAT_REDIRECT, refresh="callback-nav"),
            html.Div(id=ids.CAT_NOTICE, className="mt-2"),
            enlarge.modal(),
        ]
    )


def _index() -> int:
    return int(ctx.triggered_id["index"])


@callback(
    Output(ids.pattern(ids.CAT_CARD, MATCH), "color"),
    Input(ids.pattern(ids.CAT_LABEL, MATCH), "value"),
    prevent_initial_call=True,
)
def change_label(value: str) -> str:
    item = review.set_label(app_context(), session_id(), _index(), Label(value))
    return CARD_BORDER[item.label]


@callback(
    Output(ids.pattern(ids.CAT_CUSTOM, MATCH), "valid"),
    Input(ids.pattern(ids.CAT_CATEGORY, MATCH), "value"),
    prevent_initial_call=True,
)
def change_category(value: str | None) -> bool:
    context, sid, iid = app_context(), session_id(), _index()
    if context.store.instance(sid, iid).category != (None if value is None else Category(value)):
        context.store.edit(sid, iid, category=value)
    return False


@callback(
    Output(ids.pattern(ids.CAT_CATEGORY, MATCH), "value"),
    Input(ids.pattern(ids.CAT_CUSTOM, MATCH), "value"),
    prevent_initial_call=True,
)
def change_custom(text: str | None) -> str | object:
    """Typing a custom category selects "Custom" (one undo step for both)."""
    context, sid, iid = app_context(), session_id(), _index()
    text = (text or "").strip()
    item = context.store.instance(sid, iid)
    if text == item.custom_category:
        return no_update
    if text:
        context.store.edit(sid, iid, category=Category.CUSTOM, custom_category=text)
        return Category.CUSTOM.value
    context.store.edit(sid, iid, custom_category="")
    return no_update


@callback(
    Output(ids.pattern(ids.CAT_NOTE, MATCH), "className"),
    Input(ids.pattern(ids.CAT_NOTE, MATCH), "n_blur"),
    State(ids.pattern(ids.CAT_NOTE, MATCH), "value"),
    prevent_initial_call=True,
)
def change_note(_blur: int | None, text: str | None) -> str:
    context, sid, iid = app_context(), session_id(), _index()
    if (text or "") != context.store.instance(sid, iid).note:
        context.store.edit(sid, iid, note=text or "")
    return "form-control mt-1"


def _false_positives(sid: str) -> list[int]:
    return [i.instance_id for i in _flagged(sid) if i.category is Category.FALSE_POSITIVE]


def _finish(sid: str) -> str:
    review.mark_stage(app_context(), sid, "finish_categorize")
    return "/export-annotate"


@callback(
    Output(ids.CAT_CONFIRM_DISCARD, "displayed"),
    Output(ids.CAT_CONFIRM_DISCARD, "message"),
    Output(ids.CAT_REDIRECT, "href", allow_duplicate=True),
    Input(ids.CAT_SUBMIT, "n_clicks"),
    prevent_initial_call=True,
)
def submit(_clicks: int | None) -> tuple:
    sid = session_id()
    false_positives = _false_positives(sid)
    if not false_positives:
        return False, no_update, _finish(sid)
    message = (
        f"{len(false_positives)} instance(s) are marked as false positives. Discard them? "
        "OK: they leave the exports (they stay in the edit log). Cancel: keep them."
    )
    return True, message, no_update


@callback(
    Output(ids.CAT_REDIRECT, "href", allow_duplicate=True),
    Input(ids.CAT_CONFIRM_DISCARD, "submit_n_clicks"),
    Input(ids.CAT_CONFIRM_DISCARD, "cancel_n_clicks"),
    prevent_initial_call=True,
)
def decide_discard(_ok: int | None, _cancel: int | None) -> str:
    context, sid = app_context(), session_id()
    if (
        ctx.triggered_id == ids.CAT_CONFIRM_DISCARD
        and ctx.triggered_prop_ids
        and any(key.endswith("submit_n_clicks") for key in ctx.triggered_prop_ids)
    ):
        for instance_id in _false_positives(sid):
            context.store.edit(sid, instance_id, discarded=True)
    return _finish(sid)
