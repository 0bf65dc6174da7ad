"""Label-click benchmark: database statements, transactions and server time per click.

Usage:
    .venv/bin/python bench/bench_label_click.py [--baseline-tree DIR] [--clicks N]
        [--rounds R] [--database sqlite|postgresql]

Two worker processes, each with its own app on the generated demo dataset (volume-centric,
24 tiles per page) and its own database, take turns (``--rounds`` rounds of ``--clicks``
clicks each), so load from other processes hits both alike:

- "current": this checkout;
- "baseline": the code in ``--baseline-tree`` (e.g. ``git archive main | tar -x -C DIR``),
  measured in the same run.

A click goes through Dash's endpoint (``/_dash-update-component``) like the browser's. Per
click: SQL statements run on the request's thread (the click path) and on other threads
(background work, counted after the executor finished), transactions begun, pool checkouts
(connections taken), the server time and the CPU time of the request's thread (less
sensitive to the machine's load); a no-op Dash callback (the Menu button) in the same rounds
is the reference for the time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


# -- worker --------------------------------------------------------------------------------
class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.request_thread = threading.get_ident()
        self.on_request: Counter[str] = Counter()
        self.elsewhere: Counter[str] = Counter()
        self.begins = 0
        self.checkouts = 0

    def statement(self, statement: str) -> None:
        word = statement.split(None, 1)[0].upper()
        with self.lock:
            if threading.get_ident() == self.request_thread:
                self.on_request[word] += 1
            else:
                self.elsewhere[word] += 1


def _listen(counts: _Counts) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        counts.statement(statement)

    def on_begin(_conn: Any) -> None:
        if threading.get_ident() == counts.request_thread:
            counts.begins += 1

    def on_checkout(*_args: Any) -> None:
        if threading.get_ident() == counts.request_thread:
            counts.checkouts += 1

    event.listen(Engine, "before_cursor_execute", on_statement)
    event.listen(Engine, "begin", on_begin)
    event.listen(Pool, "checkout", on_checkout)


def _worker(database_url: str, data_dir: Path) -> None:
    """Serve rounds on stdin ("N" clicks), answer one JSON line per round."""
    try:
        from synanno_dash.demo.dataset import ensure_demo
    except ImportError:  # the baseline's module path
        from synanno_dash.data.demo import ensure_demo  # type: ignore[no-redef]
    from synanno_dash.services.prepare import OpenDataForm, prepare_session
    from synanno_dash.settings import Settings
    from synanno_dash.ui.app import create_app
    from synanno_dash.ui.session import COOKIE, EXTENSION_KEY

    demo = ensure_demo(data_dir / "demo")
    settings = Settings(data_dir=data_dir, database_url=database_url, cache_bytes=64 * 1024**2)
    app = create_app(settings)
    resources = app.server.extensions[EXTENSION_KEY]
    client = app.server.test_client()
    client.get("/")
    sid = client.get_cookie(COOKIE).value
    form = OpenDataForm(source=demo.source_url, target=demo.target_url, table=demo.table_url,
                        crop_size="64, 64, 6", tiles_per_page="24")  # fmt: skip
    assert prepare_session(resources, sid, form).ok
    click_key = next(k for k, s in app.callback_map.items()
                     if any("tile-view" in json.dumps(d["id"]) for d in s["inputs"]))  # fmt: skip
    menu_key = next(k for k, s in app.callback_map.items()
                    if any(d["id"] == "nav-menu" for d in s["inputs"]))  # fmt: skip
    counts = _Counts()
    _listen(counts)
    done = 0

    cpu_s: list[float] = []  # CPU time of the request's thread (the test client runs the app
    # in this thread): less sensitive to the machine's load than the elapsed time

    def post(output: str, outputs: object, inputs: list[Any], changed: str) -> float:
        body = {"output": output, "outputs": outputs, "inputs": inputs,
                "changedPropIds": [changed], "state": []}  # fmt: skip
        started, cpu_started = time.perf_counter(), time.thread_time()
        response = client.post("/_dash-update-component", json=body)
        elapsed = time.perf_counter() - started
        cpu_s.append(time.thread_time() - cpu_started)
        assert response.status_code == 200, response.data[:300]
        return elapsed

    for line in sys.stdin:
        clicks = int(line)
        click_s, noop_s, click_cpu_s = [], [], []
        before = (Counter(counts.on_request), counts.begins, counts.checkouts)
        for _ in range(clicks):
            index = done % 24
            done += 1
            tile_id = {"index": index, "type": "tile"}
            view_id = {"index": index, "type": "tile-view"}
            click_s.append(post(
                click_key,
                [{"id": tile_id, "property": "className"},
                 {"id": tile_id, "property": "data-label"}],
                [{"id": view_id, "property": "n_clicks", "value": done}],
                json.dumps(view_id, separators=(",", ":")) + ".n_clicks",
            ))  # fmt: skip
            click_cpu_s.append(cpu_s[-1])
            noop_s.append(post(menu_key, {"id": "menu-modal", "property": "is_open"},
                               [{"id": "nav-menu", "property": "n_clicks", "value": done}],
                               "nav-menu.n_clicks"))  # fmt: skip
        statements = counts.on_request - before[0]
        print(json.dumps({
            "click_s": click_s, "noop_s": noop_s, "click_cpu_s": click_cpu_s,
            "statements": dict(statements),
            "begins": counts.begins - before[1], "checkouts": counts.checkouts - before[2],
        }), flush=True)  # fmt: skip
    resources.executor.shutdown(wait=True)  # background work of every click, then count it
    print(json.dumps({"background": dict(counts.elsewhere), "clicks": done}), flush=True)


# -- driver --------------------------------------------------------------------------------
def _start(tree: Path, database_url: str, data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker", "--database-url",
         database_url, "--data-dir", str(data_dir)],
        cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _database_urls(kind: str, scratch: Path) -> dict[str, str]:
    if kind == "sqlite":
        return {name: f"sqlite:///{scratch / name}.db" for name in ("current", "baseline")}
    import psycopg

    urls = {}
    base = os.environ.get("SYNANNO_BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
    with psycopg.connect(base, autocommit=True) as connection:
        for name in ("current", "baseline"):
            schema = f"bench_click_{name}_{os.getpid()}"
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.execute(f'CREATE SCHEMA "{schema}"')
            url = base.replace("postgresql://", "postgresql+psycopg://")
            urls[name] = f"{url}?options=-csearch_path%3D{schema}"
    return urls


def _summary(name: str, rounds: list[dict[str, Any]], final: dict[str, Any]) -> dict[str, Any]:
    clicks = sum(len(r["click_s"]) for r in rounds)
    statements: Counter[str] = Counter()
    for r in rounds:
        statements.update(r["statements"])
    click_ms = [s * 1000 for r in rounds for s in r["click_s"]]
    noop_ms = [s * 1000 for r in rounds for s in r["noop_s"]]
    return {
        "name": name,
        "statements_per_click": sum(statements.values()) / clicks,
        "by_kind": {k: v / clicks for k, v in sorted(statements.items())},
        "background_per_click": sum(final["background"].values()) / max(1, final["clicks"]),
        "transactions_per_click": sum(r["begins"] for r in rounds) / clicks,
        "connections_per_click": sum(r["checkouts"] for r in rounds) / clicks,
        "click_median_ms": statistics.median(click_ms),
        "click_p95_ms": statistics.quantiles(click_ms, n=20)[-1],
        "noop_median_ms": statistics.median(noop_ms),
        "click_cpu_median_ms": statistics.median(
            s * 1000 for r in rounds for s in r["click_cpu_s"]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-tree", help="a checkout of the code to compare with")
    parser.add_argument("--clicks", type=int, default=50, help="clicks per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--data-dir", help="a data folder with (or for) the demo dataset")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.database_url, Path(args.data_dir))
        return
    trees = {"current": REPO}
    if args.baseline_tree:
        trees["baseline"] = Path(args.baseline_tree).resolve()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        data_dir = Path(args.data_dir) if args.data_dir else scratch
        urls = _database_urls(args.database, scratch)
        workers = {name: _start(tree, urls[name], data_dir) for name, tree in trees.items()}
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in workers}
        for _ in range(args.rounds):  # taking turns
            for name, worker in workers.items():
                assert worker.stdin is not None and worker.stdout is not None
                worker.stdin.write(f"{args.clicks}\n")
                worker.stdin.flush()
                rounds[name].append(json.loads(worker.stdout.readline()))
        results = []
        for name, worker in workers.items():
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.close()
            final = json.loads(worker.stdout.readline())
            worker.wait(timeout=120)
            results.append(_summary(name, rounds[name], final))
    print(f"label click on {args.database}, {args.rounds} rounds x {args.clicks} clicks each:")
    for r in results:
        print(f"  {r['name']:8s} statements on the click path {r['statements_per_click']:.2f} "
              f"{r['by_kind']}, in the background {r['background_per_click']:.2f}; "
              f"transactions {r['transactions_per_click']:.2f}, connections "
              f"{r['connections_per_click']:.2f}; server time median {r['click_median_ms']:.1f} ms"
              f" (p95 {r['click_p95_ms']:.1f}), no-op callback {r['noop_median_ms']:.1f} ms; "
              f"CPU per click median {r['click_cpu_median_ms']:.2f} ms")
    if len(results) == 2:
        current, baseline = results
        print(f"  current / baseline: statements "
              f"{current['statements_per_click'] / baseline['statements_per_click']:.2f}x, "
              f"median time {current['click_median_ms'] / baseline['click_median_ms']:.2f}x, "
              "time over the no-op callback "
              f"{current['click_median_ms'] / current['noop_median_ms']:.2f}x vs "
              f"{baseline['click_median_ms'] / baseline['noop_median_ms']:.2f}x, CPU per click "
              f"{current['click_cpu_median_ms'] / baseline['click_cpu_median_ms']:.2f}x")


if __name__ == "__main__":
    main()
