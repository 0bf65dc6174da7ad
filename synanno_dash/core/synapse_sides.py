"""Which neuron is presynaptic: the two segments facing each other across a detected cleft.

All arrays are one window around a cleft, indexed x, y, z at the map's resolution.

1. *Facing segments*: the two neuropil ids covering the most voxels of the cleft grown by one
   voxel in x and y (a cleft lies on the contact between two neurites).
2. *Rule* (``pre_side``), with the EM: the postsynaptic side is the one darker along the
   cleft, where the post-synaptic density lies: the mean EM intensity of each segment's voxels
   within ``PSD_BAND_NM`` of the cleft (the cleft voxels on that segment included) is
   compared, and the brighter side is presynaptic. On the demo, where the truth is known, this
   is right for 355 of 362 imported clefts whose two facing segments are the true pair
   (98.1 %; measured by ``tests/services/test_imported_predictions.py``). Without the EM:
   the thinner partner, the segment with fewer voxels within ``NEAR_NM`` of the cleft, is
   presynaptic (axons are thinner than the dendrites they contact; right for 75 % of the
   demo's clefts).
3. *Marker points*: per side, the voxel nearest the cleft's centroid among the segment's voxels
   ``MARKER_SHELL_NM`` from the cleft, minus the segment's outer voxel layer in x and y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

PSD_BAND_NM = 16.0
NEAR_NM = 200.0
MARKER_SHELL_NM = (30.0, 120.0)
XY_CROSS = ndimage.generate_binary_structure(2, 1)[:, :, None]
RULE_INTENSITY = "brighter at the cleft (post-synaptic density on the other side)"
RULE_SIZE = "thinner near the cleft"


@dataclass(frozen=True)
class Sides:
    """The answer for one cleft: neuron ids and marker points (window voxels, x, y, z)."""

    pre_id: int
    post_id: int
    pre_point_xyz: tuple[int, int, int]
    post_point_xyz: tuple[int, int, int]
    rule: str


def facing_segments(cleft: np.ndarray, neuropil: np.ndarray) -> tuple[int, int] | None:
    """The two non-zero neuropil ids with the most voxels on the cleft grown by one voxel in
    x and y, most first; None when fewer than two segments touch it."""
    grown = ndimage.binary_dilation(cleft, XY_CROSS)
    ids, counts = np.unique(neuropil[grown], return_counts=True)
    counts, ids = counts[ids != 0], ids[ids != 0]
    if len(ids) < 2:
        return None
    order = np.lexsort((ids, -counts))  # most voxels first, ties by id: deterministic
    return int(ids[order[0]]), int(ids[order[1]])


@dataclass(frozen=True, eq=False)
class SideRegions:
    """Per facing segment (a, b): its band along the cleft, its voxels near the cleft, and
    where its marker may go (bool masks on the window)."""

    band: tuple[np.ndarray, np.ndarray]
    near: tuple[np.ndarray, np.ndarray]
    marker: tuple[np.ndarray, np.ndarray]


def side_regions(
    cleft: np.ndarray, neuropil: np.ndarray, segment_ids: tuple[int, int],
    resolution_nm: tuple[float, float, float],
) -> SideRegions:
    """The regions each rule measures (distances in nm, 3D, from the cleft's voxels)."""
    distance = ndimage.distance_transform_edt(~cleft, sampling=resolution_nm)
    shell = (distance >= MARKER_SHELL_NM[0]) & (distance <= MARKER_SHELL_NM[1])
    band, near, marker = [], [], []
    for segment in segment_ids:
        own = neuropil == segment
        band.append(own & (distance <= PSD_BAND_NM))
        near.append(own & (distance <= NEAR_NM))
        marker.append(ndimage.binary_erosion(own, XY_CROSS, border_value=1) & shell)
    return SideRegions((band[0], band[1]), (near[0], near[1]), (marker[0], marker[1]))


def marker_point(region: np.ndarray, cleft: np.ndarray) -> tuple[int, int, int] | None:
    """The voxel of ``region`` nearest the cleft's centroid (ties: lowest x, y, z)."""
    points = np.argwhere(region)
    if len(points) == 0:
        return None
    centre = np.argwhere(cleft).mean(axis=0)
    best = points[np.argmin(np.sum((points - centre) ** 2, axis=1))]
    return (int(best[0]), int(best[1]), int(best[2]))


def pre_side(regions: SideRegions, em_xyz: np.ndarray | None) -> tuple[int, str] | None:
    """0 or 1, the presynaptic one of the two segments, and the rule that decided; None when
    a region is empty. ``em_xyz`` is the EM on the window's grid (any dtype) or None."""
    a, b = regions.band
    if em_xyz is not None and a.any() and b.any():
        mean_a, mean_b = float(em_xyz[a].mean()), float(em_xyz[b].mean())
        return (0 if mean_a >= mean_b else 1), RULE_INTENSITY
    near_a, near_b = (int(r.sum()) for r in regions.near)
    if near_a == 0 or near_b == 0:
        return None
    return (0 if near_a <= near_b else 1), RULE_SIZE


def choose_sides(
    cleft: np.ndarray, neuropil: np.ndarray, em_xyz: np.ndarray | None,
    resolution_nm: tuple[float, float, float],
) -> Sides | None:
    """Steps 1-3 for one cleft; None when no two segments face each other across it."""
    facing = facing_segments(cleft, neuropil)
    if facing is None:
        return None
    regions = side_regions(cleft, neuropil, facing, resolution_nm)
    decided = pre_side(regions, em_xyz)
    if decided is None:
        return None
    pre, rule = decided
    pre_point = marker_point(regions.marker[pre], cleft)
    post_point = marker_point(regions.marker[1 - pre], cleft)
    if pre_point is None or post_point is None:
        return None
    return Sides(facing[pre], facing[1 - pre], pre_point, post_point, rule)
