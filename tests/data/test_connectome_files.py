"""Connectivity and CAVE-schema exports read back with independent readers: csv, pyarrow,
NetworkX's GraphML reader, and our own table loader for the CAVE table (exact 64-bit ids)."""

from __future__ import annotations

import csv
from pathlib import Path

import networkx as nx
import pyarrow.parquet as pq

from synanno_dash.core.connectivity import connectivity
from synanno_dash.core.geometry import bbox_around
from synanno_dash.core.instances import Instance, Synapse
from synanno_dash.core.labels import Label
from synanno_dash.core.session_json_format import ADDED_BY_HAND_KEY
from synanno_dash.data.connectome_files import write_cave_table, write_connectivity
from synanno_dash.data.tables import open_table

A, B, C = 864_691_135_000_000_001, 2**63 + 5, 7  # ids above 2**53 and 2**63


def _item(k: int, pre: int | None, post: int | None, label: Label = Label.CORRECT,
          discarded: bool = False, by_hand: bool = False, mat: int | None = None) -> Instance:
    synapse = Synapse(
        k if mat is None else mat, (10 * k, 20, 3), (10 * k - 2, 20, 3), (10 * k + 2, 20, 3),
        pre, post,
    )  # fmt: skip
    return Instance(
        k, synapse, bbox_around(synapse.center_xyz_vx, (8, 8, 2)), label=label,
        discarded=discarded, extra={ADDED_BY_HAND_KEY: True} if by_hand else {},
    )  # fmt: skip


ITEMS = [
    _item(0, A, B),
    _item(1, A, B, Label.UNSURE),  # unsure still counts
    _item(2, A, B, Label.INCORRECT),  # left out
    _item(3, B, A),
    _item(4, A, C, discarded=True),  # a discarded false positive: left out
    _item(5, C, A, by_hand=True, mat=-1),  # a false negative added by hand: counts
    _item(6, None, A),  # no pre id: not an edge
]
# By hand: A->B 2, B->A 1, C->A 1.
EXPECTED = {(A, B): 2, (B, A): 1, (C, A): 1}


def test_connectivity_matches_a_hand_count(tmp_path: Path) -> None:
    graph = connectivity(ITEMS)
    assert {(e.pre_neuron_id, e.post_neuron_id): e.synapse_count for e in graph.edges} == EXPECTED
    assert graph.excluded_incorrect == 2 and graph.without_ids == 1
    csv_path, parquet_path, graphml_path, *_ = write_connectivity(graph, tmp_path / "edges")
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(int(r["pre_neuron_id"]), int(r["post_neuron_id"])): int(r["synapse_count"])
            for r in rows} == EXPECTED  # fmt: skip
    table = pq.read_table(parquet_path).to_pylist()
    assert {(r["pre_neuron_id"], r["post_neuron_id"]): r["synapse_count"] for r in table} == (
        EXPECTED
    )
    network = nx.read_graphml(graphml_path)
    assert network.is_directed() and network.number_of_nodes() == 3
    assert {(int(u), int(v)): d["synapse_count"] for u, v, d in network.edges(data=True)} == (
        EXPECTED
    )


def test_cave_table_reopens_through_our_loader(tmp_path: Path) -> None:
    parquet_path, csv_path = write_cave_table(ITEMS, tmp_path / "cave")
    written = pq.read_table(parquet_path)
    assert written.column("id").to_pylist() == [0, 1, 2, 3, 7, 6]  # added by hand: next id
    assert written.column("label").to_pylist()[2] == "incorrect"
    for path in (parquet_path, csv_path):
        table = open_table(path, tmp_path / "cache")
        assert table.schema == "cave" and table.count() == 6
        by_id = {s.materialization_index: s for s in table.query()}
        assert (by_id[0].pre_neuron_id, by_id[0].post_neuron_id) == (A, B)
        assert by_id[3].pre_neuron_id == B  # above 2**63: still exact
        assert by_id[7].pre_neuron_id == C and by_id[7].center_xyz_vx == (50, 20, 3)
        assert by_id[6].pre_neuron_id is None and by_id[6].post_xyz_vx == (62, 20, 3)
