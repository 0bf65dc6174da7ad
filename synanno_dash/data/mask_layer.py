"""The corrected masks as a new precomputed segmentation layer (one segment per instance),
written with the project's one layer writer (``data.precomputed``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.data.precomputed import new_layer, write_segment_properties


def write_segmentation_layer(
    path: Path,
    bounds_target_vx: BBox,
    resolution: Resolution,
    masks: Sequence[tuple[int, BBox, np.ndarray]],
    labels: Mapping[int, str] | None = None,
    chunk_xyz_vx: tuple[int, int, int] = (64, 64, 16),
    on_painted: Callable[[int], None] | None = None,
) -> str:
    """Write ``(segment_id, box, mask_zyx)`` masks into a new precomputed segmentation.

    Same geometry as the target volume (``bounds`` and ``resolution``), uncompressed raw
    chunks (Neuroglancer over HTTP and tensorstore read them), segment labels as
    ``segment_properties``. Masks overlapping an earlier one win where they are set; zeros
    never erase. Returns the layer's ``file://`` URL. ``on_painted(n)`` is called after the
    n-th mask (progress).
    """
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty: choose a new folder for the layer")
    ids = [segment_id for segment_id, _box, _mask in masks]
    if any(i <= 0 for i in ids):
        raise ValueError("segment ids must be positive (0 is background)")
    dtype = "uint32" if max(ids, default=0) < 2**32 else "uint64"
    cv = new_layer(
        path, "segmentation", dtype, resolution.as_tuple(), bounds_target_vx.shape_xyz,
        chunk_xyz_vx, bounds_target_vx.start_xyz, segment_properties=True,
    )  # fmt: skip
    for done, (segment_id, box, mask_zyx) in enumerate(masks, start=1):
        _paint(cv, bounds_target_vx, segment_id, box, mask_zyx, np.dtype(dtype))
        if on_painted is not None:
            on_painted(done)
    write_segment_properties(path, {i: (labels or {}).get(i, f"segment {i}") for i in ids})
    return str(path.resolve().as_uri())


def _paint(cv: Any, bounds: BBox, segment_id: int, box: BBox, mask_zyx: np.ndarray,
           dtype: np.dtype) -> None:  # fmt: skip
    clipped = box.intersect(bounds)
    if clipped.is_empty or not mask_zyx.any():
        return
    lo = [c - b for c, b in zip(clipped.start_xyz, box.start_xyz, strict=True)]
    hi = [c - b for c, b in zip(clipped.stop_xyz, box.start_xyz, strict=True)]
    part_xyz = mask_zyx[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]].transpose(2, 1, 0)
    if not part_xyz.any():
        return
    (x0, y0, z0), (x1, y1, z1) = clipped.start_xyz, clipped.stop_xyz
    region = np.asarray(cv[x0:x1, y0:y1, z0:z1])[..., 0].astype(dtype)  # read-modify-write
    region[part_xyz] = segment_id
    cv[x0:x1, y0:y1, z0:z1] = region[..., None]
