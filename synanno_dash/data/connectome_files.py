"""Files connectome tools read: a session's connectivity (edge list CSV and Parquet, GraphML
for NetworkX, Cytoscape or Gephi) and its proofread synapses in the CAVE synapse schema.

Neuron ids stay exact 64-bit integers: uint64 in Parquet, decimal text in CSV and GraphML
(GraphML node ids are strings; the ``neuron_id`` attribute is the same decimal text, as
GraphML's ``long`` is signed 64-bit and ids can exceed it). The connectivity per synapse type
is a second edge list, ``<out_base>_by_type``, and per-type edge attributes in the GraphML.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synanno_dash.core.connectivity import Connectivity
from synanno_dash.core.instances import Instance
from synanno_dash.core.session_json_format import ADDED_BY_HAND_KEY
from synanno_dash.core.synapse_types import UNTYPED

EDGE_COLUMNS = ("pre_neuron_id", "post_neuron_id", "synapse_count")


def _edge_table(graph: Connectivity) -> pa.Table:
    return pa.table({
        "pre_neuron_id": pa.array([e.pre_neuron_id for e in graph.edges], pa.uint64()),
        "post_neuron_id": pa.array([e.post_neuron_id for e in graph.edges], pa.uint64()),
        "synapse_count": pa.array([e.synapse_count for e in graph.edges], pa.int64()),
    })  # fmt: skip


def _typed_edge_table(graph: Connectivity) -> pa.Table:
    return pa.table({
        "pre_neuron_id": pa.array([e.pre_neuron_id for e in graph.by_type], pa.uint64()),
        "post_neuron_id": pa.array([e.post_neuron_id for e in graph.by_type], pa.uint64()),
        "synapse_type": pa.array([e.synapse_type or UNTYPED for e in graph.by_type], pa.string()),
        "synapse_count": pa.array([e.synapse_count for e in graph.by_type], pa.int64()),
    })  # fmt: skip


def type_attribute(synapse_type: str | None) -> str:
    """The GraphML edge attribute counting one type's synapses."""
    return f"synapse_count_{synapse_type or UNTYPED}"


def write_connectivity(graph: Connectivity, out_base: Path) -> list[Path]:
    """``<out_base>.csv``, ``.parquet`` (one row per pre -> post edge), ``.graphml``
    (a directed graph, edge attributes ``synapse_count`` and ``synapse_count_<type>`` per
    type) and ``<out_base>_by_type.csv``, ``.parquet`` (one row per edge and synapse type,
    ``untyped`` for synapses without one); the paths written."""
    out_base.parent.mkdir(parents=True, exist_ok=True)
    table = _edge_table(graph)
    by_type = out_base.with_name(f"{out_base.name}_by_type")
    paths = [out_base.with_suffix(s) for s in (".csv", ".parquet", ".graphml")]
    paths += [by_type.with_suffix(".csv"), by_type.with_suffix(".parquet")]
    pacsv.write_csv(table, paths[0])
    pq.write_table(table, paths[1])
    typed = _typed_edge_table(graph)
    pacsv.write_csv(typed, paths[3])
    pq.write_table(typed, paths[4])
    network = nx.DiGraph()
    for neuron in graph.neuron_ids:
        network.add_node(str(neuron), neuron_id=str(neuron))
    zero = {type_attribute(kind): 0 for kind in graph.types}
    for e in graph.edges:
        network.add_edge(str(e.pre_neuron_id), str(e.post_neuron_id),
                         synapse_count=e.synapse_count, **zero)  # fmt: skip
    for t in graph.by_type:
        network.edges[str(t.pre_neuron_id), str(t.post_neuron_id)][
            type_attribute(t.synapse_type)
        ] = t.synapse_count
    nx.write_graphml(network, paths[2])
    return paths


def _point(point: tuple[int, int, int] | None) -> list[int] | None:
    return None if point is None else [int(v) for v in point]


def cave_table(items: Sequence[Instance]) -> pa.Table:
    """The instances (discarded ones left out) in the CAVE synapse schema, target voxels:
    ``id`` (the table row; new ids after the largest for synapses added by hand),
    ``pre_pt_position``, ``post_pt_position``, ``ctr_pt_position``, ``pre_pt_root_id``,
    ``post_pt_root_id``, ``size`` (unknown: empty) and our ``label``, ``category``, ``note``,
    ``added_by_hand``, ``synapse_type`` (empty: not typed)."""
    kept = [i for i in items if not i.discarded]
    next_id = max((i.synapse.materialization_index for i in kept), default=-1) + 1
    ids = []
    for item in kept:
        if item.extra.get(ADDED_BY_HAND_KEY) or item.synapse.materialization_index < 0:
            ids.append(next_id)
            next_id += 1
        else:
            ids.append(item.synapse.materialization_index)
    point = pa.list_(pa.int64())
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "pre_pt_position": pa.array([_point(i.synapse.pre_xyz_vx) for i in kept], point),
        "post_pt_position": pa.array([_point(i.synapse.post_xyz_vx) for i in kept], point),
        "ctr_pt_position": pa.array([_point(i.synapse.center_xyz_vx) for i in kept], point),
        "pre_pt_root_id": pa.array([i.synapse.pre_neuron_id for i in kept], pa.uint64()),
        "post_pt_root_id": pa.array([i.synapse.post_neuron_id for i in kept], pa.uint64()),
        "size": pa.array([None] * len(kept), pa.int64()),
        "label": pa.array([i.label.value for i in kept], pa.string()),
        "category": pa.array([i.category.value if i.category else "" for i in kept]),
        "note": pa.array([i.note for i in kept], pa.string()),
        "added_by_hand": pa.array([bool(i.extra.get(ADDED_BY_HAND_KEY)) for i in kept]),
        "synapse_type": pa.array([i.synapse.synapse_type for i in kept], pa.string()),
    })  # fmt: skip


def write_cave_table(items: Sequence[Instance], out_base: Path) -> list[Path]:
    """``<out_base>.parquet`` (points as int64 lists) and ``.csv`` (points as ``"[x, y, z]"``
    text, as CAVE's CSV exports write them); the paths written."""
    out_base.parent.mkdir(parents=True, exist_ok=True)
    table = cave_table(items)
    paths = [out_base.with_suffix(".parquet"), out_base.with_suffix(".csv")]
    pq.write_table(table, paths[0])
    as_text = table
    for name in ("pre_pt_position", "post_pt_position", "ctr_pt_position"):
        column = table.column(name).to_pylist()
        text = pa.array([None if p is None else f"[{p[0]}, {p[1]}, {p[2]}]" for p in column])
        as_text = as_text.set_column(as_text.schema.get_field_index(name), name, text)
    pacsv.write_csv(as_text, paths[1])
    return paths
