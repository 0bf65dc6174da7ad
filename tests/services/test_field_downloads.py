"""The Export views' downloads for connectome tools (``services.field_downloads``): each zip
holds the command line's files, read back with independent readers; the size limit refuses a
download by name and no temporary folder is left behind."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from synanno_dash.core.labels import Label
from synanno_dash.services import review
from synanno_dash.services.exports import ExportError
from synanno_dash.services.field_downloads import field_download
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import open_session
from tests.conftest import PreparedSession


def _scratch_left(prepared: PreparedSession) -> list[Path]:
    base = prepared.resources.settings.data_dir / "exports" / ".field-downloads"
    return list(base.iterdir()) if base.exists() else []


def test_cave_and_connectivity_zips_hold_the_cli_files(app, demo_info, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info, box_start="0, 0, 0", box_stop="180, 180, 64")
    session = prepared.session
    review.set_label(session, 0, Label.INCORRECT)
    items = session.store.instances(prepared.sid)
    cave = field_download(Job(), session, "cave")
    assert cave.filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(cave.data))
    assert sorted(archive.namelist()) == ["synapses_cave.csv", "synapses_cave.parquet"]
    table = pd.read_parquet(io.BytesIO(archive.read("synapses_cave.parquet")))
    as_csv = pd.read_csv(io.BytesIO(archive.read("synapses_cave.csv")))
    assert len(table) == len(as_csv) == len(items)
    first = items[0].synapse
    row = table.iloc[0]
    assert list(row["pre_pt_position"]) == list(first.pre_xyz_vx)

    edges = field_download(Job(), session, "connectivity")
    archive = zipfile.ZipFile(io.BytesIO(edges.data))
    assert sorted(archive.namelist()) == [
        "connectivity.csv", "connectivity.graphml", "connectivity.parquet",
        "connectivity_by_type.csv", "connectivity_by_type.parquet",  # per synapse type
    ]  # fmt: skip
    counted = pd.read_csv(io.BytesIO(archive.read("connectivity.csv")), dtype=str)
    kept = [
        i for i in items if i.label is not Label.INCORRECT
        and i.synapse.pre_neuron_id is not None and i.synapse.post_neuron_id is not None
    ]  # fmt: skip
    assert counted["synapse_count"].astype(int).sum() == len(kept)
    assert _scratch_left(prepared) == []


def test_state_download_shows_a_kept_annotation_layer(app, demo_info) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info, box_start="0, 0, 0", box_stop="180, 180, 64")
    session = prepared.session
    review.set_label(session, 2, Label.UNSURE)
    state = json.loads(field_download(Job(), session, "ng-state", "http://h.example:1/").data)
    layer = next(e for e in state["layers"] if e["name"] == "proofread synapses")
    source = (
        layer["source"][0] if isinstance(layer["source"][0], str) else layer["source"][0]["url"]
    )
    token = source.rstrip("/").split("/")[-1]
    folder = Path(session.store.data_folder(token))
    assert (folder / "info").is_file()  # the layer the link shows stays
    flagged = session.store.instance(prepared.sid, 2)
    assert state["position"] == [v + 0.5 for v in flagged.synapse.center_xyz_vx]
    with pytest.raises(ExportError, match="address is unknown"):
        field_download(Job(), session, "ng-state", "")
    assert _scratch_left(prepared) == []


def test_downloads_above_the_limit_are_refused_by_name(app, demo_info) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info)
    prepared.resources.settings = prepared.resources.settings.with_changes(max_export_bytes=500)
    limited = open_session(prepared.resources, prepared.sid)
    for fmt, what in (("cave", "CAVE table"), ("ng-annotations", "annotation layer"),
                      ("connectivity", "connectivity")):  # fmt: skip
        with pytest.raises(ExportError, match=f"(?s){what}.*SYNANNO_MAX_EXPORT_BYTES"):
            field_download(Job(), limited, fmt)
    with pytest.raises(ExportError, match="Unknown export"):
        field_download(Job(), limited, "xlsx")
    assert _scratch_left(prepared) == []
