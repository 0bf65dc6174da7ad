"""Neuron trees for the demo dataset: growth, synaptic contacts and rasterization.

Coordinates are in nm, x, y, z. Label volumes are indexed ``[x, y, z]`` like CloudVolume
cutouts, and hold neuron *indices* (position in the tree list + 1, 0 = no neuron); the 64-bit
segment ids are applied only when the neuropil layer is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SWC_SOMA, SWC_AXON, SWC_DENDRITE = 1, 2, 3
GROW_STEP_NM = 80.0
MAX_GAP_NM = 380.0  # farthest axon-dendrite gap bridged by a bouton or a spine
MAX_SPINE_NM = 550.0  # dendrite axis to spine head centre; keeps spines short twigs
CONTACT_SPACING_NM = 300.0


@dataclass(frozen=True, eq=False)
class Tree:
    """A skeleton: vertices in nm, parent per vertex (-1 at the root), radii, SWC types."""

    vertices_nm: np.ndarray
    parents: np.ndarray
    radii_nm: np.ndarray
    types: np.ndarray

    @property
    def edges(self) -> np.ndarray:
        child = np.nonzero(self.parents >= 0)[0]
        return np.stack([child, self.parents[child]], axis=1).astype(np.uint32)


@dataclass(frozen=True, eq=False)
class Contact:
    """A planned synapse: pre and post neuron indices, interface point and pre->post normal."""

    pre: int
    post: int
    point_nm: np.ndarray
    normal: np.ndarray


@dataclass(frozen=True)
class Box:
    lo_nm: np.ndarray
    hi_nm: np.ndarray

    def inside(self, point: np.ndarray, margin_nm: np.ndarray | float = 0.0) -> bool:
        low_ok = np.all(point >= self.lo_nm + margin_nm)
        return bool(low_ok and np.all(point <= self.hi_nm - margin_nm))


class TreeBuilder:
    """Mutable vertex lists used while one tree grows (local to a generation run)."""

    def __init__(self) -> None:
        self.xyz: list[np.ndarray] = []
        self.parent: list[int] = []
        self.radius: list[float] = []
        self.kind: list[int] = []

    def add(self, xyz: np.ndarray, parent: int, radius: float, kind: int) -> int:
        self.xyz.append(np.asarray(xyz, dtype=np.float64))
        self.parent.append(parent)
        self.radius.append(float(radius))
        self.kind.append(kind)
        return len(self.xyz) - 1

    def direction_at(self, index: int) -> np.ndarray:
        parent = self.parent[index]
        if parent < 0:
            return _unit(np.array([1.0, 0.0, 0.0]))
        return _unit(self.xyz[index] - self.xyz[parent])

    def build(self) -> Tree:
        return Tree(
            vertices_nm=np.array(self.xyz, dtype=np.float64).reshape(-1, 3),
            parents=np.array(self.parent, dtype=np.int64),
            radii_nm=np.array(self.radius, dtype=np.float64),
            types=np.array(self.kind, dtype=np.uint8),
        )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _wander(d: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    # z wanders less: the volume is thin in z and fibres mostly keep their course there
    return _unit(d + rng.normal(0.0, sigma, 3) * np.array([1.0, 1.0, 0.6]))


def grow_path(
    b: TreeBuilder, rng: np.random.Generator, start: int, direction: np.ndarray,
    length_nm: float, radii_nm: tuple[float, float], kind: int, box: Box, reflect: bool,
) -> int:
    """Grow a wandering path from vertex ``start``; return its last vertex.

    ``reflect`` keeps the path inside the box (bounced off the faces); otherwise the path
    stops once it has left the box (a fibre passing through).
    """
    steps = max(2, int(length_nm / GROW_STEP_NM))
    pos, d, parent = b.xyz[start].copy(), _unit(direction), start
    for i in range(1, steps + 1):
        d = _wander(d, rng, 0.12)
        radius = radii_nm[0] + (radii_nm[1] - radii_nm[0]) * i / steps
        nxt = pos + d * GROW_STEP_NM
        if reflect:
            margin = radius + 40.0
            low, high = nxt < box.lo_nm + margin, nxt > box.hi_nm - margin
            d = np.where((low & (d < 0)) | (high & (d > 0)), -d, d)
            nxt = np.clip(pos + d * GROW_STEP_NM, box.lo_nm + margin, box.hi_nm - margin)
        elif not box.inside(nxt, -radius):
            break
        parent = b.add(nxt, parent, radius, kind)
        pos = nxt
    return parent


def split_directions(d: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Two child directions diverging from ``d`` by 25-45 degrees each, mostly in-plane."""
    w = rng.normal(0.0, 1.0, 3) * np.array([1.0, 1.0, 0.3])
    w = _unit(w - np.dot(w, d) * d)
    out = []
    for sign in (1.0, -1.0):
        angle = np.deg2rad(rng.uniform(25.0, 45.0))
        out.append(_unit(np.cos(angle) * d + sign * np.sin(angle) * w))
    return out


def grow_dendrite(
    b: TreeBuilder, rng: np.random.Generator, start: int, direction: np.ndarray, level: int,
    lengths_nm: list[float], radii_nm: list[tuple[float, float]], box: Box,
) -> None:
    """A dendrite that splits in two at the end of every level but the last."""
    length = lengths_nm[level] * rng.uniform(0.85, 1.15)
    end = grow_path(b, rng, start, direction, length, radii_nm[level], SWC_DENDRITE, box, True)
    if level + 1 < len(lengths_nm):
        for child in split_directions(b.direction_at(end), rng):
            grow_dendrite(b, rng, end, child, level + 1, lengths_nm, radii_nm, box)


def grow_soma_neuron(
    rng: np.random.Generator, box: Box, soma_nm: np.ndarray, soma_radius_nm: float,
    n_dendrites: int, levels: int, axon_length_nm: float,
) -> TreeBuilder:
    """A neuron with a spherical soma, branching dendrites and a meandering axon."""
    b = TreeBuilder()
    soma = b.add(soma_nm, -1, soma_radius_nm, SWC_SOMA)
    extent = float(min(box.hi_nm[0] - box.lo_nm[0], box.hi_nm[1] - box.lo_nm[1]))
    lengths = [extent * f for f in (0.15, 0.17, 0.2, 0.25, 0.25)[:levels]]
    radii = [(200.0, 160.0), (150.0, 120.0), (115.0, 90.0), (85.0, 65.0), (65.0, 55.0)][:levels]
    phase = rng.uniform(0, 2 * np.pi)
    dirs = []
    for k in range(n_dendrites):
        angle = phase + 2 * np.pi * k / n_dendrites + rng.uniform(-0.3, 0.3)
        d = _unit(np.array([np.cos(angle), np.sin(angle), rng.uniform(-0.2, 0.2)]))
        dirs.append(d)
        first = b.add(soma_nm + d * soma_radius_nm * 0.9, soma, radii[0][0], SWC_DENDRITE)
        grow_dendrite(b, rng, first, d, 0, lengths, radii, box)
    axon_dir = _unit(-np.sum(dirs, axis=0) + rng.normal(0, 0.3, 3) * np.array([1, 1, 0.2]))
    start = b.add(soma_nm + axon_dir * soma_radius_nm * 0.9, soma, 90.0, SWC_AXON)
    end = grow_path(b, rng, start, axon_dir, axon_length_nm, (80.0, 65.0), SWC_AXON, box, True)
    for _ in range(2):  # collaterals from random points along the axon
        at = int(rng.integers(start, end + 1))
        d = split_directions(b.direction_at(at), rng)[int(rng.integers(2))]
        grow_path(b, rng, at, d, axon_length_nm * 0.3, (65.0, 55.0), SWC_AXON, box, True)
    return b


def grow_passing_fibre(
    rng: np.random.Generator, box: Box, kind: int, radius_nm: float, n_branches: int,
) -> TreeBuilder:
    """A neurite entering through one face of the volume and leaving through another."""
    b = TreeBuilder()
    size = box.hi_nm - box.lo_nm
    axis = int(rng.choice(3, p=[0.35, 0.35, 0.3] if kind == SWC_AXON else [0.5, 0.5, 0.0]))
    side = int(rng.integers(2))
    entry = box.lo_nm + rng.uniform(0.1, 0.9, 3) * size
    entry[axis] = box.lo_nm[axis] if side == 0 else box.hi_nm[axis]
    inward = np.zeros(3)
    inward[axis] = 1.0 if side == 0 else -1.0
    lateral = rng.normal(0, 0.6, 3) * (np.array([1, 1, 0.3]) if axis != 2 else 1.0)
    lateral[axis] = 0.0
    d = _unit(inward + lateral)
    root = b.add(entry, -1, radius_nm, kind)
    length = 3.0 * float(size.max())
    end = grow_path(b, rng, root, d, length, (radius_nm, radius_nm), kind, box, False)
    for _ in range(n_branches if end - root > 8 else 0):
        at = int(rng.integers(root + 4, end - 3))
        child = split_directions(b.direction_at(at), rng)[int(rng.integers(2))]
        r = radius_nm * 0.8
        grow_path(b, rng, at, child, 0.35 * float(size[:2].min()), (r, r), kind, box, False)
    return b


def paint_capsule(
    a_nm: np.ndarray, b_nm: np.ndarray, radii_nm: tuple[float, float], value: int,
    labels_xyz: np.ndarray, best_xyz: np.ndarray, resolution_nm: np.ndarray,
    host_xyz: np.ndarray | None = None, host: int = 0,
) -> None:
    """Paint a tapered capsule where it beats what is there.

    Every voxel goes to the shape with the smallest distance-to-axis / radius, so touching
    neurites meet at a clean interface instead of overwriting each other. With ``host_xyz``
    only voxels of label ``host`` there are painted (organelles stay inside their neurite).
    """
    ra, rb = radii_nm
    reach = max(ra, rb)
    shape = np.array(labels_xyz.shape)
    lo = np.floor((np.minimum(a_nm, b_nm) - reach) / resolution_nm - 0.5).astype(int)
    hi = np.ceil((np.maximum(a_nm, b_nm) + reach) / resolution_nm + 0.5).astype(int)
    lo, hi = np.clip(lo, 0, shape), np.clip(hi, 0, shape)
    if np.any(hi <= lo):
        return
    q = [
        ((np.arange(lo[k], hi[k]) + 0.5) * resolution_nm[k] - a_nm[k]).reshape(
            [-1 if j == k else 1 for j in range(3)]
        )
        for k in range(3)
    ]
    ab = b_nm - a_nm
    length2 = float(np.dot(ab, ab))
    if length2 > 0:
        t = np.clip((q[0] * ab[0] + q[1] * ab[1] + q[2] * ab[2]) / length2, 0.0, 1.0)
    else:
        t = np.zeros((1, 1, 1))
    dist = np.sqrt(sum((q[k] - t * ab[k]) ** 2 for k in range(3)))
    norm = dist / (ra + t * (rb - ra))
    box = tuple(slice(lo[k], hi[k]) for k in range(3))
    best, labels = best_xyz[box], labels_xyz[box]
    win = norm < best
    if host_xyz is not None:
        win &= host_xyz[box] == host
    best[win] = norm[win]
    labels[win] = value


def rasterize_trees(
    trees: list[Tree], shape_xyz_vx: tuple[int, int, int], resolution_nm: np.ndarray
) -> np.ndarray:
    """Neuron index labels (uint16, tree index + 1) of the tubes along every edge."""
    labels = np.zeros(shape_xyz_vx, dtype=np.uint16, order="F")
    best = np.ones(shape_xyz_vx, dtype=np.float32, order="F")
    for index, tree in enumerate(trees):
        xyz, r = tree.vertices_nm, tree.radii_nm
        for child, parent in tree.edges:
            paint_capsule(
                xyz[parent], xyz[child], (r[parent], r[child]), index + 1, labels, best,
                resolution_nm,
            )
        if len(tree.edges) == 0:
            paint_capsule(xyz[0], xyz[0], (r[0], r[0]), index + 1, labels, best, resolution_nm)
    return labels


def grow_scene(box: Box, rng: np.random.Generator, scale: float) -> list[TreeBuilder]:
    """All neurons of the demo; index 0 is the demo neuron (soma, four branching levels)."""
    size = box.hi_nm - box.lo_nm
    demo_soma = box.lo_nm + size * np.array([0.42, 0.47, 0.5])
    builders = [
        grow_soma_neuron(rng, box, demo_soma, 0.19 * float(size[2]), 4, 4, 2.2 * float(size[0])),
        grow_soma_neuron(
            rng, box, box.lo_nm + size * np.array([0.9, 0.1, 0.38]), 0.17 * float(size[2]), 3, 3,
            1.2 * float(size[0]),
        ),
    ]
    area = max(scale * scale, 0.1)
    for _ in range(max(3, round(60 * area))):
        builders.append(grow_passing_fibre(rng, box, SWC_AXON, rng.uniform(55, 80), 2))
    for _ in range(max(2, round(18 * area))):
        builders.append(grow_passing_fibre(rng, box, SWC_DENDRITE, rng.uniform(130, 190), 1))
    return builders
