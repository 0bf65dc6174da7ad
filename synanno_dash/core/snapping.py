"""Synapses placed on a neuron's skeleton: nearest node, compartment, review order.

Points are in nm, x, y, z. A synapse table is in voxels of its own resolution: convert
with ``points_to_nm`` (or pick the point that lies on the neuron with ``synapse_point_vx``)
before snapping. The review order is compartment, then traversal index of the nearest
node, then materialization index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from synanno_dash.core.compartments import Compartments, NeuronSkeleton
from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import Synapse


@dataclass(frozen=True)
class SnappedSynapse:
    materialization_index: int
    node: int  # nearest skeleton node (index into the skeleton's arrays)
    distance_nm: float
    compartment: int
    traversal_index: int

    @property
    def review_key(self) -> tuple[int, int, int]:
        return (self.compartment, self.traversal_index, self.materialization_index)


def points_to_nm(points_xyz_vx: object, resolution: Resolution) -> np.ndarray:
    """Voxel coordinates (n, 3), x, y, z at ``resolution`` -> nm (n, 3)."""
    points = np.asarray(points_xyz_vx, dtype=np.float64).reshape(-1, 3)
    return points * np.asarray(resolution.as_tuple())


def synapse_point_vx(synapse: Synapse, neuron_id: int | None) -> tuple[int, int, int]:
    """The table point that lies on ``neuron_id``: its post point on the post-synaptic
    neuron, its pre point on the pre-synaptic one, else (or if missing) the centre."""
    if neuron_id is not None:
        if synapse.post_neuron_id == neuron_id and synapse.post_xyz_vx is not None:
            return synapse.post_xyz_vx
        if synapse.pre_neuron_id == neuron_id and synapse.pre_xyz_vx is not None:
            return synapse.pre_xyz_vx
    return synapse.center_xyz_vx


def snap_synapses(
    skeleton: NeuronSkeleton,
    compartments: Compartments,
    points_nm: object,
    materialization_indices: Sequence[int],
) -> list[SnappedSynapse]:
    """Each point snapped to its nearest skeleton node, in the order given.

    Of two equally near nodes (a point exactly between them) the lower index wins, so the
    result does not depend on the KD-tree's internals.
    """
    points = np.asarray(points_nm, dtype=np.float64).reshape(-1, 3)
    if len(points) != len(materialization_indices):
        raise ValueError(
            f"{len(points)} points but {len(materialization_indices)} materialization indices"
        )
    if len(compartments.node_order) != skeleton.n_nodes:
        raise ValueError("the compartments were computed for another skeleton")
    if len(points) == 0:
        return []
    tree = cKDTree(skeleton.vertices_nm)
    k = min(2, skeleton.n_nodes)
    distances, nodes = tree.query(points, k=k)
    distances, nodes = distances.reshape(len(points), k), nodes.reshape(len(points), k)
    if k == 2:
        tie = np.isclose(distances[:, 0], distances[:, 1], rtol=0, atol=1e-9)
        nodes[:, 0] = np.where(tie, nodes.min(axis=1), nodes[:, 0])
    nearest, distance = nodes[:, 0], distances[:, 0]
    compartment = compartments.node_compartment[nearest]
    traversal = compartments.node_order[nearest]
    return [
        SnappedSynapse(int(m), int(node), float(d), int(c), int(t))
        for m, node, d, c, t in zip(
            materialization_indices, nearest, distance, compartment, traversal, strict=True
        )
    ]


def review_order(snapped: Sequence[SnappedSynapse]) -> list[SnappedSynapse]:
    """Compartment, then traversal index, then materialization index."""
    return sorted(snapped, key=lambda s: s.review_key)
