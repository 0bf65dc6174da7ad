"""Read EM and cleft-segmentation crops of a dataset: ``VolumeSet`` and ``VolumeRegistry``.

Developer notes
- Boxes given here are in TARGET voxels (x, y, z, half-open, absolute coordinates that include
  the voxel offset). The EM crop is the box covering the same physical region at the SOURCE
  resolution (``BBox.scaled``); no fixed factors.
- Returned arrays are in z, y, x order with the channel axis dropped. They are shared with the
  crop cache and read-only: copy one before editing it.
- Crops past the volume border are zero-padded, never shifted; the padding (voxels before and
  after, per axis x, y, z) is recorded with the crop.
- Parallelism is threads over crops (never CloudVolume ``parallel>1``, which forks processes).
- A ``VolumeSet`` keeps its opened CloudVolumes; the app keeps one ``VolumeRegistry`` (a small
  LRU of sets, one per dataset configuration) so opening per request costs a dict look-up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from synanno_dash.core.geometry import BBox, Resolution, Triple
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data.bounded_cache import BoundedCache
from synanno_dash.data.crop_cache import DEFAULT_CACHE_BYTES, CropCache
from synanno_dash.data.volume_layer import (
    UNSIGNED_DTYPES,
    LayerCrop,
    VolumeError,
    VolumeLayer,
    format_box,
    normalize_url,
    read_secrets,
)

__all__ = [
    "InstanceCrops",
    "LayerCrop",
    "VolumeError",
    "VolumeRegistry",
    "VolumeSet",
    "normalize_url",
    "registry_key",
]

DEFAULT_OPEN_TIMEOUT_S = 60.0


@dataclass(frozen=True, eq=False)
class InstanceCrops:
    """EM (source resolution) and cleft (target resolution) crops of one box, z, y, x arrays."""

    em_zyx: np.ndarray
    cleft_zyx: np.ndarray
    bbox_target_vx: BBox
    bbox_source_vx: BBox
    padding_target_before_xyz: Triple
    padding_target_after_xyz: Triple
    padding_source_before_xyz: Triple
    padding_source_after_xyz: Triple
    source_resolution: Resolution
    target_resolution: Resolution


class VolumeSet:
    """The source (EM), target (clefts) and optional neuropil volumes of one dataset.

    Open with ``VolumeSet.open``. Thread-safe for reads; owns its crop cache (or shares one
    given by a ``VolumeRegistry``) and one background thread for prefetching.
    """

    def __init__(
        self,
        source: VolumeLayer,
        target: VolumeLayer,
        neuropil: VolumeLayer | None,
        cache: CropCache,
    ) -> None:
        self._source, self._target, self._neuropil = source, target, neuropil
        self.cache = cache
        self._lock = threading.Lock()
        self._prefetcher: ThreadPoolExecutor | None = None
        self._closed = False

    @classmethod
    def open(
        cls,
        source_url: str,
        target_url: str,
        neuropil_url: str | None = None,
        secrets_path: str | None = None,
        source_resolution: Resolution | None = None,
        target_resolution: Resolution | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        cache: CropCache | None = None,
        open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
    ) -> VolumeSet:
        """Open the layers; resolutions given here must match each volume's info (mip 0)."""
        secrets = read_secrets(secrets_path)
        with _role("source"):
            source = VolumeLayer.open(
                "source (EM)", source_url, ("uint8",), secrets, source_resolution, open_timeout_s
            )
        with _role("target"):
            target = VolumeLayer.open(
                "target (cleft segmentation)", target_url, UNSIGNED_DTYPES, secrets,
                target_resolution, open_timeout_s,
            )  # fmt: skip
        neuropil = None
        if neuropil_url:
            with _role("neuropil"):
                neuropil = VolumeLayer.open(
                    "neuropil", neuropil_url, UNSIGNED_DTYPES, secrets, None, open_timeout_s
                )
        return cls(source, target, neuropil, cache if cache is not None else CropCache(cache_bytes))

    @property
    def source_resolution(self) -> Resolution:
        return self._source.resolution

    @property
    def target_resolution(self) -> Resolution:
        return self._target.resolution

    @property
    def neuropil_resolution(self) -> Resolution | None:
        return self._neuropil.resolution if self._neuropil else None

    @property
    def source_bounds(self) -> BBox:
        """The source volume's extent in source voxels."""
        return self._source.bounds_vx

    @property
    def target_bounds(self) -> BBox:
        """The target volume's extent in target voxels."""
        return self._target.bounds_vx

    def source_box(self, bbox_target_vx: BBox) -> BBox:
        """The source-voxel box covering the same physical region as a target box."""
        return bbox_target_vx.scaled(self.target_resolution, self.source_resolution)

    def read_instance(self, bbox_target_vx: BBox) -> InstanceCrops:
        """EM and cleft crops of a target-voxel box; arrays are z, y, x and read-only."""
        self._check_open()
        if bbox_target_vx.is_empty:
            raise VolumeError(f"The box {format_box(bbox_target_vx)} is empty: it has no voxels.")
        if not bbox_target_vx.overlaps(self.target_bounds):
            raise VolumeError(
                f"The box {format_box(bbox_target_vx)} (target voxels) lies entirely outside the "
                f"target volume ({format_box(self.target_bounds)}). Check the synapse "
                "coordinates and the resolutions."
            )
        target = self._target.crop(bbox_target_vx, self.cache)
        source = self._source.crop(self.source_box(bbox_target_vx), self.cache)
        return InstanceCrops(
            em_zyx=source.data_zyx,
            cleft_zyx=target.data_zyx,
            bbox_target_vx=bbox_target_vx,
            bbox_source_vx=source.bbox_vx,
            padding_target_before_xyz=target.padding_before_xyz,
            padding_target_after_xyz=target.padding_after_xyz,
            padding_source_before_xyz=source.padding_before_xyz,
            padding_source_after_xyz=source.padding_after_xyz,
            source_resolution=self.source_resolution,
            target_resolution=self.target_resolution,
        )

    def _crop_keys(self, bbox_target_vx: BBox) -> tuple[tuple, tuple]:
        return (
            self._target.cache_key(bbox_target_vx),
            self._source.cache_key(self.source_box(bbox_target_vx)),
        )

    def keep_instance(self, bbox_target_vx: BBox) -> bool:
        """Keep an instance's crops (it needs fixing); ``False`` if they are not cached yet."""
        return all([self.cache.keep(key) for key in self._crop_keys(bbox_target_vx)])

    def release_instance(self, bbox_target_vx: BBox) -> None:
        """An instance no longer needs fixing: its crops become ordinary cache."""
        for key in self._crop_keys(bbox_target_vx):
            self.cache.release(key)

    @property
    def is_local(self) -> bool:
        """All layers are ``file://``: reads are CPU-bound, so threads only add GIL contention."""
        return all(layer.url.startswith("file://") for layer in (self._source, self._target))

    def read_page(
        self, bboxes: Sequence[BBox], max_workers: int | None = None
    ) -> list[InstanceCrops]:
        """``read_instance`` for each box, in the order given; on a pool of threads for remote
        volumes, where reads wait on the network (default 4), sequentially for local ones."""
        self._check_open()
        if not bboxes:
            return []
        if max_workers is None:
            max_workers = 1 if self.is_local else 4
        workers = max(1, min(max_workers, len(bboxes)))
        if workers == 1 or all(self._is_cached(b) for b in bboxes):  # threads cost more than hits
            return [self.read_instance(b) for b in bboxes]
        with ThreadPoolExecutor(workers, thread_name_prefix="synanno-read") as pool:
            return list(pool.map(self.read_instance, bboxes))

    def prefetch(
        self, bboxes: Sequence[BBox], max_workers: int | None = None
    ) -> Future[list[InstanceCrops]]:
        """Warm the cache with a page in the background; the caller may ignore the Future.

        Prefetches run one page at a time, so a burst of page turns cannot flood the machine.
        """
        boxes = list(bboxes)
        with self._lock:
            self._check_open()
            if self._prefetcher is None:
                self._prefetcher = ThreadPoolExecutor(1, thread_name_prefix="synanno-prefetch")
            return self._prefetcher.submit(self.read_page, boxes, max_workers)

    def read_neuropil(self, bbox_target_vx: BBox) -> LayerCrop:
        """The neuropil crop covering a target-voxel box, at the neuropil's resolution."""
        self._check_open()
        if self._neuropil is None:
            raise VolumeError("No neuropil volume was opened: enter its address in the form.")
        box = bbox_target_vx.scaled(self.target_resolution, self._neuropil.resolution)
        return self._neuropil.crop(box, self.cache)

    def close(self) -> None:
        """Stop prefetching and drop the volumes; reads afterwards raise ``VolumeError``."""
        with self._lock:
            self._closed = True
            if self._prefetcher is not None:
                self._prefetcher.shutdown(wait=False, cancel_futures=True)
                self._prefetcher = None

    def __enter__(self) -> VolumeSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _is_cached(self, bbox_target_vx: BBox) -> bool:
        source_key = self._source.cache_key(self.source_box(bbox_target_vx))
        return self._target.cache_key(bbox_target_vx) in self.cache and source_key in self.cache

    def _check_open(self) -> None:
        if self._closed:
            raise VolumeError("These volumes were closed: open the dataset again.")


@contextmanager
def _role(role: str) -> Iterator[None]:
    """Tag a ``VolumeError`` raised inside with the layer it concerns."""
    try:
        yield
    except VolumeError as exc:
        if exc.role is None:
            exc.role = role
        raise


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
