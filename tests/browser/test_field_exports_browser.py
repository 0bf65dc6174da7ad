"""The Export view's buttons for connectome tools in headless Chromium against a real server:
each download is read back with independent readers (neuroglancer's annotation reader,
pyarrow/pandas, networkx, the app's own data route for the state's layer) and compared with a
count made by hand from the session JSON the session was restored from."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from tests.browser.test_jobs_browser import JOB_TIMEOUT_MS, _session_json, restore_in_browser

pytestmark = pytest.mark.browser


def _download(page, fmt: str) -> Path:  # type: ignore[no-untyped-def]
    with page.expect_download(timeout=JOB_TIMEOUT_MS) as info:
        page.locator(f"#fx-{fmt}-button").click()
    page.locator(f"#job-fx-{fmt}-status").get_by_text("was downloaded").wait_for(
        timeout=JOB_TIMEOUT_MS
    )
    return Path(info.value.path())


def test_every_export_button_downloads_what_other_tools_read(  # type: ignore[no-untyped-def]
    server, new_page, resources, demo_info, tmp_path
) -> None:
    json_path, count = _session_json(resources, demo_info, tmp_path)
    document = json.loads(json_path.read_text())
    records = document["Metadata"]
    records[0]["Label"] = records[0]["sd_label"] = "incorrect"  # as another reviewer saved it
    json_path.write_text(json.dumps(document))
    page = new_page()
    restore_in_browser(page, server.url, json_path, "detection")
    page.goto(server.url + "/export-annotate")
    page.locator("#fx-panel").wait_for()

    # the annotation layer: neuroglancer's own reader, one line per instance
    from neuroglancer.read_precomputed_annotations import AnnotationReader

    layer_zip = zipfile.ZipFile(_download(page, "ng-annotations"))
    layer_zip.extractall(tmp_path / "layer")
    reader = AnnotationReader((tmp_path / "layer" / "proofread_synapses").as_uri() + "/")
    first = records[0]
    instance_ids = [r["sd_instance_id"] for r in records]
    assert len(instance_ids) == count
    assert all(i in reader.by_id for i in instance_ids)
    assert max(instance_ids) + 1 not in reader.by_id
    line = reader.by_id[first["sd_instance_id"]]
    assert [round(v) for v in line.point_a] == [first[f"pre_pt_{a}"] for a in "xyz"]

    # the CAVE table: Parquet and CSV with one row per instance
    cave = zipfile.ZipFile(_download(page, "cave"))
    parquet = pd.read_parquet(io.BytesIO(cave.read("synapses_cave.parquet")))
    as_csv = pd.read_csv(io.BytesIO(cave.read("synapses_cave.csv")))
    assert len(parquet) == len(as_csv) == count

    # the connectivity: equal to a count by hand of the JSON's pairs (incorrect left out)
    expected = Counter(
        (str(r["sd_pre_neuron_id"]), str(r["sd_post_neuron_id"]))
        for r in records
        if r["Label"] != "incorrect"
        and r.get("sd_pre_neuron_id") is not None
        and r.get("sd_post_neuron_id") is not None
    )
    edges = zipfile.ZipFile(_download(page, "connectivity"))
    table = pd.read_csv(io.BytesIO(edges.read("connectivity.csv")), dtype=str)
    got = {
        (row.pre_neuron_id, row.post_neuron_id): int(row.synapse_count)
        for row in table.itertuples()
    }
    assert got == dict(expected)
    graph = nx.read_graphml(io.BytesIO(edges.read("connectivity.graphml")))
    assert sum(int(d["synapse_count"]) for *_e, d in graph.edges(data=True)) == sum(
        expected.values()
    )

    # the state link: every layer, and the annotation layer served by this app
    state = json.loads(_download(page, "ng-state").read_text())
    names = {entry["name"] for entry in state["layers"]}
    assert {"source", "target", "proofread synapses"} <= names
    assert state["position"] == [first[f"c{a}0"] + 0.5 for a in "xyz"]
    annotations = next(e for e in state["layers"] if e["name"] == "proofread synapses")
    source = annotations["source"][0]
    url = (source if isinstance(source, str) else source["url"]).removeprefix("precomputed://")
    assert url.startswith(server.url + "/ngdata/")
    with urllib.request.urlopen(url.rstrip("/") + "/info", timeout=30) as response:
        assert json.loads(response.read())["@type"] == "neuroglancer_annotations_v1"
    assert page.console_log.errors == []
