"""The app's side of the Neuroglancer viewers: ``ViewerBackend`` and ``ViewerServiceClient``.

Developer notes
- ``ViewerBackend`` is what the use cases (``services.ng_views``) need from the viewers: show
  a state for a session, read what ``n`` and ``c`` picked, clear, close, and where the viewer's
  client is served (``upstream_url``, which the app's ``/neuroglancer/`` proxy forwards to).
- Two implementations. ``ViewerRegistry`` (``services.neuroglancer_viewers``) holds the viewers
  in this process: tests and an app without a viewer service. ``ViewerServiceClient`` talks
  over HTTP/JSON to the one Neuroglancer service process (``services.ng_service``) that every
  app worker shares, so consecutive requests of one browser may reach any worker.
- Every request carries the shared secret (``SECRET_HEADER``) and a short timeout. When the
  service cannot be reached the client raises ``ViewerServiceError`` whose message names the
  service's address and what to do; the next call tries again (a restarted service answers).
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import neuroglancer
import requests

from synanno_dash.core.geometry import Resolution, Triple

API_PREFIX = "/synanno/api"
SECRET_HEADER = "X-SynAnno-NG-Secret"
TIMEOUT_S = (2.0, 10.0)  # connect, read


class ViewerServiceError(RuntimeError):
    """The Neuroglancer service did not do what was asked; the message is for the user."""


class ViewerBackend(Protocol):
    """The viewers of the app's browser sessions, one per session id."""

    def show_state(
        self, session_id: str, state: neuroglancer.ViewerState, target_resolution: Resolution
    ) -> str: ...

    def shown_path(self, session_id: str) -> str | None: ...

    def chosen_neuron(self, session_id: str) -> int | None: ...

    def candidates(self, session_id: str) -> list[Triple]: ...

    def clear_candidates(self, session_id: str) -> None: ...

    def close(self, session_id: str) -> bool: ...

    def upstream_url(self) -> str | None: ...


def service_down_message(url: str) -> str:
    return (
        f"The Neuroglancer service at {url} is not answering, so the viewer cannot be shown. "
        "`synanno-dash serve` restarts it within a few seconds: try again shortly. If you "
        "started the app another way, start the service with `synanno-dash neuroglancer`."
    )


class ViewerServiceClient:
    """A ``ViewerBackend`` over HTTP/JSON to the shared Neuroglancer service."""

    def __init__(self, url: str, secret: str, timeout_s: tuple[float, float] = TIMEOUT_S) -> None:
        if not secret:
            raise ValueError(
                "The Neuroglancer service needs a shared secret: set SYNANNO_NG_SECRET."
            )
        self.url = url.rstrip("/")
        self._secret = secret
        self._timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            response = requests.request(
                method, self.url + API_PREFIX + path, json=body, timeout=self._timeout_s,
                headers={SECRET_HEADER: self._secret},
            )  # fmt: skip
        except requests.RequestException as exc:
            raise ViewerServiceError(service_down_message(self.url)) from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code != 200:
            detail = payload.get("error") if isinstance(payload, dict) else None
            raise ViewerServiceError(
                f"The Neuroglancer service at {self.url} refused the request "
                f"({response.status_code}): {detail or response.reason}."
            )
        return payload if isinstance(payload, dict) else {}

    @staticmethod
    def _session(session_id: str) -> str:
        return "/sessions/" + quote(session_id, safe="")

    def health(self) -> dict:
        return self._call("GET", "/health")

    def show_state(
        self, session_id: str, state: neuroglancer.ViewerState, target_resolution: Resolution
    ) -> str:
        body = {
            "state": state.to_json(),
            "target_resolution_nm": list(target_resolution.as_tuple()),
        }
        return str(self._call("PUT", self._session(session_id) + "/view", body)["path"])

    def _record(self, session_id: str) -> dict:
        return self._call("GET", self._session(session_id))

    def shown_path(self, session_id: str) -> str | None:
        path = self._record(session_id).get("path")
        return None if path is None else str(path)

    def chosen_neuron(self, session_id: str) -> int | None:
        value = self._record(session_id).get("neuron_id")
        return None if value is None else int(value)  # sent as text: 64-bit ids stay exact

    def candidates(self, session_id: str) -> list[Triple]:
        points = self._record(session_id).get("candidates") or []
        return [(int(p[0]), int(p[1]), int(p[2])) for p in points]

    def clear_candidates(self, session_id: str) -> None:
        self._call("DELETE", self._session(session_id) + "/candidates")

    def close(self, session_id: str) -> bool:
        return bool(self._call("DELETE", self._session(session_id)).get("closed"))

    def upstream_url(self) -> str | None:
        return self.url
