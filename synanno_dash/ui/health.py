"""``/healthz`` and ``/readyz`` (JSON; 200 when every check passes, else 503 naming the
failing part), and the answer a plain page request gets while the database is down or the
disk is full."""

from __future__ import annotations

import flask

from synanno_dash.services import health
from synanno_dash.services.context import AppContext
from synanno_dash.ui.request_limits import DASH_CALLBACK_PATH, error_toast_response

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


def _answer(report: health.Report) -> flask.Response:
    response = flask.jsonify(report.as_json())
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def add_health_routes(server: flask.Flask, context: AppContext) -> None:
    server.add_url_rule(HEALTH_PATH, "healthz", lambda: _answer(health.health(context)))
    server.add_url_rule(READY_PATH, "readyz", lambda: _answer(health.readiness(context)))

    def database_down(error: Exception) -> flask.Response:
        """The database failed before a callback ran (the session lookup): a callback gets
        the message in the error toast, a page gets it as a 503. A full disk says so."""
        full = health.disk_full(error)
        header = "Disk full" if full else "Database unavailable"
        message = health.DISK_FULL_MESSAGE if full else health.DATABASE_DOWN_MESSAGE
        if flask.request.path == DASH_CALLBACK_PATH:
            return error_toast_response(header, message)
        response = flask.Response(message, status=503, mimetype="text/plain")
        response.headers["Retry-After"] = "5"
        return response

    def disk_full(error: OSError) -> flask.typing.ResponseReturnValue:
        """A file write outside a callback (a page, a route) found the disk full."""
        if not health.disk_full(error):
            raise error
        return database_down(error)

    for error_type in health.DATABASE_DOWN_ERRORS:
        server.register_error_handler(error_type, database_down)
    server.register_error_handler(OSError, disk_full)
