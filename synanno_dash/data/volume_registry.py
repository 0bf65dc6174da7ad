"""The app's opened volumes: a small LRU of ``VolumeSet``s, one per dataset configuration,
sharing one crop cache (``AppContext.volumes``), so opening per request costs a dict look-up.
"""

from __future__ import annotations

from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data.bounded_cache import BoundedCache
from synanno_dash.data.crop_cache import DEFAULT_CACHE_BYTES, CropCache
from synanno_dash.data.volume_layer import normalize_url
from synanno_dash.data.volumes import DEFAULT_OPEN_TIMEOUT_S, VolumeSet

__all__ = ["RegistryKey", "VolumeRegistry", "registry_key"]


RegistryKey = tuple[str, str, str, str, tuple[float, ...], tuple[float, ...]]


def registry_key(config: DatasetConfig) -> RegistryKey:
    """What identifies a set of volumes in a dataset configuration."""
    neuropil = normalize_url(config.neuropil_url) if config.neuropil_url else ""
    return (
        normalize_url(config.source_url),
        normalize_url(config.target_url),
        neuropil,
        config.secrets_path,
        config.source_resolution.as_tuple(),
        config.target_resolution.as_tuple(),
    )


class VolumeRegistry:
    """The most recently used ``VolumeSet``s, one per dataset configuration, sharing one cache.

    An evicted set is dropped, not closed, since a request may still be reading from it.
    """

    def __init__(
        self,
        max_sets: int = 4,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
    ) -> None:
        if max_sets < 1:
            raise ValueError("a registry keeps at least one volume set")
        self.max_sets = max_sets
        self.cache = CropCache(cache_bytes)
        self._open_timeout_s = open_timeout_s
        self._sets: BoundedCache[RegistryKey, VolumeSet] = BoundedCache(max_sets)

    def __len__(self) -> int:
        return len(self._sets)

    def get(self, config: DatasetConfig) -> VolumeSet:
        """The open volumes of ``config``, opening them (outside the lock) on first use;
        when another request opened them meanwhile, that set is kept and returned."""
        return self._sets.get_or_build(registry_key(config), lambda: self._open(config))

    def _open(self, config: DatasetConfig) -> VolumeSet:
        return VolumeSet.open(
            config.source_url, config.target_url, config.neuropil_url or None,
            config.secrets_path or None, config.source_resolution, config.target_resolution,
            cache=self.cache, open_timeout_s=self._open_timeout_s,
        )  # fmt: skip

    def adopt(self, config: DatasetConfig, volume_set: VolumeSet) -> VolumeSet:
        """Keep a set opened elsewhere (e.g. while validating a form) for ``config``."""
        return self._sets.put(registry_key(config), volume_set)

    def close(self) -> None:
        for volume_set in self._sets.clear():
            volume_set.close()
        self.cache.clear()
