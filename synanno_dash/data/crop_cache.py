"""A thread-safe LRU of decoded crops, bounded by bytes.

Crops are cache, not state: anything evicted is read again from the volume. Stored arrays are
made read-only so that one caller cannot change what another caller gets from the cache; copy
an array before editing it.

Crops of instances that still need fixing can be *kept*: moved out of the LRU into a
separate budget (a quarter of the cache by default), so the categorize and correction views
find them however many pages were reviewed since. Memory stays bounded either way.

Two threads asking for the same missing key (a page read racing the prefetch of the same page)
share one load instead of reading the volume twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from synanno_dash.data.bounded_cache import BoundedCache

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    nbytes: int
    max_bytes: int


def _nbytes(array: np.ndarray) -> int:
    return int(array.nbytes)


class CropCache:
    """Least-recently-used arrays, at most ``max_bytes`` in total (0 disables caching)."""

    def __init__(
        self, max_bytes: int = DEFAULT_CACHE_BYTES, max_kept_bytes: int | None = None
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"cache size must be >= 0 bytes, got {max_bytes}")
        self._max_bytes = max_bytes
        max_kept = max_bytes // 4 if max_kept_bytes is None else max_kept_bytes
        self._items: BoundedCache[Hashable, np.ndarray] = BoundedCache(max_bytes, _nbytes)
        # Over budget, the oldest kept crop becomes ordinary cache again.
        self._kept: BoundedCache[Hashable, np.ndarray] = BoundedCache(
            max_kept, _nbytes, on_evict=self._items.put
        )
        self._hits = 0
        self._misses = 0
        self._loading: dict[Hashable, Future[np.ndarray]] = {}
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._hits, self._misses, len(self._items), self._items.size, self._max_bytes
            )

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items or key in self._kept

    @property
    def kept_nbytes(self) -> int:
        return self._kept.size

    def is_kept(self, key: Hashable) -> bool:
        return key in self._kept

    def keep(self, key: Hashable) -> bool:
        """Move a cached crop into the kept budget; ``False`` if it is not cached."""
        with self._lock:
            if key in self._kept:
                return True
            array = self._items.pop(key)
            if array is None:
                return False
            self._kept.put(key, array)
            if key not in self._kept:  # larger than the whole kept budget
                self._items.put(key, array)
                return False
            return True

    def release(self, key: Hashable) -> None:
        """A kept crop becomes ordinary cache (most recently used)."""
        with self._lock:
            array = self._kept.pop(key)
            if array is not None:
                self._items.put(key, array)

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            return self._lookup(key)

    def put(self, key: Hashable, array: np.ndarray) -> np.ndarray:
        """Store ``array`` (made read-only) and return it; too-large arrays are not kept."""
        array.setflags(write=False)
        self._items.put(key, array)
        return array

    def get_or_load(self, key: Hashable, load: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array for ``key``, calling ``load`` once on a miss."""
        with self._lock:
            cached = self._lookup(key)
            if cached is not None:
                return cached
            pending = self._loading.get(key)
            if pending is None:
                future: Future[np.ndarray] = Future()
                self._loading[key] = future
        if pending is not None:
            return pending.result()
        try:
            array = load()
            array.setflags(write=False)
        except BaseException as error:
            with self._lock:
                del self._loading[key]
            future.set_exception(error)
            raise
        with self._lock:
            del self._loading[key]
            self._items.put(key, array)
        future.set_result(array)
        return array

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._kept.clear()

    def _lookup(self, key: Hashable) -> np.ndarray | None:
        found = self._kept.get(key)
        if found is None:
            found = self._items.get(key)
        if found is None:
            self._misses += 1
        else:
            self._hits += 1
        return found
