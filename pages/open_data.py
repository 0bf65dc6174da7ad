"""Open Data: the dataset, the selection, validation, and the first page prepared."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update

from synanno_dash.core.instances import Mode, Workflow
from synanno_dash.core.open_data_form import FIELD, FIELDS, decode_upload, form_from_inputs
from synanno_dash.core.session_json import SessionJsonError, parse_session_json
from synanno_dash.services import ng_views
from synanno_dash.services.defaults import (
    DEMO_FIELDS,
    form_defaults,
    missing_demo_folder,
    write_demo,
)
from synanno_dash.services.jobs import Job
from synanno_dash.services.prepare import (
    TableError,
    prefetch_first_page,
    submit_open_data,
    table_neurons,
)
from synanno_dash.services.session import Session
from synanno_dash.ui import ids, ng_panel
from synanno_dash.ui.jobs import job_callback
from synanno_dash.ui.open_data_form import FEEDBACK_FIELDS, form
from synanno_dash.ui.session import current_session

dash.register_page(__name__, path="/open-data", title="Open Data · SynAnno Dash")

def layout(workflow: str = Workflow.DETECTION.value, **_query: str) -> html.Div:
    session = current_session()
    return form(Workflow.parse(workflow), form_defaults(session), missing_demo_folder(session))


# Each Submit sets the start button's "disabled": its target follows the submitted mode
# (a neuron-centric review opens on the neuron overview).

# The submit callback reads every declared field (``core.open_data_form.FIELDS``), in order.
_FIELD_STATES = [State(ids.open_data(f.name), f.value_prop) for f in FIELDS]


def submit(job: Job, session: Session, _clicks: int | None, *values: object) -> list[object]:
    """Open Data Submit, a background job: opening the data, converting a new table,
    preparing the neuron."""
    form_values = form_from_inputs(
        {f.name: value for f, value in zip(FIELDS, values[: len(FIELDS)], strict=True)}
    )
    swc_name = values[len(FIELDS)]
    outcome = submit_open_data(session, form_values, job)
    errors = dict(outcome.errors)
    json_message = _json_message(errors.pop(FIELD["session_json"].key, None))
    swc_error = errors.pop(FIELD["swc_text"].key, None)
    swc_message = (
        html.Span(f"{swc_name}: {swc_error}", className="text-danger")
        if swc_error
        else f"{swc_name}: the neuron's skeleton for this session."
        if form_values.swc_text
        else ""
    )
    invalid = [f.key in errors for f in FEEDBACK_FIELDS]
    messages = [errors.get(f.key, "") for f in FEEDBACK_FIELDS]
    if outcome.ok:
        restored = " (restored from the session JSON)" if form_values.session_json else ""
        status = dbc.Alert(
            f"Ready: {outcome.instance_count} synapses{restored}; the first page is being "
            "prepared.",
            color="success",
            id=ids.OD_READY,
        )
        return [*invalid, *messages, status, False, json_message, swc_message]
    count = len(errors) + (json_message is not no_update) + bool(swc_error)
    feedback_keys = {f.key for f in FEEDBACK_FIELDS}
    unplaced = [  # fields without a message line of their own (selects)
        html.Div(f"{FIELD[key].label}: {message}", className="mt-1")
        for key, message in errors.items()
        if key not in feedback_keys and key in FIELD
    ]
    status = dbc.Alert(
        [
            f"{count} field{'s' if count != 1 else ''} need{'s' if count == 1 else ''} "
            "attention: see the messages above.",
            *unplaced,
        ],
        color="danger",
    )
    return [*invalid, *messages, status, True, json_message, swc_message]


def _json_message(error: str | None) -> object:
    if error is None:
        return no_update
    return html.Span("Session JSON: " + error, className="text-danger")


def check_upload(contents: str | None, filename: str | None) -> object:
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


def prefetch(start_disabled: bool | None) -> None:
    """After a successful Submit (Start enabled), read the first page in this process."""
    if start_disabled is False:
        prefetch_first_page(current_session())


def fill_demo(job: Job, session: Session, _clicks: int | None) -> list[str]:
    """Write the missing demo dataset (a background job) and fill the form with it."""
    values = write_demo(session, job)
    return [values[name] for name in DEMO_FIELDS]


def load_neurons(
    job: Job,
    session: Session,
    _clicks: int | None,
    mode: str | None,
    table_url: str | None,
    current_id: str | None,
) -> tuple[object, object]:
    """The table's neurons (a background job: a new table is converted first)."""
    table_url = (table_url or "").strip()
    if mode != Mode.NEURON.value or not table_url:
        return no_update, "" if mode != Mode.NEURON.value else "Give a synapse table first."
    try:
        neurons = table_neurons(session, table_url, job)
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


def pick_neuron(selected: list[int] | None, rows: list[dict[str, object]] | None) -> object:
    if not selected:
        return no_update
    return (rows or [])[selected[0]]["neuron_id"]


# -- Choose a Neuron in Neuroglancer (`n` over a neuron) ---------------------------------


def open_chooser(_clicks: int | None, *fields: str | None) -> tuple[object, ...]:
    """The typed dataset in this browser's viewer, the neuropil visible."""
    session = current_session()
    try:
        config = ng_views.chooser_config(session, *(f or "" for f in fields))
        url = ng_views.show_neuron_chooser(session, config, ng_panel.base_url())
        chosen = ng_views.chosen_neuron(session)
    except ng_views.NeuroglancerError as exc:
        return no_update, no_update, str(exc), no_update
    # The current choice counts as seen: only a new `n` press fills the field.
    return True, url, "", None if chosen is None else str(chosen)


def close_chooser(_clicks: int | None) -> bool:
    return False


def sync_choice(
    _ticks: int | None, is_open: bool | None, seen: str | None, frame_src: str | None
) -> tuple[object, ...]:
    """Polls (~300 ms) only while the chooser is open; closing reads the choice once more.
    A viewer that is gone (the service restarted) or a service that is down is said."""
    ticked = ctx.triggered_id == ids.OD_CHOOSER_POLL
    poll_disabled = no_update if ticked else not is_open
    session = current_session()
    try:
        chosen = ng_views.chosen_neuron(session)
        if ticked and frame_src and not ng_views.viewer_is_open(session, frame_src):
            return no_update, no_update, ng_views.VIEWER_GONE_MESSAGE, poll_disabled
    except ng_views.NeuroglancerError as exc:  # the service is down: say so, keep polling
        return no_update, no_update, str(exc), poll_disabled
    text = None if chosen is None else str(chosen)
    if text is None or text == seen:
        picked = no_update if ticked else ng_panel.chosen_text(text)
        return no_update, no_update, picked, poll_disabled
    return text, text, ng_panel.chosen_text(text), poll_disabled


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.clientside_callback(
        """function(mode) {
            const show = {display: 'block'}, hide = {display: 'none'};
            return mode === 'neuron' ? [hide, show] : [show, hide];
        }""",
        Output(ids.OD_VOLUME_PANEL, "style"),
        Output(ids.OD_NEURON_PANEL, "style"),
        Input(ids.OD_MODE, "value"),
    )
    app.clientside_callback(
        f"""function(_disabled, mode, workflow) {{
            const noUpdate = window.dash_clientside.no_update;
            if (workflow === '{Workflow.CORRECTION.value}') {{ return noUpdate; }}
            return mode === '{Mode.NEURON.value}' ? '/neuron' : '/annotation';
        }}""",
        Output(ids.OD_START, "href"),
        Input(ids.OD_START, "disabled"),
        State(ids.OD_MODE, "value"),
        State(ids.OD_WORKFLOW, "data"),
    )
    job_callback(
        app, ids.OD_SUBMIT_JOB, "Opening the data", submit,
        [Output(ids.open_data(f.name), "invalid") for f in FEEDBACK_FIELDS]
        + [Output(ids.feedback(ids.open_data(f.name)), "children") for f in FEEDBACK_FIELDS]
        + [
            Output(ids.OD_SUBMIT_STATUS, "children"),
            Output(ids.OD_START, "disabled"),
            Output(ids.OD_JSON_STATUS, "children", allow_duplicate=True),
            Output(ids.OD_SWC_STATUS, "children"),
        ],
        [Input(ids.OD_SUBMIT, "n_clicks")],
        [*_FIELD_STATES, State(ids.OD_SWC_UPLOAD, "filename")],
        start=ids.OD_SUBMIT,
    )  # fmt: skip
    app.callback(Input(ids.OD_START, "disabled"), prevent_initial_call=True)(prefetch)
    job_callback(
        app, ids.OD_DEMO_JOB, "Writing the demo dataset", fill_demo,
        [Output(ids.open_data(name), "value", allow_duplicate=True) for name in DEMO_FIELDS],
        [Input(ids.OD_DEMO_WRITE, "n_clicks")],
        start=ids.OD_DEMO_WRITE,
        done_text="The demo dataset is ready: the form is filled with it.",
    )  # fmt: skip
    app.callback(
        Output(ids.OD_JSON_STATUS, "children"),
        Input(ids.OD_JSON_UPLOAD, "contents"),
        State(ids.OD_JSON_UPLOAD, "filename"),
        prevent_initial_call=True,
    )(check_upload)
    job_callback(
        app, ids.OD_NEURONS_JOB, "Loading the neuron list", load_neurons,
        [Output(ids.OD_NEURON_LIST, "data"), Output(ids.OD_NEURON_LIST_STATUS, "children")],
        [Input(ids.OD_NEURON_LIST_LOAD, "n_clicks"), Input(ids.OD_MODE, "value")],
        [State(ids.OD_TABLE, "value"), State(ids.OD_NEURON_ID, "value")],
        start=ids.OD_NEURON_LIST_LOAD,
    )  # fmt: skip
    app.callback(
        Output(ids.OD_NEURON_ID, "value"),
        Input(ids.OD_NEURON_LIST, "selected_rows"),
        State(ids.OD_NEURON_LIST, "data"),
        prevent_initial_call=True,
    )(pick_neuron)
    app.callback(
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
    )(open_chooser)
    app.callback(
        Output(ids.OD_CHOOSER_MODAL, "is_open", allow_duplicate=True),
        Input(ids.OD_CHOOSER_CLOSE, "n_clicks"),
        prevent_initial_call=True,
    )(close_chooser)
    app.callback(
        Output(ids.OD_NEURON_ID, "value", allow_duplicate=True),
        Output(ids.OD_CHOOSER_SEEN, "data", allow_duplicate=True),
        Output(ids.OD_CHOOSER_PICKED, "children"),
        Output(ids.OD_CHOOSER_POLL, "disabled"),
        Input(ids.OD_CHOOSER_POLL, "n_intervals"),
        Input(ids.OD_CHOOSER_MODAL, "is_open"),
        State(ids.OD_CHOOSER_SEEN, "data"),
        State(ids.OD_CHOOSER_FRAME, "src"),
        prevent_initial_call=True,
    )(sync_choice)
