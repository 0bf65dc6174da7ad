"""Build the Dash app: pages, shell, session cookie, ``/reset``, app-wide resources."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import callback_context, html, set_props

from synanno_dash.data.store import StoreError
from synanno_dash.services import health
from synanno_dash.services.context import AppContext
from synanno_dash.services.exports import ExportError
from synanno_dash.services.jobs import JobError, JobNotStarted
from synanno_dash.services.local_data import register_local_data_route
from synanno_dash.services.ng_proxy import register_proxy
from synanno_dash.services.session import NoDatasetError
from synanno_dash.settings import Settings, load_settings
from synanno_dash.ui import (
    enlarge_callbacks,
    field_export_panel,
    ids,
    import_panel,
    ng_panel,
    shell,
)
from synanno_dash.ui.callback_shape import install_callback_shape_check
from synanno_dash.ui.client_ids import with_client_ids
from synanno_dash.ui.front_door import install_security_headers, install_sign_in
from synanno_dash.ui.health import add_health_routes
from synanno_dash.ui.jobs import install_job_manager
from synanno_dash.ui.request_inputs import RefusedInput
from synanno_dash.ui.request_limits import install_request_limits
from synanno_dash.ui.reset import add_reset_route
from synanno_dash.ui.session import EXTENSION_KEY, install_session_cookie
from synanno_dash.ui.tile_route import add_tile_image_route

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UNUSED_SESSION_IDLE_S = 30 * 24 * 3600  # ids issued to visitors who never opened anything
log = logging.getLogger(__name__)


def _report_callback_error(error: Exception) -> None:
    """A callback failure: "no dataset open" says so, an input no page sends is refused by
    name (``RefusedInput``, or an instance the session does not hold); anything unexpected is
    logged with its traceback and the user sees a short message. A job refused before it was
    queued goes on to its Flask handler (``ui.jobs.install_job_manager``): Dash would drop
    this toast for a background callback."""
    if isinstance(error, JobNotStarted):
        raise error
    if isinstance(error, NoDatasetError | RefusedInput | ExportError | JobError):
        message = str(error)
    elif health.disk_full(error):
        log.warning("callback failed: the disk is full (%s)", type(error).__name__)
        message = health.DISK_FULL_MESSAGE
    elif health.database_down(error):
        log.warning("callback failed: the database is down (%s)", type(error).__name__)
        message = health.DATABASE_DOWN_MESSAGE
    elif isinstance(error, StoreError):
        message = f"This request was refused: {error}. Nothing was changed; reload the page."
    elif _from_page_router():
        message = (
            "This request was refused: the page address must be a path of this app (such as "
            "/annotation?page=2). Open the home page: /"
        )
    else:
        log.exception("callback failed", exc_info=error)
        message = (
            f"Something went wrong on the server ({type(error).__name__}). "
            "This action may not have taken effect; try again, or reload the page."
        )
    set_props(ids.SERVER_ERROR, {"is_open": True, "header": "Error", "children": message})


def _from_page_router() -> bool:
    """Whether the failing callback is Dash's page router, given an address no browser sends
    (a pathname that is not a path, a search that is not text)."""
    try:
        triggered = callback_context.triggered_prop_ids
    except (LookupError, AttributeError):
        return False
    return any(prop.startswith("_pages_location.") for prop in triggered)


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
    install_job_manager(app, settings, create_app)
    register_callbacks(app)
    context = AppContext.create(settings)
    app.server.extensions[EXTENSION_KEY] = context
    # plotly's JSON encoder uses pandas whenever it is in sys.modules; imported first by a
    # request (tables, navis), another request could see it half-initialised. Import it
    # here, before any request thread runs.
    importlib.import_module("pandas")
    install_request_limits(app.server, settings)
    install_security_headers(app)
    install_sign_in(app.server, settings)
    install_callback_shape_check(app)
    install_session_cookie(app.server)
    context.store.prune_unused_sessions(UNUSED_SESSION_IDLE_S)
    # Neuroglancer's client fetches local volumes here (registered folders, its origin only).
    register_local_data_route(app.server, context.data_folder, context.ng_origin_allowed)
    # ... and its client itself is served here too, from the Neuroglancer server (one origin).
    register_proxy(app.server, context.ng_upstream_url)
    add_reset_route(app.server, context)
    add_health_routes(app.server, context)
    add_tile_image_route(app.server)
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
    _set_up_before_serving(app)
    return app


def _set_up_before_serving(app: dash.Dash) -> None:
    """Run Dash's one-time request setup now: done lazily by the first request, it is not
    thread-safe, and a fresh threaded worker answered concurrent first requests with
    "dictionary changed size during iteration" (500)."""
    app.server.test_client().get("/_favicon.ico")


# Modules whose callbacks every app gets, besides the views (``pages/``).
CALLBACK_MODULES = (shell, enlarge_callbacks, ng_panel, field_export_panel, import_panel)


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

