"""Build the Dash app: pages, shell, session cookie, ``/reset``, app-wide resources."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import html, set_props

from synanno_dash.services.context import AppContext
from synanno_dash.services.local_data import register_local_data_route
from synanno_dash.settings import Settings, load_settings
from synanno_dash.ui import enlarge_callbacks, ids, ng_panel, shell
from synanno_dash.ui.request_limits import install_request_limits
from synanno_dash.ui.reset import add_reset_route
from synanno_dash.ui.session import EXTENSION_KEY, install_session_cookie

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UNUSED_SESSION_IDLE_S = 30 * 24 * 3600  # ids issued to visitors who never opened anything
log = logging.getLogger(__name__)


def _report_callback_error(error: Exception) -> None:
    """Any unexpected callback failure: log the traceback, show the user a short message."""
    log.exception("callback failed", exc_info=error)
    set_props(
        ids.SERVER_ERROR,
        {
            "is_open": True,
            "header": "Error",
            "children": f"Something went wrong on the server ({type(error).__name__}). "
            "This action may not have taken effect; try again, or reload the page.",
        },
    )


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
    for module in (shell, enlarge_callbacks, ng_panel):
        module.register_callbacks(app)
    context = AppContext.create(settings)
    app.server.extensions[EXTENSION_KEY] = context
    # plotly's JSON encoder uses pandas whenever it is in sys.modules; imported first by a
    # request (tables, navis), another request could see it half-initialised. Import it
    # here, before any request thread runs.
    importlib.import_module("pandas")
    install_request_limits(app.server, settings)
    install_session_cookie(app.server)
    context.store.prune_unused_sessions(UNUSED_SESSION_IDLE_S)
    # Neuroglancer's client fetches local volumes here (registered folders, its origin only).
    register_local_data_route(app.server, context.data_folder, context.ng_origin_allowed)
    add_reset_route(app.server, context)
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
