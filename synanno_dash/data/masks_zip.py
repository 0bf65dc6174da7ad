"""The masks zip of the correction exports: one .npy per instance, one PNG per edited slice,
and a manifest; file names carry the instance id, the box and the slice.

The format is documented in ``docs/formats.md``. Masks are (z, y, x) arrays at the target
resolution over an instance's drawing box (absolute target voxels, half-open, x, y, z).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from synanno_dash.core.geometry import BBox

ZIP_FORMAT_VERSION = 1
_NAME = re.compile(
    r"instance-(?P<id>\d+)_x(?P<x0>-?\d+)\.\.(?P<x1>-?\d+)_y(?P<y0>-?\d+)\.\.(?P<y1>-?\d+)"
    r"_z(?P<z0>-?\d+)\.\.(?P<z1>-?\d+)(?:_slice-z(?P<z>-?\d+))?\.(?P<ext>npy|png)"
)


# -- file names -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MaskFileName:
    instance_id: int
    bbox_target_vx: BBox
    z_vx: int | None = None  # absolute target z of a slice PNG; None for the instance .npy

    @property
    def name(self) -> str:
        (x0, y0, z0), (x1, y1, z1) = self.bbox_target_vx.start_xyz, self.bbox_target_vx.stop_xyz
        stem = f"instance-{self.instance_id:05d}_x{x0}..{x1}_y{y0}..{y1}_z{z0}..{z1}"
        return f"{stem}.npy" if self.z_vx is None else f"{stem}_slice-z{self.z_vx}.png"


def parse_mask_file_name(name: str) -> MaskFileName:
    """Read instance id, box and slice back from a file name of the masks zip."""
    found = _NAME.fullmatch(Path(name).name)
    if found is None:
        raise ValueError(f"{name!r} is not a mask file name of a SynAnno Dash masks zip")
    g = {k: v for k, v in found.groupdict().items() if k != "ext"}
    box = BBox(
        (int(g["x0"]), int(g["y0"]), int(g["z0"])), (int(g["x1"]), int(g["y1"]), int(g["z1"]))
    )
    return MaskFileName(int(g["id"]), box, None if g["z"] is None else int(g["z"]))


# -- masks zip ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class InstanceMask:
    """One instance's corrected mask: (z, y, x) over ``bbox_target_vx``; edited slices."""

    instance_id: int
    bbox_target_vx: BBox
    mask_zyx: np.ndarray
    edited_z_vx: tuple[int, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _png_bytes(mask_yx: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.where(mask_yx, 255, 0).astype(np.uint8), "L").save(buffer, format="PNG")
    return buffer.getvalue()


def masks_zip(masks: Iterable[InstanceMask], manifest: Mapping[str, Any]) -> bytes:
    """A zip: one uint8 (0/1) .npy per instance, one PNG (0/255) per edited slice, and
    ``manifest.json`` (``manifest`` plus one entry per instance)."""
    buffer = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in masks:
            box = item.bbox_target_vx
            if item.mask_zyx.shape != box.shape_xyz[::-1]:
                raise ValueError(
                    f"mask of instance {item.instance_id} is {item.mask_zyx.shape} (z, y, x) but "
                    f"its box {box.as_list()} needs {box.shape_xyz[::-1]}"
                )
            npy = MaskFileName(item.instance_id, box).name
            archive.writestr(npy, _npy_bytes(item.mask_zyx.astype(np.uint8)))
            pngs = []
            for z in sorted(item.edited_z_vx):
                if box.start_xyz[2] <= z < box.stop_xyz[2]:
                    png = MaskFileName(item.instance_id, box, z).name
                    archive.writestr(png, _png_bytes(item.mask_zyx[z - box.start_xyz[2]]))
                    pngs.append(png)
            entries.append({**item.info, "instance_id": item.instance_id, "npy": npy,
                            "slice_pngs": pngs, "bbox_target_xyz_vx": box.as_list()})  # fmt: skip
        document = {"format_version": ZIP_FORMAT_VERSION, **manifest, "instances": entries}
        archive.writestr("manifest.json", json.dumps(document, indent=1))
    return buffer.getvalue()


