"""The front door: security headers on every response, and optional sign-in.

Headers (every response, any mode)
- ``Content-Security-Policy``: scripts only from this origin plus the hashes of the page's
  inline scripts (Dash's renderer start, its inline clientside callbacks, ``window.synannoIds``:
  ``dash.Dash.csp_hashes``), so no injected inline script runs; styles from this origin and
  inline (Dash and plotly set element styles); images also as ``data:``/``blob:`` (tiles are
  data URLs); ``'unsafe-eval'`` stays for one user: the WebGL scatter (``go.Scattergl``) of
  the statistics view's positions, whose renderer (regl, inside the plotly.js 4.1.1 bundle
  Dash serves) builds its draw commands with ``Function`` at run time; plotly.js ships those
  commands precompiled only in its "strict" bundle, which Dash does not serve. Nothing else
  needs it (checked in the served bundles: Dash's renderer, dcc and plotly's other traces,
  the neuron overview's ``Scatter3d`` included, build no code; their ``new Function`` is a
  ``globalThis`` fallback modern browsers never reach). Drawing those positions as SVG
  (``go.Scatter``, up to 5,000 points per label per panel: slower) would let it go; frames
  from this origin and the Neuroglancer server of this host
  (another port, known only once a viewer starts: ``host:*``); ``frame-ancestors 'self'``
  (only our own pages may frame the app), ``form-action 'self'``, ``base-uri 'self'``,
  ``object-src 'none'``. Not on the Neuroglancer client the app forwards
  (``services.ng_proxy``, ``/neuroglancer/``): it fetches volumes from their own hosts
  (cloud buckets) and runs its own workers and WebAssembly, which this policy would block.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: SAMEORIGIN`` (older browsers),
  ``Referrer-Policy: same-origin``.

Sign-in (optional; Settings)
- ``access_token`` (``SYNANNO_ACCESS_TOKEN``): one shared token. A browser without the access
  cookie gets the sign-in page (``/sign-in``: a form posting the token); a right token sets
  the cookie (an HMAC of the token, never the token: ``HttpOnly``, ``SameSite=Lax``,
  ``Secure`` over HTTPS) and goes on. Callbacks without it get 401.
- ``trusted_user_header`` (``SYNANNO_TRUSTED_USER_HEADER``, e.g. ``X-Forwarded-User``): the
  proxy in front signs users in and names them in this header; a request without it gets 401.
  The name is the reviewer recorded with every decision (``signed_in_user``).
- ``/ngdata`` is not behind sign-in: Neuroglancer's client fetches it from another origin
  (without cookies); it answers only that client's origin and only random per-folder tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from html import escape
from urllib.parse import urlsplit

import dash
import flask

from synanno_dash.services.ng_proxy import PREFIX as NG_CLIENT_PREFIX
from synanno_dash.settings import Settings
from synanno_dash.ui.client_ids import inline_script

SIGN_IN_PATH = "/sign-in"
ACCESS_COOKIE = "synanno_access"
ACCESS_COOKIE_MAX_AGE_S = 60 * 60 * 24 * 30
_OPEN_PREFIXES = (SIGN_IN_PATH, "/assets/", "/ngdata/", "/_favicon.ico")


def content_security_policy(script_hashes: list[str], host: str) -> str:
    """The policy for a page served to ``host`` (the host name the browser used)."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "frame-src": ["'self'", f"http://{host}:*", f"https://{host}:*"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def install_security_headers(app: dash.Dash) -> None:
    hashes: list[str] = []  # computed at the first response, once every callback exists

    @app.server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        if not hashes:
            hashes.extend([*app.csp_hashes(), _script_hash(inline_script())])
        host = urlsplit(flask.request.host_url).hostname or "localhost"
        host = f"[{host}]" if ":" in host else host
        if not flask.request.path.startswith(f"{NG_CLIENT_PREFIX}/"):
            response.headers["Content-Security-Policy"] = content_security_policy(hashes, host)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Referrer-Policy"] = "same-origin"
        return response


# -- sign-in ------------------------------------------------------------------------------------
def access_cookie_value(token: str) -> str:
    """What the access cookie holds: derived from the token, not the token itself."""
    return hmac.new(token.encode(), b"synanno-dash access", hashlib.sha256).hexdigest()


def signed_in_user(settings: Settings) -> str:
    """The user the trusted proxy named for this request ("" without that header). In a
    background job (``ui.jobs``, another process) the headers are those Dash kept from the
    request that started it."""
    header = settings.trusted_user_header
    if not header:
        return ""
    if flask.has_request_context():
        value = flask.request.headers.get(header, "")
    else:
        kept = dash.ctx.headers or {}
        value = next((v for k, v in kept.items() if k.lower() == header.lower()), "")
    return str(value).strip()[:128]


def _sign_in_page(note: str = "", status: int = 200) -> flask.Response:
    alert = f'<div class="alert alert-danger">{escape(note)}</div>' if note else ""
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · SynAnno Dash</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css"></head>
<body class="container py-5" style="max-width: 30rem">
<h3>Sign in to SynAnno Dash</h3>{alert}
<p>This instance asks for its access token (the people who host it can give it to you).</p>
<form method="post" action="{SIGN_IN_PATH}">
<input type="hidden" name="next" value="{escape(_next_path())}">
<input type="password" name="token" id="access-token" class="form-control mb-2"
 autocomplete="current-password" placeholder="access token" required maxlength="512">
<button type="submit" id="sign-in-button" class="btn btn-primary">Sign in</button>
</form></body></html>"""
    response = flask.Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _next_path() -> str:
    """Where to go after signing in: a path of this app only."""
    wanted = flask.request.values.get("next") or flask.request.full_path.rstrip("?")
    if not wanted.startswith("/") or wanted.startswith("//") or wanted.startswith(SIGN_IN_PATH):
        return "/"
    return wanted[:2048]


def _refused(message: str) -> flask.Response:
    if flask.request.path == "/_dash-update-component":
        toast = {"is_open": True, "header": "Signed out", "children": message}
        body = {"multi": True, "response": {}, "sideUpdate": {"server-error": toast}}
        return flask.Response(json.dumps(body), status=401, mimetype="application/json")
    return flask.Response(message, status=401, mimetype="text/plain")


def install_sign_in(server: flask.Flask, settings: Settings) -> None:
    token, header = settings.access_token, settings.trusted_user_header
    if not token and not header:
        return
    expected = access_cookie_value(token) if token else ""

    @server.before_request
    def _require_sign_in() -> flask.typing.ResponseReturnValue | None:
        path = flask.request.path
        if header and not signed_in_user(settings):
            return _refused(
                "This instance signs users in through its proxy, and this request came "
                f"without the {header} header. Open the app through its public address."
            )
        if not token or path.startswith(_OPEN_PREFIXES):
            return None
        cookie = flask.request.cookies.get(ACCESS_COOKIE, "")
        if hmac.compare_digest(cookie.encode(), expected.encode()):
            return None
        if flask.request.method == "GET" and not path.startswith("/_dash"):
            return flask.redirect(f"{SIGN_IN_PATH}?next={escape(_next_path())}", code=303)
        return _refused("Sign in first: reload the page and give the access token.")

    @server.route(SIGN_IN_PATH, methods=["GET", "POST"])
    def sign_in() -> flask.typing.ResponseReturnValue:
        if not token:
            return flask.redirect("/", code=303)
        if flask.request.method == "GET":
            return _sign_in_page()
        given = flask.request.form.get("token", "")[:512]
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _sign_in_page("That is not the access token of this instance.", 403)
        response = flask.redirect(_next_path(), code=303)
        response.set_cookie(
            ACCESS_COOKIE, expected, max_age=ACCESS_COOKIE_MAX_AGE_S, httponly=True,
            samesite="Lax", secure=flask.request.is_secure,
        )  # fmt: skip
        return response
