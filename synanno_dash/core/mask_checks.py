"""Checks of a corrected mask before export (WEBKNOSSOS's ground-truth guide: no holes, no
stray islands, consistent across slices). Pure functions over a (z, y, x) bool stack whose
slice ``k`` is absolute target slice ``z0 + k``.

- *hole*: background in a slice that is enclosed by the mask (4-connected background not
  reaching the slice border);
- *island*: in a slice, a component (8-connected) other than the slice's largest one (a slice
  is what the drawing view edits; across slices a gap would split any 3D component);
- *gap*: an empty slice between two slices with mask;
- *border*: mask voxels on the crop's x/y border (the synapse may continue outside).

Each problem names the absolute slice a click should jump to.
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


def holes(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Enclosed background regions, one issue per hole per slice."""
    issues = []
    for k, plane in enumerate(mask_zyx):
        if not plane.any():
            continue
        filled = ndimage.binary_fill_holes(plane)
        labels, count = ndimage.label(filled & ~plane)
        for size in np.bincount(labels.ravel(), minlength=count + 1)[1:]:
            issues.append(MaskIssue(
                Problem.HOLE, z0 + k, int(size),
                f"slice z={z0 + k}: a hole of {int(size)} voxels inside the mask",
            ))  # fmt: skip
    return issues


def islands(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Per slice, the components apart from the slice's largest one."""
    issues = []
    for k, plane in enumerate(mask_zyx):
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
    edge = np.zeros(mask_zyx.shape[1:], dtype=bool)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    issues = []
    for k, plane in enumerate(mask_zyx):
        touching = int(np.count_nonzero(plane & edge))
        if touching:
            issues.append(MaskIssue(
                Problem.BORDER, z0 + k, touching,
                f"slice z={z0 + k}: the mask touches the crop border ({touching} voxels)",
            ))  # fmt: skip
    return issues


def check_mask(mask_zyx: np.ndarray, z0: int = 0) -> list[MaskIssue]:
    """Every issue, ordered by slice, then by kind."""
    mask = np.asarray(mask_zyx, dtype=bool)
    found = holes(mask, z0) + islands(mask, z0) + gaps(mask, z0) + border_contacts(mask, z0)
    order = list(Problem)
    return sorted(found, key=lambda i: (i.z, order.index(i.problem)))
