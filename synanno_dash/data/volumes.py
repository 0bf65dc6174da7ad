"""Read EM and cleft-segmentation crops of a dataset: ``VolumeSet``.

Developer notes
- Boxes given here are in TARGET voxels (x, y, z, half-open, absolute coordinates that include
  the voxel offset). The EM crop is the box covering the same physical region at the SOURCE
  resolution (``BBox.scaled``); no fixed factors.
- Returned arrays are in z, y, x order with the channel axis dropped. They are shared with the
  crop cache and read-only: copy one before editing it.
- Crops past the volume border are zero-padded, never shifted; the padding (voxels before and
  after, per axis x, y, z) is recorded with the crop.
- Remote layers are read chunk by chunk, each chunk of a page once (``page_reads``); local
  layers crop by crop, sequentially (never CloudVolume ``parallel>1``, which forks processes).
- ``read_tiles`` never fails a page for one tile: each ``TileRead`` holds crops or a "could not
  read" sentence (for a placeholder with Retry); ``retry`` reads the failed ones again.
- ``prefetch(boxes, lane=session)`` returns a ``Prefetch`` handle; a session's new prefetch
  cancels its stale one (the user jumped), and at most ``MAX_PREFETCH_LANES`` run at once.
- A ``VolumeSet`` keeps its opened CloudVolumes; the app keeps one ``VolumeRegistry``
  (``volume_registry.py``: a small LRU of sets, one per dataset configuration) so opening per
  request costs a dict look-up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.data.crop_cache import DEFAULT_CACHE_BYTES, CropCache
from synanno_dash.data.page_reads import (
    DEFAULT_DEADLINE_S,
    CancelToken,
    ChunkFetches,
    InstanceCrops,
    LayerRead,
    Prefetch,
    PrefetchLanes,
    TileRead,
    read_chunked,
    read_direct,
)
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
    "Prefetch",
    "TileRead",
    "LayerCrop",
    "VolumeError",
    "VolumeSet",
    "normalize_url",
]

DEFAULT_OPEN_TIMEOUT_S = 60.0
MAX_PREFETCH_LANES = 8
PREFETCH_WORKERS = 2


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
        self._prefetches = PrefetchLanes(MAX_PREFETCH_LANES, PREFETCH_WORKERS)
        self._chunk_fetches: ChunkFetches | None = None
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
    def source_itemsize(self) -> int:
        """Bytes per EM voxel (uint8: 1)."""
        return int(self._source.dtype.itemsize)

    @property
    def target_itemsize(self) -> int:
        """Bytes per cleft voxel (uint8 .. uint64: 1 .. 8)."""
        return int(self._target.dtype.itemsize)

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
        problem = self._box_problem(bbox_target_vx)
        if problem:
            raise VolumeError(problem)
        (tile,) = self.read_tiles([bbox_target_vx])
        if tile.crops is None:
            raise VolumeError(tile.error or "The crop could not be read.")
        return tile.crops

    def read_tiles(
        self,
        bboxes: Sequence[BBox],
        deadline_s: float = DEFAULT_DEADLINE_S,
        token: CancelToken | None = None,
    ) -> list[TileRead]:
        """One ``TileRead`` per box, in order: its crops, or why they could not be read.

        Never raises for a tile that cannot be read (a dead server, a damaged chunk, a box
        outside the volume): the other tiles still read. Reading failed tiles again is the
        retry (see ``retry``). Remote reads wait at most ``deadline_s``.
        """
        self._check_open()
        boxes = list(bboxes)
        problems = [self._box_problem(b) for b in boxes]
        readable = [b for b, p in zip(boxes, problems, strict=True) if not p]
        source_boxes = [self.source_box(b) for b in readable]
        reads = self._read_layers(
            [(self._target, readable), (self._source, source_boxes)], deadline_s, token
        )
        targets, sources = iter(reads[0]), iter(reads[1])
        tiles = []
        for bbox, problem in zip(boxes, problems, strict=True):
            if problem:
                tiles.append(TileRead(bbox, None, problem))
                continue
            target, source = next(targets), next(sources)
            if target.data_zyx is None or source.data_zyx is None:
                tiles.append(TileRead(bbox, None, target.error or source.error))
                continue
            tiles.append(TileRead(bbox, self._instance(bbox, target.data_zyx, source.data_zyx)))
        return tiles

    def retry(
        self, tiles: Sequence[TileRead], deadline_s: float = DEFAULT_DEADLINE_S
    ) -> list[TileRead]:
        """Read the failed tiles of a page again; tiles that were read are kept as they are."""
        failed = [t.bbox_target_vx for t in tiles if t.crops is None]
        again = iter(self.read_tiles(failed, deadline_s))
        return [t if t.crops is not None else next(again) for t in tiles]

    def _read_layers(
        self,
        work: list[tuple[VolumeLayer, list[BBox]]],
        deadline_s: float,
        token: CancelToken | None,
    ) -> list[list[LayerRead]]:
        """Each layer's crops; remote layers at the same time, so their latencies overlap."""
        if all(layer.chunks is None for layer, _ in work):
            return [self._read_layer(layer, boxes, deadline_s, token) for layer, boxes in work]
        with ThreadPoolExecutor(len(work), thread_name_prefix="synanno-layer") as pool:
            futures = [
                pool.submit(self._read_layer, layer, boxes, deadline_s, token)
                for layer, boxes in work
            ]
            return [f.result() for f in futures]

    def _read_layer(
        self,
        layer: VolumeLayer,
        boxes: list[BBox],
        deadline_s: float,
        token: CancelToken | None,
    ) -> list[LayerRead]:
        if layer.chunks is None:
            return read_direct(lambda b: layer.crop(b, self.cache).data_zyx, boxes, token)
        keys = [layer.cache_key(b) for b in boxes]
        return read_chunked(self._fetches(), layer.chunks, boxes, keys, deadline_s, token)

    def _fetches(self) -> ChunkFetches:
        with self._lock:
            if self._chunk_fetches is None:
                self._chunk_fetches = ChunkFetches(self.cache)
            return self._chunk_fetches

    def _box_problem(self, bbox_target_vx: BBox) -> str | None:
        if bbox_target_vx.is_empty:
            return f"The box {format_box(bbox_target_vx)} is empty: it has no voxels."
        if not bbox_target_vx.overlaps(self.target_bounds):
            return (
                f"The box {format_box(bbox_target_vx)} (target voxels) lies entirely outside the "
                f"target volume ({format_box(self.target_bounds)}). Check the synapse "
                "coordinates and the resolutions."
            )
        return None

    def _instance(
        self, bbox_target_vx: BBox, target_zyx: np.ndarray, source_zyx: np.ndarray
    ) -> InstanceCrops:
        target = self._target.as_crop(bbox_target_vx, target_zyx)
        source = self._source.as_crop(self.source_box(bbox_target_vx), source_zyx)
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
        return self._source.is_local and self._target.is_local

    def read_page(
        self, bboxes: Sequence[BBox], max_workers: int | None = None
    ) -> list[InstanceCrops]:
        """``read_instance`` for each box, in order; raises the first tile's ``VolumeError``.

        ``max_workers`` is kept for callers of the former thread-per-crop reader: remote pages
        are now read chunk by chunk on the set's fetch pool, local pages sequentially.
        """
        crops = []
        for tile in self.read_tiles(bboxes):
            if tile.crops is None:
                raise VolumeError(tile.error or "A crop could not be read.")
            crops.append(tile.crops)
        return crops

    def prefetch(self, bboxes: Sequence[BBox], lane: str = "") -> Prefetch:
        """Warm the cache with a page in the background; returns a handle to cancel it.

        One prefetch per ``lane`` (e.g. a browser session): a new one cancels the lane's
        previous one unless it asks for the same boxes (a user who jumps does not wait for the
        page they jumped from). At most ``MAX_PREFETCH_LANES`` lanes; the oldest is cancelled.
        """
        with self._lock:
            self._check_open()
        return self._prefetches.start(lane, list(bboxes), self._prefetch_read)

    def _prefetch_read(self, boxes: list[BBox], token: CancelToken) -> list[TileRead]:
        return self.read_tiles(boxes, DEFAULT_DEADLINE_S, token)

    def cancel_prefetch(self, lane: str = "") -> None:
        """Cancel the lane's prefetch, if any (the user jumped elsewhere or left)."""
        self._prefetches.cancel(lane)

    def read_neuropil(self, bbox_target_vx: BBox) -> LayerCrop:
        """The neuropil crop covering a target-voxel box, at the neuropil's resolution."""
        self._check_open()
        if self._neuropil is None:
            raise VolumeError("No neuropil volume was opened: enter its address in the form.")
        box = bbox_target_vx.scaled(self.target_resolution, self._neuropil.resolution)
        (read,) = self._read_layer(self._neuropil, [box], DEFAULT_DEADLINE_S, None)
        if read.data_zyx is None:
            raise VolumeError(read.error or "The neuropil crop could not be read.")
        return self._neuropil.as_crop(box, read.data_zyx)

    def close(self) -> None:
        """Stop prefetching and drop the volumes; reads afterwards raise ``VolumeError``."""
        with self._lock:
            self._closed = True
            if self._chunk_fetches is not None:
                self._chunk_fetches.shutdown()
                self._chunk_fetches = None
        self._prefetches.close()

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
