"""Write the demo's precomputed layers with CloudVolume.

Uncompressed (``compress=False``): gzipped local chunks are stored as ``*.gz`` files, which
Neuroglancer over HTTP and tensorstore cannot read. Arrays are indexed ``[x, y, z]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synanno_dash.core.geometry import FloatTriple, Triple
from synanno_dash.data.demo_neurons import Tree

SKELETON_DIR = "skeletons"


def _open_new(
    path: Path, layer_type: str, array_xyz: np.ndarray, resolution_nm: FloatTriple,
    chunk_xyz_vx: Triple, skeletons: bool,
):  # -> CloudVolume (imported lazily: ~2 s)
    from cloudvolume import CloudVolume

    info = CloudVolume.create_new_info(
        num_channels=1,
        layer_type=layer_type,
        data_type=str(array_xyz.dtype),
        encoding="raw",
        resolution=list(resolution_nm),
        voxel_offset=[0, 0, 0],
        chunk_size=list(chunk_xyz_vx),
        volume_size=list(array_xyz.shape[:3]),
    )
    if skeletons:
        info["skeletons"] = SKELETON_DIR
    cv = CloudVolume(path.resolve().as_uri(), info=info, compress=False, progress=False)
    cv.commit_info()
    return cv


def write_image(
    path: Path, array_xyz: np.ndarray, resolution_nm: FloatTriple, chunk_xyz_vx: Triple
) -> None:
    cv = _open_new(path, "image", array_xyz, resolution_nm, chunk_xyz_vx, False)
    cv[:, :, :] = array_xyz


def write_segmentation(
    path: Path, array_xyz: np.ndarray, resolution_nm: FloatTriple, chunk_xyz_vx: Triple,
    skeletons: bool = False,
) -> None:
    cv = _open_new(path, "segmentation", array_xyz, resolution_nm, chunk_xyz_vx, skeletons)
    cv[:, :, :] = array_xyz


def write_skeletons(path: Path, trees: list[Tree], segment_ids: list[int]) -> None:
    """One precomputed skeleton per tree: vertices in nm, radii, SWC types as vertex types."""
    from cloudvolume import CloudVolume, Skeleton

    cv = CloudVolume(path.resolve().as_uri(), compress=False, progress=False)
    info = cv.skeleton.meta.default_info()
    info.pop("sharding")  # unsharded; a null entry would only confuse other readers
    info.pop("spatial_index")
    cv.skeleton.meta.info = info
    cv.skeleton.meta.commit_info()
    skeletons = [
        Skeleton(
            tree.vertices_nm.astype(np.float32),
            tree.edges,
            radii=tree.radii_nm.astype(np.float32),
            vertex_types=tree.types.astype(np.uint8),
            segid=segment_id,
        )
        for tree, segment_id in zip(trees, segment_ids, strict=True)
    ]
    cv.skeleton.upload(skeletons)
