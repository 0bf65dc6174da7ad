"""Serve local precomputed folders to the Neuroglancer client, read-only, over HTTP.

Developer notes
- Neuroglancer's client runs in the browser and cannot read ``file://``; it fetches
  ``precomputed://http://...`` sources instead. This route serves the folders of the configured
  datasets under ``/ngdata/<token>/<path>``, where ``token`` is a short hash of the folder's
  resolved path, so no server path appears in a URL.
- Only folders returned by ``allowed_roots_provider()`` are served (asked on every request, so
  a dataset opened later becomes visible); unknown tokens, ``..``, hidden files, symlinks that
  leave the folder and directories (no listings) all give 404.
- The viewer runs on another port (the Neuroglancer server), so responses carry
  ``Access-Control-Allow-Origin: *``; Range requests (sharded volumes) are answered by Flask's
  ``send_file``.
- Local data is written uncompressed (CloudVolume ``compress=False``). A chunk stored only as
  ``<name>.gz`` is still served, with ``Content-Encoding: gzip`` so the browser decodes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import flask

from synanno_dash.data.volume_layer import normalize_url

DEFAULT_PREFIX = "/ngdata"
TOKEN_LENGTH = 16

AllowedRootsProvider = Callable[[], Iterable[Path]]

_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Content-Encoding",
}


def folder_token(folder: Path | str) -> str:
    """The URL token of a folder: a short hash of its resolved path."""
    resolved = str(Path(folder).expanduser().resolve())
    return hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:TOKEN_LENGTH]


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


def data_url(base_url: str, folder: Path | str, prefix: str = DEFAULT_PREFIX) -> str:
    """The HTTP address under which ``folder`` is served by the app at ``base_url``."""
    return f"{base_url.rstrip('/')}/{prefix.strip('/')}/{folder_token(folder)}"


def layer_source_url(base_url: str, folder: Path | str, prefix: str = DEFAULT_PREFIX) -> str:
    """A Neuroglancer source for a local folder: ``precomputed://http://host:port/ngdata/<t>``."""
    return "precomputed://" + data_url(base_url, folder, prefix)


def _safe_parts(subpath: str) -> tuple[str, ...] | None:
    """The path's components, or ``None`` if any could climb out or name a hidden file."""
    if not subpath or "\\" in subpath or "\x00" in subpath:
        return None
    parts = PurePosixPath(subpath).parts
    # ".." and hidden names both start with a dot; an absolute path starts with "/".
    if not parts or parts[0] == "/" or any(p.startswith(".") for p in parts):
        return None
    return parts


def _resolve_file(roots: Iterable[Path], token: str, subpath: str) -> tuple[Path, bool] | None:
    """The file to send and whether it is the gzip fallback, or ``None`` (-> 404)."""
    parts = _safe_parts(subpath)
    if parts is None:
        return None
    root = next((r.resolve() for r in roots if folder_token(r) == token), None)
    if root is None:
        return None
    wanted = root.joinpath(*parts)
    for candidate, gzipped in ((wanted, False), (wanted.with_name(wanted.name + ".gz"), True)):
        resolved = candidate.resolve()
        if resolved.is_relative_to(root) and resolved.is_file():
            return resolved, gzipped
    return None


def _with_cors(response: flask.Response) -> flask.Response:
    response.headers.update(_CORS_HEADERS)
    return response


def make_local_data_blueprint(
    allowed_roots_provider: AllowedRootsProvider, prefix: str = DEFAULT_PREFIX
) -> flask.Blueprint:
    blueprint = flask.Blueprint("synanno_ngdata", __name__, url_prefix=prefix)

    @blueprint.route("/<token>/<path:subpath>", methods=["GET", "HEAD", "OPTIONS"])
    def serve(token: str, subpath: str) -> flask.Response:
        if flask.request.method == "OPTIONS":  # CORS preflight (a Range header may trigger it)
            return _with_cors(flask.Response(status=204))
        found = _resolve_file(allowed_roots_provider(), token, subpath)
        if found is None:
            return _with_cors(flask.Response("Not found", status=404, mimetype="text/plain"))
        path, gzipped = found
        response = flask.send_file(path, mimetype="application/octet-stream", max_age=0)
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
        return _with_cors(response)

    return blueprint


def register_local_data_route(
    server: flask.Flask,
    allowed_roots_provider: AllowedRootsProvider,
    prefix: str = DEFAULT_PREFIX,
) -> None:
    """Serve the folders that ``allowed_roots_provider()`` returns under ``prefix``."""
    server.register_blueprint(make_local_data_blueprint(allowed_roots_provider, prefix))
