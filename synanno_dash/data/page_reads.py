"""Read the crops of a page tile by tile: each chunk once, failures per tile, cancellable.

Developer notes
- Remote layers are read chunk by chunk (``chunk_fetch.LayerChunks``): the chunks every crop
  of a page needs are gathered first, each is fetched once on a bounded pool (also when two
  crops or a page read and a prefetch want it at the same time), kept in the crop cache under
  ``("chunk", url, grid point)`` and copied into the crops. Local layers are read crop by crop
  with CloudVolume (file reads are cheap; per-chunk Python work would cost more than it saves).
- A crop whose chunks could not be read gives a ``LayerRead`` with an error instead of data;
  ``VolumeSet.read_tiles`` turns these into ``TileRead``s, so one bad chunk costs one tile,
  not the page. Failures are never cached: reading the tile again is the retry.
- A page read waits at most ``deadline_s``; fetches still running then are abandoned (their
  results still land in the cache) and their tiles say they timed out.
- ``CancelToken``: a prefetch that is no longer wanted stops submitting work and withdraws the
  fetches it queued that have not started (a read that joined one of those submits it again).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from synanno_dash.core.geometry import BBox, Resolution, Triple
from synanno_dash.data.chunk_fetch import ChunkReadError, GridPoint, LayerChunks
from synanno_dash.data.crop_cache import CropCache
from synanno_dash.data.volume_layer import VolumeError, format_box

DEFAULT_DEADLINE_S = 30.0
DEFAULT_FETCH_WORKERS = 64


@dataclass(frozen=True, eq=False)
class LayerRead:
    """One layer's crop of one box: ``data_zyx``, or ``error`` (a sentence for the user)."""

    data_zyx: np.ndarray | None
    error: str | None = None


@dataclass
class CancelToken:
    """Set by whoever no longer wants a read; fetches it queued are withdrawn."""

    cancelled: bool = False
    _queued: list[Future[dict[GridPoint, np.ndarray]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            queued, self._queued = self._queued, []
        for future in queued:
            future.cancel()  # only those not started yet

    def track(self, future: Future[dict[GridPoint, np.ndarray]]) -> None:
        with self._lock:
            if self.cancelled:
                future.cancel()
            else:
                self._queued.append(future)


class ChunkFetches:
    """A bounded pool fetching chunks, each at most once at a time, into a ``CropCache``."""

    def __init__(self, cache: CropCache, workers: int = DEFAULT_FETCH_WORKERS) -> None:
        self.cache = cache
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="synanno-chunk")
        self._running: dict[tuple, Future[dict[GridPoint, np.ndarray]]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(layer: LayerChunks, point: GridPoint) -> tuple:
        return ("chunk", layer.url, point)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def request(
        self, layer: LayerChunks, points: Sequence[GridPoint], token: CancelToken | None
    ) -> dict[GridPoint, Future[dict[GridPoint, np.ndarray]]]:
        """A future per point: done at once for cached chunks, shared with running fetches."""
        futures: dict[GridPoint, Future[dict[GridPoint, np.ndarray]]] = {}
        with self._lock:
            for point in points:
                key = self.key(layer, point)
                cached = self.cache.get(key)
                if cached is not None:
                    done: Future[dict[GridPoint, np.ndarray]] = Future()
                    done.set_result({point: cached})
                    futures[point] = done
                    continue
                running = self._running.get(key)
                if running is None or running.cancelled():
                    running = self._pool.submit(self._fetch, layer, point)
                    self._running[key] = running
                    if token is not None:
                        token.track(running)
                futures[point] = running
        return futures

    def abandon(self, layer: LayerChunks, points: Sequence[GridPoint]) -> None:
        """Forget fetches still running, so the next read starts new ones (a retry)."""
        with self._lock:
            for point in points:
                future = self._running.get(self.key(layer, point))
                if future is not None and not future.done():
                    del self._running[self.key(layer, point)]

    def _fetch(self, layer: LayerChunks, point: GridPoint) -> dict[GridPoint, np.ndarray]:
        key = self.key(layer, point)
        try:
            chunk = layer.fetch([point])[point]
            self.cache.put(key, chunk)
            return {point: chunk}
        finally:
            with self._lock:
                self._running.pop(key, None)


def _assemble(layer: LayerChunks, bbox_vx: BBox, chunks: dict[GridPoint, np.ndarray]) -> np.ndarray:
    """The z, y, x crop of ``bbox_vx`` from its chunks; 0 outside the volume."""
    out = np.zeros(bbox_vx.shape_xyz[::-1], dtype=layer.dtype)
    for point, chunk in chunks.items():
        box = layer.chunk_box(point)
        inside = box.intersect(bbox_vx)
        if inside.is_empty:
            continue
        (x0, y0, z0), (x1, y1, z1) = inside.start_xyz, inside.stop_xyz
        bx, by, bz = box.start_xyz
        ox, oy, oz = bbox_vx.start_xyz
        out[z0 - oz : z1 - oz, y0 - oy : y1 - oy, x0 - ox : x1 - ox] = chunk[
            z0 - bz : z1 - bz, y0 - by : y1 - by, x0 - bx : x1 - bx
        ]
    return out


def read_chunked(
    fetches: ChunkFetches,
    layer: LayerChunks,
    boxes: Sequence[BBox],
    crop_keys: Sequence[tuple],
    deadline_s: float,
    token: CancelToken | None = None,
) -> list[LayerRead]:
    """Crops of ``boxes`` (layer voxels), each chunk fetched once, cached under ``crop_keys``."""
    results: list[LayerRead | None] = [None] * len(boxes)
    wanted: dict[int, list[GridPoint]] = {}
    for i, (box, key) in enumerate(zip(boxes, crop_keys, strict=True)):
        cached = fetches.cache.get(key)
        if cached is not None:
            results[i] = LayerRead(cached)
        else:
            wanted[i] = layer.chunks_for(box)
    points = list(dict.fromkeys(p for ps in wanted.values() for p in ps))
    outcome = _await_chunks(fetches, layer, points, deadline_s, token)
    for i, needed in wanted.items():
        errors = [outcome[p] for p in needed if isinstance(outcome[p], str)]
        if errors:
            results[i] = LayerRead(
                None,
                f"Could not read the {layer.role} crop {format_box(boxes[i])} from {layer.url} "
                f"({errors[0]}). Retry when the volume answers again.",
            )
            continue
        chunks = {p: outcome[p] for p in needed}
        data = _assemble(layer, boxes[i], chunks)  # type: ignore[arg-type]
        results[i] = LayerRead(fetches.cache.put(crop_keys[i], data))
    return [r for r in results if r is not None]


def _await_chunks(
    fetches: ChunkFetches,
    layer: LayerChunks,
    points: list[GridPoint],
    deadline_s: float,
    token: CancelToken | None,
) -> dict[GridPoint, np.ndarray | str]:
    """Each point's chunk, or a sentence saying why it could not be read."""
    outcome: dict[GridPoint, np.ndarray | str] = {}
    end = time.monotonic() + deadline_s
    pending = points
    while pending:
        futures = fetches.request(layer, pending, token)
        wait(set(futures.values()), timeout=max(0.0, end - time.monotonic()))
        retry: list[GridPoint] = []
        for point, future in futures.items():
            if future.cancelled():
                if token is not None and token.cancelled:
                    outcome[point] = "the read was cancelled"
                else:
                    retry.append(point)  # joined a prefetch that was withdrawn
            elif not future.done():
                outcome[point] = f"no answer within {deadline_s:g} s"
            else:
                outcome[point] = _chunk_or_reason(future)
        timed_out = [p for p, v in outcome.items() if isinstance(v, str) and "no answer" in v]
        fetches.abandon(layer, timed_out)
        if retry and time.monotonic() >= end:
            outcome.update({p: f"no answer within {deadline_s:g} s" for p in retry})
            retry = []
        pending = retry
    return outcome


def _chunk_or_reason(future: Future[dict[GridPoint, np.ndarray]]) -> np.ndarray | str:
    try:
        return next(iter(future.result().values()))
    except ChunkReadError as error:
        return str(error)
    except CancelledError:
        return "the read was cancelled"


def read_direct(
    read: Callable[[BBox], np.ndarray],
    boxes: Sequence[BBox],
    token: CancelToken | None = None,
) -> list[LayerRead]:
    """Crops read one after the other by ``read`` (local layers); a failure costs one crop."""
    results = []
    for box in boxes:
        if token is not None and token.cancelled:
            results.append(LayerRead(None, "the read was cancelled"))
            continue
        try:
            results.append(LayerRead(read(box)))
        except VolumeError as error:
            results.append(LayerRead(None, str(error)))
    return results


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


@dataclass(frozen=True, eq=False)
class TileRead:
    """One tile of a page: its crops, or ``error``, a sentence for a "could not read" tile."""

    bbox_target_vx: BBox
    crops: InstanceCrops | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.crops is not None


class Prefetch:
    """A page being read in the background: ``cancel`` it when it is no longer wanted."""

    def __init__(
        self, boxes: list[BBox], token: CancelToken, future: Future[list[TileRead]]
    ) -> None:
        self.boxes = boxes
        self._token = token
        self._future = future

    @property
    def cancelled(self) -> bool:
        return self._token.cancelled

    def cancel(self) -> None:
        self._token.cancel()
        self._future.cancel()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> list[TileRead]:
        return self._future.result(timeout)


class PrefetchLanes:
    """Background page reads, at most one per lane and ``max_lanes`` in all."""

    def __init__(self, max_lanes: int, workers: int) -> None:
        self._max_lanes = max_lanes
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lanes: OrderedDict[str, Prefetch] = OrderedDict()
        self._lock = threading.Lock()

    def start(
        self,
        lane: str,
        boxes: list[BBox],
        read: Callable[[list[BBox], CancelToken], list[TileRead]],
    ) -> Prefetch:
        """The lane's prefetch of ``boxes``: the running one if it reads the same boxes, else
        a new one (the lane's former one, and the oldest lane beyond the limit, cancelled)."""
        with self._lock:
            current = self._lanes.pop(lane, None)
            if current is not None and current.boxes == boxes and not current.cancelled:
                self._lanes[lane] = current
                return current
            stale = [current] if current is not None else []
            while len(self._lanes) >= self._max_lanes:
                stale.append(self._lanes.popitem(last=False)[1])
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self._workers, thread_name_prefix="synanno-prefetch"
                )
            token = CancelToken()
            handle = self._lanes[lane] = Prefetch(
                boxes, token, self._pool.submit(read, boxes, token)
            )
        for old in stale:
            old.cancel()
        return handle

    def cancel(self, lane: str) -> None:
        with self._lock:
            handle = self._lanes.pop(lane, None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        with self._lock:
            handles = list(self._lanes.values())
            self._lanes.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        for handle in handles:
            handle.cancel()
