"""Fetch and decode the chunks of one precomputed layer (unsharded or sharded), at mip 0.

Developer notes
- A chunk is named by its grid point ``(i, j, k)`` (x, y, z, counted from the voxel offset);
  its box is ``chunk_box``, clipped to the volume (border chunks are smaller).
- Unsharded: one file per chunk (``<key>/<x0>-<x1>_<y0>-<y1>_<z0>-<z1>``). Sharded
  (``neuroglancer_uint64_sharded_v1``): a chunk is a byte range of its shard file, found through
  the shard index and a minishard index, both fetched once (by one thread when several ask)
  and kept.
  CloudVolume's ``ShardReader`` gives the shard location and decodes both indices; the bytes
  travel through ``ByteSource``, so every request has a timeout and at most one retry.
- Decoding is CloudVolume's (``cloudvolume.chunks.decode``): raw, compressed_segmentation,
  jpeg, png and the rest, exactly as a CloudVolume cutout decodes them.
- A chunk that does not exist (404, or absent from its shard) reads as the layer's fill value
  (0, as CloudVolume's ``fill_missing``); the first one of a layer is logged once.
- Decoded chunks are z, y, x arrays (views of CloudVolume's Fortran-ordered x, y, z blocks).

Why not ``cv[...]`` per crop: CloudVolume's HTTP client has no timeout and retries up to seven
times with back-off (a dead server holds a read for ~30 s), a cutout of a sharded layer reads
the shard and minishard indices again every time, and neighbouring crops fetch their shared
chunks twice. Fetching chunks here lets a page read each chunk once and fail tile by tile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from synanno_dash.core.geometry import BBox

log = logging.getLogger(__name__)

GridPoint = tuple[int, int, int]
_HTTP_SCHEMES = ("http://", "https://")
_INDEX_CACHE_ENTRIES = 1024


class ChunkReadError(Exception):
    """Chunks could not be fetched (network, server error, damaged data)."""


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160]}" if text else type(error).__name__


class ByteSource:
    """Files (or byte ranges of files) under one layer folder; ``None`` when a file is absent."""

    def __init__(
        self, url: str, secrets: dict[str, Any] | None, timeout_s: float, pool_size: int = 32
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._http: Any = None
        self._cloudfiles: Any = None
        if self.url.startswith(_HTTP_SCHEMES):
            import requests

            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if secrets and "user" in secrets and "password" in secrets:
                session.auth = (secrets["user"], secrets["password"])
            self._http = session
        else:
            from cloudfiles import CloudFiles

            self._cloudfiles = CloudFiles(self.url, secrets=secrets, progress=False)

    def get(self, path: str, start: int | None = None, stop: int | None = None) -> bytes | None:
        """The file's bytes ``[start, stop)`` (the whole file by default)."""
        if self._http is not None:
            return self._get_http(path, start, stop)
        request: dict[str, Any] = {"path": path}
        if start is not None:
            request.update(start=start, end=stop)
        try:
            found = self._cloudfiles.get([request], raw=False, return_dict=False)
        except Exception as error:  # any transport failure, worded by the caller
            raise ChunkReadError(_reason(error)) from None
        (result,) = found
        if result.get("error"):
            raise ChunkReadError(_reason(result["error"]))
        return result.get("content")

    def _get_http(self, path: str, start: int | None, stop: int | None) -> bytes | None:
        import requests

        headers = {"Range": f"bytes={start}-{(stop or 1) - 1}"} if start is not None else {}
        address = f"{self.url}/{path}"
        last: BaseException | None = None
        for attempt in range(2):  # one quick retry: a connection reset is common, a dead host not
            try:
                response = self._http.get(
                    address, headers=headers, timeout=(min(3.0, self.timeout_s), self.timeout_s)
                )
            except requests.RequestException as error:
                last = error
            else:
                if response.status_code in (403, 404):
                    return None
                if response.status_code < 500:
                    if response.status_code >= 400:
                        raise ChunkReadError(f"HTTP {response.status_code} for {address}")
                    return bytes(response.content)  # gzip Content-Encoding is undone here
                last = ChunkReadError(f"HTTP {response.status_code} for {address}")
            if attempt == 0:
                time.sleep(0.1)
        assert last is not None
        raise ChunkReadError(_reason(last))


class LayerChunks:
    """The chunk geometry, encoding and fetching of one layer at mip 0."""

    def __init__(self, url: str, info: dict[str, Any], source: ByteSource, role: str) -> None:
        scale = info["scales"][0]
        self.url = url
        self.role = role
        self.key = scale["key"]
        self.encoding = scale.get("encoding", "raw")
        self.dtype = np.dtype(info["data_type"])
        self.block_size = scale.get("compressed_segmentation_block_size")
        self.chunk_xyz = np.array(scale["chunk_sizes"][0], dtype=np.int64)
        self.offset_xyz = np.array(scale["voxel_offset"], dtype=np.int64)
        self.size_xyz = np.array(scale["size"], dtype=np.int64)
        self.grid_xyz = -(-self.size_xyz // self.chunk_xyz)
        self._source = source
        self._shards = (
            _ShardIndex(scale["sharding"], source, self.key) if scale.get("sharding") else None
        )
        self._warned_missing = False
        self._lock = threading.Lock()

    @property
    def sharded(self) -> bool:
        return self._shards is not None

    def chunks_for(self, bbox_vx: BBox) -> list[GridPoint]:
        """Grid points of the chunks a box (clipped to the volume) overlaps; none if outside."""
        start = np.maximum(np.array(bbox_vx.start_xyz) - self.offset_xyz, 0)
        stop = np.minimum(np.array(bbox_vx.stop_xyz) - self.offset_xyz, self.size_xyz)
        if np.any(stop <= start):
            return []
        low, high = start // self.chunk_xyz, (stop - 1) // self.chunk_xyz + 1
        return [
            (i, j, k)
            for k in range(low[2], high[2])
            for j in range(low[1], high[1])
            for i in range(low[0], high[0])
        ]

    def chunk_box(self, point: GridPoint) -> BBox:
        start = self.offset_xyz + np.array(point) * self.chunk_xyz
        stop = np.minimum(start + self.chunk_xyz, self.offset_xyz + self.size_xyz)
        return BBox.from_bounds(tuple(start.tolist()), tuple(stop.tolist()))

    def fetch(self, points: Sequence[GridPoint]) -> dict[GridPoint, np.ndarray]:
        """Decoded z, y, x chunks; raises ``ChunkReadError`` when the group cannot be read."""
        if self._shards is None:
            contents = {p: self._source.get(f"{self.key}/{self._filename(p)}") for p in points}
        else:
            by_code = {self._morton(p): p for p in points}
            found = self._shards.get(list(by_code))
            contents = {point: found.get(code) for code, point in by_code.items()}
        return {point: self._decode(point, content) for point, content in contents.items()}

    def _filename(self, point: GridPoint) -> str:
        box = self.chunk_box(point)
        return "_".join(f"{a}-{b}" for a, b in zip(box.start_xyz, box.stop_xyz, strict=True))

    def _morton(self, point: GridPoint) -> int:
        from cloudvolume.datasource.precomputed.common import compressed_morton_code

        return int(compressed_morton_code(point, self.grid_xyz.tolist()))

    def _decode(self, point: GridPoint, content: bytes | None) -> np.ndarray:
        shape_xyz = self.chunk_box(point).shape_xyz
        if content is None or len(content) == 0:
            self._note_missing(point)
            return np.zeros(shape_xyz[::-1], dtype=self.dtype)
        from cloudvolume import chunks

        try:
            block = chunks.decode(
                content, self.encoding, shape=(*shape_xyz, 1), dtype=self.dtype,
                block_size=self.block_size, background_color=0,
            )  # fmt: skip
        except Exception as error:  # a damaged or mislabelled chunk
            raise ChunkReadError(
                f"chunk {self._filename(point)} is not valid {self.encoding} data "
                f"({_reason(error)})"
            ) from None
        return np.asarray(block)[..., 0].T  # Fortran x, y, z -> C-ordered z, y, x view

    def _note_missing(self, point: GridPoint) -> None:
        with self._lock:
            if self._warned_missing:
                return
            self._warned_missing = True
        log.warning(
            "The %s volume %s has no chunk %s (and maybe others): reading it as the fill value "
            "0, as CloudVolume does. Said once per layer.",
            self.role, self.url, self._filename(point),
        )  # fmt: skip


class _ShardIndex:
    """Shard and minishard indices of a sharded layer, fetched once and kept (bounded)."""

    def __init__(self, sharding: dict[str, Any], source: ByteSource, key: str) -> None:
        from cloudvolume.datasource.precomputed.sharding import (
            ShardingSpecification,
            ShardReader,
        )

        # The reader is used only for its pure helpers (locations, index decoding).
        self._reader = ShardReader(None, None, ShardingSpecification.from_dict(sharding))
        self._index_length = self._reader.spec.index_length()
        self._data_encoding = self._reader.spec.data_encoding
        self._source = source
        self._key = key
        self._indices: OrderedDict[tuple, Future[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def filename(self, code: int) -> str:
        return str(self._reader.compute_shard_location(code)[0])

    def get(self, codes: list[int]) -> dict[int, bytes | None]:
        """Bytes of each chunk code (all in one shard file), ``None`` where it is absent."""
        found: dict[int, bytes | None] = {}
        by_minishard: dict[int, list[int]] = {}
        filename = ""
        for code in codes:
            filename, minishard = self._reader.compute_shard_location(code)
            by_minishard.setdefault(int(minishard), []).append(code)
        shard_index = self._cached(("shard", filename), lambda: self._shard_index(filename))
        for minishard, members in by_minishard.items():
            entries = None
            if shard_index is not None:
                entries = self._cached(
                    ("minishard", filename, minishard),
                    lambda m=minishard: self._minishard(filename, shard_index, m),
                )
            for code in members:
                found[code] = self._chunk(filename, entries, code)
        return found

    def _cached(self, key: tuple, load: Any) -> Any:
        """``load()`` once per key, also when several threads ask at the same time."""
        with self._lock:
            entry = self._indices.get(key)
            owner = entry is None
            if entry is None:
                entry = self._indices[key] = Future()
                while len(self._indices) > _INDEX_CACHE_ENTRIES:
                    self._indices.popitem(last=False)
            else:
                self._indices.move_to_end(key)
        if not owner:
            return entry.result()
        try:
            entry.set_result(load())
        except BaseException as error:
            with self._lock:
                self._indices.pop(key, None)  # a failure is not kept: the next read tries again
            entry.set_exception(error)
        return entry.result()

    def _path(self, filename: str) -> str:
        return f"{self._key}/{filename}"

    def _shard_index(self, filename: str) -> np.ndarray | None:
        binary = self._source.get(self._path(filename), 0, self._index_length)
        if binary is None:
            return None  # no shard file: every chunk of it is missing
        return self._reader.decode_index(binary, filename)

    def _minishard(self, filename: str, shard_index: np.ndarray, minishard: int) -> np.ndarray:
        start, stop = (int(v) for v in shard_index[minishard])
        if stop <= start:
            return np.zeros((0, 3), dtype=np.uint64)
        binary = self._source.get(self._path(filename), start, stop)
        if binary is None:
            raise ChunkReadError(f"shard {filename} vanished while it was read")
        return self._reader.decode_minishard_index(binary, filename)

    def _chunk(self, filename: str, entries: np.ndarray | None, code: int) -> bytes | None:
        if entries is None or len(entries) == 0:
            return None
        rows = np.flatnonzero(entries[:, 0] == np.uint64(code))
        if rows.size == 0:
            return None
        _label, offset, size = (int(v) for v in entries[rows[0]])
        binary = self._source.get(self._path(filename), offset, offset + size)
        if binary is None:
            raise ChunkReadError(f"shard {filename} vanished while it was read")
        if self._data_encoding != "raw":
            from cloudvolume import compression

            return bytes(compression.decompress(binary, encoding=self._data_encoding))
        return binary
