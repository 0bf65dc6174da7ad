"""Setting synapse types in a demo session (only offered types; one undo step each) and the
types in the corrected table (the table's own type column, or a new one), the session JSON
and the command-line exports."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synanno_dash.core.session_json import parse_session_json
from synanno_dash.data.store_rows import StoreError
from synanno_dash.data.tables import open_table
from synanno_dash.services import review, synapse_types, table_export
from synanno_dash.services.context import AppContext
from synanno_dash.services.field_exports import export_session
from synanno_dash.services.prepare import prepare_session
from synanno_dash.services.session import open_session
from synanno_dash.settings import Settings
from tests.conftest import demo_form

SID = "s"


def _context(tmp_path: Path, **settings: object) -> AppContext:
    return AppContext.create(Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 's.db'}", **settings,
    ))  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def context(tmp_path: Path, demo_info):  # type: ignore[no-untyped-def]
    ctx = _context(tmp_path)
    assert prepare_session(ctx, SID, demo_form(demo_info, neuropil="")).ok
    yield ctx
    ctx.executor.shutdown(wait=True)


def test_only_offered_types_are_set_and_each_is_one_undo_step(context: AppContext) -> None:
    session = open_session(context, SID)
    item = review.instance(session, 2)
    assert synapse_types.offered(session, item) == ["excitatory", "inhibitory", "unknown"]
    assert synapse_types.set_type(session, 2, "inhibitory") is not None
    assert synapse_types.set_type(session, 2, "inhibitory") is None  # unchanged: not logged
    with pytest.raises(StoreError, match="'gaba' is not a synapse type of this server"):
        synapse_types.set_type(session, 2, "gaba")
    assert review.instance(session, 2).synapse.synapse_type == "inhibitory"
    review.undo(session)
    assert review.instance(session, 2).synapse.synapse_type is None
    review.redo(session)
    assert review.instance(session, 2).synapse.synapse_type == "inhibitory"


def test_a_configured_list_and_a_type_from_the_table_are_offered(
    tmp_path: Path, demo_info  # type: ignore[no-untyped-def]
) -> None:
    table = pd.read_csv(demo_info.table_url.removeprefix("file://"), dtype=str)
    table["type"] = ["GABA" if k == 1 else "" for k in range(len(table))]
    typed = tmp_path / "typed.csv"
    table.to_csv(typed, index=False)
    ctx = _context(tmp_path, synapse_types=("cholinergic", "gabaergic"))
    assert prepare_session(ctx, SID, demo_form(demo_info, neuropil="", table=str(typed))).ok
    session = open_session(ctx, SID)
    item = review.instance(session, 1)
    assert item.synapse.synapse_type == "gaba"  # read from the table, lower case
    assert synapse_types.offered(session, item) == ["cholinergic", "gabaergic", "gaba"]
    assert synapse_types.offered(session, review.instance(session, 0)) == [
        "cholinergic", "gabaergic"
    ]
    synapse_types.set_type(session, 0, "gabaergic")
    # the corrected table: the changed type in the table's own column, the others as written
    written = pd.read_csv(table_export.write_table(session).path, dtype=str)
    assert list(written.columns) == list(table.columns)
    assert written["type"].iloc[:3].fillna("").tolist() == ["gabaergic", "GABA", ""]
    ctx.executor.shutdown(wait=True)


def test_a_table_without_a_type_column_gets_one(context: AppContext, tmp_path: Path) -> None:
    session = open_session(context, SID)
    synapse_types.set_type(session, 0, "excitatory")
    synapse_types.set_type(session, 3, "inhibitory")
    result = table_export.write_table(session)
    rows = open_table(result.path, tmp_path / "reopened").query()
    mats = {i.instance_id: i.synapse.materialization_index for i in review.instances(session)}
    by_mat = {s.materialization_index: s.synapse_type for s in rows}
    assert (by_mat[mats[0]], by_mat[mats[3]], by_mat[mats[1]]) == (
        "excitatory", "inhibitory", None
    )
    assert pd.read_csv(result.path).columns[-1] == "synapse_type"


def test_session_json_and_cli_exports_carry_the_types(
    context: AppContext, tmp_path: Path
) -> None:
    session = open_session(context, SID)
    synapse_types.set_type(session, 0, "excitatory")
    document = review.session_json_document(session)
    records = {r["sd_instance_id"]: r for r in document["Metadata"]}
    assert records[0]["sd_synapse_type"] == "excitatory" and records[1]["sd_synapse_type"] is None
    restored = parse_session_json(json.dumps(document))
    assert restored.instances[0].synapse.synapse_type == "excitatory"
    for fmt, out in (("cave", tmp_path / "cave"), ("connectivity", tmp_path / "edges")):
        export_session(context.store, SID, fmt, out)  # what ``synanno-dash export`` runs
    cave = pd.read_parquet(tmp_path / "cave.parquet")
    assert cave["synapse_type"].iloc[0] == "excitatory"
    by_type = pd.read_csv(tmp_path / "edges_by_type.csv", dtype=str)
    assert set(by_type["synapse_type"]) <= {"excitatory", "untyped"}


def test_the_annotation_layer_and_ng_state_carry_the_types(
    context: AppContext, tmp_path: Path
) -> None:
    pytest.importorskip("tensorstore")
    from neuroglancer.read_precomputed_annotations import AnnotationReader

    session = open_session(context, SID)
    synapse_types.set_type(session, 0, "inhibitory")
    synapse_types.set_type(session, 1, "excitatory")
    layer = tmp_path / "layer"
    export_session(context.store, SID, "ng-annotations", layer)
    reader = AnnotationReader(layer.as_uri() + "/")
    ids = [p.id for p in reader.properties]
    labels = list(reader.properties[ids.index("type")].enum_labels)
    index = {k: reader.by_id[k].props[ids.index("type")] for k in (0, 1, 2)}
    assert [labels[index[k]] for k in (0, 1, 2)] == ["inhibitory", "excitatory", "none"]
    export_session(context.store, SID, "ng-state", tmp_path / "state",
                   "http://example.org:8050", str(layer))  # fmt: skip
    state = json.loads((tmp_path / "state.json").read_text())
    shader = next(e for e in state["layers"] if e["name"] == "proofread synapses")["shader"]
    # each type's colour is keyed by the value the layer's reader gives that type
    assert "prop_type()" in shader
    assert f"if (t == {index[0]}u) c = vec3(0.90, 0.20, 0.60);" in shader  # inhibitory
    assert f"if (t == {index[1]}u) c = vec3(0.20, 0.80, 0.20);" in shader  # excitatory
