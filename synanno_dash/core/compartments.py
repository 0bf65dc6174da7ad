"""Neuron skeletons cut into compartments, in a deterministic review order.

Units are nm throughout; vertices are x, y, z. Nodes are indexed 0..n-1 (``node_ids`` keeps
the ids of the file they came from). The rules are documented in ``docs/compartments.md``:

1. the root is the soma (SWC label 1, else one node whose radius is ``SOMA_RADIUS_RATIO``
   times the median) or else the graph centre (two Dijkstra sweeps over cable length);
2. a depth-first traversal from the root, neighbours by ascending node index, numbers the
   nodes (``traversal_index``, the pre-order position);
3. the tree is cut after every branch point and leaf into pieces; each piece is a run of
   consecutive traversal indices, so a compartment is a union of index ranges;
4. pieces are merged (smallest cable first, into its smallest neighbour) or, when there are
   too few, the longest are cut into runs of equal cable, until the target is reached.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, depth_first_order, dijkstra

SWC_SOMA = 1
SOMA_RADIUS_RATIO = 10.0  # a soma node's radius is at least this times the median radius
MAX_DEFAULT_COMPARTMENTS = 12


@dataclass(frozen=True, eq=False)
class NeuronSkeleton:
    """A neuron skeleton: vertices in nm (n, 3), undirected edges (m, 2) of node indices."""

    vertices_nm: np.ndarray
    edges: np.ndarray
    radii_nm: np.ndarray  # zeros when unknown
    swc_types: np.ndarray  # SWC structure labels, 0 when unknown
    node_ids: np.ndarray  # the ids in the source (SWC ids, precomputed vertex indices)
    segment_id: int | None = None

    def __post_init__(self) -> None:
        n = len(self.vertices_nm)
        if self.vertices_nm.shape != (n, 3) or n == 0:
            raise ValueError(f"vertices must have shape (n, 3), n > 0: {self.vertices_nm.shape}")
        if self.edges.ndim != 2 or self.edges.shape[1] != 2:
            raise ValueError(f"edges must have shape (m, 2), got {self.edges.shape}")
        if len(self.edges) and (self.edges.min() < 0 or self.edges.max() >= n):
            raise ValueError("an edge refers to a node that does not exist")
        for name in ("radii_nm", "swc_types", "node_ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} must have one value per node ({n})")
        for array in (self.vertices_nm, self.edges, self.radii_nm, self.swc_types, self.node_ids):
            array.setflags(write=False)

    @classmethod
    def build(
        cls,
        vertices_nm: object,
        edges: object,
        radii_nm: object | None = None,
        swc_types: object | None = None,
        node_ids: object | None = None,
        segment_id: int | None = None,
    ) -> NeuronSkeleton:
        vertices = np.asarray(vertices_nm, dtype=np.float64).reshape(-1, 3)
        n = len(vertices)
        return cls(
            vertices_nm=vertices,
            edges=np.asarray(edges, dtype=np.int64).reshape(-1, 2),
            radii_nm=np.zeros(n) if radii_nm is None else np.asarray(radii_nm, dtype=np.float64),
            swc_types=np.zeros(n, np.int64) if swc_types is None else np.asarray(swc_types, int),
            node_ids=np.arange(n, dtype=np.int64) if node_ids is None else np.asarray(node_ids),
            segment_id=segment_id,
        )

    @property
    def n_nodes(self) -> int:
        return len(self.vertices_nm)

    def adjacency_nm(self) -> sp.csr_matrix:
        """Symmetric sparse matrix of edge lengths (nm) with sorted column indices."""
        a, b = self.edges[:, 0], self.edges[:, 1]
        keep = a != b
        a, b = a[keep], b[keep]
        # A zero-length edge would vanish from a sparse matrix: keep it with a tiny weight.
        length = np.maximum(np.linalg.norm(self.vertices_nm[a] - self.vertices_nm[b], axis=1), 1e-9)
        n = self.n_nodes
        rows, cols = np.concatenate([a, b]), np.concatenate([b, a])
        matrix = sp.csr_matrix((np.concatenate([length, length]), (rows, cols)), shape=(n, n))
        matrix.sum_duplicates()  # a doubled edge must not count twice
        matrix.data = np.where(matrix.data > 0, matrix.data, 1e-9)
        matrix.sort_indices()
        return matrix

    def n_fragments(self) -> int:
        count, _ = connected_components(self.adjacency_nm(), directed=False)
        return int(count)


class RootRule(StrEnum):
    SOMA_LABEL = "soma label"
    SOMA_RADIUS = "soma radius"
    GRAPH_CENTRE = "graph centre"
    GIVEN = "given"


@dataclass(frozen=True)
class RootChoice:
    node: int
    rule: RootRule


def find_soma(skeleton: NeuronSkeleton) -> RootChoice | None:
    """The soma node if the skeleton shows one: SWC label 1, else one clearly wider node."""
    radii = skeleton.radii_nm
    soma_nodes = np.flatnonzero(skeleton.swc_types == SWC_SOMA)
    if len(soma_nodes):
        # Several soma nodes (a soma outline): the widest, lowest index on ties.
        return RootChoice(int(soma_nodes[np.argmax(radii[soma_nodes])]), RootRule.SOMA_LABEL)
    positive = radii[radii > 0]
    if len(positive) >= 3 and radii.max() >= SOMA_RADIUS_RATIO * np.median(positive):
        return RootChoice(int(np.argmax(radii)), RootRule.SOMA_RADIUS)
    return None


def find_root(skeleton: NeuronSkeleton) -> RootChoice:
    """The soma if the skeleton shows one, else the graph centre (see the module docstring)."""
    soma = find_soma(skeleton)
    return soma if soma is not None else RootChoice(graph_centre(skeleton), RootRule.GRAPH_CENTRE)


def graph_centre(skeleton: NeuronSkeleton) -> int:
    """The node with the smallest greatest cable distance to any other node.

    Two sweeps: the farthest node ``a`` from node 0, then the farthest ``b`` from ``a``;
    ``a``-``b`` is a longest path of the tree, and its middle node (minimising
    max(d(a, v), d(b, v))) is the exact centre of a tree. O(n log n), unlike closeness
    centrality, which needs all pairs of distances.
    """
    adjacency = skeleton.adjacency_nm()
    _check_connected(adjacency)
    from_zero = dijkstra(adjacency, directed=False, indices=0)
    a = int(np.argmax(from_zero))
    from_a, predecessors = dijkstra(adjacency, directed=False, indices=a, return_predecessors=True)
    b = int(np.argmax(from_a))
    path = [b]
    while path[-1] != a:
        path.append(int(predecessors[path[-1]]))
    path_nodes = np.array(path)
    eccentricity = np.maximum(from_a[path_nodes], from_a[b] - from_a[path_nodes])
    # float sums differ in the last bits along two directions: ties within 1e-9 relative
    best = np.flatnonzero(eccentricity <= eccentricity.min() * (1 + 1e-9) + 1e-9)
    return int(path_nodes[best].min())


def _check_connected(adjacency: sp.csr_matrix) -> None:
    count, _ = connected_components(adjacency, directed=False)
    if count != 1:
        raise ValueError(f"the skeleton has {count} fragments: heal it into one tree first")


def spanning_forest(
    skeleton: NeuronSkeleton, root: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(order, parent): a depth-first spanning forest, parents before children, -1 at roots.

    Each fragment is rooted at ``root`` if it holds it, else at its lowest node index. Edges
    that close a cycle are left out, which turns any graph into trees (SWC needs a tree).
    """
    adjacency = skeleton.adjacency_nm()
    _, fragment = connected_components(adjacency, directed=False)
    starts = np.unique(fragment, return_index=True)[1].tolist()  # lowest node per fragment
    if root is not None:
        starts[fragment[root]] = int(root)
    parent = np.full(skeleton.n_nodes, -1, dtype=np.int64)
    orders = []
    for start in starts:
        order, predecessors = depth_first_order(adjacency, start, directed=False)
        parent[order] = predecessors[order]
        orders.append(order)
    parent[parent < 0] = -1
    return np.concatenate(orders).astype(np.int64), parent


def default_n_compartments(n_branch_points: int) -> int:
    """One compartment per branch point plus one, at most ``MAX_DEFAULT_COMPARTMENTS``."""
    return max(1, min(n_branch_points + 1, MAX_DEFAULT_COMPARTMENTS))


@dataclass(frozen=True, eq=False)
class Compartments:
    """Per-node compartment and traversal index, as arrays indexed by node index."""

    root: int
    root_rule: RootRule
    n_compartments: int
    node_compartment: np.ndarray  # (n,) compartment of each node, 0 holds the root
    node_order: np.ndarray  # (n,) traversal (pre-order) index of each node
    order: np.ndarray  # (n,) the nodes in traversal order
    parent: np.ndarray  # (n,) parent in the traversal tree, -1 at the root

    def __post_init__(self) -> None:
        for array in (self.node_compartment, self.node_order, self.order, self.parent):
            array.setflags(write=False)

    def compartment_of(self, node: int) -> int:
        return int(self.node_compartment[node])

    def traversal_index(self, node: int) -> int:
        return int(self.node_order[node])

    def nodes_in(self, compartment: int) -> np.ndarray:
        """The nodes of one compartment, in traversal order."""
        return self.order[self.node_compartment[self.order] == compartment]

    def as_dicts(self) -> tuple[dict[int, int], dict[int, int]]:
        """(node -> compartment, node -> traversal index) for callers that want mappings."""
        nodes = range(len(self.order))
        return (
            dict(zip(nodes, self.node_compartment.tolist(), strict=True)),
            dict(zip(nodes, self.node_order.tolist(), strict=True)),
        )


def compute_compartments(
    skeleton: NeuronSkeleton, n_compartments: int | None = None, root: int | None = None
) -> Compartments:
    """Traverse from the root, cut at branch points and leaves, merge or split to the target.

    ``n_compartments`` None follows the branch points (``default_n_compartments``); the
    result has exactly ``min(n_compartments, n_nodes)`` compartments.
    """
    if root is not None and not 0 <= root < skeleton.n_nodes:
        raise ValueError(f"root {root} is not a node of this {skeleton.n_nodes}-node skeleton")
    choice = find_root(skeleton) if root is None else RootChoice(int(root), RootRule.GIVEN)
    adjacency = skeleton.adjacency_nm()
    _check_connected(adjacency)
    order, parent = depth_first_order(adjacency, choice.node, directed=False)
    parent = np.where(parent < 0, -1, parent).astype(np.int64)
    n = skeleton.n_nodes
    node_order = np.empty(n, dtype=np.int64)
    node_order[order] = np.arange(n)
    n_children = np.bincount(parent[parent >= 0], minlength=n)
    degree = n_children + (parent >= 0)
    n_branch_points = int(np.sum(degree >= 3))
    target = (
        n_compartments if n_compartments is not None else default_n_compartments(n_branch_points)
    )
    if target < 1:
        raise ValueError(f"the number of compartments must be at least 1, got {target}")
    edge_nm = np.zeros(n)
    has_parent = parent >= 0
    edge_nm[has_parent] = np.linalg.norm(
        skeleton.vertices_nm[has_parent] - skeleton.vertices_nm[parent[has_parent]], axis=1
    )
    # cumulative cable along the traversal: the cable of positions [s, e) is cum[e] - cum[s]
    cum_nm = np.concatenate([[0.0], np.cumsum(edge_nm[order])])
    key = n_children != 1  # branch points and leaves end a piece
    key[choice.node] = False  # the root starts its first child's piece, never a lone one
    starts = np.flatnonzero(np.concatenate([[True], key[order][:-1]]))
    starts = _split_pieces(starts, cum_nm, target)
    labels = _merge_pieces(starts, cum_nm, parent, node_order, order, target)
    lengths = np.diff(np.append(starts, n))
    node_compartment = np.empty(n, dtype=np.int64)
    node_compartment[order] = np.repeat(labels, lengths)
    return Compartments(
        root=choice.node,
        root_rule=choice.rule,
        n_compartments=int(labels.max()) + 1,
        node_compartment=node_compartment,
        node_order=node_order,
        order=np.asarray(order, dtype=np.int64),
        parent=parent,
    )


def _split_pieces(starts: np.ndarray, cum_nm: np.ndarray, target: int) -> np.ndarray:
    """Cut pieces into equal-cable parts until there are ``target`` pieces.

    Each extra part goes to the piece whose parts are longest (cable, then nodes), so the
    longest resulting part is as short as it can be; a piece never gets more parts than nodes.
    """
    n = len(cum_nm) - 1
    if len(starts) >= target:
        return starts
    ends = np.append(starts[1:], n)
    parts = {int(s): 1 for s in starts}
    heap = [
        (-(cum_nm[e] - cum_nm[s]), -(e - s), int(s), int(e))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        if e - s >= 2
    ]
    heapq.heapify(heap)
    extra = target - len(starts)
    while extra > 0 and heap:
        _, _, s, e = heapq.heappop(heap)
        parts[s] += 1
        extra -= 1
        if parts[s] < e - s:
            p = parts[s]
            heapq.heappush(heap, (-(cum_nm[e] - cum_nm[s]) / p, -(e - s) / p, s, e))
    new_starts: list[int] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        new_starts.extend(_cut(s, e, parts[s], cum_nm))
    return np.array(new_starts, dtype=np.int64)


def _cut(start: int, end: int, n_parts: int, cum_nm: np.ndarray) -> list[int]:
    """Start positions of ``n_parts`` runs of about equal cable covering [start, end)."""
    cuts = [start]
    for i in range(1, n_parts):
        goal = cum_nm[start] + (cum_nm[end] - cum_nm[start]) * i / n_parts
        position = int(np.searchsorted(cum_nm, goal))
        # every run keeps at least one node
        position = min(max(position, cuts[-1] + 1), end - (n_parts - i))
        cuts.append(position)
    return cuts


def _merge_pieces(
    starts: np.ndarray,
    cum_nm: np.ndarray,
    parent: np.ndarray,
    node_order: np.ndarray,
    order: np.ndarray,
    target: int,
) -> np.ndarray:
    """Compartment label per piece, numbered by the first traversal index of each."""
    n_pieces = len(starts)
    ends = np.append(starts[1:], len(order))
    piece_of_position = np.repeat(np.arange(n_pieces), ends - starts)
    top_parent = parent[order[starts]]
    parent_piece = np.where(
        top_parent >= 0, piece_of_position[node_order[np.maximum(top_parent, 0)]], -1
    )
    size = {i: float(cum_nm[e] - cum_nm[s]) for i, (s, e) in enumerate(zip(starts, ends))}
    first = {i: int(s) for i, s in enumerate(starts)}
    neighbours: dict[int, set[int]] = {i: set() for i in range(n_pieces)}
    for child, up in enumerate(parent_piece.tolist()):
        if up >= 0:
            neighbours[child].add(up)
            neighbours[up].add(child)
    owner = np.arange(n_pieces)  # union-find: a piece's group is find(piece)
    alive = set(range(n_pieces))
    heap = [(size[i], first[i], i) for i in range(n_pieces)]
    heapq.heapify(heap)
    while len(alive) > target:
        group_size, group_first, group = heapq.heappop(heap)
        if group not in alive or (group_size, group_first) != (size[group], first[group]):
            continue  # stale entry
        into = min(neighbours[group], key=lambda g: (size[g], first[g]))
        _absorb(into, group, size, first, neighbours)
        owner[group] = into
        alive.discard(group)
        heapq.heappush(heap, (size[into], first[into], into))
    rank = {g: k for k, g in enumerate(sorted(alive, key=lambda g: first[g]))}
    return np.array([rank[_find(owner, i)] for i in range(n_pieces)], dtype=np.int64)


def _find(owner: np.ndarray, piece: int) -> int:
    root = piece
    while owner[root] != root:
        root = int(owner[root])
    while owner[piece] != root:  # path compression
        owner[piece], piece = root, int(owner[piece])
    return root


def _absorb(
    into: int,
    group: int,
    size: dict[int, float],
    first: dict[int, int],
    neighbours: dict[int, set[int]],
) -> None:
    """Merge ``group`` into its neighbour ``into``; both are connected, so the union is."""
    size[into] += size.pop(group)
    first[into] = min(first[into], first.pop(group))
    for other in neighbours.pop(group):
        neighbours[other].discard(group)
        if other != into:
            neighbours[other].add(into)
            neighbours[into].add(other)
