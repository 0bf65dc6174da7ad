"""Plan the demo's synapses: where an axon passes near a dendrite, grow a bouton (and a spine).

Synapses are placed on purpose rather than found among random crossings, so that there are
enough of them, each with a flat bouton/dendrite interface large enough to show a cleft.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from synanno_dash.demo.neurons import (
    CONTACT_SPACING_NM,
    MAX_GAP_NM,
    MAX_SPINE_NM,
    SWC_AXON,
    SWC_DENDRITE,
    SWC_SOMA,
    Box,
    Contact,
    TreeBuilder,
)

MAX_NORMAL_Z = 0.45  # clefts must cut across xy slices, not lie in them
CONTACT_MARGIN_NM = np.array([280.0, 280.0, 200.0])


@dataclass(frozen=True, eq=False)
class _Design:
    """New vertices for one synapse: a bouton on the axon and maybe a spine head."""

    bouton_nm: np.ndarray
    bouton_radius_nm: float
    head_nm: np.ndarray | None
    head_radius_nm: float
    neck_nm: np.ndarray | None
    point_nm: np.ndarray
    normal: np.ndarray


def _design(
    pa: np.ndarray, ra: float, pd: np.ndarray, rd: float, soma: bool, rng: np.random.Generator
) -> _Design | None:
    d = float(np.linalg.norm(pd - pa))
    if d < 1.0:
        return None
    u = (pd - pa) / d
    rb = rng.uniform(115.0, 155.0)
    # the bouton swells from the axon towards the dendrite and sinks into it if it can reach
    s_b = min(ra + 0.3 * rb, max(15.0, d - rd - 0.45 * rb))
    cb = pa + u * s_b
    if d - s_b - rd <= 0.55 * rb:
        t = rb * (d - s_b) / (rb + rd)
        return _Design(cb, rb, None, 0.0, None, cb + u * t, u)
    if soma:
        return None
    rh = rng.uniform(115.0, 155.0)
    reach = rb + rh - 0.7 * min(rb, rh)  # bouton and head overlap: a flat contact disc
    ch = cb + u * reach
    if float(np.linalg.norm(ch - pd)) > MAX_SPINE_NM:
        return None
    neck = ch - u * 0.8 * rh
    neck_ok = float(np.linalg.norm(neck - pd)) > rd
    return _Design(cb, rb, ch, rh, neck if neck_ok else None, cb + u * reach * rb / (rb + rh), u)


def _commit(
    builders: list[TreeBuilder], pre: int, axon_vertex: int, post: int, dend_vertex: int,
    design: _Design,
) -> None:
    builders[pre].add(design.bouton_nm, axon_vertex, design.bouton_radius_nm, SWC_AXON)
    if design.head_nm is None:
        return
    post_b = builders[post]
    parent = dend_vertex
    if design.neck_nm is not None:
        parent = post_b.add(design.neck_nm, dend_vertex, 40.0, SWC_DENDRITE)
    post_b.add(design.head_nm, parent, design.head_radius_nm, SWC_DENDRITE)


def _vertices_of(builders: list[TreeBuilder], kinds: tuple[int, ...]) -> np.ndarray:
    """Rows of (neuron index, vertex index) whose SWC type is one of ``kinds``."""
    rows = [
        (n, i) for n, b in enumerate(builders) for i, k in enumerate(b.kind) if k in kinds
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def plan_contacts(
    builders: list[TreeBuilder], box: Box, rng: np.random.Generator, max_contacts: int
) -> list[Contact]:
    """Add boutons and spines for up to ``max_contacts`` axon->dendrite synapses."""
    dend = _vertices_of(builders, (SWC_SOMA, SWC_DENDRITE))
    dend_xyz = np.array([builders[n].xyz[i] for n, i in dend])
    dend_r = np.array([builders[n].radius[i] for n, i in dend])
    kd = cKDTree(dend_xyz)
    axon = _vertices_of(builders, (SWC_AXON,))
    contacts: list[Contact] = []
    placed = _Spacing(CONTACT_SPACING_NM)
    # the demo neuron's own axon goes first so that it gets pre-synaptic sites too
    order = np.concatenate([rng.permutation(np.nonzero(axon[:, 0] == g)[0]) for g in (0,)] + [
        rng.permutation(np.nonzero(axon[:, 0] != 0)[0])
    ])
    for n, i in axon[order]:
        pa, ra = builders[n].xyz[i], builders[n].radius[i]
        if not box.inside(pa, CONTACT_MARGIN_NM):
            continue
        near = np.array(kd.query_ball_point(pa, ra + MAX_GAP_NM + float(dend_r.max())), dtype=int)
        near = near[dend[near, 0] != n]
        offsets = dend_xyz[near] - pa
        dist = np.linalg.norm(offsets, axis=1)
        gaps = dist - ra - dend_r[near]
        ok = (gaps <= MAX_GAP_NM) & (np.abs(offsets[:, 2]) <= MAX_NORMAL_Z * dist)
        for j in near[ok][np.argsort(gaps[ok])]:
            m, k = dend[j]
            soma = builders[m].kind[k] == SWC_SOMA
            design = _design(pa, ra, dend_xyz[j], float(dend_r[j]), soma, rng)
            if design is None or not _acceptable(design, box, placed):
                continue
            _commit(builders, int(n), int(i), int(m), int(k), design)
            contacts.append(Contact(int(n), int(m), design.point_nm, design.normal))
            placed.add(design.point_nm)
            break
        if len(contacts) >= max_contacts:
            break
    return contacts


def _acceptable(design: _Design, box: Box, placed: _Spacing) -> bool:
    if abs(design.normal[2]) > MAX_NORMAL_Z or not box.inside(design.point_nm, CONTACT_MARGIN_NM):
        return False
    return placed.free(design.point_nm)


class _Spacing:
    """Points kept at least ``spacing`` apart, hashed into cubes of that size."""

    def __init__(self, spacing_nm: float) -> None:
        self.spacing = spacing_nm
        self.cells: dict[tuple[int, int, int], list[tuple[float, float, float]]] = {}

    def _cell(self, p: tuple[float, float, float]) -> tuple[int, int, int]:
        s = self.spacing
        return (math.floor(p[0] / s), math.floor(p[1] / s), math.floor(p[2] / s))

    def free(self, point: np.ndarray) -> bool:
        p = (float(point[0]), float(point[1]), float(point[2]))
        ci, cj, ck = self._cell(p)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for dk in (-1, 0, 1):
                    for q in self.cells.get((ci + di, cj + dj, ck + dk), ()):
                        if math.dist(p, q) < self.spacing:
                            return False
        return True

    def add(self, point: np.ndarray) -> None:
        p = (float(point[0]), float(point[1]), float(point[2]))
        self.cells.setdefault(self._cell(p), []).append(p)
