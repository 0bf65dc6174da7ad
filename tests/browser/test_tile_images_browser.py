"""The review grid's images in headless Chromium: a small page response at 256 x 256 crops,
and a tile whose chunks cannot be read shows a placeholder with Retry (issue 14).

The second test serves the demo layers through the HTTP fixture and makes it answer 503 for
the target chunk under the first tile's synapse: that tile (and any sharing the chunk) shows
"could not read" with Retry while the rest of the page shows; once the chunk answers again,
Retry reads that one tile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from synanno_dash.data.http_fixture import LatencyServer

pytestmark = pytest.mark.browser
MAX_PAGE_RESPONSE_BYTES = 2 * 1024**2  # the target for a 24-tile page at 256 x 256

SHOWN_IMAGES_PAINTED = """() => {
    const shown = [...document.querySelectorAll('.sd-tile-view img')]
        .filter(img => img.style.display !== 'none');
    return shown.length > 0 && shown.every(img => img.complete && img.naturalWidth > 0);
}"""


def _open(page, base_url: str, crop: str, tiles: str, **fields: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/open-data?workflow=detection")
    for name, value in fields.items():
        page.locator(f"#od-{name}").fill(value)
    page.locator("#od-crop-size").fill(crop)
    page.locator("#od-tiles-per-page").select_option(tiles)
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=90_000)
    page.goto(base_url + "/annotation?page=1")
    page.locator(".sd-tile").first.wait_for()


def test_a_page_of_256_crops_answers_in_under_2_mb_and_paints(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    _open(page, server.url, "256, 256, 6", "24")
    page.wait_for_function(SHOWN_IMAGES_PAINTED, timeout=60_000)
    sizes: list[int] = []
    page.on(
        "response",
        lambda r: "_dash-update-component" in r.url and sizes.append(len(r.body())),
    )
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r".*page=2"))
    page.locator('.sd-tile[data-instance="24"]').wait_for()
    page.wait_for_function(SHOWN_IMAGES_PAINTED, timeout=60_000)
    assert page.locator(".sd-tile").count() == 24
    assert sizes and max(sizes) <= MAX_PAGE_RESPONSE_BYTES, sizes
    # the images are URLs the browser may keep: a second request is answered from its cache
    first = page.locator(".sd-tile-view img[src]").first.get_attribute("src") or ""
    assert first.startswith("/tile-image/")
    response = page.request.get(server.url + first)
    assert response.ok and "immutable" in response.headers["cache-control"]
    assert response.headers["content-type"] == "image/jpeg"
    assert page.request.get(server.url + first.replace("/em/", "/x/")).status == 404
    assert not page.console_log.errors


@pytest.fixture
def http_demo(data_dir: Path, tmp_path: Path) -> Iterator[LatencyServer]:
    fail_file = tmp_path / "fail.txt"
    with LatencyServer(data_dir / "demo", latency_s=0.005, fail_file=fail_file) as running:
        yield running


def _layer(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _chunk_name(layer: Path, point_xyz: tuple[int, int, int]) -> str:
    """The chunk file of the layer's first scale holding ``point_xyz`` (voxels)."""
    scale = json.loads((layer / "info").read_text())["scales"][0]
    size, offset, chunk = scale["size"], scale["voxel_offset"], scale["chunk_sizes"][0]
    bounds = []
    for axis in range(3):
        start = offset[axis] + (point_xyz[axis] - offset[axis]) // chunk[axis] * chunk[axis]
        stop = min(start + chunk[axis], offset[axis] + size[axis])
        bounds.append(f"{start}-{stop}")
    return f"{_layer(str(layer))}/{scale['key']}/{'_'.join(bounds)}"


def test_an_unreadable_tile_shows_a_placeholder_and_retry_reads_it(
    http_demo: LatencyServer, server, new_page, demo_info, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    from synanno_dash.data.tables import open_table

    table = open_table(demo_info.table_url, data_dir / "test-table-cache")
    first = table.query(limit=1)[0]
    target = data_dir / "demo" / _layer(demo_info.target_url)
    http_demo.fail([_chunk_name(target, first.center_xyz_vx)])
    page = new_page()
    _open(
        page, server.url, "64, 64, 6", "6",
        source=http_demo.precomputed(_layer(demo_info.source_url)),
        target=http_demo.precomputed(_layer(demo_info.target_url)),
        neuropil="",
    )  # fmt: skip
    broken = page.locator('.sd-tile[data-instance="0"]')
    broken.locator(".sd-tile-failed").wait_for(timeout=60_000)
    assert "Could not read this tile" in broken.inner_text()
    assert broken.locator("img").count() == 0  # a placeholder, not a broken image
    readable = page.locator(".sd-tile:not(:has(.sd-tile-failed))")
    assert readable.count() >= 1  # the rest of the page shows
    page.wait_for_function(SHOWN_IMAGES_PAINTED, timeout=60_000)
    other = readable.first.get_attribute("data-instance")
    readable.first.locator(".sd-tile-view").click()
    page.locator(f'.sd-tile[data-instance="{other}"][data-label="incorrect"]').wait_for()

    broken.locator(".sd-retry").click()  # still failing: still a placeholder, page intact
    broken.locator('.sd-tile-failed[data-retries="1"]').wait_for()
    assert "still, on retry" in broken.inner_text()
    http_demo.heal()
    broken.locator(".sd-retry").click()
    broken.locator(".sd-tile-view").wait_for(timeout=60_000)
    page.wait_for_function(SHOWN_IMAGES_PAINTED, timeout=60_000)
    assert broken.locator(".sd-tile-failed").count() == 0
    assert page.locator(f'.sd-tile[data-instance="{other}"]').get_attribute("data-label") == (
        "incorrect"
    )  # labels untouched
    broken.locator(".sd-tile-view").click()  # the read tile takes labels
    page.locator('.sd-tile[data-instance="0"][data-label="incorrect"]').wait_for()
    # the next page's preload meets tiles sharing the failed chunk (404 then): no script error
    assert not [e for e in page.console_log.errors if "Failed to load resource" not in e]
