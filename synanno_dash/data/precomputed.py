"""The one writer of Neuroglancer precomputed layers: the demo, the correction exports, the
tests and the benchmarks all create their layers here.

Layers are local folders written with CloudVolume, uncompressed (``compress=False``, raw
chunks): gzipped local chunks are stored as ``*.gz`` files, which Neuroglancer over HTTP and
tensorstore cannot read. Arrays are indexed x, y, z (CloudVolume's order); resolutions are
nm per voxel, x, y, z; offsets and sizes are voxels, x, y, z.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SKELETON_DIR = "skeletons"
SEGMENT_PROPERTIES_DIR = "segment_properties"


def new_layer(
    path: Path,
    layer_type: str,
    data_type: str,
    resolution_nm: Sequence[float],
    size_xyz_vx: Sequence[int],
    chunk_xyz_vx: Sequence[int],
    offset_xyz_vx: Sequence[int] = (0, 0, 0),
    *,
    skeletons: bool = False,
    skeleton_transform: Sequence[float] | None = None,
    segment_properties: bool = False,
) -> Any:  # a CloudVolume (imported lazily: ~2 s)
    """Create an empty layer (``layer_type`` "image" or "segmentation") and return it opened
    for writing: missing chunks read as zeros, writes need not align with chunks.

    ``skeletons`` adds an unsharded skeleton folder (``write_skeletons``), optionally with a
    ``skeleton_transform`` (row-major 3x4); ``segment_properties`` names the folder that
    ``write_segment_properties`` fills. Chunks never exceed the volume."""
    from cloudvolume import CloudVolume

    chunk = [min(int(c), max(1, int(s))) for c, s in zip(chunk_xyz_vx, size_xyz_vx, strict=True)]
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type=layer_type, data_type=data_type, encoding="raw",
        resolution=list(resolution_nm),
        voxel_offset=[int(v) for v in offset_xyz_vx], chunk_size=chunk,
        volume_size=[int(s) for s in size_xyz_vx],
    )  # fmt: skip
    if skeletons:
        info["skeletons"] = SKELETON_DIR
    if segment_properties:
        info["segment_properties"] = SEGMENT_PROPERTIES_DIR
    path.mkdir(parents=True, exist_ok=True)
    volume = CloudVolume(
        path.resolve().as_uri(), info=info, compress=False, progress=False, fill_missing=True,
        non_aligned_writes=True, bounded=True,
    )  # fmt: skip
    volume.commit_info()
    if skeletons:
        skeleton_info = volume.skeleton.meta.default_info()
        skeleton_info.pop("sharding", None)  # unsharded; a null entry confuses other readers
        skeleton_info.pop("spatial_index", None)
        if skeleton_transform is not None:
            skeleton_info["transform"] = [float(v) for v in skeleton_transform]
        volume.skeleton.meta.info = skeleton_info
        volume.skeleton.meta.commit_info()
    return volume


def write_volume(
    path: Path,
    data_xyz: np.ndarray,
    resolution_nm: Sequence[float],
    chunk_xyz_vx: Sequence[int],
    layer_type: str = "image",
    offset_xyz_vx: Sequence[int] = (0, 0, 0),
    *,
    skeletons: bool = False,
) -> str:
    """A new layer holding ``data_xyz`` (x, y, z) from ``offset_xyz_vx``; its ``file://`` URL."""
    volume = new_layer(
        path, layer_type, str(data_xyz.dtype), resolution_nm, data_xyz.shape[:3],
        chunk_xyz_vx, offset_xyz_vx, skeletons=skeletons,
    )  # fmt: skip
    (x0, y0, z0), (sx, sy, sz) = offset_xyz_vx, data_xyz.shape[:3]
    volume[x0 : x0 + sx, y0 : y0 + sy, z0 : z0 + sz] = data_xyz
    return str(path.resolve().as_uri())


@dataclass(frozen=True, eq=False)
class SkeletonData:
    """One neuron's skeleton: vertices (n, 3) in nm, x, y, z; edges (m, 2) vertex indices."""

    segment_id: int
    vertices_nm: np.ndarray
    edges: np.ndarray
    radii_nm: np.ndarray | None = None
    vertex_types: np.ndarray | None = None  # SWC types


def write_skeletons(path: Path, skeletons: Iterable[SkeletonData]) -> None:
    """Upload skeletons into a layer made with ``new_layer(..., skeletons=True)``."""
    from cloudvolume import CloudVolume, Skeleton

    volume = CloudVolume(path.resolve().as_uri(), compress=False, progress=False)
    volume.skeleton.upload([
        Skeleton(
            np.asarray(s.vertices_nm, dtype=np.float32),
            np.asarray(s.edges, dtype=np.uint32),
            radii=None if s.radii_nm is None else np.asarray(s.radii_nm, dtype=np.float32),
            vertex_types=None if s.vertex_types is None else np.asarray(s.vertex_types, np.uint8),
            segid=int(s.segment_id),
        )
        for s in skeletons
    ])  # fmt: skip


def write_segment_properties(path: Path, labels: Mapping[int, str]) -> None:
    """Segment labels of a layer made with ``new_layer(..., segment_properties=True)``."""
    folder = path / SEGMENT_PROPERTIES_DIR
    folder.mkdir(exist_ok=True)
    ordered = sorted(labels)
    document = {
        "@type": "neuroglancer_segment_properties",
        "inline": {
            "ids": [str(i) for i in ordered],
            "properties": [
                {"id": "label", "type": "label", "values": [labels[i] for i in ordered]}
            ],
        },
    }
    (folder / "info").write_text(json.dumps(document, indent=1))
