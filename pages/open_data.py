"""Open Data: the dataset, the selection, validation, and the first page prepared."""

from __future__ import annotations

import base64

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, ctx, html, no_update

from synanno_dash.core.session_json import SessionJsonError, parse_session_json
from synanno_dash.services import ng_views
from synanno_dash.services.defaults import form_defaults
from synanno_dash.services.prepare import OpenDataForm, TableError, submit_open_data, table_neurons
from synanno_dash.ui import ids, ng_panel
from synanno_dash.ui.open_data_form import VALIDATED_FIELDS, form
from synanno_dash.ui.session import current_session

dash.register_page(__name__, path="/open-data", title="Open Data · SynAnno Dash")

# form field id -> OpenDataForm attribute
_FIELD_NAMES = {
    ids.OD_SOURCE: "source",
    ids.OD_TARGET: "target",
    ids.OD_NEUROPIL: "neuropil",
    ids.OD_TABLE: "table",
    ids.OD_SECRETS: "secrets",
    ids.OD_BOX_START: "box_start",
    ids.OD_SOURCE_RES: "source_res",
    ids.OD_TARGET_RES: "target_res",
    ids.OD_TABLE_RES: "table_res",
    ids.OD_NEURON_ID: "neuron_id",
    ids.OD_CROP_SIZE: "crop_size",
}


def layout(workflow: str = "detection", **_query: str) -> html.Div:
    workflow = "correction" if workflow == "correction" else "detection"
    return form(workflow, form_defaults(current_session()))


clientside_callback(
    """function(mode) {
        const show = {display: 'block'}, hide = {display: 'none'};
        return mode === 'neuron' ? [hide, show] : [show, hide];
    }""",
    Output(ids.OD_VOLUME_PANEL, "style"),
    Output(ids.OD_NEURON_PANEL, "style"),
    Input(ids.OD_MODE, "value"),
)

# Each Submit sets the start button's "disabled": its target follows the submitted mode
# (a neuron-centric review opens on the neuron overview).
clientside_callback(
    """function(_disabled, mode, workflow) {
        if (workflow === 'correction') { return window.dash_clientside.no_update; }
        return mode === 'neuron' ? '/neuron' : '/annotation';
    }""",
    Output(ids.OD_START, "href"),
    Input(ids.OD_START, "disabled"),
    State(ids.OD_MODE, "value"),
    State(ids.OD_WORKFLOW, "data"),
)

_FIELD_STATES = [State(field_id, "value") for field_id in VALIDATED_FIELDS]


@callback(
    [Output(f, "invalid") for f in VALIDATED_FIELDS]
    + [Output(ids.feedback(f), "children") for f in VALIDATED_FIELDS]
    + [
        Output(ids.OD_SUBMIT_STATUS, "children"),
        Output(ids.OD_START, "disabled"),
        Output(ids.OD_JSON_STATUS, "children", allow_duplicate=True),
        Output(ids.OD_SWC_STATUS, "children"),
    ],
    Input(ids.OD_SUBMIT, "n_clicks"),
    _FIELD_STATES,
    State(ids.OD_MODE, "value"),
    State(ids.OD_AXIS_ORDER, "value"),
    State(ids.OD_BOX_STOP, "value"),
    State(ids.OD_TILES_PER_PAGE, "value"),
    State(ids.OD_JSON_UPLOAD, "contents"),
    State(ids.OD_WORKFLOW, "data"),
    State(ids.OD_SWC_UPLOAD, "contents"),
    State(ids.OD_SWC_UPLOAD, "filename"),
    State(ids.OD_SWC_UNIT, "value"),
    prevent_initial_call=True,
)
def submit(_clicks, *values):  # type: ignore[no-untyped-def]
    field_values = dict(zip(VALIDATED_FIELDS, values[: len(VALIDATED_FIELDS)], strict=True))
    extra = values[len(VALIDATED_FIELDS) :]
    mode, axis_order, box_stop, tiles, upload, workflow, swc, swc_name, swc_unit = extra
    raw = {_FIELD_NAMES[f]: (v or "") for f, v in field_values.items()}
    form_values = OpenDataForm(
        **raw,
        mode=mode,
        axis_order=axis_order,
        box_stop=box_stop or "",
        tiles_per_page=tiles,
        session_json=decode_upload(upload),
        workflow="correction" if workflow == "correction" else "detection",
        swc_text=decode_upload(swc),
        swc_unit_nm=swc_unit or "1",
    )
    outcome = submit_open_data(current_session(), form_values)
    name_to_field = {name: f for f, name in _FIELD_NAMES.items()}
    invalid = [False] * len(VALIDATED_FIELDS)
    messages = [""] * len(VALIDATED_FIELDS)
    json_message = _json_message(outcome.errors.pop("session_json", None))
    swc_error = outcome.errors.pop("swc", None)
    swc_message = (
        html.Span(f"{swc_name}: {swc_error}", className="text-danger")
        if swc_error
        else (f"{swc_name}: the neuron's skeleton for this session." if swc else "")
    )
    for name, message in outcome.errors.items():
        index = VALIDATED_FIELDS.index(name_to_field[name])
        invalid[index], messages[index] = True, message
    if outcome.ok:
        restored = " (restored from the session JSON)" if form_values.session_json else ""
        status = dbc.Alert(
            f"Ready: {outcome.instance_count} synapses{restored}; the first page is being "
            "prepared.",
            color="success",
            id="od-ready",
        )
        return [*invalid, *messages, status, False, json_message, swc_message]
    count = len(outcome.errors) + (json_message is not no_update) + bool(swc_error)
    status = dbc.Alert(
        f"{count} field{'s' if count != 1 else ''} need{'s' if count == 1 else ''} attention: "
        "see the messages above.",
        color="danger",
    )
    return [*invalid, *messages, status, True, json_message, swc_message]


def decode_upload(contents: str | None) -> str:
    """The text of a ``dcc.Upload`` (a base64 data URL); empty when nothing was chosen."""
    if not contents:
        return ""
    _header, _, payload = contents.partition(",")
    try:
        return base64.b64decode(payload).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return "\x00not-utf8"  # parse_session_json reports it as invalid JSON


def _json_message(error: str | None):  # type: ignore[no-untyped-def]
    if error is None:
        return no_update
    return html.Span("Session JSON: " + error, className="text-danger")


@callback(
    Output(ids.OD_JSON_STATUS, "children"),
    Input(ids.OD_JSON_UPLOAD, "contents"),
    State(ids.OD_JSON_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def check_upload(contents: str | None, filename: str | None):  # type: ignore[no-untyped-def]
    """Say at once whether the chosen JSON can be restored; nothing is replaced yet."""
    if not contents:
        return ""
    try:
        restored = parse_session_json(decode_upload(contents))
    except SessionJsonError as exc:
        return html.Span(f"{filename}: {exc}", className="text-danger")
    flagged = sum(1 for i in restored.instances if i.needs_fixing)
    return html.Span(
        f"{filename}: {len(restored.instances)} instances ({flagged} to fix). Submit restores "
        "them; the current session is kept until then.",
        className="text-success",
    )


@callback(
    Output(ids.OD_NEURON_LIST, "data"),
    Output(ids.OD_NEURON_LIST_STATUS, "children"),
    Input(ids.OD_NEURON_LIST_LOAD, "n_clicks"),
    Input(ids.OD_MODE, "value"),
    State(ids.OD_TABLE, "value"),
    State(ids.OD_NEURON_ID, "value"),
    prevent_initial_call=True,
)
def load_neurons(_clicks, mode, table_url, current_id):  # type: ignore[no-untyped-def]
    if mode != "neuron" or not (table_url or "").strip():
        return no_update, "" if mode != "neuron" else "Give a synapse table first."
    try:
        neurons = table_neurons(current_session(), table_url.strip())
    except TableError as exc:
        return [], str(exc)
    # Ids as text: a 64-bit id does not survive a JavaScript number.
    rows = [
        {
            "neuron_id": str(n.neuron_id),
            "n_pre": n.n_pre,
            "n_post": n.n_post,
            "total": n.n_pre + n.n_post,
        }
        for n in sorted(neurons, key=lambda n: -(n.n_pre + n.n_post))
    ]
    return rows, f"{len(rows)} neurons in the table. Click a row to choose it."


@callback(
    Output(ids.OD_NEURON_ID, "value"),
    Input(ids.OD_NEURON_LIST, "selected_rows"),
    State(ids.OD_NEURON_LIST, "data"),
    prevent_initial_call=True,
)
def pick_neuron(selected, rows):  # type: ignore[no-untyped-def]
    if not selected:
        return no_update
    return (rows or [])[selected[0]]["neuron_id"]


# -- Choose a Neuron in Neuroglancer (`n` over a neuron) ---------------------------------


@callback(
    Output(ids.OD_CHOOSER_MODAL, "is_open"),
    Output(ids.OD_CHOOSER_FRAME, "src"),
    Output(ids.OD_CHOOSER_STATUS, "children"),
    Output(ids.OD_CHOOSER_SEEN, "data"),
    Input(ids.OD_CHOOSE_NEURON, "n_clicks"),
    State(ids.OD_SOURCE, "value"),
    State(ids.OD_TARGET, "value"),
    State(ids.OD_NEUROPIL, "value"),
    State(ids.OD_SECRETS, "value"),
    State(ids.OD_SOURCE_RES, "value"),
    State(ids.OD_TARGET_RES, "value"),
    State(ids.OD_CROP_SIZE, "value"),
    prevent_initial_call=True,
)
def open_chooser(_clicks, *fields):  # type: ignore[no-untyped-def]
    """The typed dataset in this browser's viewer, the neuropil visible."""
    session = current_session()
    try:
        config = ng_views.chooser_config(session, *(f or "" for f in fields))
        url = ng_views.show_neuron_chooser(
            session, config, ng_panel.base_url(), ng_panel.browser_host()
        )
    except ng_views.NeuroglancerError as exc:
        return no_update, no_update, str(exc), no_update
    chosen = ng_views.chosen_neuron(session)
    # The current choice counts as seen: only a new `n` press fills the field.
    return True, url, "", None if chosen is None else str(chosen)


@callback(
    Output(ids.OD_CHOOSER_MODAL, "is_open", allow_duplicate=True),
    Input(ids.OD_CHOOSER_CLOSE, "n_clicks"),
    prevent_initial_call=True,
)
def close_chooser(_clicks):  # type: ignore[no-untyped-def]
    return False


@callback(
    Output(ids.OD_NEURON_ID, "value", allow_duplicate=True),
    Output(ids.OD_CHOOSER_SEEN, "data", allow_duplicate=True),
    Output(ids.OD_CHOOSER_PICKED, "children"),
    Output(ids.OD_CHOOSER_POLL, "disabled"),
    Input(ids.OD_CHOOSER_POLL, "n_intervals"),
    Input(ids.OD_CHOOSER_MODAL, "is_open"),
    State(ids.OD_CHOOSER_SEEN, "data"),
    prevent_initial_call=True,
)
def sync_choice(_ticks, is_open, seen):  # type: ignore[no-untyped-def]
    """Polls (~300 ms) only while the chooser is open; closing reads the choice once more."""
    ticked = ctx.triggered_id == ids.OD_CHOOSER_POLL
    chosen = ng_views.chosen_neuron(current_session())
    text = None if chosen is None else str(chosen)
    poll_disabled = no_update if ticked else not is_open
    if text is None or text == seen:
        picked = no_update if ticked else ng_panel.chosen_text(text)
        return no_update, no_update, picked, poll_disabled
    return text, text, ng_panel.chosen_text(text), poll_disabled
