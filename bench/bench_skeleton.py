"""Neuron-centric preparation on a 100,000-node synthetic neuron, against naive baselines.

The neuron: runs of ~30 nodes 100 nm apart branching off random earlier nodes (the same
generator as the figure size test), cut into 20 fragments, stored as a precomputed skeleton
in a local uncompressed segmentation layer. Steps timed (median of repeats):

- load: ``load_precomputed_skeleton`` from the local layer;
- prepare: heal + prune with navis (``prepare_skeleton``; navis import timed apart);
- root: ``graph_centre`` (two Dijkstra sweeps) vs networkx ``closeness_centrality`` on a
  5,000-node subtree, extrapolated to the whole neuron by (n / 5,000)^2 (it is all-pairs);
- compartments: ``compute_compartments`` vs a networkx depth-first traversal alone;
- snap: 2,000 synapses with a KD-tree vs brute-force distances;
- figure: simplified display + figure + JSON vs the figure with every node.

    .venv/bin/python bench/bench_skeleton.py [--nodes 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synanno_dash.core.compartments import (  # noqa: E402
    NeuronSkeleton,
    compute_compartments,
    graph_centre,
)
from synanno_dash.core.skeleton_lines import display_skeleton  # noqa: E402
from synanno_dash.core.snapping import review_order, snap_synapses  # noqa: E402
from synanno_dash.data.precomputed import SkeletonData, new_layer, write_skeletons  # noqa: E402
from synanno_dash.ui.skeleton_figure import skeleton_figure  # noqa: E402
from tests.ui.test_skeleton_figure import branching_skeleton  # noqa: E402

T = TypeVar("T")
N_SYNAPSES = 2000
SUBSAMPLE = 5000


def timed(work: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median wall time in seconds over ``repeats`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result  # type: ignore[return-value]


def fragmented(sk: NeuronSkeleton, n_cuts: int, seed: int) -> NeuronSkeleton:
    keep = np.ones(len(sk.edges), dtype=bool)
    keep[np.random.default_rng(seed).choice(len(sk.edges), n_cuts, replace=False)] = False
    return NeuronSkeleton.build(sk.vertices_nm, sk.edges[keep], sk.radii_nm + 50.0)


def write_layer(folder: Path, sk: NeuronSkeleton, segment_id: int) -> str:
    new_layer(folder, "segmentation", "uint64", (8, 8, 40), (64, 64, 16), (64, 64, 16),
              skeletons=True)  # fmt: skip
    write_skeletons(folder, [SkeletonData(segment_id, sk.vertices_nm, sk.edges, sk.radii_nm,
                                          sk.swc_types)])  # fmt: skip
    return folder.resolve().as_uri()


def brute_force_nearest(vertices: np.ndarray, points: np.ndarray) -> np.ndarray:
    out = []
    for chunk in np.array_split(points, max(1, len(points) // 50)):
        squared = ((chunk[:, None, :] - vertices[None, :, :]) ** 2).sum(axis=2)
        out.append(squared.argmin(axis=1))
    return np.concatenate(out)


def networkx_closeness_extrapolated(sk: NeuronSkeleton, n_target: int) -> tuple[float, float, int]:
    """(seconds on the subtree, extrapolated seconds, subtree nodes)."""
    import networkx as nx

    # parents precede children in the generator, so the first nodes form one subtree
    small_edges = sk.edges[(sk.edges < SUBSAMPLE).all(axis=1)]
    graph = nx.Graph()
    for a, b in small_edges.tolist():
        graph.add_edge(a, b, weight=float(np.linalg.norm(sk.vertices_nm[a] - sk.vertices_nm[b])))
    start = time.perf_counter()
    nx.closeness_centrality(graph, distance="weight")
    seconds = time.perf_counter() - start
    n = graph.number_of_nodes()
    return seconds, seconds * (n_target / n) ** 2, n


def networkx_dfs(sk: NeuronSkeleton, root: int) -> list[int]:
    import networkx as nx

    graph = nx.Graph()
    graph.add_edges_from(sk.edges.tolist())
    ordered = nx.Graph()
    for node in sorted(graph):  # insertion order = ascending neighbours for the DFS
        ordered.add_edges_from((node, other) for other in sorted(graph[node]))
    return list(nx.dfs_preorder_nodes(ordered, root))


def row(name: str, ours: float, base: float | None = None, unit: str = "s") -> None:
    def fmt(v: float) -> str:
        return f"{v * 1000:9.1f} ms" if unit == "s" else f"{v / 1000:9.1f} kB"

    ratio = f"{base / ours:8.1f}x" if base else ""
    print(f"{name:<34}{fmt(ours)}   {fmt(base) if base else ' ' * 12}   {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    repeats = args.repeats
    whole = branching_skeleton(args.nodes, seed=2)
    stored = fragmented(whole, n_cuts=19, seed=3)
    segment_id = 2**40 + 7
    rng = np.random.default_rng(4)
    points = whole.vertices_nm[rng.integers(0, whole.n_nodes, N_SYNAPSES)]
    points = points + rng.normal(scale=150.0, size=points.shape)
    ids = list(range(N_SYNAPSES))

    start = time.perf_counter()
    import navis  # noqa: F401  (its import cost is paid once per worker process)

    navis_import_s = time.perf_counter() - start
    from synanno_dash.data.skeletons import load_precomputed_skeleton, prepare_skeleton

    with tempfile.TemporaryDirectory() as folder:
        url = write_layer(Path(folder) / "neuropil", stored, segment_id)
        t_load, raw = timed(lambda: load_precomputed_skeleton(url, segment_id), repeats)
    t_prepare, neuron = timed(lambda: prepare_skeleton(raw), repeats)
    t_centre, _ = timed(lambda: graph_centre(neuron), repeats)
    sub_s, closeness_s, sub_n = networkx_closeness_extrapolated(whole, neuron.n_nodes)
    sub_ours, _ = timed(lambda: graph_centre(_subtree(whole)), repeats)
    t_comps, comps = timed(lambda: compute_compartments(neuron), repeats)
    t_nx_dfs, _ = timed(lambda: networkx_dfs(neuron, comps.root), 1)
    t_snap, snapped = timed(
        lambda: review_order(snap_synapses(neuron, comps, points, ids)), repeats
    )
    t_brute, nearest = timed(lambda: brute_force_nearest(neuron.vertices_nm, points), 1)
    assert sorted(s.node for s in snapped) == sorted(nearest.tolist())
    states = {i: [None, "correct", "incorrect", "unsure"][i % 4] for i in ids}
    synapse_points = {s.materialization_index: points[s.materialization_index] for s in snapped}

    def figure_json(max_points: int) -> str:
        display = display_skeleton(neuron, comps, max_points=max_points)
        return skeleton_figure(display, comps, synapse_points, states, set(ids[:24])).to_json()

    t_figure, small_json = timed(lambda: figure_json(16_000), repeats)
    t_naive, naive_json = timed(lambda: figure_json(10**9), 1)
    display = display_skeleton(neuron, comps)

    print(f"neuron: {whole.n_nodes} nodes stored as {stored.n_fragments()} fragments; after heal "
          f"and prune {neuron.n_nodes} nodes, {comps.n_compartments} compartments, root rule "
          f"'{comps.root_rule}'; {N_SYNAPSES} synapses; display {display.n_points} points "
          f"(every {display.step}th node between branch points)")  # fmt: skip
    print(f"navis import (once per process): {navis_import_s:.2f} s\n")
    print(f"{'step':<34}{'ours':>12}   {'baseline':>12}   ratio")
    row("load precomputed skeleton", t_load)
    row("heal + prune (navis)", t_prepare)
    row(f"root: graph centre, {sub_n} nodes", sub_ours, sub_s)
    row(f"root: graph centre, {neuron.n_nodes} nodes", t_centre, closeness_s)
    row("compartments (vs nx DFS alone)", t_comps, t_nx_dfs)
    row(f"snap {N_SYNAPSES} synapses + order", t_snap, t_brute)
    row("figure build + JSON", t_figure, t_naive)
    row("figure JSON size", len(small_json), len(naive_json), unit="B")
    print(f"\nbaselines: networkx closeness_centrality ({sub_s:.2f} s on {sub_n} nodes, "
          f"x(n/{sub_n})^2 for the whole neuron), networkx dfs_preorder_nodes, brute-force "
          "nearest node, the figure with every node.")  # fmt: skip


def _subtree(sk: NeuronSkeleton) -> NeuronSkeleton:
    edges = sk.edges[(sk.edges < SUBSAMPLE).all(axis=1)]
    return NeuronSkeleton.build(sk.vertices_nm[:SUBSAMPLE], edges)


if __name__ == "__main__":
    main()
