"""Load figures of the served app (issue 12): concurrent sessions labelling and paging against
``synanno-dash serve`` (gunicorn) with several workers on PostgreSQL, and one on SQLite.

Usage: python bench/bench_load.py [--sessions 50] [--duration 120] [--think 0.25]
                                  [--configs postgresql:2,postgresql:4,sqlite:1]

Each session is one browser (its own cookie and keep-alive connection) with the demo open at
24 tiles per page: it switches to a page, clicks 6 of its tiles one after another, moves on to
the next page, and pauses ``--think`` seconds (uniformly 0.5x-1.5x) between actions. Before
measuring, the sessions open their first pages once (the workers' crop caches start cold).
Traffic stays on loopback; every run stops by itself after ``--duration`` seconds. Reported per
configuration: p50/p95/p99 of the label click and of the page switch (client-side, ms),
errors, throughput (requests/s) and the peak RSS of every worker. The PostgreSQL runs use a
schema of their own on the local server (dropped afterwards). Targets (issue 12): p95 click
<= 100 ms and no error at 50 sessions with 4 workers; throughput rising with workers.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synanno_dash.demo.dataset import DemoInfo, ensure_demo  # noqa: E402
from synanno_dash.services.context import AppContext  # noqa: E402
from synanno_dash.services.prepare import prepare_session  # noqa: E402
from synanno_dash.settings import Settings  # noqa: E402
from tests.conftest import demo_form  # noqa: E402
from tests.data.databases import postgres_schema_url  # noqa: E402
from tests.served_app import DashClient, ServedApp, page_tiles  # noqa: E402

TILES_PER_PAGE = 24
CLICKS_PER_PAGE = 6


@dataclass
class Samples:
    clicks_s: list[float] = field(default_factory=list)
    pages_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            (self.clicks_s if kind == "click" else self.pages_s).append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text[:200])


def percentiles_ms(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"n": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": cuts[49] * 1000, "p95": cuts[94] * 1000,
            "p99": cuts[98] * 1000}  # fmt: skip


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'load-{time.monotonic_ns()}.db'}"
    else:
        yield from postgres_schema_url()


def prepared_clients(url: str, data_dir: Path, database_url: str, demo: DemoInfo,
                     sessions: int) -> list[DashClient]:  # fmt: skip
    """``sessions`` browsers, each with the demo open (24 tiles per page) through the store."""
    clients = [DashClient(url) for _ in range(sessions)]
    resources = AppContext.create(Settings(data_dir=data_dir, database_url=database_url))
    try:
        for client in clients:
            form = demo_form(demo, tiles_per_page=str(TILES_PER_PAGE))
            assert prepare_session(resources, client.session_id, form).ok
        resources.wait_for_background()
    finally:
        resources.executor.shutdown(wait=True)
        resources.store.engine.dispose()
    for client in clients:  # their first connections idled past the server's keep-alive
        client.http.close()
    return clients


def page_count(data_dir: Path, database_url: str, session_id: str) -> int:
    from synanno_dash.services import review
    from synanno_dash.services.session import open_session

    resources = AppContext.create(Settings(data_dir=data_dir, database_url=database_url))
    try:
        return review.page_instances(open_session(resources, session_id), 1)[2]
    finally:
        resources.executor.shutdown(wait=True)
        resources.store.engine.dispose()


def browse(client: DashClient, pages: int, deadline: float, think_s: float,
           samples: Samples, seed: int) -> None:  # fmt: skip
    """One proofreader: a page, 6 clicks on its tiles, the next page, ... until ``deadline``."""
    rng = random.Random(seed)
    page = rng.randrange(pages) + 1

    def pause() -> None:
        time.sleep(think_s * rng.uniform(0.5, 1.5))

    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            tiles = list(page_tiles(client.open_page(page)))
            samples.add("page", time.perf_counter() - started)
        except Exception as exc:  # counted as an error of this run
            samples.error(f"page: {type(exc).__name__}: {exc}")
            tiles = []
        for instance_id in rng.sample(tiles, min(CLICKS_PER_PAGE, len(tiles))):
            if time.monotonic() >= deadline:
                return
            pause()
            started = time.perf_counter()
            try:
                client.click(instance_id)
                samples.add("click", time.perf_counter() - started)
            except Exception as exc:
                samples.error(f"click: {type(exc).__name__}: {exc}")
        page = page % pages + 1
        pause()


def watch_memory(served: ServedApp, stop: threading.Event, peaks: dict[int, float]) -> None:
    while not stop.wait(1.0):
        for worker in served.workers():
            try:
                rss = worker.memory_info().rss / 1024**2
            except psutil.Error:
                continue
            peaks[worker.pid] = max(peaks.get(worker.pid, 0.0), rss)


def run_config(kind: str, workers: int, args: argparse.Namespace, demo: DemoInfo,
               data_dir: Path, folder: Path) -> dict[str, object]:  # fmt: skip
    with database(kind, folder) as database_url:
        served = ServedApp(data_dir, database_url, folder / f"{kind}-{workers}.log",
                           workers=workers, threads=args.threads).start()  # fmt: skip
        try:
            clients = prepared_clients(served.url, data_dir, database_url, demo, args.sessions)
            pages = page_count(data_dir, database_url, clients[0].session_id)
            for n, client in enumerate(clients):  # warm-up, not measured: every page once
                client.open_page(n % pages + 1)
            samples, peaks, stop = Samples(), {}, threading.Event()  # type: ignore[var-annotated]
            memory = threading.Thread(target=watch_memory, args=(served, stop, peaks))
            memory.start()
            started = time.monotonic()
            deadline = started + args.duration
            threads = [threading.Thread(target=browse, args=(c, pages, deadline, args.think,
                                                             samples, n))
                       for n, c in enumerate(clients)]  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.duration + 120)
            elapsed = time.monotonic() - started
            stop.set()
            memory.join()
        finally:
            served.stop()
    requests_done = len(samples.clicks_s) + len(samples.pages_s)
    return {
        "database": kind, "workers": workers, "sessions": args.sessions,
        "duration_s": round(elapsed, 1), "think_s": args.think,
        "click_ms": percentiles_ms(samples.clicks_s), "page_ms": percentiles_ms(samples.pages_s),
        "errors": len(samples.errors), "error_examples": sorted(set(samples.errors))[:3],
        "throughput_rps": round(requests_done / elapsed, 1),
        "worker_peak_rss_mb": sorted(round(v) for v in peaks.values()),
    }  # fmt: skip


def _line(result: dict) -> str:  # type: ignore[type-arg]
    c, p = result["click_ms"], result["page_ms"]

    def f(d: dict, key: str) -> str:  # type: ignore[type-arg]
        return f"{d[key]:.0f}" if key in d else "-"

    return (f"{result['database']:>10} x{result['workers']}: click p50/p95/p99 "
            f"{f(c, 'p50')}/{f(c, 'p95')}/{f(c, 'p99')} ms (n={c['n']}), page "
            f"{f(p, 'p50')}/{f(p, 'p95')}/{f(p, 'p99')} ms (n={p['n']}), errors "
            f"{result['errors']}, {result['throughput_rps']} req/s, worker RSS "
            f"{result['worker_peak_rss_mb']} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds per configuration")
    parser.add_argument("--think", type=float, default=0.25, help="mean pause between actions, s")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--configs", default="postgresql:2,postgresql:4,sqlite:1")
    parser.add_argument("--data-dir", help="data folder with the demo (default: a new one)")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_dir = Path(args.data_dir) if args.data_dir else folder / "data"
        demo = ensure_demo(data_dir / "demo")
        results = []
        for config in args.configs.split(","):
            kind, workers = config.split(":")
            results.append(run_config(kind, int(workers), args, demo, data_dir, folder))
            print(_line(results[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
