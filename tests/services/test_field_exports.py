"""``synanno-dash export`` on a prepared demo session: the connectivity equals a count made
from the demo table with pandas, the CAVE table reopens with the session's exact ids, and bad
requests get one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synanno_dash.cli import main
from synanno_dash.core.labels import Label
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.settings import Settings


@pytest.fixture
def session_dir(demo_info, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    context = AppContext.create(Settings(data_dir=tmp_path))
    form = OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url,
        neuropil=demo_info.neuropil_url, table=demo_info.table_url, crop_size="64, 64, 6",
    )  # fmt: skip
    assert prepare_session(context, "s1", form).ok
    for instance_id in (0, 3, 5):
        context.store.edit("s1", instance_id, label=Label.INCORRECT)
    context.store.edit("s1", 7, discarded=True, label=Label.INCORRECT)
    context.store.engine.dispose()
    return tmp_path


def test_connectivity_export_equals_a_count_of_the_table(
    session_dir: Path, demo_info, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    out = session_dir / "exports" / "edges"
    assert main(["export", "--session", "s1", "--format", "connectivity", "--out", str(out),
                 "--data-dir", str(session_dir)]) == 0  # fmt: skip
    table = pd.read_csv(demo_info.table_url.removeprefix("file://"), dtype=str)
    # volume-centric sessions review the table in row order: instance k is row k
    kept = table.drop(index=[0, 3, 5, 7]).dropna(subset=["pre_neuron_id", "post_neuron_id"])
    expected = kept.groupby(["pre_neuron_id", "post_neuron_id"]).size()
    written = pd.read_csv(out.with_suffix(".csv"), dtype=str)
    got = written.set_index(["pre_neuron_id", "post_neuron_id"])["synapse_count"].astype(int)
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    assert "wrote" in capsys.readouterr().out


def test_cave_export_keeps_the_sessions_ids(session_dir: Path) -> None:
    from synanno_dash.data.store import SessionStore
    from synanno_dash.data.tables import open_table

    out = session_dir / "cave"
    assert main(["export", "--session", "s1", "--format", "cave", "--out", str(out),
                 "--data-dir", str(session_dir)]) == 0  # fmt: skip
    store = SessionStore(Settings(data_dir=session_dir).effective_database_url)
    items = [i for i in store.instances("s1") if not i.discarded]
    table = open_table(out.with_suffix(".parquet"), session_dir / "cache")
    assert table.count() == len(items)
    for item in items[:20]:
        synapse = table.get(item.synapse.materialization_index)
        assert synapse is not None
        assert synapse.pre_neuron_id == item.synapse.pre_neuron_id
        assert synapse.post_xyz_vx == item.synapse.post_xyz_vx


def test_bad_export_requests(session_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--session", "nope", "--format", "cave", "--out",
                 str(session_dir / "x"), "--data-dir", str(session_dir)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No session 'nope'" in err[0]


def test_annotation_layer_export_opens_in_neuroglancer_reader(session_dir: Path) -> None:
    pytest.importorskip("tensorstore")
    from neuroglancer.read_precomputed_annotations import AnnotationReader

    from synanno_dash.data.store import SessionStore

    out = session_dir / "synapses-layer"
    assert main(["export", "--session", "s1", "--format", "ng-annotations", "--out", str(out),
                 "--data-dir", str(session_dir)]) == 0  # fmt: skip
    store = SessionStore(Settings(data_dir=session_dir).effective_database_url)
    first = store.instance("s1", 0)
    reader = AnnotationReader(out.as_uri() + "/")
    line = reader.by_id[0]
    assert tuple(line.point_a) == first.synapse.pre_xyz_vx
    labels = [p for p in reader.properties if p.id == "label"][0].enum_labels
    assert labels[line.props[[p.id for p in reader.properties].index("label")]] == "incorrect"
    assert 7 not in reader.by_id  # discarded
    assert main(["export", "--session", "s1", "--format", "ng-annotations", "--out", str(out),
                 "--data-dir", str(session_dir)]) == 2  # fmt: skip


def test_ng_state_opens_every_layer_at_the_first_flagged_instance(session_dir: Path) -> None:
    import json

    from synanno_dash.data.store import SessionStore

    layer = session_dir / "layer"
    assert main(["export", "--session", "s1", "--format", "ng-annotations", "--out", str(layer),
                 "--data-dir", str(session_dir)]) == 0  # fmt: skip
    out = session_dir / "state"
    assert main(["export", "--session", "s1", "--format", "ng-state", "--out", str(out),
                 "--data-dir", str(session_dir), "--base-url", "http://example.org:8050",
                 "--annotations", str(layer)]) == 0  # fmt: skip
    state = json.loads(out.with_suffix(".json").read_text())
    names = [entry["name"] for entry in state["layers"]]
    assert {"source", "target", "neuropil", "proofread synapses"} <= set(names)
    store = SessionStore(Settings(data_dir=session_dir).effective_database_url)
    first_flagged = store.instance("s1", 0)  # instance 0 was labelled incorrect
    assert state["position"] == [v + 0.5 for v in first_flagged.synapse.center_xyz_vx]
    annotations = next(e for e in state["layers"] if e["name"] == "proofread synapses")
    sources = annotations["source"]  # a list of sources for an annotation layer
    source = sources[0] if isinstance(sources[0], str) else sources[0]["url"]
    token = source.rstrip("/").split("/")[-1]
    assert source.startswith("precomputed://http://example.org:8050/ngdata/")
    assert store.data_folder(token) == str(layer.resolve())
