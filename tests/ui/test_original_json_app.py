"""A session JSON written as the original SynAnno writes it, through the app (issue 10).

The JSON comes from ``tests/original_synanno.py`` (independent of our writer), built from the
demo table in z, y, x order with boxes at the volume's border. The app checks it on upload,
restores it, a tile click changes one label, Download JSON (the export page's callback) writes
it back, and that file loads again: same axis order, same values, the one label changed.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from synanno_dash.core.session_json import parse_session_json
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.settings import Settings
from synanno_dash.ui import ids
from synanno_dash.ui.app import create_app
from tests.core.test_session_json_original import SAME_KEYS
from tests.original_synanno import NO_NEURON, OriginalSession, OriginalSynapse, original_json
from tests.ui.test_ng_integration import DashClient, _id_text

LABELS = [("correct", "None"), ("incorrect", "falsePositive"), ("unsure", "odd blob"),
          ("incorrect", "badFit"), ("correct", "None"), ("unsure", "polaritySwitch")]  # fmt: skip


def demo_original_session(demo_info, order: str, count: int = 14) -> OriginalSession:  # type: ignore[no-untyped-def]
    """The demo table's synapses nearest the volume's border first, then others."""
    path = Path(url2pathname(urlparse(demo_info.table_url).path))
    with path.open() as f:
        rows = list(csv.DictReader(f))
    size = demo_info.target_size_xyz_vx

    def border_distance(row: dict[str, str]) -> int:
        c = [int(row[a]) for a in "xyz"]
        return min(min(v, s - 1 - v) // (32 if a != 2 else 3) for a, v, s in zip(range(3), c, size))

    chosen = sorted(range(len(rows)), key=lambda i: (border_distance(rows[i]) > 0, i))[:count]
    synapses = []
    for n, i in enumerate(sorted(chosen)):
        row = rows[i]
        label, error = LABELS[n % len(LABELS)]
        synapses.append(
            OriginalSynapse(
                row=i,
                center_xyz=(int(row["x"]), int(row["y"]), int(row["z"])),
                pre_xyz=(int(row["pre_pt_x"]), int(row["pre_pt_y"]), int(row["pre_pt_z"])),
                post_xyz=(int(row["post_pt_x"]), int(row["post_pt_y"]), int(row["post_pt_z"])),
                label=label,
                error=error,
                annotated=n < 6,
            )  # fmt: skip
        )
    return OriginalSession(synapses, tuple(size), coordinate_order=order, per_page=6)  # type: ignore[arg-type]


def as_upload(text: str) -> str:
    return "data:application/json;base64," + base64.b64encode(text.encode()).decode()


@pytest.fixture
def app(data_dir: Path, tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    yield create_app(Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}"))


@pytest.mark.parametrize("order", ["zyx", "yxz"])
def test_original_json_loads_reviews_and_exports_back_the_same(app, demo_info, order) -> None:  # type: ignore[no-untyped-def]
    session = demo_original_session(demo_info, order)
    text = original_json(session)
    original = json.loads(text)
    assert any(r["Padding"] != [[0, 0]] * 3 for r in original["Metadata"])  # border boxes
    browser = DashClient(app, demo_info)

    # the upload is checked at once
    status = browser.call(
        "check_upload",
        [(ids.OD_JSON_UPLOAD, "contents", as_upload(text))],
        [(ids.OD_JSON_UPLOAD, "filename", "synanno.json")],
    )
    assert status is not None
    assert "14 instances (9 to fix)" in json.dumps(status[ids.OD_JSON_STATUS]["children"])

    form = OpenDataForm(source=demo_info.source_url, target=demo_info.target_url,
                        session_json=text)  # fmt: skip
    outcome = prepare_session(browser.context, browser.sid, form)
    assert outcome.ok, outcome.errors
    assert outcome.instance_count == 14

    # review: one click on the first tile (correct -> incorrect)
    clicked = browser.call("click_tile", [(ids.tile_view(0), "n_clicks", 1)], match={"index": 0})
    assert clicked is not None
    assert clicked[_id_text(ids.tile(0))]["data-label"] == "incorrect"

    # Download JSON, as the export page does
    result = browser.call("download", [(ids.EXPORT_DOWNLOAD_BUTTON, "n_clicks", 1)])
    assert result is not None
    exported = json.loads(result[ids.EXPORT_DOWNLOAD]["data"]["content"])
    assert exported["Proofread Time"]["start_grid"] == original["Proofread Time"]["start_grid"]
    assert exported["Proofread Time"]["difference_grid"] == "0:05:12.345678"
    for position, (before, after) in enumerate(
        zip(original["Metadata"], exported["Metadata"], strict=True)
    ):
        for key in SAME_KEYS:
            if position == 0 and key in ("Label", "Error_Description"):
                continue
            assert after[key] == before[key], (position, key)
        assert after["neuron_id"] == NO_NEURON
        assert after["materialization_index"] == session.synapses[position].row
    assert exported["Metadata"][0]["Label"] == "incorrect"

    # and the export loads again as the same review
    first = parse_session_json(text).instances
    again = parse_session_json(json.dumps(exported)).instances
    assert [i.bbox_target_vx for i in again] == [i.bbox_target_vx for i in first]
    assert [i.label.value for i in again] == ["incorrect"] + [i.label.value for i in first[1:]]
    assert all(i.extra["json_axis_order"] == order for i in again)
