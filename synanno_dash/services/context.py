"""App-wide resources, owned by one app instance (never module globals): ``AppContext``.

The Dash app keeps one ``AppContext`` in ``server.extensions``. It only holds resources (the
store, the volume and table registries, the bounded caches, the background executor, the
Neuroglancer viewers); use cases live in the service modules, which reach it through a
``services.session.Session`` (one browser session in one request).

The Neuroglancer viewers (``viewers``, a ``services.ng_client.ViewerBackend``) are those of
the shared Neuroglancer service when ``Settings.ng_service_url`` names one (``serve`` does),
else this process's own (tests; importing and starting Neuroglancer then waits for first use).
The browser reaches them through the app's ``/neuroglancer/`` proxy (``ng_upstream_url``).
The local folders the client may fetch through the app's data route are those registered when
a viewer shows a dataset: each gets a random token kept in the store (``data_token``), and the
route answers the app's own origin only.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synanno_dash.core.instances import DatasetConfig
from synanno_dash.core.neuron_view import NeuronView, NeuronViewKey
from synanno_dash.data.bounded_cache import BoundedCache
from synanno_dash.data.store import SessionStore
from synanno_dash.data.table_registry import TableRegistry
from synanno_dash.data.volume_registry import VolumeRegistry
from synanno_dash.services.local_data import (
    dataset_folders,
    resolved_folder,
    same_origin,
)
from synanno_dash.services.tile_images import SliceImages
from synanno_dash.settings import Settings

MAX_KNOWN_SESSIONS = 10_000  # session ids remembered as known, per process

if TYPE_CHECKING:
    from synanno_dash.services.ng_client import ViewerBackend

log = logging.getLogger(__name__)


def _logged(work: Callable[..., object], *args: object) -> object:
    try:
        return work(*args)
    except Exception:
        log.exception("background work failed")
        return None


def _slice_images_size(images: SliceImages) -> int:
    return images.nbytes


@dataclass
class AppContext:
    settings: Settings
    store: SessionStore
    volumes: VolumeRegistry
    tables: TableRegistry
    # Prepared neuron skeletons and compartments (neuron-centric mode), built once each.
    neurons: BoundedCache[NeuronViewKey, NeuronView]
    # Encoded tile slices: the prefetch of the next page fills it, so moving on is instant.
    tile_images: BoundedCache[Hashable, SliceImages]
    # Session ids this process saw in the store, with when (``time.monotonic()``): a request
    # of a known session skips the lookup for ``services.session.KNOWN_SESSION_TTL_S``.
    known_sessions: BoundedCache[str, float] = field(
        default_factory=lambda: BoundedCache(MAX_KNOWN_SESSIONS)
    )
    # Background work (page prefetch, crop bookkeeping): bounded, so a burst of clicks
    # cannot flood the box.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="bg")
    )
    _pending: set[Future[object]] = field(default_factory=set, init=False, repr=False)
    _viewers: ViewerBackend | None = field(default=None, init=False, repr=False)
    # Registered data-route folders by token (the store is the record; this saves a query
    # per chunk the viewer fetches). Bounded by the folders of the datasets shown.
    _folders: dict[str, Path] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    # The process that made these resources, and the resources of a process forked from it
    # (a background job's), made on its first use there.
    owner_pid: int = field(default_factory=os.getpid, init=False, repr=False)
    _forked: AppContext | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, settings: Settings) -> AppContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            store=SessionStore(settings.effective_database_url),
            volumes=VolumeRegistry(
                max_sets=settings.max_volume_sets, cache_bytes=settings.cache_bytes
            ),
            tables=TableRegistry(cache_dir=settings.table_cache_dir),
            neurons=BoundedCache(settings.max_neuron_views),
            tile_images=BoundedCache(settings.tile_cache_bytes, _slice_images_size),
        )

    def in_this_process(self) -> AppContext:
        """These resources as the current process may use them: ``self`` in the process
        that made them; in a process forked from it (a background job's), resources of its
        own on the same settings, made once per process. Database connections, threads and
        locks never cross a fork (another thread may have held a lock at that moment)."""
        if os.getpid() == self.owner_pid:
            return self
        forked = self._forked
        if forked is None or forked.owner_pid != os.getpid():
            # Drop the parent's pooled connections without closing them: closing would end
            # the parent's connections to the database server too.
            self.store.engine.dispose(close=False)
            forked = AppContext.create(self.settings)
            self._forked = forked
        return forked

    def run_in_background(self, work: Callable[..., object], *args: object) -> Future[object]:
        """Run ``work(*args)`` on the background executor (errors are logged, not raised)."""
        future = self.executor.submit(_logged, work, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget_future)
        return future

    def wait_for_background(self, timeout_s: float = 60.0) -> None:
        """Wait until the background work submitted so far is done (tests, benchmarks)."""
        with self._lock:
            pending = list(self._pending)
        wait(pending, timeout=timeout_s)

    def _forget_future(self, future: Future[object]) -> None:
        with self._lock:
            self._pending.discard(future)

    @property
    def viewers(self) -> ViewerBackend:
        """The sessions' Neuroglancer viewers: the shared service's, or this process's own
        (made on first use)."""
        with self._lock:
            if self._viewers is None:
                self._viewers = self._make_viewers()
            return self._viewers

    def _make_viewers(self) -> ViewerBackend:
        if self.settings.ng_service_url:
            from synanno_dash.services.ng_client import ViewerServiceClient

            return ViewerServiceClient(self.settings.ng_service_url, self.settings.ng_secret)
        from synanno_dash.services.neuroglancer_viewers import ViewerRegistry

        log.info(
            "Neuroglancer viewers are kept in this process (SYNANNO_NG_SERVICE_URL is not set): "
            "fine for one worker; with several, use `synanno-dash serve` or a shared "
            "`synanno-dash neuroglancer` service (docs/neuroglancer.md)"
        )
        # Loopback only: the browser reaches it through the app's proxy.
        return ViewerRegistry(
            host="127.0.0.1", max_viewers=self.settings.max_viewers, token_of=self.data_token
        )

    def ng_upstream_url(self) -> str | None:
        """Where the app's ``/neuroglancer/`` proxy forwards to (``None``: nothing shown)."""
        with self._lock:
            viewers = self._viewers
        if viewers is None and not self.settings.ng_service_url:
            return None
        return self.viewers.upstream_url()

    def close_viewer(self, session_id: str) -> None:
        """Close a session's viewer (if Neuroglancer was ever started here, or is shared); a
        service that is down has no viewer to close, so that is only logged."""
        from synanno_dash.services.ng_client import ViewerServiceError

        with self._lock:
            viewers = self._viewers
        if viewers is None and not self.settings.ng_service_url:
            return
        try:
            self.viewers.close(session_id)
        except ViewerServiceError as exc:
            log.warning("could not close the Neuroglancer viewer of a session: %s", exc)

    def allow_dataset(self, config: DatasetConfig) -> None:
        """Register ``config``'s local folders with the data route (before a viewer shows
        them)."""
        for folder in dataset_folders([config.source_url, config.target_url, config.neuropil_url]):
            self.data_token(folder)

    def data_token(self, folder: Path) -> str:
        """The data-route token of a local folder, made (random) when first registered."""
        resolved = resolved_folder(folder)
        token = self.store.data_token(str(resolved))
        with self._lock:
            self._folders[token] = resolved
        return token

    def data_folder(self, token: str) -> Path | None:
        """The folder registered under ``token`` (by any worker), or ``None``."""
        with self._lock:
            known = self._folders.get(token)
        if known is not None:
            return known
        found = self.store.data_folder(token) if len(token) <= 64 else None
        if found is None:
            return None
        with self._lock:
            self._folders[token] = Path(found)
        return Path(found)

    def ng_origin_allowed(self, origin: str, request_host: str) -> bool:
        """Whether a data-route request comes from our Neuroglancer client: the app's own
        origin (the client is served under ``/neuroglancer/`` by the app)."""
        return same_origin(origin, request_host)
