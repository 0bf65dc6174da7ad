"""Synapses snapped to a skeleton: nearest node, compartment, traversal index, order."""

from __future__ import annotations

import numpy as np
import pytest

from synanno_dash.core.compartments import NeuronSkeleton, compute_compartments
from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import Synapse
from synanno_dash.core.snapping import (
    SnappedSynapse,
    points_to_nm,
    review_order,
    snap_synapses,
    synapse_point_vx,
)

# A Y rooted at its soma (node 0): stem 0-1-2 along x, arm A 2-3-4 up, arm B 2-5-6 down.
VERTICES = [[0, 0, 0], [100, 0, 0], [200, 0, 0], [200, 100, 0], [200, 200, 0],
            [200, -100, 0], [200, -200, 0]]  # fmt: skip
EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (2, 5), (5, 6)]
TYPES = [1, 3, 3, 3, 3, 3, 3]


@pytest.fixture()
def y_neuron() -> tuple[NeuronSkeleton, object]:
    sk = NeuronSkeleton.build(VERTICES, EDGES, swc_types=TYPES)
    comps = compute_compartments(sk, n_compartments=3)
    # the stem, arm A and arm B: pieces 0-1-2, 3-4 and 5-6 need no merge for 3 compartments
    assert comps.node_compartment.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert comps.node_order.tolist() == [0, 1, 2, 3, 4, 5, 6]
    return sk, comps


def test_points_snap_to_their_nearest_node(y_neuron: tuple) -> None:
    sk, comps = y_neuron
    points = [[210, 190, 30], [95, 20, 0], [180, -110, -5], [-40, 0, 0]]
    snapped = snap_synapses(sk, comps, points, [11, 12, 13, 14])
    assert [s.node for s in snapped] == [4, 1, 5, 0]
    assert [s.compartment for s in snapped] == [1, 0, 2, 0]
    assert [s.traversal_index for s in snapped] == [4, 1, 5, 0]
    assert [s.materialization_index for s in snapped] == [11, 12, 13, 14]
    assert snapped[0].distance_nm == pytest.approx(np.sqrt(10**2 + 10**2 + 30**2))
    assert snapped[3].distance_nm == pytest.approx(40.0)


def test_a_point_midway_between_two_nodes_goes_to_the_lower_index(y_neuron: tuple) -> None:
    sk, comps = y_neuron
    (snapped,) = snap_synapses(sk, comps, [[200, 150, 0]], [1])  # between nodes 3 and 4
    assert snapped.node == 3


def test_review_order_is_compartment_then_traversal_then_materialization(
    y_neuron: tuple,
) -> None:
    sk, comps = y_neuron
    points = [[200, -210, 0], [200, 210, 0], [0, 5, 0], [200, 205, 0], [110, 0, 0]]
    snapped = snap_synapses(sk, comps, points, [50, 40, 30, 20, 10])
    ordered = review_order(snapped)
    assert [s.materialization_index for s in ordered] == [30, 10, 20, 40, 50]
    assert [s.review_key for s in ordered] == sorted(s.review_key for s in snapped)


def test_table_voxels_convert_to_nm_with_the_table_resolution() -> None:
    points = points_to_nm([[10, 20, 3], [0, 1, 2]], Resolution(8, 8, 40))
    assert points.tolist() == [[80.0, 160.0, 120.0], [0.0, 8.0, 80.0]]


def test_the_point_on_the_neuron_is_chosen() -> None:
    synapse = Synapse(7, (5, 5, 5), (1, 1, 1), (9, 9, 9), pre_neuron_id=2**60 + 1,
                      post_neuron_id=2**60 + 2)  # fmt: skip
    assert synapse_point_vx(synapse, 2**60 + 2) == (9, 9, 9)
    assert synapse_point_vx(synapse, 2**60 + 1) == (1, 1, 1)
    assert synapse_point_vx(synapse, 3) == (5, 5, 5)
    assert synapse_point_vx(synapse, None) == (5, 5, 5)
    no_points = Synapse(8, (5, 5, 5), post_neuron_id=4)
    assert synapse_point_vx(no_points, 4) == (5, 5, 5)


def test_mismatched_inputs_are_refused(y_neuron: tuple) -> None:
    sk, comps = y_neuron
    with pytest.raises(ValueError, match="2 points but 1"):
        snap_synapses(sk, comps, [[0, 0, 0], [1, 1, 1]], [1])
    other = NeuronSkeleton.build([[0, 0, 0], [1, 0, 0]], [(0, 1)])
    with pytest.raises(ValueError, match="another skeleton"):
        snap_synapses(other, comps, [[0, 0, 0]], [1])
    assert snap_synapses(sk, comps, np.zeros((0, 3)), []) == []


def test_snapping_agrees_with_brute_force_on_random_points() -> None:
    rng = np.random.default_rng(3)
    vertices = rng.uniform(0, 10_000, size=(300, 3))
    parents = [int(rng.integers(0, i)) for i in range(1, 300)]
    sk = NeuronSkeleton.build(vertices, list(zip(range(1, 300), parents, strict=True)))
    comps = compute_compartments(sk, n_compartments=7)
    points = rng.uniform(0, 10_000, size=(500, 3))
    snapped = snap_synapses(sk, comps, points, list(range(500)))
    distances = np.linalg.norm(points[:, None, :] - vertices[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    assert [s.node for s in snapped] == nearest.tolist()
    assert all(
        s
        == SnappedSynapse(
            i, int(n), s.distance_nm, int(comps.node_compartment[n]), int(comps.node_order[n])
        )  # fmt: skip
        for i, (s, n) in enumerate(zip(snapped, nearest, strict=True))
    )
