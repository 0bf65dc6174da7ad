"""The browser session id (a cookie) and access to the app's resources in callbacks.

Developer notes
- Session ids are issued by the server only: a new id is recorded in the store's sessions
  table when it is issued, and a cookie naming no recorded session (invented, forged, or of a
  session that was reset) gets a fresh id instead of becoming one.
- The cookie is ``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` when the request came over
  HTTPS (``request.is_secure``; behind a proxy, set ``SYNANNO_TRUSTED_PROXIES`` so that
  ``X-Forwarded-Proto`` is believed).
- Static files (assets, component bundles, the Neuroglancer data route and client) and the
  health probes need no session: they are served without issuing one.
"""

from __future__ import annotations

import re

import dash
import flask

from synanno_dash.services.context import AppContext
from synanno_dash.services.session import (
    NoDatasetError,
    Session,
    open_session,
    session_is_known,
)
from synanno_dash.services.session import (
    issue_session_id as record_new_session_id,
)

COOKIE = "synanno_session"
EXTENSION_KEY = "synanno"
COOKIE_MAX_AGE_S = 60 * 60 * 24 * 365
_WELL_FORMED = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # what services.session.issue_session_id makes
_STATIC_PREFIXES = (
    "/assets/", "/_dash-component-suites/", "/_favicon.ico", "/ngdata/", "/neuroglancer/",
    "/healthz", "/readyz",
)  # fmt: skip


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


def job_session() -> Session:
    """The browser session of a background job (``ui.jobs``), which runs outside the
    request: the app is Dash's current one, the id the cookie the request carried (Dash keeps
    it for the job), the resources those of this process. A cookie naming no session the
    server issued opens nothing (``NoDatasetError``)."""
    resources = dash.get_app().server.extensions[EXTENSION_KEY]
    assert isinstance(resources, AppContext)
    resources = resources.in_this_process()
    cookie = str(dash.ctx.cookies.get(COOKIE, ""))
    if not (_WELL_FORMED.match(cookie) and session_is_known(resources, cookie)):
        raise NoDatasetError()
    return open_session(resources, cookie)


def issue_session_id() -> str:
    """A new id for this browser, recorded before the response sets it as the cookie."""
    sid = record_new_session_id(app_context())
    flask.g.session_id = sid
    flask.g.new_session_id = sid
    return sid


def session_id() -> str:
    """This browser's session id: its cookie when the server issued it, else a new one."""
    known = flask.g.get("session_id")
    if known:
        return str(known)
    cookie = flask.request.cookies.get(COOKIE, "")
    if _WELL_FORMED.match(cookie) and session_is_known(app_context(), cookie):
        flask.g.session_id = cookie
        return cookie
    return issue_session_id()


def install_session_cookie(server: flask.Flask) -> None:
    """Give every browser its own server-issued id; the cookie outlives reloads and restarts."""

    @server.before_request
    def _assign() -> None:
        if not flask.request.path.startswith(_STATIC_PREFIXES):
            session_id()

    @server.after_request
    def _set(response: flask.Response) -> flask.Response:
        new_id = flask.g.get("new_session_id")
        if new_id:
            response.set_cookie(
                COOKIE,
                new_id,
                max_age=COOKIE_MAX_AGE_S,
                httponly=True,
                samesite="Lax",
                secure=flask.request.is_secure,
            )
        return response
