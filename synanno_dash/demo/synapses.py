"""Synaptic clefts of the demo: drawn at planned contacts, plus false-positive sites.

Label volumes are indexed ``[x, y, z]`` in *target* voxels and hold neuron indices
(tree index + 1); clefts get ids 1..n in a uint32 volume. Points are integer voxel triples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from synanno_dash.demo.neurons import Contact

Voxel = tuple[int, int, int]
WINDOW_NM = np.array([240.0, 240.0, 200.0])
XY_CROSS = ndimage.generate_binary_structure(2, 1)[:, :, None]  # dilate in x, y only
MARKER_DEPTH_VX = 5  # how far into its neurite a pre/post point sits


@dataclass(frozen=True)
class Cleft:
    """A drawn cleft. ``pre``/``post`` are neuron indices (tree index), points target voxels."""

    cleft_id: int
    pre: int
    post: int
    center_vx: Voxel
    pre_vx: Voxel
    post_vx: Voxel
    normal_xy: tuple[float, float]  # unit, pre -> post, target voxel axes


def _window(center_vx: np.ndarray, shape: tuple[int, ...], half_vx: np.ndarray) -> tuple:
    lo = np.clip(center_vx - half_vx, 0, shape)
    hi = np.clip(center_vx + half_vx + 1, 0, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True)), lo


def _touching(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Voxels of ``a`` or ``b`` that have an x or y neighbour in the other mask."""
    out = np.zeros_like(a)
    for axis in (0, 1):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        pair = (a[tuple(lo)] & b[tuple(hi)]) | (b[tuple(lo)] & a[tuple(hi)])
        out[tuple(lo)] |= pair
        out[tuple(hi)] |= pair
    return out


def _voxel(v: np.ndarray) -> Voxel:
    return (int(v[0]), int(v[1]), int(v[2]))


def marker_point(labels_xyz: np.ndarray, center: Voxel, away_xy: np.ndarray, label: int) -> Voxel:
    """A voxel of ``label`` a few voxels from ``center`` in direction ``away_xy`` (same slice)."""
    c = np.array(center, dtype=float)
    step = np.array([away_xy[0], away_xy[1], 0.0])
    shape = np.array(labels_xyz.shape)
    for k in range(MARKER_DEPTH_VX, 4 * MARKER_DEPTH_VX):
        p, deeper = np.rint(c + step * k).astype(int), np.rint(c + step * (k + 2)).astype(int)
        if np.all(deeper >= 0) and np.all(deeper < shape) and np.all(p >= 0):
            if labels_xyz[tuple(p)] == label and labels_xyz[tuple(deeper)] == label:
                return _voxel(p)
    # fall back to the nearest voxel of the neurite in the slice around the aimed point
    half = np.array([4 * MARKER_DEPTH_VX, 4 * MARKER_DEPTH_VX, 0])
    aim = np.rint(c + step * MARKER_DEPTH_VX).astype(int)
    box, lo = _window(aim, labels_xyz.shape, half)
    hits = np.argwhere(labels_xyz[box] == label)
    if len(hits) == 0:
        return center
    return _voxel(hits[np.argmin(np.sum((hits + lo - aim) ** 2, axis=1))] + lo)


def _draw_one(
    labels_xyz: np.ndarray, cleft_xyz: np.ndarray, contact: Contact, cleft_id: int,
    resolution_nm: np.ndarray, rng: np.random.Generator,
) -> Cleft | None:
    point_vx = np.floor(contact.point_nm / resolution_nm).astype(int)
    box, lo = _window(point_vx, labels_xyz.shape, np.ceil(WINDOW_NM / resolution_nm).astype(int))
    sub = labels_xyz[box]
    pre_m, post_m = sub == contact.pre + 1, sub == contact.post + 1
    iface = np.argwhere(_touching(pre_m, post_m))
    if len(iface) == 0:
        return None
    iface_nm = (iface + lo + 0.5) * resolution_nm
    seed = iface_nm[np.argmin(np.sum((iface_nm - contact.point_nm) ** 2, axis=1))]
    radii = np.array([rng.uniform(100, 140)] * 2 + [rng.uniform(60, 100)])
    core = iface[np.sum(((iface_nm - seed) / radii) ** 2, axis=1) <= 1.0]
    mask = np.zeros(sub.shape, dtype=bool)
    mask[tuple(core.T)] = True
    mask = ndimage.binary_dilation(mask, XY_CROSS) & (pre_m | post_m) & (cleft_xyz[box] == 0)
    voxels = np.argwhere(mask)
    if len(voxels) < 25 or np.ptp(voxels[:, 2]) < 1:
        return None
    cleft_xyz[box][mask] = cleft_id
    centroid = voxels.mean(axis=0)
    center = _voxel(voxels[np.argmin(np.sum((voxels - centroid) ** 2, axis=1))] + lo)
    n = contact.normal[:2] / resolution_nm[:2]
    n = n / max(float(np.linalg.norm(n)), 1e-9)
    return Cleft(
        cleft_id, contact.pre, contact.post, center,
        marker_point(labels_xyz, center, -n, contact.pre + 1),
        marker_point(labels_xyz, center, n, contact.post + 1),
        (float(n[0]), float(n[1])),
    )


def draw_clefts(
    labels_xyz: np.ndarray, contacts: list[Contact], resolution_nm: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[Cleft]]:
    """Cleft ids (uint32, [x, y, z]) on the interface of every contact, and their records."""
    cleft_xyz = np.zeros(labels_xyz.shape, dtype=np.uint32, order="F")
    clefts: list[Cleft] = []
    for contact in contacts:
        cleft = _draw_one(labels_xyz, cleft_xyz, contact, len(clefts) + 1, resolution_nm, rng)
        if cleft is not None:
            clefts.append(cleft)
    return cleft_xyz, clefts


@dataclass(frozen=True)
class FalseSite:
    """A neurite contact with no cleft anywhere near: where a false positive row points."""

    pre: int
    post: int
    center_vx: Voxel
    pre_vx: Voxel
    post_vx: Voxel


def _contact_voxels(labels_xyz: np.ndarray) -> np.ndarray:
    """(x, y, z, label_a, label_b) of voxels touching a different neurite along x."""
    a, b = labels_xyz[:-1], labels_xyz[1:]
    hit = np.argwhere((a != b) & (a > 0) & (b > 0))
    la = labels_xyz[tuple(hit.T)]
    lb = labels_xyz[hit[:, 0] + 1, hit[:, 1], hit[:, 2]]
    return np.column_stack([hit, la, lb])


def false_sites(
    labels_xyz: np.ndarray, cleft_centers_vx: np.ndarray, count: int, demo: int,
    resolution_nm: np.ndarray, rng: np.random.Generator, min_distance_nm: float = 320.0,
) -> list[FalseSite]:
    """Up to ``count`` non-synaptic contacts far from every cleft, half of them on ``demo``."""
    cand = _contact_voxels(labels_xyz)
    margin = np.ceil(WINDOW_NM / resolution_nm).astype(int)
    upper = np.array(labels_xyz.shape) - margin
    cand = cand[np.all((cand[:, :3] >= margin) & (cand[:, :3] < upper), axis=1)]
    far = cKDTree(cleft_centers_vx * resolution_nm).query(cand[:, :3] * resolution_nm)[0]
    cand = cand[far >= min_distance_nm]
    on_demo = (cand[:, 3] == demo + 1) | (cand[:, 4] == demo + 1)
    picked: list[FalseSite] = []
    for pool, want in ((cand[on_demo], count // 2), (cand[~on_demo], count)):
        for row in pool[rng.permutation(len(pool))]:
            if len(picked) >= want:
                break
            p_nm = row[:3] * resolution_nm
            if any(np.linalg.norm(np.array(s.center_vx) * resolution_nm - p_nm) < min_distance_nm
                   for s in picked):
                continue
            picked.append(_false_site(labels_xyz, row, rng))
    return picked


def _false_site(labels_xyz: np.ndarray, row: np.ndarray, rng: np.random.Generator) -> FalseSite:
    center = _voxel(row[:3])
    a, b = int(row[3]), int(row[4])
    direction = np.array([1.0, 0.0])  # the contact was found between x neighbours: a then b
    if rng.random() < 0.5:
        a, b, direction = b, a, -direction
    return FalseSite(
        a - 1, b - 1, center,
        marker_point(labels_xyz, center, -direction, a),
        marker_point(labels_xyz, center, direction, b),
    )
