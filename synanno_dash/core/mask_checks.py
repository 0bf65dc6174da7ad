"""Checks of a corrected mask before export (WEBKNOSSOS's ground-truth guide: no holes, no
stray islands, consistent across slices). Pure functions over a (z, y, x) bool stack whose
slice ``k`` is absolute target slice ``z0 + k``.

- *hole*: background in a slice that is enclosed by the mask (4-connected background not
  reaching the slice border);
- *island*: in a slice, a component (8-connected) other than the slice's largest one (a slice
  is what the drawing view edits; across slices a gap would split any 3D component);
- *gap*: an empty slice between two slices with mask;
- *border*: mask voxels on the crop's x/y border (the synapse may continue outside).

Each problem names the absolute slice a click should jump to. The drawing view runs the checks
after every stroke, so each slice is cut to its mask's bounding box (one background voxel
around it) before filling and labelling: the cost follows the mask, not the crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import ndimage

EIGHT = ndimage.generate_binary_structure(2, 2)


class Problem(StrEnum):
    HOLE = "hole"
    ISLAND = "island"
    GAP = "gap"
    BORDER = "border"


@dataclass(frozen=True)
class MaskIssue:
    problem: Problem
    z: int  # absolute target slice to show
    voxels: int  # how many voxels (slices for a gap run: its length)
    message: str


def _masked_planes(mask_zyx: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(slice index, plane) of every slice with mask, each plane cut to its mask's bounding
    box with one background voxel around it: background touching the box's edge reaches the
    slice border, so holes and components are the same as in the whole slice."""
    rows_zy: np.ndarray = np.any(mask_zyx, axis=2)
    columns_zx: np.ndarray = np.any(mask_zyx, axis=1)
    planes = []
    for k in np.flatnonzero(rows_zy.any(axis=1)).tolist():
        rows, columns = np.flatnonzero(rows_zy[k]), np.flatnonzero(columns_zx[k])
        box = mask_zyx[k, rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        planes.append((k, np.pad(box, 1)))
    return planes


def _hole_sizes(plane: np.ndarray) -> np.ndarray:
    """Sizes of the 4-connected background components of a padded plane apart from the
    outside one (the padding ring is background, so the outside holds voxel [0, 0])."""
    labels, count = ndimage.label(~plane)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[[0, labels[0, 0]]] = 0
    return sizes[sizes > 0]


def _holes(planes: list[tuple[int, np.ndarray]], z0: int) -> list[MaskIssue]:
    issues = []
    for k, plane in planes:
        for size in _hole_sizes(plane).tolist():
            issues.append(MaskIssue(
                Problem.HOLE, z0 + k, size,
                f"slice z={z0 + k}: a hole of {size} voxels inside the mask",
            ))  # fmt: skip
    return issues


def _islands(planes: list[tuple[int, np.ndarray]], z0: int) -> list[MaskIssue]:
    issues = []
    for k, plane in planes:
        labels, count = ndimage.label(plane, structure=EIGHT)
        if count < 2:
            continue
        sizes = np.bincount(labels.ravel())[1:]
        for index in np.argsort(-sizes, kind="stable")[1:]:
            size = int(sizes[index])
            issues.append(MaskIssue(
                Problem.ISLAND, z0 + k, size,
                f"slice z={z0 + k}: an island of {size} voxels apart from the main mask",
            ))  # fmt: skip
    return issues


def holes(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Enclosed background regions, one issue per hole per slice."""
    return _holes(_masked_planes(np.asarray(mask_zyx, dtype=bool)), z0)


def islands(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Per slice, the components apart from the slice's largest one."""
    return _islands(_masked_planes(np.asarray(mask_zyx, dtype=bool)), z0)


def gaps(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Runs of empty slices between slices with mask, at their first slice."""
    filled = np.flatnonzero(mask_zyx.reshape(len(mask_zyx), -1).any(axis=1))
    issues = []
    for before, after in zip(filled[:-1], filled[1:]):
        if after - before > 1:
            start, length = z0 + int(before) + 1, int(after - before - 1)
            issues.append(MaskIssue(
                Problem.GAP, start, length,
                f"slices z={start}..{start + length - 1}: no mask between masked slices",
            ))  # fmt: skip
    return issues


def border_contacts(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Slices whose mask touches the crop's x/y border."""
    mask = np.asarray(mask_zyx, dtype=bool)
    height, width = mask.shape[1:]
    rows, columns = sorted({0, height - 1}), sorted({0, width - 1})
    touching_by_k = np.count_nonzero(mask[:, rows, :], axis=(1, 2))
    touching_by_k += np.count_nonzero(mask[:, 1 : height - 1][:, :, columns], axis=(1, 2))
    issues = []
    for k in np.flatnonzero(touching_by_k).tolist():
        touching = int(touching_by_k[k])
        issues.append(MaskIssue(
            Problem.BORDER, z0 + k, touching,
            f"slice z={z0 + k}: the mask touches the crop border ({touching} voxels)",
        ))  # fmt: skip
    return issues


def check_mask(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Every issue, ordered by slice, then by kind."""
    mask = np.asarray(mask_zyx, dtype=bool)
    planes = _masked_planes(mask)
    found = _holes(planes, z0) + _islands(planes, z0) + gaps(mask, z0) + border_contacts(mask, z0)
    order = list(Problem)
    return sorted(found, key=lambda i: (i.z, order.index(i.problem)))
