"""A review page flip in a real browser: from the key press to every shown tile painted.

Starts the app (its own process, the demo dataset) and headless Chromium (Playwright,
``/usr/bin/chromium``), opens a 24-tile volume-centric review and measures, in the page
(``performance.now()``, polled every animation frame):

- prefetched page: the user looks at a page for ``--dwell-s`` (the server prefetches the next
  page, the browser preloads its images), then presses ``→``; done when the page label shows
  the next page and every shown slice image is complete, decoded (``naturalWidth``) and a
  frame has been painted after that;
- cold page: a jump to a page far away (as a typed page address does, through Dash's router:
  nothing prefetched, nothing cached);
- the page response: the largest ``_dash-update-component`` body of the flip (bytes, from the
  browser's resource timing) and its server time (request start to response start), the
  in-run reference for the part of a flip the browser does not add.

For 64 x 64 x 6 and 256 x 256 x 6 crops, with the volumes read locally (``file://``) and, with
``--http-latency-ms`` > 0, through the HTTP fixture with that latency per request. Targets
(issue 14): a prefetched page <= 100 ms end to end; a page's response <= 2 MB at 256 x 256.

    .venv/bin/python bench/bench_page_flip_browser.py [--flips 5] [--dwell-s 5]
        [--http-latency-ms 50] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synanno_dash.data.http_fixture import LatencyServer, free_port  # noqa: E402
from synanno_dash.demo.dataset import ensure_demo  # noqa: E402
from synanno_dash.ui import ids  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
TILES = "24"
CROPS = ("64, 64, 6", "256, 256, 6")
TARGET_PREFETCHED_MS = 100.0
TARGET_PAGE_BYTES = 2 * 1024**2

# Resolves with (milliseconds from the trigger to painted, largest page response bytes,
# its server milliseconds). ``trigger`` is "next" (the → key) or a page number (a jump).
FLIP_JS = """async ([trigger, labelId]) => {
    performance.clearResourceTimings();
    const label = () => (document.getElementById(labelId) || {}).textContent;
    const before = label();
    const painted = () => {
        const shown = [...document.querySelectorAll('.sd-tile-view img')]
            .filter(img => img.style.display !== 'none');
        return shown.length > 0 && shown.every(img => img.complete && img.naturalWidth > 0);
    };
    const t0 = performance.now();
    if (trigger === 'next') {
        document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
    } else {
        window.history.pushState({}, '', '/annotation?page=' + trigger);
        window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
    }
    await new Promise(resolve => {
        const check = () => (label() !== before && painted())
            ? requestAnimationFrame(resolve) : requestAnimationFrame(check);
        requestAnimationFrame(check);
    });
    const elapsed = performance.now() - t0;
    const responses = performance.getEntriesByType('resource')
        .filter(e => e.name.includes('_dash-update-component'));
    const largest = responses.reduce((a, e) => e.decodedBodySize > a.decodedBodySize ? e : a,
                                     {decodedBodySize: 0, responseStart: 0, requestStart: 0});
    return [elapsed, largest.decodedBodySize, largest.responseStart - largest.requestStart];
}"""


@contextmanager
def app_server(data_dir: Path, log: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SYNANNO_DATA_DIR": str(data_dir), "APP_PORT": str(port)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "synanno_dash.cli", "serve", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start: see {log}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def open_review(page: Any, url: str, crop: str, volumes: dict[str, str]) -> int:
    """Submit Open Data (24 tiles, ``crop``) and show page 1; returns the number of pages."""
    page.goto(url + "/open-data?workflow=detection")
    for name, value in volumes.items():
        page.locator(f"#od-{name}").fill(value)
    page.locator("#od-crop-size").fill(crop)
    page.locator("#od-tiles-per-page").select_option(TILES)
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=120_000)
    page.goto(url + "/annotation?page=1")
    page.locator(".sd-tile").first.wait_for(timeout=60_000)
    text = page.locator(f"#{ids.REVIEW_PAGE_LABEL}").inner_text()  # "page 1 of N"
    return int(text.rsplit(" ", 1)[-1])


def flip(page: Any, trigger: str) -> tuple[float, float, float]:
    elapsed, size, server = page.evaluate(FLIP_JS, [trigger, ids.REVIEW_PAGE_LABEL])
    return float(elapsed), float(size), float(server)


def measure(browser: Any, url: str, crop: str, volumes: dict[str, str], args: Any) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    n_pages = open_review(page, url, crop, volumes)
    cold, warm = [], []
    for k in range(args.flips):
        # a jump far from anything prefetched, then dwell there and press →
        target = 2 + (k + 1) * max(1, (n_pages - 3) // (args.flips + 1))
        cold.append(flip(page, str(min(target, n_pages - 1))))
        page.wait_for_timeout(args.dwell_s * 1000)
        warm.append(flip(page, "next"))
    context.close()

    def median(rows: list[tuple[float, float, float]], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    return {
        "prefetched page (→ after dwell) ms": median(warm, 0),
        "cold page (jump) ms": median(cold, 0),
        "page response bytes (max)": max(r[1] for r in cold + warm),
        "page response server ms": median(cold + warm, 2),
    }


def report(title: str, results: dict) -> None:
    print(title)
    for key, value in results.items():
        target = ""
        if key.startswith("prefetched"):
            ok = value <= TARGET_PREFETCHED_MS
            target = f"   target <= {TARGET_PREFETCHED_MS:.0f} ms ({'met' if ok else 'MISSED'})"
        elif key.startswith("page response bytes"):
            ok = value <= TARGET_PAGE_BYTES
            target = f"   target <= 2 MB ({'met' if ok else 'MISSED'})"
        print(f"  {key:<38} {value:12,.1f}{target}")


def _layer_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder to reuse")
    parser.add_argument("--flips", type=int, default=5)
    parser.add_argument("--dwell-s", type=float, default=5.0)
    parser.add_argument("--http-latency-ms", type=float, default=50.0, help="0: local only")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data or Path(scratch) / "data"
        info = ensure_demo(data_dir / "demo")
        sources: dict[str, dict[str, str]] = {"local": {}}
        fixture = None
        if args.http_latency_ms > 0:
            fixture = LatencyServer(data_dir / "demo", args.http_latency_ms / 1e3).start()
            sources[f"HTTP fixture, {args.http_latency_ms:g} ms per request"] = {
                role: fixture.precomputed(_layer_name(getattr(info, f"{role}_url")))
                for role in ("source", "target", "neuropil")
            }
        try:
            with app_server(data_dir, Path(scratch) / "app.log") as url, sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                print(
                    f"{TILES} tiles a page; median of {args.flips} flips; dwell {args.dwell_s:g} s"
                )
                for where, volumes in sources.items():
                    for crop in CROPS:
                        report(f"{where}, crop {crop}:", measure(browser, url, crop, volumes, args))
                browser.close()
        finally:
            if fixture is not None:
                fixture.kill()
        print(f"load average at the end (2 shared cores): {os.getloadavg()}")


if __name__ == "__main__":
    main()
