"""The frame around every view: navbar (Home, Help, Menu), their dialogs, and the page slot."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from synanno_dash.services import review
from synanno_dash.ui import ids
from synanno_dash.ui.help_texts import SHORTCUTS, help_for
from synanno_dash.ui.reset import CONFIRM_TEXT, RESET_PATH
from synanno_dash.ui.session import current_session


def start_new_process_button(button_id: str) -> dbc.Button:
    """Ends this browser's session: ``/reset`` asks for confirmation before it erases."""
    return dbc.Button(
        "Start New Process",
        id=button_id,
        href="/reset",
        external_link=True,
        color="danger",
        outline=True,
        title="clears this browser's session: download the JSON first",
    )


def navbar() -> dbc.Navbar:
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("SynAnno Dash", href="/"),
                html.Div(
                    [
                        dbc.Button("Home", id=ids.NAV_HOME, color="light", className="me-2"),
                        dbc.Button(
                            "Statistics",
                            id=ids.NAV_STATS,
                            href="/stats",
                            color="light",
                            className="me-2",
                            title="error rates, throughput and accuracy of the review",
                        ),
                        dbc.Button("Help", id=ids.NAV_HELP, color="light", className="me-2"),
                        dbc.Button("Menu", id=ids.NAV_MENU, color="light"),
                    ]
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
    )


def _menu_body() -> list:
    rows = [html.Tr([html.Td(html.Kbd(key)), html.Td(what)]) for key, what in SHORTCUTS]
    return [
        html.H5("About"),
        html.P(
            "SynAnno Dash: proofread and correct synapse annotations in EM volumes. "
            "Each browser has its own session; every decision is saved as you make it."
        ),
        html.H5("Keyboard shortcuts"),
        dbc.Table(html.Tbody(rows), size="sm"),
        html.H5("Contact"),
        html.P("Report problems to the people who host this instance."),
        dbc.Button(
            "Reset this browser's session",
            id=ids.MENU_RESET,
            color="danger",
            outline=True,
            size="sm",
            title="erases this browser's session on the server; asks first",
        ),
    ]


def _reset_parts() -> list:
    """The Menu reset's confirmation and the form it posts (``ui.reset`` checks the origin)."""
    return [
        dcc.ConfirmDialog(id=ids.RESET_CONFIRM, message=CONFIRM_TEXT),
        html.Form(id=ids.RESET_FORM, action=RESET_PATH, method="POST"),
    ]


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id=ids.URL),
            navbar(),
            dcc.ConfirmDialog(
                id=ids.HOME_CONFIRM,
                message="Going home leaves the current review. Your labels stay saved; "
                "start a new process from the landing page to discard them. Continue?",
            ),
            dcc.Location(id=ids.HOME_REDIRECT, refresh=True),
            *_reset_parts(),
            dbc.Modal(
                [dbc.ModalHeader(dbc.ModalTitle("Help")), dbc.ModalBody(id=ids.HELP_BODY)],
                id=ids.HELP_MODAL,
                is_open=False,
            ),
            dbc.Modal(
                [dbc.ModalHeader(dbc.ModalTitle("Menu")), dbc.ModalBody(_menu_body())],
                id=ids.MENU_MODAL,
                is_open=False,
                size="lg",
            ),
            dbc.Container(dash.page_container, fluid=True),
        ]
    )


def ask_before_home(_clicks: int | None) -> tuple:
    counts = review.counts(current_session())
    if counts["total"] > 0:
        return True, no_update
    return False, "/"


def go_home(_clicks: int | None) -> str:
    return "/"


def show_help(_clicks: int | None, pathname: str | None) -> tuple:
    return True, help_for(pathname)


def show_menu(_clicks: int | None) -> bool:
    return True


def register_callbacks(app: dash.Dash) -> None:
    """Attach these callbacks to ``app`` (module-level ``@callback`` would bind only the
    first app of a process)."""
    app.callback(
        Output(ids.HOME_CONFIRM, "displayed"),
        Output(ids.HOME_REDIRECT, "href", allow_duplicate=True),
        Input(ids.NAV_HOME, "n_clicks"),
        prevent_initial_call=True,
    )(ask_before_home)
    app.callback(
        Output(ids.HOME_REDIRECT, "href", allow_duplicate=True),
        Input(ids.HOME_CONFIRM, "submit_n_clicks"),
        prevent_initial_call=True,
    )(go_home)
    app.callback(
        Output(ids.HELP_MODAL, "is_open"),
        Output(ids.HELP_BODY, "children"),
        Input(ids.NAV_HELP, "n_clicks"),
        State(ids.URL, "pathname"),
        prevent_initial_call=True,
    )(show_help)
    app.callback(
        Output(ids.MENU_MODAL, "is_open"),
        Input(ids.NAV_MENU, "n_clicks"),
        prevent_initial_call=True,
    )(show_menu)
    app.clientside_callback(
        "function(clicks) { return Boolean(clicks); }",
        Output(ids.RESET_CONFIRM, "displayed"),
        Input(ids.MENU_RESET, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        f"""function(confirmed) {{
            if (confirmed) {{ document.getElementById({ids.RESET_FORM!r}).submit(); }}
            return window.dash_clientside.no_update;
        }}""",
        Output(ids.RESET_FORM, "title"),
        Input(ids.RESET_CONFIRM, "submit_n_clicks"),
        prevent_initial_call=True,
    )
