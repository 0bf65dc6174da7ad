"""The Neuroglancer service: one process holding every session's viewer, for all app workers.

Developer notes
- ``synanno-dash neuroglancer`` runs it (``synanno-dash serve`` starts and supervises it). It
  is the ``neuroglancer`` package's own tornado server (the viewers' client, their event
  streams and key actions) plus a small JSON API under ``API_PREFIX`` on the same port, backed
  by one ``ViewerRegistry``. The app's workers call the API (``services.ng_client``); the
  browser reaches the viewers through the app's ``/neuroglancer/`` proxy
  (``services.ng_proxy``), which never forwards the API.
- Bound to loopback by default. Every API request must carry the shared secret in
  ``SECRET_HEADER`` (compared in constant time); without it: 401 and nothing done.
- Bounded: at most ``max_viewers`` viewers (least recently used closed first), request
  bodies up to ``MAX_BODY_BYTES``, session ids of ``SESSION_ID_PATTERN``.
- The API handlers run on the tornado loop thread, like the key actions; they only set or
  read in-memory state.

API (JSON; errors are ``{"error": message}``):
- ``GET  /health`` -> ``{"viewers": n, "max_viewers": m}``
- ``PUT  /sessions/<id>/view`` ``{"state": <viewer state>, "target_resolution_nm": [x, y, z]}``
  -> ``{"path": "/v/<token>/"}`` (the viewer is made on first use)
- ``GET  /sessions/<id>`` -> ``{"path": ... or null, "neuron_id": "<id>" or null,
  "candidates": [[x, y, z], ...]}`` (never makes a viewer)
- ``DELETE /sessions/<id>/candidates`` -> ``{"cleared": true}``
- ``DELETE /sessions/<id>`` -> ``{"closed": bool}``
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass

import neuroglancer
import tornado.web

from synanno_dash.core.geometry import Resolution
from synanno_dash.services.neuroglancer_viewers import ViewerRegistry
from synanno_dash.services.ng_client import API_PREFIX, SECRET_HEADER

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024**2
SESSION_ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"


@dataclass(frozen=True)
class ServiceInfo:
    registry: ViewerRegistry
    port: int


class _ApiHandler(tornado.web.RequestHandler):
    registry: ViewerRegistry
    secret: str

    def initialize(self, registry: ViewerRegistry, secret: str) -> None:
        self.registry = registry
        self.secret = secret

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self._fail(401, f"The {SECRET_HEADER} header must carry the service's secret.")
        elif len(self.request.body or b"") > MAX_BODY_BYTES:
            self._fail(413, f"The request body is over {MAX_BODY_BYTES} bytes.")

    def _fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish({"error": message})

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.finish({"error": self._reason})

    def check_xsrf_cookie(self) -> None:  # an API for programs, authenticated by the secret
        return None


class _HealthHandler(_ApiHandler):
    def get(self) -> None:
        self.finish({"viewers": len(self.registry), "max_viewers": self.registry.max_viewers})


class _SessionHandler(_ApiHandler):
    def get(self, session_id: str) -> None:
        path = self.registry.shown_path(session_id)
        neuron = self.registry.chosen_neuron(session_id)
        self.finish(
            {
                "path": path,
                "neuron_id": None if neuron is None else str(neuron),
                "candidates": [list(p) for p in self.registry.candidates(session_id)],
            }
        )

    def delete(self, session_id: str) -> None:
        self.finish({"closed": self.registry.close(session_id)})


class _ViewHandler(_ApiHandler):
    def put(self, session_id: str) -> None:
        try:
            body = json.loads(self.request.body)
            state = neuroglancer.ViewerState(body["state"])
            x, y, z = (float(v) for v in body["target_resolution_nm"])
            resolution = Resolution(x, y, z)
        except (ValueError, KeyError, TypeError) as exc:
            self._fail(400, f"A view needs a viewer state and target_resolution_nm: {exc}")
            return
        self.finish({"path": self.registry.show_state(session_id, state, resolution)})


class _CandidatesHandler(_ApiHandler):
    def delete(self, session_id: str) -> None:
        self.registry.clear_candidates(session_id)
        self.finish({"cleared": True})


def api_routes(registry: ViewerRegistry, secret: str) -> list[tuple[str, type, dict]]:
    args = {"registry": registry, "secret": secret}
    session = f"{API_PREFIX}/sessions/({SESSION_ID_PATTERN})"
    return [
        (f"{API_PREFIX}/health", _HealthHandler, args),
        (session, _SessionHandler, args),
        (f"{session}/view", _ViewHandler, args),
        (f"{session}/candidates", _CandidatesHandler, args),
    ]


def start_service(host: str, port: int, secret: str, max_viewers: int) -> ServiceInfo:
    """Start Neuroglancer's server on ``host:port`` (0: a free port) with the API added; it
    runs on its own thread until the process ends."""
    if not secret:
        raise ValueError("The Neuroglancer service needs a shared secret: set SYNANNO_NG_SECRET.")
    registry = ViewerRegistry(host, port, max_viewers=max_viewers)
    neuroglancer.server.start()
    server = neuroglancer.server.global_server
    if server is None:
        raise RuntimeError("Neuroglancer's server did not start")

    async def add_routes() -> None:
        server.app.add_handlers(r".*", api_routes(registry, secret))

    asyncio.run_coroutine_threadsafe(add_routes(), server.loop).result(timeout=30)
    return ServiceInfo(registry=registry, port=int(server.port))
