"""Build the Dash app: pages, shell, session cookie, ``/reset``, app-wide resources."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import html, set_props

from synanno_dash.services.context import AppContext
from synanno_dash.services.local_data import register_local_data_route
from synanno_dash.services.session import NoDatasetError
from synanno_dash.settings import Settings, load_settings
from synanno_dash.ui import enlarge_callbacks, ids, ng_panel, shell
from synanno_dash.ui.client_ids import with_client_ids
from synanno_dash.ui.session import COOKIE, EXTENSION_KEY, install_session_cookie

PROJECT_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)


def _report_callback_error(error: Exception) -> None:
    """A callback failure: "no dataset open" says so; anything unexpected is logged with its
    traceback and the user sees a short message."""
    if isinstance(error, NoDatasetError):
        message = str(error)
    else:
        log.exception("callback failed", exc_info=error)
        message = (
            f"Something went wrong on the server ({type(error).__name__}). "
            "Your saved work is safe; try again, or reload the page."
        )
    set_props(ids.SERVER_ERROR, {"is_open": True, "children": message})


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or load_settings()
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PROJECT_ROOT / "pages"),
        assets_folder=str(PROJECT_ROOT / "assets"),
        suppress_callback_exceptions=True,
        title="SynAnno Dash",
        on_error=_report_callback_error,
    )
    app.index_string = with_client_ids(app.index_string)
    register_callbacks(app)
    context = AppContext.create(settings)
    app.server.extensions[EXTENSION_KEY] = context
    # plotly's JSON encoder uses pandas whenever it is in sys.modules; imported first by a
    # request (tables, navis), another request could see it half-initialised. Import it
    # here, before any request thread runs.
    importlib.import_module("pandas")
    install_session_cookie(app.server)
    # Neuroglancer's client fetches local volumes here (only the sessions' dataset folders).
    register_local_data_route(app.server, context.data_roots)
    _add_reset_route(app.server, context)
    app.layout = html.Div(
        [
            shell.layout(),
            dbc.Toast(
                id=ids.SERVER_ERROR,
                header="Error",
                is_open=False,
                dismissable=True,
                icon="danger",
                style={"position": "fixed", "top": 70, "right": 10, "zIndex": 2000},
            ),
        ]
    )
    return app


# Modules whose callbacks every app gets, besides the views (``pages/``).
CALLBACK_MODULES = (shell, enlarge_callbacks, ng_panel)


def register_callbacks(app: dash.Dash) -> None:
    """Every callback is registered one way: a module's ``register_callbacks(app)`` attaches
    its callbacks with ``app.callback`` (never the module-level ``dash.callback``, which would
    bind only the first app of a process). Views are the modules Dash loaded from ``pages/``
    for this app."""
    views = [sys.modules[page["module"]] for page in dash.page_registry.values()]
    for module in (*CALLBACK_MODULES, *views):
        register = getattr(module, "register_callbacks", None)
        if register is not None:
            register(app)


def _add_reset_route(server: flask.Flask, context: AppContext) -> None:
    @server.route("/reset")
    def reset() -> flask.typing.ResponseReturnValue:
        sid = flask.request.cookies.get(COOKIE)
        if sid:
            context.store.reset_session(sid)
            context.close_viewer(sid)
        return flask.redirect("/")
