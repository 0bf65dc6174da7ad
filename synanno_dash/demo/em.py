"""EM-like image synthesis for the demo, one section at a time, at the *source* resolution.

Neurites are light, textured profiles separated by dark membranes; the space between the
demo's neurons is filled with small profiles (a Voronoi tessellation whose seeds drift from
section to section) so the image looks like densely packed neuropil. Synapses show as a dark,
thickened band with a post-synaptic density and a cloud of vesicles on the pre side.
Volumes are indexed ``[x, y, z]`` like CloudVolume cutouts; labels come at the *target*
resolution and are mapped to source pixels through explicit index tables.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from synanno_dash.demo.neurons import SWC_SOMA, Tree, paint_capsule
from synanno_dash.demo.synapses import Cleft

FILLER_SPACING_NM = 230.0
VESICLE_RADIUS_NM = (17.0, 23.0)


@dataclass(frozen=True, eq=False)
class Scene:
    """Everything drawn in the EM, all label volumes at the target resolution."""

    neurons_xyz: np.ndarray  # neuron index + 1, 0 = filler neuropil
    organelles_xyz: np.ndarray  # organelle index + 1
    organelle_is_nucleus: np.ndarray  # bool per organelle index + 1 (entry 0 unused)
    clefts_xyz: np.ndarray  # cleft ids where the EM shows them (before any misalignment)
    cleft_post: np.ndarray  # post neuron index + 1 per cleft id (entry 0 unused)
    vesicles_nm: np.ndarray  # (n, 4): x, y, z, radius
    target_resolution_nm: np.ndarray
    source_resolution_nm: np.ndarray
    source_shape_xyz_vx: tuple[int, int, int]


def sample_vesicles(
    neurons_xyz: np.ndarray, organelles_xyz: np.ndarray, clefts: list[Cleft],
    resolution_nm: np.ndarray, rng: np.random.Generator, per_cleft: int = 70,
) -> np.ndarray:
    """Vesicle centres and radii (nm) clustered inside each cleft's pre-synaptic neurite."""
    shape = np.array(neurons_xyz.shape)
    out = []
    for cleft in clefts:
        center = (np.array(cleft.center_vx) + 0.5) * resolution_nm
        normal = np.array([*cleft.normal_xy, 0.0])
        tangent = np.array([-normal[1], normal[0], 0.0])
        k = 3 * per_cleft
        pts = (
            center
            - normal * rng.uniform(40.0, 220.0, (k, 1))
            + tangent * rng.normal(0.0, 75.0, (k, 1))
            + np.array([0.0, 0.0, 1.0]) * rng.normal(0.0, 70.0, (k, 1))
        )
        vx = np.floor(pts / resolution_nm).astype(int)
        ok = np.all((vx >= 0) & (vx < shape), axis=1)
        pts, vx = pts[ok], vx[ok]
        pts = pts[(neurons_xyz[tuple(vx.T)] == cleft.pre + 1) & (organelles_xyz[tuple(vx.T)] == 0)]
        kept: list[np.ndarray] = []
        for p in pts:
            if len(kept) >= per_cleft:
                break
            if all(np.linalg.norm(p - q) > 2.2 * VESICLE_RADIUS_NM[1] for q in kept):
                kept.append(p)
        for p in kept:
            out.append([*p, rng.uniform(*VESICLE_RADIUS_NM)])
    return np.array(out, dtype=np.float64).reshape(-1, 4)


def _index_map(n_source: int, source_nm: float, target_nm: float, n_target: int) -> np.ndarray:
    """Target index holding the centre of every source voxel along one axis."""
    idx = np.floor((np.arange(n_source) + 0.5) * source_nm / target_nm).astype(np.intp)
    return np.clip(idx, 0, n_target - 1)


def _boundaries(comp: np.ndarray) -> np.ndarray:
    """Pixels next to a pixel of another compartment (a two-pixel wide line)."""
    edge = np.zeros(comp.shape, dtype=bool)
    dx = comp[1:, :] != comp[:-1, :]
    dy = comp[:, 1:] != comp[:, :-1]
    edge[1:, :] |= dx
    edge[:-1, :] |= dx
    edge[:, 1:] |= dy
    edge[:, :-1] |= dy
    return edge


def _filler(seeds_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Voronoi labels (1..n) of the seeds, by a distance transform with indices."""
    img = np.zeros(shape, dtype=np.int32)
    xy = np.mod(np.rint(seeds_px).astype(int), np.array(shape))  # drifted out: back in
    img[xy[:, 0], xy[:, 1]] = np.arange(1, len(xy) + 1)
    _, (ix, iy) = ndimage.distance_transform_edt(img == 0, return_indices=True)
    return img[ix, iy]


def _stamp_vesicles(delta: np.ndarray, ves_px: np.ndarray) -> None:
    """Dark-rimmed, slightly light-centred circles; ``ves_px`` rows are x, y, radius (px)."""
    for x, y, r in ves_px:
        h = int(np.ceil(r)) + 3
        x0, y0 = int(x) - h, int(y) - h
        x1, y1 = x0 + 2 * h + 1, y0 + 2 * h + 1
        if x0 < 0 or y0 < 0 or x1 > delta.shape[0] or y1 > delta.shape[1]:
            continue
        gx = np.arange(x0, x1)[:, None] + 0.5 - x
        gy = np.arange(y0, y1)[None, :] + 0.5 - y
        d = np.sqrt(gx * gx + gy * gy)
        delta[x0:x1, y0:y1] += -85.0 * np.exp(-(((d - r) / 0.9) ** 2)) + 10.0 * (d < r - 1.2)


def _slice_vesicles(scene: Scene, z: int) -> np.ndarray:
    """Vesicles cut by source section ``z``: apparent x, y, radius in source pixels."""
    res = scene.source_resolution_nm
    zc, half = (z + 0.5) * res[2], 0.5 * res[2]
    v = scene.vesicles_nm
    dz = np.maximum(np.abs(v[:, 2] - zc) - half, 0.0)
    seen = dz < v[:, 3] * 0.9
    v, dz = v[seen], dz[seen]
    radius = np.sqrt(v[:, 3] ** 2 - dz**2)
    return np.column_stack([v[:, 0] / res[0], v[:, 1] / res[1], radius / res[0]])


def render_em(scene: Scene, seed: np.random.SeedSequence) -> np.ndarray:
    """The source volume, uint8, ``[x, y, z]`` (Fortran order: one section is contiguous).

    Sections render on two threads (numpy and scipy release the GIL); each has its own
    random stream, so the result does not depend on scheduling.
    """
    sx, sy, sz = scene.source_shape_xyz_vx
    src, tgt = scene.source_resolution_nm, scene.target_resolution_nm
    tshape = scene.neurons_xyz.shape
    mx, my, mz = (_index_map(n, src[k], tgt[k], tshape[k]) for k, n in enumerate((sx, sy, sz)))
    streams = seed.spawn(sz + 1)
    style = _style(scene, np.random.default_rng(streams[0]))
    out = np.empty((sx, sy, sz), dtype=np.uint8, order="F")

    def one(z: int) -> None:
        rng = np.random.default_rng(streams[z + 1])
        out[:, :, z] = _render_section(scene, style, z, (mx, my, int(mz[z])), rng)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, range(sz)))
    return out


@dataclass(frozen=True, eq=False)
class _Style:
    """Per-volume drawing constants, on the target grid.

    Compartments (a neuron, a filler profile, an organelle) get one id each: neurons keep
    their label, filler profiles start at ``filler_offset``, organelles at
    ``organelle_offset``; the lookup tables below are indexed by that id.
    """

    seeds_vx: np.ndarray  # (n, 2) filler seeds at section 0, target voxels
    drift_vx: np.ndarray  # (n, 2) seed drift per section
    warp_x: np.ndarray  # where each target voxel samples the filler labels, x
    warp_y: np.ndarray
    filler_offset: int
    organelle_offset: int
    grey: np.ndarray
    is_mito: np.ndarray
    is_nucleus: np.ndarray
    cristae_angle: np.ndarray


def _style(scene: Scene, rng: np.random.Generator) -> _Style:
    tx, ty, _ = scene.neurons_xyz.shape
    tres, src = scene.target_resolution_nm, scene.source_resolution_nm
    n = max(8, int(tx * ty * tres[0] * tres[1] / FILLER_SPACING_NM**2))
    seeds = rng.uniform(0, 1, (n, 2)) * np.array([tx, ty])
    # satellites: small profiles squeezed between larger ones, as in real neuropil
    parents = seeds[rng.choice(n, size=n // 2)]
    seeds = np.vstack([seeds, parents + rng.normal(0, 70.0, parents.shape) / tres[:2]])
    drift = rng.normal(0, 0.12, seeds.shape) * float(src[2] / tres[0])
    amp = 50.0 / tres[:2]  # boundaries bend by about 50 nm
    gx, gy = np.meshgrid(np.arange(tx), np.arange(ty), indexing="ij")
    warp = []
    for grid, size, a in ((gx, tx, amp[0]), (gy, ty, amp[1])):
        w = ndimage.gaussian_filter(rng.standard_normal((tx, ty)).astype(np.float32), 20.0)
        w *= a / max(float(w.std()), 1e-6)
        warp.append(np.clip(np.rint(grid + w), 0, size - 1).astype(np.intp))
    n_neurons = int(scene.neurons_xyz.max())
    filler_offset = n_neurons + 1
    organelle_offset = filler_offset + len(seeds) + 1
    n_org = len(scene.organelle_is_nucleus)
    grey = np.concatenate([
        rng.uniform(168, 186, filler_offset),
        rng.uniform(158, 192, len(seeds) + 1),
        np.full(n_org, 176.0),
    ]).astype(np.float32)
    is_nucleus = np.zeros(len(grey), dtype=bool)
    is_nucleus[organelle_offset:] = scene.organelle_is_nucleus
    is_mito = np.zeros(len(grey), dtype=bool)
    is_mito[organelle_offset + 1:] = ~scene.organelle_is_nucleus[1:]
    angle = np.zeros(len(grey))
    angle[organelle_offset:] = rng.uniform(0, np.pi, n_org)
    return _Style(
        seeds, drift, warp[0], warp[1], filler_offset, organelle_offset, grey, is_mito,
        is_nucleus, angle,
    )


def _compartments(scene: Scene, style: _Style, z: int, tz: int) -> np.ndarray:
    """Compartment ids of one section on the target grid (see ``_Style``)."""
    neurons = scene.neurons_xyz[:, :, tz].astype(np.int32)
    organelles = scene.organelles_xyz[:, :, tz].astype(np.int32)
    filler = _filler(style.seeds_vx + style.drift_vx * z, neurons.shape)
    filler = filler[style.warp_x, style.warp_y]
    comp = np.where(neurons > 0, neurons, style.filler_offset + filler)
    return np.where(organelles > 0, style.organelle_offset + organelles, comp)


def _render_section(
    scene: Scene, style: _Style, z: int, maps: tuple[np.ndarray, np.ndarray, int],
    rng: np.random.Generator,
) -> np.ndarray:
    mx, my, tz = maps
    pick = np.ix_(mx, my)
    comp = _compartments(scene, style, z, tz)[pick]
    shape = comp.shape
    img = style.grey[comp]
    fine = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), 1.0)
    coarse_t = rng.standard_normal(scene.neurons_xyz.shape[:2], dtype=np.float32)
    coarse = ndimage.gaussian_filter(coarse_t, 2.0)[pick]
    nucleus, mito = style.is_nucleus[comp], style.is_mito[comp]
    img += 24.0 * fine + 34.0 * coarse + nucleus * (8.0 + 60.0 * coarse)
    if mito.any():
        img[mito] = _mitochondria(comp, mito, style) + 30.0 * fine[mito]
    dark = 200.0 * _boundaries(comp).astype(np.float32)
    clefts_t = scene.clefts_xyz[:, :, tz]
    if clefts_t.any():
        cleft, psd = _synapse_masks(scene, clefts_t, scene.neurons_xyz[:, :, tz])
        dark += 90.0 * cleft[pick] + 60.0 * psd[pick]
    img -= ndimage.gaussian_filter(dark, 0.9)
    delta = np.zeros(shape, dtype=np.float32)
    _stamp_vesicles(delta, _slice_vesicles(scene, z))
    img += delta + 10.0 * rng.standard_normal(shape, dtype=np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _mitochondria(comp: np.ndarray, mito: np.ndarray, style: _Style) -> np.ndarray:
    """Darker matrix with cristae: stripes at an angle of their own in every mitochondrion."""
    x, y = np.nonzero(mito)
    angle = style.cristae_angle[comp[x, y]]
    phase = (x * np.cos(angle) + y * np.sin(angle)) * (2.0 * np.pi / 7.0)
    return (125.0 + 22.0 * np.sin(phase)).astype(np.float32)


def _synapse_masks(
    scene: Scene, clefts_t: np.ndarray, neurons_t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cleft band and post-synaptic density (the post neurite along the cleft), target grid."""
    near = ndimage.grey_dilation(clefts_t, size=(5, 5))  # the cleft id within 2 voxels
    psd = (near > 0) & (neurons_t == scene.cleft_post[near]) & (neurons_t > 0)
    return (clefts_t > 0).astype(np.float32), psd.astype(np.float32)


def paint_organelles(
    trees: list[Tree], neurons_xyz: np.ndarray, resolution_nm: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Mitochondria along neurites and a nucleus (plus mitochondria) in every soma.

    Returns organelle labels (uint16, index + 1, ``[x, y, z]``) and, per label, whether it is
    a nucleus. Organelles are painted only inside their own neurite.
    """
    organelles = np.zeros(neurons_xyz.shape, dtype=np.uint16, order="F")
    best = np.ones(neurons_xyz.shape, dtype=np.float32, order="F")
    nucleus = [False]
    for n, tree in enumerate(trees):
        for a, b, radius, is_nucleus in _organelle_shapes(tree, rng):
            nucleus.append(is_nucleus)
            paint_capsule(
                a, b, (radius, radius), len(nucleus) - 1, organelles, best, resolution_nm,
                host_xyz=neurons_xyz, host=n + 1,
            )
    return organelles, np.array(nucleus, dtype=bool)


def _organelle_shapes(
    tree: Tree, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray, float, bool]]:
    xyz, r, parents = tree.vertices_nm, tree.radii_nm, tree.parents
    shapes = []
    for s in np.nonzero(tree.types == SWC_SOMA)[0]:
        c = xyz[s] + rng.normal(0, 0.08 * r[s], 3)
        shapes.append((c, c, 0.55 * float(r[s]), True))
        for _ in range(5):
            d = _random_unit(rng)
            a = xyz[s] + d * r[s] * rng.uniform(0.7, 0.8)
            along = _random_unit(rng)
            along = along - np.dot(along, d) * d  # tangential: stays clear of the nucleus
            along /= max(float(np.linalg.norm(along)), 1e-9)
            shapes.append((a, a + along * 250.0, 55.0, False))
    thick = np.nonzero((tree.types != SWC_SOMA) & (r >= 60.0) & (parents >= 0))[0]
    cable = float(np.sum(np.linalg.norm(xyz[thick] - xyz[parents[thick]], axis=1)))
    for v in rng.choice(thick, size=min(len(thick), int(cable / 900.0)), replace=False):
        end = v
        for _ in range(int(rng.integers(3, 7))):
            if parents[end] < 0 or tree.types[parents[end]] == SWC_SOMA:
                break
            end = parents[end]
        radius = float(np.clip(0.4 * r[v], 28.0, 65.0))
        offset = _random_unit(rng) * rng.uniform(0.0, max(0.0, r[v] - radius - 15.0))
        shapes.append((xyz[v] + offset, xyz[end] + offset, radius, False))
    return shapes


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(0.0, 1.0, 3)
    return v / max(float(np.linalg.norm(v)), 1e-9)
