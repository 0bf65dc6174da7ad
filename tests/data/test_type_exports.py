"""Synapse types in every connectome export, read back with independent readers: csv,
pyarrow, NetworkX's GraphML reader, our table loader (CAVE), the neuroglancer package's
``AnnotationReader`` and CloudVolume's metadata (annotation layer)."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow.parquet as pq
import pytest

from synanno_dash.core.connectivity import connectivity
from synanno_dash.core.geometry import Resolution
from synanno_dash.data.annotation_layer import write_annotation_layer
from synanno_dash.data.connectome_files import write_cave_table, write_connectivity
from synanno_dash.data.tables import open_table
from tests.data.test_connectome_files import ITEMS, A, B, C

# ITEMS: 0 A->B, 1 A->B (unsure), 2 A->B incorrect (out), 3 B->A, 4 discarded (out),
# 5 C->A by hand, 6 no pre id (not an edge).
TYPES = ["excitatory", "inhibitory", "excitatory", "excitatory", "inhibitory", None, "gaba"]
TYPED = [replace(i, synapse=replace(i.synapse, synapse_type=t)) for i, t in zip(ITEMS, TYPES)]
# By hand, per type: A->B excitatory 1, inhibitory 1; B->A excitatory 1; C->A untyped 1.
EXPECTED = {
    (A, B, "excitatory"): 1, (A, B, "inhibitory"): 1, (B, A, "excitatory"): 1,
    (C, A, "untyped"): 1,
}  # fmt: skip


def test_connectivity_per_type_matches_a_hand_count(tmp_path: Path) -> None:
    graph = connectivity(TYPED)
    assert graph.types == (None, "excitatory", "inhibitory")
    assert {(e.pre_neuron_id, e.post_neuron_id): e.synapse_count
            for e in graph.edges_of_type("excitatory")} == {(A, B): 1, (B, A): 1}  # fmt: skip
    paths = write_connectivity(graph, tmp_path / "edges")
    names = [p.name for p in paths]
    assert names == ["edges.csv", "edges.parquet", "edges.graphml", "edges_by_type.csv",
                     "edges_by_type.parquet"]  # fmt: skip
    with paths[3].open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(int(r["pre_neuron_id"]), int(r["post_neuron_id"]), r["synapse_type"]):
            int(r["synapse_count"]) for r in rows} == EXPECTED  # fmt: skip
    table = pq.read_table(paths[4]).to_pylist()
    assert {(r["pre_neuron_id"], r["post_neuron_id"], r["synapse_type"]): r["synapse_count"]
            for r in table} == EXPECTED  # fmt: skip
    network = nx.read_graphml(paths[2])
    edge = network.edges[str(A), str(B)]
    assert (edge["synapse_count"], edge["synapse_count_excitatory"],
            edge["synapse_count_inhibitory"], edge["synapse_count_untyped"]) == (2, 1, 1, 0)
    assert network.edges[str(C), str(A)]["synapse_count_untyped"] == 1


def test_the_cave_table_carries_the_types(tmp_path: Path) -> None:
    parquet_path, csv_path = write_cave_table(TYPED, tmp_path / "cave")
    written = pq.read_table(parquet_path)
    assert written.column("synapse_type").to_pylist() == [
        "excitatory", "inhibitory", "excitatory", "excitatory", None, "gaba"
    ]  # item 4 is discarded
    for path in (parquet_path, csv_path):
        by_id = {s.materialization_index: s for s in open_table(path, tmp_path / "c").query()}
        assert [by_id[k].synapse_type for k in (0, 1, 3, 7, 6)] == [
            "excitatory", "inhibitory", "excitatory", None, "gaba"
        ]


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    result = write_annotation_layer(TYPED, tmp_path / "ann", Resolution(8, 8, 40))
    assert result.written == 6
    return tmp_path / "ann"


def test_the_annotation_layer_has_a_type_property(layer: Path) -> None:
    pytest.importorskip("tensorstore")
    from neuroglancer.read_precomputed_annotations import AnnotationReader

    reader = AnnotationReader(layer.as_uri() + "/")
    ids = [p.id for p in reader.properties]
    spec = reader.properties[ids.index("type")]
    # none, the configured list, then the others found (sorted)
    assert list(spec.enum_labels) == ["none", "excitatory", "inhibitory", "unknown", "gaba"]
    got = {k: spec.enum_labels[reader.by_id[k].props[ids.index("type")]] for k in (0, 1, 5, 6)}
    assert got == {0: "excitatory", 1: "inhibitory", 5: "none", 6: "gaba"}
    assert np.allclose(reader.by_id[1].point_a, [8, 20, 3])


def test_cloudvolume_reads_the_type_enum(layer: Path) -> None:
    from cloudvolume.cloudvolume import from_cloudpath

    enums = from_cloudpath(layer.as_uri()).meta.properties_enum
    assert enums["type"] == {0: "none", 1: "excitatory", 2: "inhibitory", 3: "unknown",
                             4: "gaba"}  # fmt: skip
