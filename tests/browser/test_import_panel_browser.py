"""Open Data's Import predictions panel in headless Chromium against a real server: a bad
threshold is refused in the panel and leaves nothing; a generated probability map with known
blobs is imported as a background job, the form is filled with the result, Submit opens it and
the review shows the kept blobs, least confident first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synanno_dash.data.precomputed import write_volume
from tests.browser.test_jobs_browser import JOB_TIMEOUT_MS

pytestmark = pytest.mark.browser

SHAPE_XYZ = (96, 80, 24)
# (x0, y0, z0, sx, sy, sz, probability): 99 voxels (too small), then three kept blobs whose
# confidence order differs from their table order, then 1001 voxels (too large).
BLOBS = [
    (2, 2, 2, 9, 11, 1, 0.95),
    (28, 4, 2, 10, 10, 1, 0.9),
    (60, 28, 6, 10, 10, 10, 0.6),
    (70, 60, 18, 4, 5, 6, 0.75),
    (4, 50, 3, 7, 11, 13, 0.8),
]


def _probability_map(folder: Path, resolution_nm: tuple[float, float, float]) -> Path:
    prob = np.full(SHAPE_XYZ, 0.05, np.float32)
    for x, y, z, sx, sy, sz, value in BLOBS:
        prob[x : x + sx, y : y + sy, z : z + sz] = value
    write_volume(folder / "prob", prob, resolution_nm, (32, 32, 8), "image", (16, 16, 4))
    return folder / "prob"


def _fill(page, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for name, value in values.items():
        field = page.locator(f"#imp-{name}")
        field.fill(value)
        field.press("Tab")


def test_import_a_probability_map_then_review_it(  # type: ignore[no-untyped-def]
    server, new_page, demo_info, tmp_path
) -> None:
    from synanno_dash.data.store import SessionStore
    from synanno_dash.settings import Settings
    from synanno_dash.ui.session import COOKIE

    map_path = _probability_map(tmp_path, tuple(demo_info.target_resolution_nm))
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.locator("#imp-panel .accordion-button").click()
    _fill(page, {"map-url": str(map_path), "threshold": "2", "min-size": "100",
                 "max-size": "1000"})  # fmt: skip
    page.locator("#imp-button").click()
    status = page.locator("#job-imp-status")
    status.get_by_text("outside the range").wait_for(timeout=JOB_TIMEOUT_MS)
    assert "Threshold" in (status.text_content() or "")
    imports = server.data_dir / "imports"
    assert not imports.exists() or not [p for p in imports.rglob("*") if p.is_dir() and
                                        p.parent.parent == imports]  # fmt: skip

    _fill(page, {"threshold": "0.5", "min-size": "abc"})
    page.locator("#imp-button").click()
    page.locator("#imp-min-size.is-invalid").wait_for(timeout=JOB_TIMEOUT_MS)
    _fill(page, {"min-size": "100"})
    page.locator("#imp-button").click()
    page.locator("#imp-done").wait_for(timeout=JOB_TIMEOUT_MS)
    assert "Imported 3 synapses (5 components before the size filter)" in (
        page.locator("#imp-done").text_content() or ""
    )
    target = page.locator("#od-target").input_value()
    table_path = Path(page.locator("#od-table").input_value())
    assert target.startswith("file://") and target.endswith("/target")
    assert table_path.name == "synapses.csv" and table_path.parent.parent.parent == imports
    assert page.locator("#od-review-order").input_value() == "least-confident"
    table = pd.read_csv(table_path)
    assert table["size_vx"].tolist() == [100, 1000, 120]

    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=JOB_TIMEOUT_MS)
    assert "Ready: 3 synapses" in (page.locator("#od-ready").text_content() or "")
    page.locator("#od-start").click()
    page.locator(".sd-tile[data-instance]").first.wait_for(timeout=JOB_TIMEOUT_MS)
    assert page.locator(".sd-tile[data-instance]").count() == 3

    sid = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)
    store = SessionStore(Settings(data_dir=server.data_dir).effective_database_url)
    order = [store.instance(sid, k).synapse.materialization_index for k in range(3)]
    confidence = dict(zip(table["id"], table["confidence"], strict=True))
    assert [confidence[i] for i in order] == sorted(confidence.values())  # 0.6, 0.75, 0.9
    store.engine.dispose()
    assert page.console_log.errors == []
