"""Root choice, traversal and compartments on hand-built graphs and navis's real neurons.

Every result is checked against independent references: networkx for connectivity and
eccentricity, a plain recursive depth-first search for the traversal order.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synanno_dash.core.compartments import (
    MAX_DEFAULT_COMPARTMENTS,
    Compartments,
    NeuronSkeleton,
    RootRule,
    compute_compartments,
    default_n_compartments,
    find_root,
    graph_centre,
    spanning_forest,
)


def skeleton(
    edges: Sequence[tuple[int, int]],
    vertices: Sequence[Sequence[float]] | np.ndarray,
    radii: Sequence[float] | None = None,
    types: Sequence[int] | None = None,
) -> NeuronSkeleton:
    return NeuronSkeleton.build(vertices, edges, radii, types)


def graph_of(sk: NeuronSkeleton) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(sk.n_nodes))
    for a, b in sk.edges.tolist():
        graph.add_edge(a, b, weight=float(np.linalg.norm(sk.vertices_nm[a] - sk.vertices_nm[b])))
    return graph


def reference_preorder(sk: NeuronSkeleton, root: int) -> list[int]:
    """A recursive depth-first search, neighbours by ascending index (emulated with a stack
    of iterators so deep neurons do not hit the recursion limit)."""
    graph = graph_of(sk)
    seen, out = {root}, [root]
    stack = [iter(sorted(graph[root]))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child not in seen:
            seen.add(child)
            out.append(child)
            stack.append(iter(sorted(graph[child])))
    return out


def check_invariants(sk: NeuronSkeleton, comps: Compartments) -> None:
    n = sk.n_nodes
    graph = graph_of(sk)
    assert sorted(comps.node_order.tolist()) == list(range(n))
    assert comps.order[comps.node_order].tolist() == list(range(n))
    assert comps.order.tolist() == reference_preorder(sk, comps.root)
    labels = comps.node_compartment
    assert labels.shape == (n,)
    assert set(labels.tolist()) == set(range(comps.n_compartments))  # none empty
    assert labels[comps.root] == 0
    for k in range(comps.n_compartments):
        nodes = np.flatnonzero(labels == k).tolist()
        assert nx.is_connected(graph.subgraph(nodes)), f"compartment {k} is not connected"
    # numbered by the first traversal index of each compartment
    firsts = [int(comps.node_order[labels == k].min()) for k in range(comps.n_compartments)]
    assert firsts == sorted(firsts)
    for node, up in enumerate(comps.parent.tolist()):
        assert (up == -1) == (node == comps.root)
        if up >= 0:
            assert graph.has_edge(node, up)


def same(a: Compartments, b: Compartments) -> bool:
    return (
        a.root == b.root
        and np.array_equal(a.node_compartment, b.node_compartment)
        and np.array_equal(a.node_order, b.node_order)
    )


# A Y: stem 0-1-2 to the fork at 2, arms 2-3-4 and 2-5-6-7.
Y_VERTICES = [[0, 0, 0], [100, 0, 0], [200, 0, 0], [300, 80, 0], [400, 160, 0],
              [300, -80, 0], [400, -160, 0], [500, -240, 0]]  # fmt: skip
Y_EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (2, 5), (5, 6), (6, 7)]


def test_y_with_soma_label_is_rooted_at_the_soma() -> None:
    sk = skeleton(Y_EDGES, Y_VERTICES, types=[1, 3, 3, 3, 3, 3, 3, 3])
    comps = compute_compartments(sk)
    assert (comps.root, comps.root_rule) == (0, RootRule.SOMA_LABEL)
    assert comps.order.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    # one branch point -> two compartments: the shorter arm joins the stem
    assert comps.n_compartments == 2
    assert comps.node_compartment.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    check_invariants(sk, comps)


def test_y_soma_by_radius_and_graph_centre() -> None:
    radii = [900, 40, 40, 30, 30, 30, 30, 30]
    assert find_root(skeleton(Y_EDGES, Y_VERTICES, radii=radii)).rule == RootRule.SOMA_RADIUS
    assert find_root(skeleton(Y_EDGES, Y_VERTICES, radii=radii)).node == 0
    # a wide node that is not clearly wider than the rest is no soma
    flat = [90, 40, 40, 30, 30, 30, 30, 30]
    choice = find_root(skeleton(Y_EDGES, Y_VERTICES, radii=flat))
    assert choice.rule == RootRule.GRAPH_CENTRE
    # the longest path runs 4-3-2-5-6-7; its middle node minimises the farthest distance
    assert choice.node == 2


def test_star_arms_become_compartments_on_request() -> None:
    arms, per_arm = 6, 3
    vertices = [[0.0, 0.0, 0.0]]
    edges = []
    for arm in range(arms):
        angle = 2 * np.pi * arm / arms
        for step in range(1, per_arm + 1):
            vertices.append([100 * step * np.cos(angle), 100 * step * np.sin(angle), 0.0])
            edges.append((0 if step == 1 else len(vertices) - 2, len(vertices) - 1))
    sk = skeleton(edges, vertices)
    assert find_root(sk).node == 0  # the centre of a symmetric star
    assert compute_compartments(sk).n_compartments == default_n_compartments(1) == 2
    comps = compute_compartments(sk, n_compartments=arms)
    check_invariants(sk, comps)
    for arm in range(arms):  # each arm lies whole in one compartment
        arm_nodes = list(range(1 + arm * per_arm, 1 + (arm + 1) * per_arm))
        assert len(set(comps.node_compartment[arm_nodes].tolist())) == 1


def test_long_chain_is_split_into_even_runs_on_request() -> None:
    n = 100
    sk = skeleton([(i, i + 1) for i in range(n - 1)], [[100.0 * i, 0, 0] for i in range(n)])
    assert compute_compartments(sk).n_compartments == 1
    comps = compute_compartments(sk, n_compartments=5)
    check_invariants(sk, comps)
    sizes = np.bincount(comps.node_compartment)
    assert len(sizes) == 5 and sizes.min() >= 15 and sizes.max() <= 30


def test_every_requested_count_is_reached_up_to_the_node_count() -> None:
    sk = skeleton(Y_EDGES, Y_VERTICES)
    for k in range(1, 12):
        comps = compute_compartments(sk, n_compartments=k)
        assert comps.n_compartments == min(k, sk.n_nodes)
        check_invariants(sk, comps)
    with pytest.raises(ValueError, match="at least 1"):
        compute_compartments(sk, n_compartments=0)


def test_fragments_must_be_healed_first_and_heal_with_navis() -> None:
    from synanno_dash.data.skeletons import prepare_skeleton

    left = [[100.0 * i, 0, 0] for i in range(10)]
    right = [[100.0 * i + 1500, 50, 0] for i in range(10)]
    edges = [(i, i + 1) for i in range(9)] + [(i + 10, i + 11) for i in range(9)]
    broken = skeleton(edges + [(3, 20), (20, 21), (20, 22)], left + right + [[300, 500, 0]] * 3)
    assert broken.n_fragments() == 2
    with pytest.raises(ValueError, match="2 fragments"):
        compute_compartments(broken)
    healed = prepare_skeleton(broken, twig_nm=0)
    assert healed.n_fragments() == 1 and healed.n_nodes == broken.n_nodes
    comps = compute_compartments(healed, n_compartments=4)
    check_invariants(healed, comps)
    assert same(comps, compute_compartments(healed, n_compartments=4))


def test_cycles_are_traversed_as_a_spanning_tree() -> None:
    square = skeleton([(0, 1), (1, 2), (2, 3), (3, 0), (2, 4)], [[0, 0, 0], [100, 0, 0],
                      [100, 100, 0], [0, 100, 0], [200, 200, 0]])  # fmt: skip
    comps = compute_compartments(square, n_compartments=2, root=0)
    assert comps.root_rule == RootRule.GIVEN
    check_invariants(square, comps)
    with pytest.raises(ValueError, match="root 9 is not a node"):
        compute_compartments(square, root=9)
    order, parent = spanning_forest(square, root=4)
    assert order[0] == 4 and int((parent == -1).sum()) == 1


@st.composite
def random_trees(draw: st.DrawFn) -> tuple[NeuronSkeleton, int]:
    n = draw(st.integers(1, 40))
    parents = [draw(st.integers(0, i - 1)) for i in range(1, n)]
    seed = draw(st.integers(0, 2**16))
    vertices = np.random.default_rng(seed).uniform(0, 1000, size=(n, 3)).round()
    edges = [(i, p) for i, p in zip(range(1, n), parents, strict=True)]
    return skeleton(edges, vertices), draw(st.integers(1, 15))


@settings(max_examples=60, deadline=None)
@given(random_trees())
def test_random_trees_keep_every_invariant(case: tuple[NeuronSkeleton, int]) -> None:
    sk, target = case
    comps = compute_compartments(sk, n_compartments=target)
    assert comps.n_compartments == min(target, sk.n_nodes)
    check_invariants(sk, comps)
    assert same(comps, compute_compartments(sk, n_compartments=target))


@settings(max_examples=60, deadline=None)
@given(random_trees())
def test_graph_centre_minimises_the_greatest_distance(case: tuple[NeuronSkeleton, int]) -> None:
    sk, _ = case
    graph = graph_of(sk)
    eccentricity = {
        node: max(nx.single_source_dijkstra_path_length(graph, node).values()) for node in graph
    }
    centre = graph_centre(sk)
    assert eccentricity[centre] == pytest.approx(min(eccentricity.values()), rel=1e-9, abs=1e-6)


@pytest.fixture(scope="module")
def example_neurons() -> list[tuple[NeuronSkeleton, int | None]]:
    """navis's five hemibrain neurons (8 nm units) with each one's soma node id."""
    import navis

    out = []
    for neuron in navis.example_neurons():
        nodes = neuron.nodes
        index = {node_id: i for i, node_id in enumerate(nodes["node_id"].tolist())}
        edges = [
            (index[a], index[b])
            for a, b in zip(nodes["node_id"].tolist(), nodes["parent_id"].tolist(), strict=True)
            if b >= 0
        ]
        sk = NeuronSkeleton.build(
            nodes[["x", "y", "z"]].to_numpy() * 8.0,
            edges,
            nodes["radius"].to_numpy() * 8.0,
            nodes["label"].astype(int).to_numpy(),
            nodes["node_id"].to_numpy(),
        )
        soma = neuron.soma
        out.append((sk, None if soma is None else int(np.atleast_1d(soma)[0])))
    return out


def test_example_neurons(example_neurons: list[tuple[NeuronSkeleton, int | None]]) -> None:
    from synanno_dash.data.skeletons import prepare_skeleton

    assert [soma is not None for _, soma in example_neurons].count(True) == 4
    for raw, soma in example_neurons:
        sk = raw if raw.n_fragments() == 1 else prepare_skeleton(raw, twig_nm=0)
        comps = compute_compartments(sk)
        assert comps.n_compartments == MAX_DEFAULT_COMPARTMENTS == 12
        check_invariants(sk, comps)
        assert same(comps, compute_compartments(sk))
        if soma is None:
            assert comps.root_rule == RootRule.GRAPH_CENTRE
        else:
            assert comps.root_rule == RootRule.SOMA_LABEL
            assert int(sk.node_ids[comps.root]) == soma
        many = compute_compartments(sk, n_compartments=40)
        assert many.n_compartments == 40
        check_invariants(sk, many)
