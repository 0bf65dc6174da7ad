"""Review-grid benchmark: label click, page switch with and without prefetch, memory.

Usage: python bench/bench_review.py [--data-dir DIR] [--clicks N] [--pages N]

1. Server-side time of a label click through Dash's endpoint, against a no-op Dash
   callback (the Menu button) measured in the same run.
2. Time to switch to a page (read its crops and build its 24 tiles), cold and after the
   prefetch, against the raw CloudVolume reads of the same crops in the same run.
3. Server memory (RSS) over 100 reviewed pages (6 tiles each, one label per page).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from synanno_dash.demo.dataset import ensure_demo
from synanno_dash.services import review
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.session import open_session
from synanno_dash.settings import Settings
from synanno_dash.ui.app import create_app
from synanno_dash.ui.session import COOKIE, EXTENSION_KEY
from synanno_dash.ui.tiles import tile


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _form(demo, tiles: str) -> OpenDataForm:  # type: ignore[no-untyped-def]
    return OpenDataForm(source=demo.source_url, target=demo.target_url, table=demo.table_url,
                        crop_size="64, 64, 6", tiles_per_page=tiles)


def bench_click(settings: Settings, demo, clicks: int) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    client = app.server.test_client()
    client.get("/")
    sid = client.get_cookie(COOKIE).value
    assert prepare_session(app.server.extensions[EXTENSION_KEY], sid, _form(demo, "24")).ok
    click_key = next(k for k, s in app.callback_map.items()
                     if any("tile-view" in json.dumps(d["id"]) for d in s["inputs"]))
    menu_key = next(k for k, s in app.callback_map.items()
                    if any(d["id"] == "nav-menu" for d in s["inputs"]))

    def post(output: str, outputs: object, inputs: list, changed: str) -> float:
        body = {"output": output, "outputs": outputs, "inputs": inputs,
                "changedPropIds": [changed], "state": []}
        started = time.perf_counter()
        response = client.post("/_dash-update-component", json=body)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    click_times, noop_times = [], []
    for n in range(clicks):
        index = n % 24
        tile_id, view_id = {"index": index, "type": "tile"}, {"index": index, "type": "tile-view"}
        click_times.append(post(
            click_key,
            [{"id": tile_id, "property": "className"}, {"id": tile_id, "property": "data-label"}],
            [{"id": view_id, "property": "n_clicks", "value": n + 1}],
            json.dumps(view_id, separators=(",", ":")) + ".n_clicks",
        ))
        noop_times.append(post(menu_key, {"id": "menu-modal", "property": "is_open"},
                               [{"id": "nav-menu", "property": "n_clicks", "value": n + 1}],
                               "nav-menu.n_clicks"))
    click, noop = _median_ms(click_times), _median_ms(noop_times)
    print(f"label click (server, median of {clicks}): {click:.1f} ms; "
          f"no-op Dash callback {noop:.1f} ms; ratio {click / noop:.2f}x")


def _raw_reads(config, boxes) -> float:  # type: ignore[no-untyped-def]
    from cloudvolume import CloudVolume

    source = CloudVolume(config.source_url, fill_missing=True, bounded=False, progress=False)
    target = CloudVolume(config.target_url, fill_missing=True, bounded=False, progress=False)
    started = time.perf_counter()
    for box in boxes:
        (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
        target[x0:x1, y0:y1, z0:z1]
        src = box.scaled(config.target_resolution, config.source_resolution)
        (a, b, c), (d, e, f) = src.start_xyz, src.stop_xyz
        source[a:d, b:e, c:f]
    return time.perf_counter() - started


def _render(context: AppContext, sid: str, page: int) -> float:
    started = time.perf_counter()
    loaded = review.load_page(open_session(context, sid), page)
    [tile(item, images) for item, images in zip(loaded.instances, loaded.images, strict=True)]
    return time.perf_counter() - started


def _wait_for_prefetch(context: AppContext, config, items, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Wait (as a person's pause would) until the background job encoded the next page."""
    deadline = time.monotonic() + timeout_s
    keys = [review.image_key(config, item) for item in items]
    while not all(context.tile_images.get(k) for k in keys):
        if time.monotonic() > deadline:
            raise RuntimeError("the prefetch did not finish")
        time.sleep(0.005)


def bench_page_switch(settings: Settings, demo, repeats: int = 5) -> None:  # type: ignore[no-untyped-def]
    cold, warm, raw = [], [], []  # seconds
    for r in range(repeats):
        context = AppContext.create(settings)  # a new process's empty cache
        assert prepare_session(context, "p", _form(demo, "24")).ok
        context.volumes.get(context.store.load_config("p")).cache.clear()
        session = open_session(context, "p")
        _wait_for_prefetch(context, context.store.load_config("p"),
                           review.page_instances(session, 1)[1])  # prepare's own prefetch
        page = 2 + r * 2
        config, items, _count = review.page_instances(open_session(context, "p"), page)
        raw.append(_raw_reads(config, [i.bbox_target_vx for i in items]))
        cold.append(_render(context, "p", page))  # no prefetch: crops read now
        # moving on: page + 1 was prefetched by load_page; wait for it as a user's pause would
        _c, nxt, _n = review.page_instances(open_session(context, "p"), page + 1)
        _wait_for_prefetch(context, config, nxt)
        warm.append(_render(context, "p", page + 1))
    c, w, b = _median_ms(cold), _median_ms(warm), _median_ms(raw)
    print(f"page switch, 24 tiles (median of {repeats}): without prefetch {c:.0f} ms, "
          f"with prefetch {w:.0f} ms; raw CloudVolume reads of the page {b:.0f} ms")
    print(f"  ratios to the raw reads: without prefetch {c / b:.2f}x, with prefetch {w / b:.2f}x")


def bench_memory(settings: Settings, demo, pages: int) -> None:  # type: ignore[no-untyped-def]
    context = AppContext.create(settings)
    assert prepare_session(context, "m", _form(demo, "6")).ok
    process = psutil.Process()
    count = review.page_instances(open_session(context, "m"), 1)[2]
    rss: list[float] = []
    for n in range(pages):
        loaded = review.load_page(open_session(context, "m"), 1 + n % count)
        [tile(item, images) for item, images in zip(loaded.instances, loaded.images, strict=True)]
        clicked = loaded.instances[n % len(loaded.instances)]
        review.cycle_label(open_session(context, "m"), clicked.instance_id)
        if n % 10 == 9:
            rss.append(process.memory_info().rss / 1024**2)
    print(f"memory over {pages} reviewed pages (RSS every 10 pages, MiB): "
          + ", ".join(f"{v:.0f}" for v in rss))
    print(f"  growth from page 10 to page {pages}: {rss[-1] - rss[0]:+.0f} MiB "
          f"(crop cache limit {settings.cache_bytes / 1024**2:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", help="a data folder with (or for) the demo dataset")
    parser.add_argument("--clicks", type=int, default=200)
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(args.data_dir) if args.data_dir else Path(scratch)
        demo = ensure_demo(data_dir / "demo")
        settings = Settings(data_dir=data_dir, cache_bytes=64 * 1024**2,
                            database_url=f"sqlite:///{Path(scratch) / 'bench.db'}")
        bench_click(settings, demo, args.clicks)
        bench_page_switch(settings, demo)
        bench_memory(settings, demo, args.pages)


if __name__ == "__main__":
    main()
