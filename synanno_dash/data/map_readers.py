"""Readers of detector maps besides precomputed and HDF5 (``data.prediction_maps``): TIFF
stacks (``tifffile``) and zarr (v2 and v3) or N5 arrays (``tensorstore``).

Both carry no voxel size the importer can trust, so the resolution is given (or the source's
is used), as for HDF5. Axes are those of the files as detectors write them: z, y, x (a 2D TIFF
is one slice), optionally with a channel axis first or last (picked by ``channel``). Boxes are
read slice by slice (TIFF: one page per z) or chunk by chunk (zarr, N5): a map larger than
memory is never loaded whole. Arrays come back indexed x, y, z.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from synanno_dash.core.geometry import BBox, Resolution, Triple

TIFF_SUFFIXES = (".tif", ".tiff")
ARRAY_SUFFIXES = (".zarr", ".n5")
Reader = Callable[[BBox], np.ndarray]
Opened = tuple[str, Triple, Triple, np.dtype, Reader]  # path, size, chunk, dtype, reader


class ReaderError(ValueError):
    """A file that cannot be read as a map; the message names the problem and the fix."""


def kind_of(url: str) -> str:
    """ "tiff", "array" (zarr/N5) or "" for a map address."""
    if "://" in url and not url.startswith("file://"):
        return ""
    path = url.removeprefix("file://")
    if Path(path).suffix.lower() in TIFF_SUFFIXES:
        return "tiff"
    if any(Path(part).suffix.lower() in ARRAY_SUFFIXES for part in Path(path).parts):
        return "array"
    return ""


def _channel_axis(shape: tuple[int, ...], name: str, channel: int | None) -> int | None:
    if len(shape) == 3:
        return None
    if len(shape) != 4:
        raise ReaderError(f"The map {name} has {len(shape)} axes: give a 3D (z, y, x) map.")
    axis = 3 if shape[3] <= shape[0] else 0
    if channel is None or not 0 <= channel < shape[axis]:
        raise ReaderError(
            f"The map {name} has {shape[axis]} channels: pick the synapse class with "
            f"--channel N (0-{shape[axis] - 1})."
        )
    return axis


def open_tiff(url: str) -> Opened:
    """A TIFF stack: one page per z slice (a 2D TIFF is one slice)."""
    import tifffile

    path = Path(url.removeprefix("file://")).expanduser()
    if not path.is_file():
        raise ReaderError(f"The TIFF map {path} does not exist: check the path.")
    try:
        handle = tifffile.TiffFile(path)
        series = handle.series[0]
    except (tifffile.TiffFileError, OSError, IndexError) as error:
        raise ReaderError(f"{path} is not a readable TIFF file ({error}).") from None
    shape = tuple(int(n) for n in series.shape)
    pages = series.pages
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or len(pages) != shape[0]:
        raise ReaderError(
            f"The TIFF map {path} has axes {series.axes} ({len(pages)} pages): give a stack "
            "of 2D pages, one per z slice (split the channels first)."
        )
    size_xyz = (shape[2], shape[1], shape[0])

    def read(box: BBox) -> np.ndarray:
        (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
        planes = [np.asarray(_page(pages, z).asarray())[y0:y1, x0:x1] for z in range(z0, z1)]
        return np.stack(planes).transpose(2, 1, 0)

    chunk = (size_xyz[0], size_xyz[1], 1)
    return str(path), size_xyz, chunk, np.dtype(series.dtype), read


def _page(pages: Any, z: int) -> Any:
    page = pages[z]
    if page is None:
        raise ReaderError(f"The TIFF map has no page for slice z = {z}: rewrite the stack.")
    return page


def _tensorstore_spec(path: Path) -> dict[str, Any]:
    for marker, driver in ((".zarray", "zarr"), ("zarr.json", "zarr3"), ("attributes.json", "n5")):
        if (path / marker).is_file():
            return {"driver": driver, "kvstore": {"driver": "file", "path": str(path)}}
    raise ReaderError(
        f"{path} holds no zarr or N5 array (no .zarray, zarr.json or attributes.json): give "
        "the folder of the array itself, e.g. predictions.zarr/clefts."
    )


def open_array(url: str, channel: int | None) -> Opened:
    """A zarr (v2, v3) or N5 array through tensorstore, read chunk-aligned boxes at a time."""
    import tensorstore as ts

    path = Path(url.removeprefix("file://")).expanduser()
    if not path.is_dir():
        raise ReaderError(f"The zarr/N5 map {path} does not exist: check the path.")
    try:
        store = ts.open(_tensorstore_spec(path), read=True, open=True).result()
    except ValueError as error:
        raise ReaderError(f"{path} is not a readable zarr/N5 array ({error}).") from None
    shape = tuple(int(n) for n in store.shape)
    axis = _channel_axis(shape, str(path), channel)
    spatial = [n for a, n in enumerate(shape) if a != axis]
    size_xyz = (spatial[2], spatial[1], spatial[0])
    chunks = store.chunk_layout.read_chunk.shape or shape
    spatial_chunks = [int(n or 64) for a, n in enumerate(chunks) if a != axis]
    chunk = (spatial_chunks[2], spatial_chunks[1], spatial_chunks[0])

    def read(box: BBox) -> np.ndarray:
        (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
        index: list[Any] = [slice(z0, z1), slice(y0, y1), slice(x0, x1)]
        if axis is not None:
            index.insert(axis, channel)
        return np.asarray(store[tuple(index)].read().result()).transpose(2, 1, 0)

    return str(path), size_xyz, chunk, np.dtype(store.dtype.numpy_dtype), read


def open_reader(url: str, channel: int | None) -> Opened:
    """The TIFF or zarr/N5 map at ``url`` (``kind_of(url)`` is not empty)."""
    if kind_of(url) == "tiff":
        if channel is not None:
            raise ReaderError("A TIFF map is a stack of 2D pages: drop --channel.")
        return open_tiff(url)
    return open_array(url, channel)


def bounds_of(size_xyz: Triple) -> BBox:
    return BBox((0, 0, 0), size_xyz)


def needs_resolution(path: str, resolution: Resolution | None) -> Resolution:
    if resolution is None:
        raise ReaderError(
            f"The map {path} carries no voxel size: give --resolution X,Y,Z in nm (or "
            "--source, whose resolution is then used)."
        )
    return resolution
