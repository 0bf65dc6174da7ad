"""The Neuroglancer client on the app's own origin: ``/neuroglancer/<path>`` forwarded.

Developer notes
- The viewers' client (static files, its event stream, state and action posts) is served by
  the Neuroglancer server (the shared service, or this process's in tests). The browser only
  ever talks to the app: ``/neuroglancer/v/<token>/`` is the iframe's address, and the client
  derives its other URLs from it (``/neuroglancer/events/<token>``, ...). One origin means no
  CORS for the data route, one port to open, and a Content-Security-Policy of ``'self'``.
- Only the client's own paths are forwarded (``CLIENT_PATH``): never the service's API, which
  needs the secret anyway. The viewer token in each path is random per viewer.
- Responses are streamed (the event stream stays open while the viewer shows; after
  ``STREAM_IDLE_S`` without an update the stream ends and the client reconnects by itself).
  A reverse proxy in front of the app can route ``/neuroglancer/`` straight to the service
  instead (docs/neuroglancer.md), which spares the app's threads the open streams.
- The service down: 502 with a message saying so (the client shows it and retries).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import flask
import requests

from synanno_dash.services.ng_client import service_down_message

PREFIX = "/neuroglancer"
_TOKEN = r"[A-Za-z0-9_\-]{1,128}"  # Neuroglancer's viewer and request tokens are hex
CLIENT_PATH = re.compile(
    rf"^(?:v/{_TOKEN}/[@A-Za-z0-9_\-./]*"
    rf"|(?:events|state|action|credentials)/{_TOKEN}"
    rf"|volume_response/{_TOKEN}/{_TOKEN}/(?:info|chunk))$"
)
STREAM_IDLE_S = 300.0
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 30.0
MAX_BODY_BYTES = 16 * 1024**2  # a viewer state posted by the client
_FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Cache-Control", "Last-Event-ID")
_FORWARDED_RESPONSE_HEADERS = ("Content-Type", "Cache-Control", "Content-Length", "ETag")

UpstreamUrl = Callable[[], str | None]  # where the Neuroglancer server is, if running


def _text(status: int, message: str) -> flask.Response:
    return flask.Response(message, status=status, mimetype="text/plain")


def _stream(upstream: requests.Response) -> Iterator[bytes]:
    try:
        yield from upstream.iter_content(chunk_size=None)
    except requests.RequestException:
        return  # idle or broken upstream: end the stream, the client reconnects
    finally:
        upstream.close()


def client_path_allowed(subpath: str) -> bool:
    """Whether ``subpath`` is one of the viewer client's own paths (never the API, never a
    ``.``/``..`` segment that a URL library would fold into another path)."""
    segments = subpath.split("/")
    return bool(CLIENT_PATH.match(subpath)) and not any(s in (".", "..") for s in segments)


def forward(upstream_url: str | None, subpath: str) -> flask.Response:
    """Forward this request to the Neuroglancer server at ``upstream_url``."""
    if not client_path_allowed(subpath):
        return _text(404, "Not a Neuroglancer viewer address.")
    if upstream_url is None:
        return _text(404, "No Neuroglancer viewer has been shown yet.")
    request = flask.request
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _text(413, f"A Neuroglancer request body is limited to {MAX_BODY_BYTES} bytes.")
    headers = {h: request.headers[h] for h in _FORWARDED_REQUEST_HEADERS if h in request.headers}
    headers["Accept-Encoding"] = "identity"  # pass the bytes through as they are
    streaming = subpath.startswith("events/")
    try:
        upstream = requests.request(
            request.method, f"{upstream_url}/{subpath}", params=request.args,
            data=request.get_data() if request.method == "POST" else None, headers=headers,
            stream=True, allow_redirects=False,
            timeout=(CONNECT_TIMEOUT_S, STREAM_IDLE_S if streaming else READ_TIMEOUT_S),
        )  # fmt: skip
    except requests.RequestException:
        return _text(502, service_down_message(upstream_url))
    response = flask.Response(
        flask.stream_with_context(_stream(upstream)), status=upstream.status_code
    )
    for name in _FORWARDED_RESPONSE_HEADERS:
        if name in upstream.headers:
            response.headers[name] = upstream.headers[name]
    if streaming:
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
    return response


def register_proxy(server: flask.Flask, upstream_url: UpstreamUrl) -> None:
    """Serve the Neuroglancer client under ``PREFIX`` on the app's origin."""
    blueprint = flask.Blueprint("synanno_neuroglancer", __name__, url_prefix=PREFIX)

    @blueprint.route("/<path:subpath>", methods=["GET", "HEAD", "POST"])
    def proxy(subpath: str) -> flask.Response:
        return forward(upstream_url(), subpath)

    server.register_blueprint(blueprint)
