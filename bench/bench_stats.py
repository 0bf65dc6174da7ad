"""Statistics benchmark: one session of 200,000 reviewed synapses, and 50 sessions on one
dataset, on SQLite and on PostgreSQL (when reachable).

Usage: python bench/bench_stats.py [--instances 200000] [--sessions 50]
                                   [--per-session 10000] [--repeat 3] [--no-postgres]

Targets (issue 11): the session's statistics under 1 s, the dataset view under 3 s. Each
figure is the median of ``--repeat`` calls of ``collect_statistics`` (every aggregate the
statistics view shows, ground truth included) after one warm-up call, then the figures and
tables built from it (``build_panels``), the HTML report, and the /stats view's components
as JSON (with the size the view sends). "data unchanged" is what the view costs when nothing
changed since the last computation: the data's version, then the kept result read back.
The view runs all of it as a background job. The baseline, measured in the same run on the
same database, is the store's progress-bar query
(``SessionStore.counts``: one GROUP BY over a session; for the dataset, once per session):
the ratio says how many such scans the statistics cost. The machine is shared: read the
ratios, not the seconds.

The data are written straight into the tables (the bench times reading, not writing): a
neuron-centric review with 12 compartments, 10 % incorrect and 3 % unsure, categories
with Custom texts, 2,000 partner neurons, a page of 24 shown every ~70 s with pauses, and
the label and category edits; the 50 sessions review overlapping rows of one table, so
their agreement (Fleiss' kappa over 50 raters) is computed too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from plotly.utils import PlotlyJSONEncoder
from sqlalchemy import create_engine, insert, text

from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import DatasetConfig, Mode
from synanno_dash.core.serialize import config_to_dict
from synanno_dash.data import store_schema as schema
from synanno_dash.data.result_files import ResultFiles
from synanno_dash.data.store import SessionStore
from synanno_dash.data.store_activity import ActivityStatistics
from synanno_dash.services.statistics import Scope, collect_statistics, plan_statistics
from synanno_dash.ui.stats_figures import build_panels
from synanno_dash.ui.stats_report import report_html
from synanno_dash.ui.stats_view import statistics_body

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAGE = 24
CHUNK = 20_000
CUSTOM_TEXTS = ("membrane fold", "Membrane fold ", "blurred slice", "two clefts?", "dark spot")
CATEGORIES = ("false_positive", "poorly_aligned", "wrong_direction", "pre_marker", "custom")
T0 = 1_750_000_000.0


def _config(folder: Path, table: str, neuron_id: int) -> DatasetConfig:
    """A neuron-centric dataset whose table lies in ``folder`` (the ground truth beside it)."""
    return DatasetConfig(
        "file:///bench/em", "file:///bench/clefts", (folder / f"{table}.csv").as_uri(),
        Resolution(4, 4, 40), Resolution(8, 8, 40), neuropil_url="file:///bench/neuropil",
        mode=Mode.NEURON, neuron_id=neuron_id,
    )  # fmt: skip


def _write_session(engine: Any, sid: str, config: DatasetConfig, n: int, seed: int,
                   first_row: int = 0) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    draw = rng.random(n)
    labels = np.where(draw < 0.10, "incorrect", np.where(draw < 0.13, "unsure", "correct"))
    partners = rng.integers(0, 2000, size=n)
    centres = rng.integers(0, [20_000, 20_000, 2_000], size=(n, 3))
    shown_at = T0 + np.arange(n) // PAGE * 70.0 + rng.exponential(1.0, size=n // PAGE + 1)[
        np.arange(n) // PAGE]  # fmt: skip
    shown_at += (np.arange(n) // (PAGE * 40)) * 1800.0  # a 30-minute pause every 40 pages
    with engine.begin() as conn:
        conn.execute(insert(schema.sessions).values(
            session_id=sid, created_at=T0, updated_at=T0 + 1e5,
            config_json=json.dumps(config_to_dict(config)), state_json="{}"))  # fmt: skip
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            rows, seen, edits = [], [], []
            for i in range(start, stop):
                label = str(labels[i])
                category = custom = None
                if label != "correct":
                    category = CATEGORIES[i % len(CATEGORIES)]
                    custom = CUSTOM_TEXTS[i % len(CUSTOM_TEXTS)] if category == "custom" else ""
                rows.append({
                    "session_id": sid, "instance_id": i, "materialization_index": first_row + i,
                    "center_xyz_vx": json.dumps(centres[i].tolist()), "pre_xyz_vx": None,
                    "post_xyz_vx": None, "pre_neuron_id": str(864691135000000000 + partners[i]),
                    "post_neuron_id": str(config.neuron_id), "bbox_target_vx": "[0,0,0,1,1,1]",
                    "label": label, "seen": True, "category": category,
                    "custom_category": custom or "", "note": "", "discarded": False,
                    "compartment": i * 12 // n, "traversal_index": i, "extra_json": "{}",
                    "updated_at": T0,
                })  # fmt: skip
                seen.append({"session_id": sid, "instance_id": i, "at": float(shown_at[i])})
                if label != "correct":
                    at = float(shown_at[i]) + 20.0
                    edits.append({"session_id": sid, "instance_id": i, "kind": "do",
                                  "field": "label", "at": at})  # fmt: skip
                    edits.append({"session_id": sid, "instance_id": i, "kind": "do",
                                  "field": "category,custom_category", "at": at + 1e5})  # fmt: skip
            conn.execute(insert(schema.instances), rows)
            conn.execute(insert(schema.seen_events), seen)
            if edits:
                conn.execute(insert(schema.edits), edits)


def _write_truth(folder: Path, table: str, n: int) -> None:
    rng = np.random.default_rng(3)
    kinds = np.where(rng.random(n) < 0.12, "false_positive", "none")
    lines = ["materialization_index,error"] + [f"{i},{k}" for i, k in enumerate(kinds)]
    (folder / f"{table}_ground_truth.csv").write_text("\n".join(lines) + "\n")


def _median_s(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    call()  # warm-up: index creation, caches, imports
    samples, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), value


def bench(url: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    engine = create_engine(url)
    SessionStore(url)  # creates the tables
    started = time.perf_counter()
    _write_session(engine, "big", _config(folder, "big", 7), args.instances, seed=1)
    shared = _config(folder, "shared", 8)
    for k in range(args.sessions):
        first = (k % 5) * args.per_session // 10  # sessions overlap on most table rows
        _write_session(engine, f"s{k:02d}", shared, args.per_session, seed=100 + k,
                       first_row=first)  # fmt: skip
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # what autovacuum does in a live database
            conn.execute(text("ANALYZE"))
            conn.commit()
    print(f"  wrote {args.instances + args.sessions * args.per_session:,} instances in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    _write_truth(folder, "big", args.instances)
    _write_truth(folder, "shared", args.per_session * 2)
    store = SessionStore(url)
    out: dict[str, float] = {}
    out["baseline: counts() of the session"], _ = _median_s(
        lambda: store.counts("big"), args.repeat)  # fmt: skip
    out["session statistics"], result = _median_s(
        lambda: collect_statistics(store, "big", Scope.SESSION), args.repeat)  # fmt: skip
    assert result.accuracy.value is not None, result.accuracy.message
    assert result.overall.seen == args.instances
    out["session, data unchanged (kept result)"], _ = _median_s(
        lambda: _kept(store, "big", Scope.SESSION, result, folder), args.repeat)  # fmt: skip
    out["session figures and tables"], panels = _median_s(lambda: build_panels(result), 1)
    out["session report HTML"], _ = _median_s(lambda: report_html(result, panels), 1)
    out["session view (components, JSON)"], sent = _median_s(
        lambda: _view_json(result, panels), 1)  # fmt: skip
    print(f"  the session's /stats view sends {len(sent) / 1e6:.1f} MB", flush=True)
    sessions = [f"s{k:02d}" for k in range(args.sessions)]
    out["baseline: counts() of each of the 50"], _ = _median_s(
        lambda: [store.counts(s) for s in sessions], args.repeat)  # fmt: skip
    out["dataset statistics"], many = _median_s(
        lambda: collect_statistics(store, "s00", Scope.DATASET), args.repeat)  # fmt: skip
    assert len(many.sessions) == args.sessions and many.agreement.value is not None
    out["dataset, data unchanged (kept result)"], _ = _median_s(
        lambda: _kept(store, "s00", Scope.DATASET, many, folder), args.repeat)  # fmt: skip
    out["dataset figures and tables"], _ = _median_s(lambda: build_panels(many), 1)
    store.engine.dispose()
    engine.dispose()
    return out


def _kept(store: SessionStore, sid: str, scope: Scope, result: Any, folder: Path) -> Any:
    """What the view does when the data did not change since the last computation
    (``services.statistics_cache``): find the sessions and their data's version, then read
    the kept result back from its file."""
    plan = plan_statistics(store, sid, scope)
    version = ActivityStatistics(store.engine).data_version(plan.ids)
    files = ResultFiles(folder / "kept", 4)
    key = f"bench-{scope.value}-{abs(hash((plan.ids, version)))}"
    if files.get(key) is None:
        files.put(key, result)
    return files.get(key)


def _view_json(result: Any, panels: Any) -> str:
    """What /stats sends: the components of every panel as Dash serialises them."""
    return json.dumps(statistics_body(result, panels), cls=PlotlyJSONEncoder)


@contextmanager
def postgres_database() -> Iterator[str | None]:
    try:
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})  # fmt: skip
        name = f"synanno_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL here
        print(f"PostgreSQL skipped: not reachable at 127.0.0.1:5432 ({type(exc).__name__})")
        yield None
        return
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def report(name: str, out: dict[str, float]) -> None:
    print(f"\n{name}")
    for key, seconds in out.items():
        print(f"  {key:40s} {seconds * 1000:9.1f} ms")
    s, d = out["session statistics"], out["dataset statistics"]
    base_s = out["baseline: counts() of the session"]
    base_d = out["baseline: counts() of each of the 50"]
    print(f"  session: {s:.2f} s (target < 1 s, {'ok' if s < 1 else 'MISSED'}), "
          f"{s / base_s:.1f}x the baseline scan")  # fmt: skip
    print(f"  dataset: {d:.2f} s (target < 3 s, {'ok' if d < 3 else 'MISSED'}), "
          f"{d / base_d:.1f}x the baseline scans")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--per-session", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"{args.instances:,} reviewed instances in one session; {args.sessions} sessions of "
          f"{args.per_session:,} on one dataset")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        folder = Path(tmp)
        print("SQLite ...", flush=True)
        report("SQLite", bench(f"sqlite:///{folder / 'sessions.db'}", args, folder))
        if not args.no_postgres:
            with postgres_database() as url:
                if url is not None:
                    print("\nPostgreSQL ...", flush=True)
                    report("PostgreSQL", bench(url, args, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
