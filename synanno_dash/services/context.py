"""App-wide resources, owned by one app instance (never module globals).

The Dash app keeps one ``AppContext`` in ``server.extensions``; callbacks reach it with
``synanno_dash.ui.session.app_context()``.

The Neuroglancer viewers are made on first use (importing and starting Neuroglancer costs
time that most requests never need). The local folders its client may fetch through the app's
data route are those of the datasets configured by sessions, of datasets shown in a viewer,
and of the demo.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data.store import SessionStore
from synanno_dash.data.table_registry import TableRegistry
from synanno_dash.data.volumes import VolumeRegistry
from synanno_dash.services.local_data import dataset_folders
from synanno_dash.services.neuron import NeuronViews
from synanno_dash.services.tile_images import TileImageCache
from synanno_dash.settings import Settings

if TYPE_CHECKING:
    from synanno_dash.services.neuroglancer_viewers import ViewerRegistry


@dataclass
class AppContext:
    settings: Settings
    store: SessionStore
    volumes: VolumeRegistry
    tables: TableRegistry
    # Prepared neuron skeletons and compartments (neuron-centric mode), built once each.
    neurons: NeuronViews = field(default_factory=NeuronViews)
    # Background work (page prefetch): bounded, so a burst of clicks cannot flood the box.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="bg")
    )
    # Encoded tile slices: the prefetch of the next page fills it, so moving on is instant.
    tile_images: TileImageCache = field(default_factory=TileImageCache)
    _viewers: ViewerRegistry | None = field(default=None, init=False, repr=False)
    _data_roots: set[Path] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def create(cls, settings: Settings) -> AppContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            store=SessionStore(settings.effective_database_url),
            volumes=VolumeRegistry(cache_bytes=settings.cache_bytes),
            tables=TableRegistry(cache_dir=settings.table_cache_dir),
        )

    @property
    def viewers(self) -> ViewerRegistry:
        """The sessions' Neuroglancer viewers, bound to the app's host (made on first use)."""
        with self._lock:
            if self._viewers is None:
                from synanno_dash.services.neuroglancer_viewers import ViewerRegistry

                self._viewers = ViewerRegistry(host=self.settings.host)
            return self._viewers

    def close_viewer(self, session_id: str) -> None:
        """Close a session's viewer, if Neuroglancer was ever started."""
        with self._lock:
            viewers = self._viewers
        if viewers is not None:
            viewers.close(session_id)

    def allow_dataset(self, config: DatasetConfig) -> None:
        """Let the data route serve ``config``'s local folders (before a viewer shows them)."""
        folders = dataset_folders([config.source_url, config.target_url, config.neuropil_url])
        with self._lock:
            self._known_roots().update(folders)

    def data_roots(self) -> frozenset[Path]:
        """The local folders the data route may serve (asked on every request it answers)."""
        with self._lock:
            return frozenset(self._known_roots())

    def _known_roots(self) -> set[Path]:
        # Read once: later datasets are added by ``allow_dataset`` when a viewer shows them.
        if self._data_roots is None:
            from synanno_dash.data.demo import DemoInfo

            urls = self.store.configured_volume_urls()
            try:
                demo = DemoInfo.load(self.settings.demo_dir)
                urls |= {demo.source_url, demo.target_url, demo.neuropil_url}
            except (FileNotFoundError, ValueError, KeyError, TypeError):
                pass  # no demo in this data folder
            self._data_roots = dataset_folders(urls)
        return self._data_roots
