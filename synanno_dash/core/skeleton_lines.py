"""A neuron skeleton simplified for drawing: polylines per compartment (pure, no plotting).

Branch points, leaves and compartment borders are kept, and every ``step``-th node of the
runs between them, so a 100,000-node neuron becomes lines of a few hundred kB. Computed once
per neuron view (``core.neuron_view``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synanno_dash.core.compartments import Compartments, NeuronSkeleton

DEFAULT_MAX_POINTS = 20_000


@dataclass(frozen=True, eq=False)
class CompartmentLines:
    """One compartment's polylines: x, y, z in nm (float32) with NaN between runs."""

    compartment: int
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray


@dataclass(frozen=True)
class SkeletonDisplay:
    lines: tuple[CompartmentLines, ...]
    n_points: int  # drawn vertices, separators excluded
    step: int  # every step-th node kept between branch points


def display_skeleton(
    skeleton: NeuronSkeleton, compartments: Compartments, max_points: int = DEFAULT_MAX_POINTS
) -> SkeletonDisplay:
    """Polylines per compartment with at most about ``max_points`` vertices.

    A run is a stretch of consecutive traversal indices, each node the child of the one
    before, within one compartment; it starts at its top node's parent so runs join up.
    Branch points, leaves and run ends are always kept, so the topology is exact.
    """
    order, parent = compartments.order, compartments.parent
    n = len(order)
    if n != skeleton.n_nodes:
        raise ValueError("the compartments were computed for another skeleton")
    comp = compartments.node_compartment[order]
    breaks = np.ones(n, dtype=bool)
    breaks[1:] = (parent[order[1:]] != order[:-1]) | (comp[1:] != comp[:-1])
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], n)
    n_children = np.bincount(parent[parent >= 0], minlength=n)
    forced = n_children[order] != 1  # branch points and leaves
    forced[ends - 1] = True
    n_forced = int(forced.sum()) + 2 * len(starts)  # + each run's first node and its join
    n_free = n - n_forced
    step = max(1, math.ceil(n_free / max(1, max_points - n_forced))) if n_free > 0 else 1
    offset = np.arange(n) - np.repeat(starts, ends - starts)
    keep = forced | (offset % step == 0)
    runs: dict[int, list[list[int]]] = {}
    kept_positions = np.flatnonzero(keep)
    bounds = np.searchsorted(kept_positions, np.append(starts, n))
    for i, start in enumerate(starts.tolist()):
        nodes = order[kept_positions[bounds[i] : bounds[i + 1]]].tolist()
        up = int(parent[order[start]])
        runs.setdefault(int(comp[start]), []).append(([up] if up >= 0 else []) + nodes)
    xyz = skeleton.vertices_nm.astype(np.float32)
    lines = tuple(_lines(k, runs.get(k, []), xyz) for k in range(compartments.n_compartments))
    n_points = sum(len(run) for group in runs.values() for run in group)
    return SkeletonDisplay(lines=lines, n_points=n_points, step=step)


def _lines(compartment: int, runs: list[list[int]], xyz: np.ndarray) -> CompartmentLines:
    if not runs:
        empty = np.zeros(0, dtype=np.float32)
        return CompartmentLines(compartment, empty, empty, empty)
    nodes = np.concatenate([np.append(np.asarray(run, dtype=np.int64), -1) for run in runs])
    nodes = nodes[:-1]  # no separator after the last run
    coords = xyz[np.maximum(nodes, 0)]
    coords[nodes < 0] = np.nan
    x, y, z = (np.ascontiguousarray(axis) for axis in coords.T)
    for axis in (x, y, z):
        axis.setflags(write=False)
    return CompartmentLines(compartment, x, y, z)


