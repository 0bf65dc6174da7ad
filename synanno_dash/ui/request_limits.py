"""Request-level guards: the body size limit, and which proxy headers are believed.

A body larger than ``MAX_CONTENT_LENGTH`` (``Settings.max_upload_bytes``) is refused from its
``Content-Length`` before any route runs (a streamed body without one is cut at the limit
when read), so no request can make the server hold more than that. The refusal is readable:
a short page for ordinary requests, and for a Dash callback a response that opens the app's
error toast with the same words (a bare 413 would leave the page silent).
"""

from __future__ import annotations

import flask
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from synanno_dash.core.limits import megabytes
from synanno_dash.settings import Settings
from synanno_dash.ui import ids

DASH_CALLBACK_PATH = "/_dash-update-component"


def too_large_message(limit: int) -> str:
    return (
        f"This request is larger than the {megabytes(limit)} the server accepts, so it was not "
        "read. Choose a smaller file (a session JSON or SWC skeleton), or ask the people who "
        "host this instance to raise SYNANNO_MAX_UPLOAD_BYTES."
    )


def error_toast_response(header: str, message: str) -> flask.Response:
    """A Dash callback's answer that opens the app's error toast and changes no output
    (Dash applies "sideUpdate" like set_props; a bare error status would leave the page
    silent)."""
    toast = {"is_open": True, "header": header, "children": message}
    return flask.jsonify({"multi": True, "response": {}, "sideUpdate": {ids.SERVER_ERROR: toast}})


def install_request_limits(server: flask.Flask, settings: Settings) -> None:
    server.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    if settings.trusted_proxies > 0:  # X-Forwarded-Proto makes request.is_secure true
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    @server.before_request
    def _refuse_declared_too_large() -> None:
        """A body declared larger than the limit is refused before anything else runs, even by
        a route that would not read it (the connection is then closed, the body unread)."""
        length = flask.request.content_length
        if length is not None and length > settings.max_upload_bytes:
            raise RequestEntityTooLarge()

    @server.errorhandler(RequestEntityTooLarge)
    def _too_large(_error: RequestEntityTooLarge) -> flask.typing.ResponseReturnValue:
        message = too_large_message(settings.max_upload_bytes)
        if flask.request.path == DASH_CALLBACK_PATH:
            return error_toast_response("Upload too large", message)
        return flask.Response(message, status=413, mimetype="text/plain")
