"""Detector outputs to import: a probability map or a label volume, read box by box.

Readers: Neuroglancer precomputed (local or remote, through ``VolumeLayer``: CloudVolume),
HDF5 (``h5py``, as ilastik and most detectors write; ``FILE.h5`` or ``FILE.h5:/dataset``,
axes z, y, x, optionally with a leading or trailing channel axis picked by ``channel``), and
TIFF stacks and zarr/N5 arrays (``data.map_readers``: tifffile, tensorstore; local files).
Boxes are voxels of the map, x, y, z, half-open; arrays come back indexed x, y, z.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synanno_dash.core.detection import LABEL_DTYPES, PROBABILITY_DTYPES
from synanno_dash.core.geometry import BBox, Resolution, Triple
from synanno_dash.data import map_readers
from synanno_dash.data.volume_layer import VolumeError, VolumeLayer

MAP_DTYPES = PROBABILITY_DTYPES + LABEL_DTYPES
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
OPEN_TIMEOUT_S = 30.0
DEFAULT_HDF5_CHUNK_XYZ: Triple = (64, 64, 16)


class MapError(ValueError):
    """A map that cannot be imported; the message names the problem and the fix."""


@dataclass(frozen=True, eq=False)
class PredictionMap:
    """An opened map: geometry (map voxels, x, y, z) and a reader of boxes inside it."""

    url: str
    resolution: Resolution
    bounds_vx: BBox
    chunk_xyz_vx: Triple
    dtype: np.dtype
    read_xyz: Callable[[BBox], np.ndarray]

    @property
    def is_label_volume(self) -> bool:
        return self.dtype.name in LABEL_DTYPES

    @property
    def value_range(self) -> tuple[float, float]:
        """The range a probability can take in this data type (uint8: 0-255, floats: 0-1)."""
        return (0.0, 255.0) if self.dtype == np.uint8 else (0.0, 1.0)


def _fmt(resolution: Resolution) -> str:
    return "x".join(f"{v:g}" for v in resolution.as_tuple()) + " nm"


def _check_dtype(dtype: np.dtype, url: str) -> None:
    if dtype.name not in MAP_DTYPES:
        raise MapError(
            f"The map {url} holds {dtype.name} voxels: give a probability map (float32, "
            "float64 in 0-1, or uint8 in 0-255) or a label volume (uint16, uint32, uint64); "
            "convert signed or other types first."
        )


def open_map(
    url: str, resolution: Resolution | None = None, channel: int | None = None,
    fallback_resolution: Resolution | None = None,
) -> PredictionMap:
    """Open a precomputed folder/URL or an HDF5 file; ``resolution`` (nm, x, y, z) must match
    a precomputed map's info; HDF5 carries none: ``resolution`` or else ``fallback_resolution``
    (the source's) is used."""
    path_part = url.split(":/", 1)[0] if "://" not in url else url
    if map_readers.kind_of(url):
        return _open_file_map(url, resolution or fallback_resolution, channel)
    if Path(path_part).suffix.lower() in HDF5_SUFFIXES:
        return _open_hdf5(url, resolution or fallback_resolution, channel)
    return _open_precomputed(url, resolution)


def _open_precomputed(url: str, resolution: Resolution | None) -> PredictionMap:
    try:
        layer = VolumeLayer.open("probability map", url, MAP_DTYPES, None, None, OPEN_TIMEOUT_S)
    except VolumeError as error:
        raise MapError(str(error)) from None
    given = resolution
    if given is not None and not all(
        math.isclose(a, b, rel_tol=1e-6)
        for a, b in zip(given.as_tuple(), layer.resolution.as_tuple(), strict=True)
    ):
        raise MapError(
            f"--resolution {_fmt(given)} differs from the map's info ({_fmt(layer.resolution)}) "
            f"for {layer.url}: drop --resolution or correct the map's info file."
        )

    def read(box: BBox) -> np.ndarray:
        return layer.read(box).transpose(2, 1, 0)  # z, y, x -> x, y, z (a view)

    return PredictionMap(
        layer.url, layer.resolution, layer.bounds_vx, layer.chunk_xyz_vx, layer.dtype, read
    )


def _open_file_map(
    url: str, resolution: Resolution | None, channel: int | None
) -> PredictionMap:
    """A TIFF stack or a zarr/N5 array (``data.map_readers``)."""
    try:
        path, size_xyz, chunk, dtype, read = map_readers.open_reader(url, channel)
        given = map_readers.needs_resolution(path, resolution)
    except map_readers.ReaderError as error:
        raise MapError(str(error)) from None
    _check_dtype(dtype, path)
    return PredictionMap(path, given, map_readers.bounds_of(size_xyz), chunk, dtype, read)


def _open_hdf5(url: str, resolution: Resolution | None, channel: int | None) -> PredictionMap:
    import h5py

    file_name, _, dataset_name = url.partition(":/")
    path = Path(file_name).expanduser()
    if not path.is_file():
        raise MapError(f"The HDF5 map {path} does not exist: check the path.")
    if resolution is None:
        raise MapError(
            f"The HDF5 map {path} carries no voxel size: give --resolution X,Y,Z in nm "
            "(or --source, whose resolution is then used)."
        )
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise MapError(f"{path} is not a readable HDF5 file ({error}).") from None
    dataset = _pick_dataset(handle, path, dataset_name)
    shape = dataset.shape
    channel_axis = _channel_axis(shape, path, channel)
    _check_dtype(dataset.dtype, str(path))
    spatial = [n for a, n in enumerate(shape) if a != channel_axis]
    size_xyz = (int(spatial[2]), int(spatial[1]), int(spatial[0]))
    chunks = dataset.chunks
    chunk = DEFAULT_HDF5_CHUNK_XYZ
    if chunks:
        spatial_chunks = [n for a, n in enumerate(chunks) if a != channel_axis]
        chunk = (int(spatial_chunks[2]), int(spatial_chunks[1]), int(spatial_chunks[0]))

    def read(box: BBox) -> np.ndarray:
        (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
        index: list[object] = [slice(z0, z1), slice(y0, y1), slice(x0, x1)]
        if channel_axis is not None:
            index.insert(channel_axis, channel)
        return np.asarray(dataset[tuple(index)]).transpose(2, 1, 0)

    return PredictionMap(
        str(path), resolution, BBox((0, 0, 0), size_xyz), chunk, np.dtype(dataset.dtype), read
    )


def _pick_dataset(handle: Any, path: Path, name: str) -> Any:
    import h5py

    if name:
        item = handle.get(name)
        if not isinstance(item, h5py.Dataset):
            raise MapError(f"{path} has no dataset /{name}: name one with FILE.h5:/DATASET.")
        return item
    found: list[h5py.Dataset] = []
    handle.visititems(
        lambda _n, obj: found.append(obj) if isinstance(obj, h5py.Dataset) and obj.ndim in (3, 4)
        else None
    )
    if len(found) != 1:
        raise MapError(
            f"{path} holds {len(found)} 3D/4D datasets: name the map with FILE.h5:/DATASET."
        )
    return found[0]


def _channel_axis(shape: tuple[int, ...], path: Path, channel: int | None) -> int | None:
    if len(shape) == 3:
        return None
    if len(shape) != 4:
        raise MapError(f"The map in {path} has {len(shape)} axes: give a 3D (z, y, x) dataset.")
    axis = 3 if shape[3] <= shape[0] else 0  # ilastik writes z, y, x, c; others c, z, y, x
    if channel is None or not 0 <= channel < shape[axis]:
        raise MapError(
            f"The map in {path} has {shape[axis]} channels: pick the synapse class with "
            f"--channel N (0-{shape[axis] - 1})."
        )
    return axis
