"""The browser session id (a cookie) and access to the app's resources in callbacks."""

from __future__ import annotations

import secrets

import flask

from synanno_dash.services.context import AppContext
from synanno_dash.services.session import Session, open_session

COOKIE = "synanno_session"
EXTENSION_KEY = "synanno"


def app_context() -> AppContext:
    resources = flask.current_app.extensions[EXTENSION_KEY]
    assert isinstance(resources, AppContext)
    return resources


def current_session() -> Session:
    """This request's browser session: the one way pages and ui reach the services. One
    object per request, so the session's configuration is read at most once."""
    found = flask.g.get("synanno_session")
    if not isinstance(found, Session):
        found = open_session(app_context(), session_id())
        flask.g.synanno_session = found
    return found


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def session_id() -> str:
    """This browser's session id; set by ``install_session_cookie`` on the first request."""
    value = flask.request.cookies.get(COOKIE) or flask.g.get("new_session_id")
    if not value:
        value = new_session_id()
        flask.g.new_session_id = value
    return str(value)


def install_session_cookie(server: flask.Flask) -> None:
    """Give every browser its own session id; the cookie outlives reloads and restarts."""

    @server.before_request
    def _assign() -> None:
        if not flask.request.cookies.get(COOKIE):
            flask.g.new_session_id = new_session_id()

    @server.after_request
    def _set(response: flask.Response) -> flask.Response:
        new_id = flask.g.get("new_session_id")
        if new_id:
            response.set_cookie(
                COOKIE, new_id, max_age=60 * 60 * 24 * 365, httponly=True, samesite="Lax"
            )
        return response
