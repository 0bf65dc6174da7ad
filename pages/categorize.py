"""Categorize ("Error Processing"): name the error of each incorrect or unsure instance."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, ctx, dcc, html, no_update

from synanno_dash.core.labels import Category, Label
from synanno_dash.services import review, synapse_types
from synanno_dash.services.review import VolumeError
from synanno_dash.services.session import NoDatasetError, Session
from synanno_dash.ui import enlarge, ids, request_inputs, type_choice
from synanno_dash.ui.cards import CARD_BORDER, card
from synanno_dash.ui.session import current_session

dash.register_page(__name__, path="/categorize", title="Categorize · SynAnno Dash")


def layout(**_query: str) -> html.Div:
    session = current_session()
    if not session.has_dataset:
        return dbc.Alert(str(NoDatasetError()), color="warning")
    review.mark_stage(session, "start_categorize", overwrite=False)
    flagged = review.flagged_instances(session)
    page = review.last_page(session)
    try:
        images = review.page_images(session, flagged)
    except VolumeError as exc:
        return dbc.Alert(str(exc), color="danger")
    body = (
        [
            card(item, slices, session.settings.categories,
                 synapse_types.offered(session, item))  # fmt: skip
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
    return request_inputs.pattern_index(ctx.triggered_id)


def change_label(value: str) -> str:
    label = request_inputs.choice(Label, value, "the label")
    item = review.set_label(current_session(), _index(), label)
    return CARD_BORDER[item.label]


def change_category(value: str | None) -> bool:
    category = None if value is None else request_inputs.choice(Category, value, "the category")
    review.set_category(current_session(), _index(), category)
    return False


def change_custom(text: str | None) -> str | object:
    """Typing a custom category selects "Custom" (one undo step for both)."""
    text = request_inputs.text(text, "the custom category").strip()
    changed = review.set_custom_category(current_session(), _index(), text)
    return Category.CUSTOM.value if changed is not None and text else no_update


def change_type(value: str | None) -> str:
    """A card's synapse type (one undo step; nothing when unchanged)."""
    synapse_types.set_type(current_session(), _index(), request_inputs.synapse_type(value))
    return type_choice.SAVED_CLASS


def change_note(_blur: int | None, text: str | None) -> str:
    review.set_note(current_session(), _index(), request_inputs.text(text, "the note"))
    return "form-control mt-1"


def _finish(session: Session) -> str:
    review.mark_stage(session, "finish_categorize")
    return "/export-annotate"


def submit(_clicks: int | None) -> tuple:
    session = current_session()
    false_positives = review.false_positives(session)
    if not false_positives:
        return False, no_update, _finish(session)
    message = (
        f"{len(false_positives)} instance(s) are marked as false positives. Discard them? "
        "OK: they leave the exports (they stay in the edit log). Cancel: keep them."
    )
    return True, message, no_update


def decide_discard(_ok: int | None, _cancel: int | None) -> str:
    session = current_session()
    if (
        ctx.triggered_id == ids.CAT_CONFIRM_DISCARD
        and ctx.triggered_prop_ids
        and any(key.endswith("submit_n_clicks") for key in ctx.triggered_prop_ids)
    ):
        review.discard(session, review.false_positives(session))
    return _finish(session)


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.pattern(ids.CAT_CARD, MATCH), "color"),
        Input(ids.pattern(ids.CAT_LABEL, MATCH), "value"),
        prevent_initial_call=True,
    )(change_label)
    app.callback(
        Output(ids.pattern(ids.CAT_CUSTOM, MATCH), "valid"),
        Input(ids.pattern(ids.CAT_CATEGORY, MATCH), "value"),
        prevent_initial_call=True,
    )(change_category)
    app.callback(
        Output(ids.pattern(ids.CAT_CATEGORY, MATCH), "value"),
        Input(ids.pattern(ids.CAT_CUSTOM, MATCH), "value"),
        prevent_initial_call=True,
    )(change_custom)
    app.callback(
        Output(ids.pattern(ids.CAT_TYPE, MATCH), "className"),
        Input(ids.pattern(ids.CAT_TYPE, MATCH), "value"),
        prevent_initial_call=True,
    )(change_type)
    app.callback(
        Output(ids.pattern(ids.CAT_NOTE, MATCH), "className"),
        Input(ids.pattern(ids.CAT_NOTE, MATCH), "n_blur"),
        State(ids.pattern(ids.CAT_NOTE, MATCH), "value"),
        prevent_initial_call=True,
    )(change_note)
    app.callback(
        Output(ids.CAT_CONFIRM_DISCARD, "displayed"),
        Output(ids.CAT_CONFIRM_DISCARD, "message"),
        Output(ids.CAT_REDIRECT, "href", allow_duplicate=True),
        Input(ids.CAT_SUBMIT, "n_clicks"),
        prevent_initial_call=True,
    )(submit)
    app.callback(
        Output(ids.CAT_REDIRECT, "href", allow_duplicate=True),
        Input(ids.CAT_CONFIRM_DISCARD, "submit_n_clicks"),
        Input(ids.CAT_CONFIRM_DISCARD, "cancel_n_clicks"),
        prevent_initial_call=True,
    )(decide_discard)
