"""``/reset``: forget this browser's session, only by a confirmed POST from this site.

- ``GET /reset`` erases nothing: it answers with a page that asks for confirmation (a form
  that posts back here), so a link or a navigation from another site cannot reset a session.
- ``POST /reset`` must come from this site: its ``Origin`` (or, without one, its ``Referer``)
  must be this app's own origin. With the ``SameSite=Lax`` cookie (not sent on a cross-site
  POST) this makes the request CSRF-safe. The session's data and viewer are dropped and the
  browser gets a new session id.
- In the app the Menu's reset asks in a dialog, then posts the hidden form ``RESET_FORM``.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

import flask

from synanno_dash.services.context import AppContext
from synanno_dash.services.session import reset_session
from synanno_dash.ui.session import COOKIE, issue_session_id

RESET_PATH = "/reset"
CONFIRM_TEXT = (
    "Reset this browser's session? Its dataset, labels, categories, masks and markers are "
    "erased on the server. Download the JSON first if you need them."
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_site_request() -> bool:
    """Whether the POST came from a page of this app (Origin, else Referer)."""
    own = _origin(flask.request.host_url)
    origin = flask.request.headers.get("Origin")
    if origin and origin != "null":
        return origin.lower() == own
    referer = flask.request.headers.get("Referer", "")
    return bool(referer) and _origin(referer) == own


def _confirm_page(note: str = "", status: int = 200) -> flask.Response:
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reset session · SynAnno Dash</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css"></head>
<body class="container py-5" style="max-width: 40rem">
<h3>Reset this browser's session</h3>
{f'<div class="alert alert-warning">{escape(note)}</div>' if note else ""}
<p>{escape(CONFIRM_TEXT)}</p>
<form method="post" action="{RESET_PATH}">
<button type="submit" id="reset-confirm-button" class="btn btn-danger me-2">Reset</button>
<a href="/" class="btn btn-outline-secondary">Cancel</a>
</form></body></html>"""
    response = flask.Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def add_reset_route(server: flask.Flask, context: AppContext) -> None:
    @server.route(RESET_PATH, methods=["GET", "POST"])
    def reset() -> flask.typing.ResponseReturnValue:
        if flask.request.method == "GET":
            return _confirm_page()
        if not same_site_request():
            note = "The reset did not come from this site's page, so nothing was erased."
            return _confirm_page(note, status=403)
        sid = flask.request.cookies.get(COOKIE)
        if sid:
            reset_session(context, sid)
        if not flask.g.get("new_session_id"):
            issue_session_id()  # a fresh id: the old one names no session any more
        return flask.redirect("/", code=303)
