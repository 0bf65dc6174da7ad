"""App-wide resources, owned by one app instance (never module globals).

The Dash app keeps one ``AppContext`` in ``server.extensions``; callbacks reach it with
``synanno_dash.ui.session.app_context()``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from synanno_dash.data.store import SessionStore
from synanno_dash.data.table_registry import TableRegistry
from synanno_dash.data.volumes import VolumeRegistry
from synanno_dash.services.neuron import NeuronViews
from synanno_dash.services.tile_images import TileImageCache
from synanno_dash.settings import Settings


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

    @classmethod
    def create(cls, settings: Settings) -> AppContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            store=SessionStore(settings.effective_database_url),
            volumes=VolumeRegistry(cache_bytes=settings.cache_bytes),
            tables=TableRegistry(cache_dir=settings.table_cache_dir),
        )
