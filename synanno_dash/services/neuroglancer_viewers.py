"""One embedded Neuroglancer viewer per browser session: ``ViewerRegistry``.

Developer notes
- The ``neuroglancer`` package runs its own web server (tornado, one background thread),
  bound to ``host`` on a port (0: a free one). Each session gets a ``Viewer``; the browser
  reaches it at ``viewer_path`` (``/v/<token>/``) through the app's ``/neuroglancer/`` proxy.
  In a deployment the registry lives in the one Neuroglancer service process that every app
  worker calls (``services.ng_service``); an app without a service (tests) keeps one itself.
  Either way it is a ``services.ng_client.ViewerBackend``.
- Key presses in the viewer reach Python as actions, run on the Neuroglancer server thread:
  ``n`` stores the neuron under the mouse (neuropil layer) as the session's choice, ``c`` records
  a missed-synapse candidate at the mouse and shows it as a yellow marker. Optional callbacks
  (``on_neuron_chosen``, ``on_candidate``) are called after the choice is stored, outside the
  lock.
- Everything per session (viewer, choice, candidates) lives in this object, keyed by session id,
  behind one lock; handlers look their session up by id and never hold the viewer, so closing a
  session drops its viewer. The least recently used viewers are closed beyond ``max_viewers``.
- States are built by ``ng_state.build_state`` (``show`` does it here; the app's workers do it
  and send the state to the service, ``show_state``). Local (``file://``) layers are fetched by
  the browser from the app's data route under tokens ``token_of`` registers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import neuroglancer

from synanno_dash.core.geometry import Resolution, Triple
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data.bounded_cache import BoundedCache
from synanno_dash.services import ng_state
from synanno_dash.services.local_data import DEFAULT_PREFIX, TokenOfFolder

log = logging.getLogger(__name__)

CHOOSE_NEURON_ACTION = "synanno-choose-neuron"
ADD_CANDIDATE_ACTION = "synanno-add-candidate"
KEY_BINDINGS = {"keyn": CHOOSE_NEURON_ACTION, "keyc": ADD_CANDIDATE_ACTION}

NeuronCallback = Callable[[str, int], None]
CandidateCallback = Callable[[str, Triple], None]


@dataclass
class _Session:
    """Mutable per-session record; only touched under the registry's lock."""

    viewer: neuroglancer.Viewer
    neuron_id: int | None = None
    candidates: list[Triple] = field(default_factory=list)
    target_resolution: Resolution | None = None  # of the view shown, for ``c``


class ViewerRegistry:
    """Neuroglancer viewers of the app's browser sessions, created on demand."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_base_url: str = "",
        *,
        on_neuron_chosen: NeuronCallback | None = None,
        on_candidate: CandidateCallback | None = None,
        max_viewers: int = 64,
        data_prefix: str = DEFAULT_PREFIX,
        token_of: TokenOfFolder | None = None,
    ) -> None:
        if max_viewers < 1:
            raise ValueError("keep at least one viewer")
        neuroglancer.set_server_bind_address(host, bind_port=port)
        self.host = host
        self.data_base_url = data_base_url
        self.data_prefix = data_prefix
        self._token_of = token_of  # registers local folders with the app's data route
        self.max_viewers = max_viewers
        self._on_neuron_chosen = on_neuron_chosen
        self._on_candidate = on_candidate
        # Beyond ``max_viewers`` the least recently used session's viewer is closed.
        self._sessions: BoundedCache[str, _Session] = BoundedCache(
            max_viewers, on_evict=lambda _sid, session: _forget(session.viewer)
        )
        self._lock = threading.Lock()

    # -- viewers ---------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return session_id in self._sessions

    def get_or_create(self, session_id: str) -> neuroglancer.Viewer:
        """The session's viewer, created (with the n / c key bindings) on first use."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                viewer = neuroglancer.Viewer()
                self._bind_keys(viewer, session_id)
                session = self._sessions.put(session_id, _Session(viewer=viewer))
            return session.viewer

    def viewer_url(self, session_id: str, browser_host: str | None = None) -> str:
        """The URL to embed; ``browser_host`` replaces the host name (e.g. behind 0.0.0.0)."""
        url = self.get_or_create(session_id).get_viewer_url()
        if not browser_host:
            return url
        parts = urlsplit(url)
        netloc = browser_host if parts.port is None else f"{browser_host}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def close(self, session_id: str) -> bool:
        """Close the session's viewer and forget its choice and candidates."""
        with self._lock:
            session = self._sessions.pop(session_id)
        if session is None:
            return False
        _forget(session.viewer)
        return True

    def server_port(self) -> int | None:
        """The port of this process's Neuroglancer server, once a viewer started it."""
        server = neuroglancer.server.global_server
        return None if server is None else int(server.port)

    def upstream_url(self) -> str | None:
        """The Neuroglancer server's address from this machine, once a viewer started it."""
        port = self.server_port()
        if port is None:
            return None
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{port}"

    def close_all(self) -> None:
        with self._lock:
            sessions = self._sessions.clear()
        for session in sessions:
            _forget(session.viewer)

    # -- views -----------------------------------------------------------------------------

    def show(
        self,
        session_id: str,
        config: DatasetConfig,
        spec: ng_state.ViewSpec,
        *,
        base_url: str | None = None,
    ) -> str:
        """Replace the session's viewer state with ``spec``'s view; returns the viewer URL."""
        state = ng_state.build_state(
            config, spec, base_url or self.data_base_url, self._token_of, self.data_prefix
        )
        self.show_state(session_id, state, config.target_resolution)
        return self.viewer_url(session_id)

    def show_state(
        self, session_id: str, state: neuroglancer.ViewerState, target_resolution: Resolution
    ) -> str:
        """Replace the session's viewer state (built by ``ng_state.build_state``); its path
        on the Neuroglancer server (``/v/<token>/``). ``target_resolution`` converts the
        points marked with ``c`` to target voxels."""
        viewer = self.get_or_create(session_id)
        viewer.set_state(state)
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                session.target_resolution = target_resolution
        return viewer_path(viewer)

    def shown_path(self, session_id: str) -> str | None:
        """The path of the session's viewer if it has one (never makes one)."""
        with self._lock:
            session = self._sessions.get(session_id)
        return None if session is None else viewer_path(session.viewer)

    def viewer_path(self, session_id: str) -> str:
        """The path of the session's viewer on the Neuroglancer server: ``/v/<token>/``."""
        return viewer_path(self.get_or_create(session_id))

    # -- choices ---------------------------------------------------------------------------

    def chosen_neuron(self, session_id: str) -> int | None:
        with self._lock:
            session = self._sessions.get(session_id)
            return None if session is None else session.neuron_id

    def candidates(self, session_id: str) -> list[Triple]:
        with self._lock:
            session = self._sessions.get(session_id)
            return [] if session is None else list(session.candidates)

    def clear_candidates(self, session_id: str) -> None:
        """Forget the session's candidates and remove their yellow markers."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return
            session.candidates.clear()
            viewer = session.viewer
        with viewer.txn() as state:
            layer = _markers(state)
            if layer is not None:
                layer.annotations = [
                    a for a in layer.annotations
                    if not str(a.id).startswith(ng_state.CANDIDATE_ID_PREFIX)
                ]  # fmt: skip

    # -- key actions (called on the Neuroglancer server thread) ----------------------------

    def handle_choose_neuron(self, session_id: str, action_state: object) -> int | None:
        """``n``: the neuron under the mouse becomes the session's choice."""
        neuron_id = ng_state.selected_segment(action_state, ng_state.NEUROPIL_LAYER)
        if neuron_id is None:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            session.neuron_id = neuron_id
        _notify(self._on_neuron_chosen, session_id, neuron_id)
        return neuron_id

    def handle_add_candidate(self, session_id: str, action_state: object) -> Triple | None:
        """``c``: record the target voxel under the mouse and show a yellow marker there."""
        coordinates = getattr(action_state, "mouse_voxel_coordinates", None)
        with self._lock:
            session = self._sessions.get(session_id)
            resolution = None if session is None else session.target_resolution
        if session is None or resolution is None or coordinates is None:
            return None
        viewer = session.viewer
        point = ng_state.to_target_voxels(
            [float(c) for c in coordinates], viewer.state.dimensions, resolution
        )
        with self._lock:
            if self._sessions.get(session_id) is not session:  # closed meanwhile
                return None
            session.candidates.append(point)
            index = len(session.candidates) - 1
        with viewer.txn() as state:
            layer = _markers(state)
            if layer is not None:
                layer.annotations.append(
                    ng_state.marker(ng_state.candidate_id(index), point, ng_state.CANDIDATE_COLOR)
                )
        _notify(self._on_candidate, session_id, point)
        return point

    def _bind_keys(self, viewer: neuroglancer.Viewer, session_id: str) -> None:
        # The handlers capture the id, not the viewer: a closed session's viewer can be freed.
        viewer.actions.add(CHOOSE_NEURON_ACTION, lambda s: self.handle_choose_neuron(session_id, s))
        viewer.actions.add(ADD_CANDIDATE_ACTION, lambda s: self.handle_add_candidate(session_id, s))
        with viewer.config_state.txn() as config_state:
            for key, action in KEY_BINDINGS.items():
                config_state.input_event_bindings.viewer[key] = action


def _markers(state: neuroglancer.ViewerState) -> neuroglancer.AnnotationLayer | None:
    names = [layer.name for layer in state.layers]
    if ng_state.MARKERS_LAYER not in names:
        return None
    return state.layers[ng_state.MARKERS_LAYER].layer


def _notify(callback: Callable[..., None] | None, *args: object) -> None:
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:  # a broken callback must not lose the stored choice
        log.exception("Neuroglancer choice callback failed")


def _forget(viewer: neuroglancer.Viewer) -> None:
    """Invalidate a viewer's URL now rather than when it is garbage collected."""
    viewer.actions.clear()
    server = neuroglancer.server.global_server
    if server is not None:
        server.viewers.pop(viewer.token, None)


def viewer_path(viewer: neuroglancer.Viewer) -> str:
    """A viewer's path on the Neuroglancer server, whatever host the server is reached by."""
    return urlsplit(viewer.get_viewer_url()).path


def keys_bound(viewer: neuroglancer.Viewer) -> dict[str, str]:
    """The viewer-level key bindings (for tests and diagnostics)."""
    bindings = viewer.config_state.state.input_event_bindings.viewer
    return {key: bindings[key] for key in bindings if key in KEY_BINDINGS}


def candidate_points(state: neuroglancer.ViewerState) -> Sequence[Triple]:
    """The candidate markers shown in a viewer state, as voxel indices."""
    layer = _markers(state)
    if layer is None:
        return []
    return [
        (int(a.point[0]), int(a.point[1]), int(a.point[2]))
        for a in layer.annotations
        if str(a.id).startswith(ng_state.CANDIDATE_ID_PREFIX)
    ]
