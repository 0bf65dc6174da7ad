"""The one bounded cache of the app: a thread-safe LRU on ``cachetools.LRUCache``.

Every in-memory cache (decoded crops, opened volumes, encoded tiles, prepared neurons,
Neuroglancer viewers) is a ``BoundedCache``; its size comes from ``Settings``. Bounded by a
count of entries, or by a total size when ``sizeof`` is given (e.g. bytes). Values are
cache, not state: anything evicted can be made again.

- ``get_or_build`` builds outside the lock, so a slow build (opening a volume, preparing a
  neuron) never blocks readers of other keys; if two threads build the same key, the first
  value stored wins and both get it.
- ``on_evict(key, value)`` is called for each value pushed out by a newer one (not for
  ``pop`` or ``clear``), after the lock is released, so it may touch other caches.
- A value larger than the whole cache is returned but not stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _EvictionRecordingLRU(LRUCache):
    """An ``LRUCache`` that remembers what its own size limit pushed out."""

    def __init__(self, maxsize: float, getsizeof: Callable[[object], float] | None) -> None:
        super().__init__(maxsize, getsizeof)
        self.evicted: list[tuple[object, object]] = []

    def popitem(self) -> tuple[object, object]:
        item: tuple[object, object] = super().popitem()
        self.evicted.append(item)
        return item


class BoundedCache(Generic[K, V]):
    """At most ``max_size`` entries (or total ``sizeof``), least recently used out first."""

    def __init__(
        self,
        max_size: int,
        sizeof: Callable[[V], int] | None = None,
        on_evict: Callable[[K, V], object] | None = None,
    ) -> None:
        if max_size < 0:
            raise ValueError(f"a cache size must be >= 0, got {max_size}")
        self._sizeof = sizeof
        self._lru = _EvictionRecordingLRU(max_size, sizeof)  # type: ignore[arg-type]
        self._on_evict = on_evict
        self._lock = threading.RLock()

    @property
    def max_size(self) -> int:
        return int(self._lru.maxsize)

    @property
    def size(self) -> int:
        """Entries, or total ``sizeof`` of the entries."""
        with self._lock:
            return int(self._lru.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._lru)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._lru

    def keys(self) -> list[K]:
        """The keys (in no particular order)."""
        with self._lock:
            return list(self._lru.keys())

    def values(self) -> list[V]:
        with self._lock:
            return list(self._lru.values())

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())

    def get(self, key: K) -> V | None:
        """The value (now most recently used), or None."""
        with self._lock:
            found: V | None = self._lru.get(key)
            return found

    def put(self, key: K, value: V) -> V:
        """Store ``value`` (replacing any under ``key``) and return it."""
        with self._lock:
            self._store(key, value)
            evicted = self._take_evicted()
        self._notify(evicted)
        return value

    def put_if_absent(self, key: K, value: V) -> V:
        """The value already stored under ``key``, else ``value`` (then stored)."""
        with self._lock:
            existing: V | None = self._lru.get(key)
            if existing is not None:
                return existing
            self._store(key, value)
            evicted = self._take_evicted()
        self._notify(evicted)
        return value

    def get_or_build(self, key: K, build: Callable[[], V]) -> V:
        """The cached value, else ``build()`` (outside the lock) stored and returned."""
        found = self.get(key)
        if found is not None:
            return found
        return self.put_if_absent(key, build())

    def pop(self, key: K) -> V | None:
        with self._lock:
            popped: V | None = self._lru.pop(key, None)
            return popped

    def clear(self) -> list[V]:
        """Drop every entry; returns them (e.g. to close them)."""
        with self._lock:
            values = list(self._lru.values())
            self._lru.clear()
            return values

    def _store(self, key: K, value: V) -> None:
        # The old value goes first (replaced, not evicted: no ``on_evict`` for it).
        self._lru.pop(key, None)
        if self._sizeof is not None and self._sizeof(value) > self._lru.maxsize:
            return  # too large to keep
        self._lru[key] = value

    def _take_evicted(self) -> list[tuple[K, V]]:
        evicted = self._lru.evicted
        self._lru.evicted = []
        return evicted  # type: ignore[return-value]

    def _notify(self, evicted: list[tuple[K, V]]) -> None:
        if self._on_evict is not None:
            for key, value in evicted:
                self._on_evict(key, value)
