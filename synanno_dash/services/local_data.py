"""Serve local precomputed folders to the Neuroglancer client, read-only, over HTTP.

Developer notes
- Neuroglancer's client runs in the browser and cannot read ``file://``; it fetches
  ``precomputed://http://...`` sources instead. This route serves registered folders under
  ``/ngdata/<token>/<path>``. The token is random per registered folder (``folder_of`` maps a
  token back; see ``data.store_tokens``): no server path appears in a URL and none can be
  guessed from a path. Unknown tokens, ``..``, hidden files, symlinks that leave the folder
  and directories (no listings) all give 404.
- The viewer's client is served by the app itself (``services.ng_proxy``, under
  ``/neuroglancer/``), so its requests are same-origin. Only the app's origin is answered
  (``origin_allowed``, ``same_origin``): a request whose ``Origin`` is another site's gets
  403 and no CORS headers; a request without ``Origin`` (not a browser's cross-origin fetch:
  CloudVolume, a same-origin GET) is served.
  Range requests (sharded volumes) are answered by Flask's ``send_file``.
- Local data is written uncompressed (CloudVolume ``compress=False``). A chunk stored only as
  ``<name>.gz`` is still served, with ``Content-Encoding: gzip`` so the browser decodes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import flask

from synanno_dash.data.volume_layer import normalize_url

DEFAULT_PREFIX = "/ngdata"

FolderOfToken = Callable[[str], Path | None]  # a token -> its registered folder, or None
TokenOfFolder = Callable[[Path], str]  # a folder -> its token (registering it if new)
OriginAllowed = Callable[[str, str], bool]  # (Origin header, request host) -> answer it?

_CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Content-Encoding",
    "Vary": "Origin",
}


def resolved_folder(folder: Path | str) -> Path:
    """The one spelling of a folder that tokens are registered under."""
    return Path(folder).expanduser().resolve()


def local_folder(url: str) -> Path | None:
    """The folder of a ``file://`` (or plain path) volume address; ``None`` for remote ones."""
    normalized = normalize_url(url)
    if not normalized.startswith("file://"):
        return None
    return Path(normalized[len("file://") :])


def dataset_folders(urls: Iterable[str]) -> set[Path]:
    """The local folders among volume addresses (empty ones skipped): allowed roots."""
    folders = (local_folder(url) for url in urls if url.strip())
    return {folder for folder in folders if folder is not None}


def data_url(base_url: str, token: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The HTTP address under which the folder of ``token`` is served by the app at
    ``base_url``."""
    return f"{base_url.rstrip('/')}/{prefix.strip('/')}/{token}"


def layer_source_url(base_url: str, token: str, prefix: str = DEFAULT_PREFIX) -> str:
    """A Neuroglancer source for a local folder: ``precomputed://http://host:port/ngdata/<t>``."""
    return "precomputed://" + data_url(base_url, token, prefix)


def _safe_parts(subpath: str) -> tuple[str, ...] | None:
    """The path's components, or ``None`` if any could climb out or name a hidden file."""
    if not subpath or "\\" in subpath or "\x00" in subpath:
        return None
    parts = PurePosixPath(subpath).parts
    # ".." and hidden names both start with a dot; an absolute path starts with "/".
    if not parts or parts[0] == "/" or any(p.startswith(".") for p in parts):
        return None
    return parts


def _resolve_file(root: Path, subpath: str) -> tuple[Path, bool] | None:
    """The file to send and whether it is the gzip fallback, or ``None`` (-> 404)."""
    parts = _safe_parts(subpath)
    if parts is None:
        return None
    root = root.resolve()
    wanted = root.joinpath(*parts)
    for candidate, gzipped in ((wanted, False), (wanted.with_name(wanted.name + ".gz"), True)):
        resolved = candidate.resolve()
        if resolved.is_relative_to(root) and resolved.is_file():
            return resolved, gzipped
    return None


def _cors(response: flask.Response, origin: str | None) -> flask.Response:
    response.headers.update(_CORS_HEADERS)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def make_local_data_blueprint(
    folder_of: FolderOfToken, origin_allowed: OriginAllowed, prefix: str = DEFAULT_PREFIX
) -> flask.Blueprint:
    blueprint = flask.Blueprint("synanno_ngdata", __name__, url_prefix=prefix)

    @blueprint.route("/<token>/<path:subpath>", methods=["GET", "HEAD", "OPTIONS"])
    def serve(token: str, subpath: str) -> flask.Response:
        origin = flask.request.headers.get("Origin")
        if origin is not None and not origin_allowed(origin, flask.request.host):
            return flask.Response("Not for this origin", status=403, mimetype="text/plain")
        if flask.request.method == "OPTIONS":  # CORS preflight (a Range header may trigger it)
            return _cors(flask.Response(status=204), origin)
        root = folder_of(token)
        found = None if root is None else _resolve_file(root, subpath)
        if found is None:  # Neuroglancer reads a missing chunk as empty: readable 404
            return _cors(flask.Response("Not found", status=404, mimetype="text/plain"), origin)
        path, gzipped = found
        response = flask.send_file(path, mimetype="application/octet-stream", max_age=0)
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
        return _cors(response, origin)

    return blueprint


def register_local_data_route(
    server: flask.Flask,
    folder_of: FolderOfToken,
    origin_allowed: OriginAllowed,
    prefix: str = DEFAULT_PREFIX,
) -> None:
    """Serve the folder registered under each token (``folder_of``) under ``prefix``, to
    requests without an ``Origin`` or from an origin ``origin_allowed`` accepts."""
    server.register_blueprint(make_local_data_blueprint(folder_of, origin_allowed, prefix))


def same_origin(origin: str, request_host: str) -> bool:
    """Whether ``origin`` is the app's own (the host and port the browser used for this
    request): the Neuroglancer client is served by the app under ``/neuroglancer/``."""
    try:
        parts = urlsplit(origin)
        requested = urlsplit("//" + request_host)
        origin_port, requested_port = parts.port, requested.port
    except ValueError:
        return False
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (
        default is not None
        and parts.hostname is not None
        and parts.hostname == requested.hostname
        and (origin_port or default) == (requested_port or default)
    )
