"""A 50-million-row synapse table opened for the first time: first page, queries, memory.

Generates a CAVE-style Parquet table (ids ascending with gaps, neuron ids above 2**53) in a
temporary folder (never committed), then, each phase in its own process so that peak memory
(ru_maxrss) is its own:

1. first open: ``open_table`` on a table never seen (empty cache) and its first page; then
   page 100,000 (keyset), a neuron query and a box query before any side file exists;
2. side files: ``build_indexes`` (the background work after the first open), then the whole
   table's jump index (``build_jump_index``, also background work, once);
3. indexed: neuron queries (all synapses of a neuron, mean of 20), box query, pages 1 and
   100,000, ``neurons()``;
In phases 1 and 3, a jump to a deep page as the grid makes it (``page_at``: OFFSET in phase
1, the jump index in phase 3; median of five pages near page 100,000) against page 1 read the
same way in the same process (``jump / page 1``, target about 1).
4. CSV: a ``--csv-rows`` CSV converted once to Parquet (rows/s), the path for text tables.

    .venv/bin/python bench/bench_big_table.py [--rows 50000000] [--csv-rows 2000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_table_query import SEED, _neuron_ids, generate  # noqa: E402

PAGE = 24
DEEP_PAGE = 100_000
SMALL_BOX = ((100_000, 70_000, 3_000), (104_096, 74_096, 3_128))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def _deep_cursor(path: Path, page: int) -> int:
    """The id just before page ``page`` (computed outside the timings)."""
    import duckdb

    sql = f"SELECT id FROM read_parquet('{path}') ORDER BY id LIMIT 1 OFFSET ?"
    return int(duckdb.connect().execute(sql, [(page - 1) * PAGE - 1]).fetchone()[0])


def _median_s(work: Callable[[int], Any], args: list[int]) -> float:
    return float(np.median([_timed(lambda a=a: work(a))[0] for a in args]))


def _queries(table: Any, neurons: list[int], cursor: int, deep_page: int) -> dict[str, float]:
    from synanno_dash.core.geometry import BBox

    out: dict[str, float] = {}
    out["page 1"], first = _timed(lambda: table.page_after(None, PAGE))
    out["deep page (keyset)"], deep = _timed(lambda: table.page_after(cursor, PAGE))
    assert len(first) == PAGE and len(deep) == PAGE
    # A jump as the grid does it (page_at: the jump index once built, OFFSET before), to
    # five pages near ``deep_page``; page 1 read the same way five times is the baseline.
    out["page 1 (median of 5)"] = _median_s(lambda _: table.page_at(0, PAGE), [0] * 5)
    starts = [(deep_page - 1 - 977 * k) * PAGE for k in range(5)]
    out["jump to a deep page (page_at, median of 5)"] = _median_s(
        lambda start: table.page_at(start, PAGE), starts
    )
    out["jump / page 1"] = out["jump to a deep page (page_at, median of 5)"] / max(
        out["page 1 (median of 5)"], 1e-6
    )
    assert table.page_at((deep_page - 1) * PAGE, PAGE) == deep  # the same rows as keyset
    seconds, hits = _timed(lambda: [len(table.query(neuron_id=n)) for n in neurons])
    out["neuron query (all its synapses)"] = seconds / len(neurons)
    out["neuron query: mean hits"] = float(np.mean(hits))
    box = BBox(*SMALL_BOX)
    out["box query (a review region)"], rows = _timed(lambda: table.query(bbox=box))
    out["box query: hits"] = len(rows)
    return out


def _import_libraries() -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.compute  # noqa: F401


def phase_first(path: Path, cache: Path, neurons: list[int], cursor: int, deep: int) -> dict:
    from synanno_dash.data.tables import open_table

    # The server imports these once at start-up (pandas is imported there before any request);
    # timed apart, as a fresh process pays them and a running app does not.
    out: dict[str, float] = {}
    out["imports (once per process)"], _ = _timed(_import_libraries)
    out["rss after imports MB"] = _rss_mb()
    out["open (never seen)"], table = _timed(lambda: open_table(path, cache))
    out["first page after open"], _ = _timed(lambda: table.page_after(None, PAGE))
    out["open + first page"] = out["open (never seen)"] + out["first page after open"]
    out.update(_queries(table, neurons[:3], cursor, deep))
    out["peak RSS MB"] = _rss_mb()
    return out


def phase_index(path: Path, cache: Path) -> dict:
    from synanno_dash.data.tables import open_table

    table = open_table(path, cache)
    seconds, _ = _timed(table.build_indexes)
    size = sum(f.stat().st_size for f in (table.cache_folder / "indexes").rglob("*.parquet"))
    return {"build side files s": seconds, "side files MB": size / 2**20, "peak RSS MB": _rss_mb()}


def phase_jumps(path: Path, cache: Path) -> dict:
    from synanno_dash.data.tables import open_table

    table = open_table(path, cache)
    seconds, index = _timed(table.build_jump_index)
    return {"build jump index s": seconds, "jump index keys": len(index.keys),
            "peak RSS MB": _rss_mb()}  # fmt: skip


def phase_indexed(
    path: Path, cache: Path, neurons: list[int], cursor: int, deep: int
) -> dict:
    from synanno_dash.data.tables import open_table

    out: dict[str, float] = {}
    out["reopen"], table = _timed(lambda: open_table(path, cache))
    assert table.indexed
    out.update(_queries(table, neurons, cursor, deep))
    out["neurons() list"], counts = _timed(table.neurons)
    out["neurons"] = len(counts)
    out["peak RSS MB"] = _rss_mb()
    return out


def phase_csv_generate(work: Path, n_rows: int) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    parquet = work / "for_csv.parquet"
    generate(parquet, n_rows)
    pacsv.write_csv(pq.read_table(parquet), work / "table.csv")
    return {}


def phase_csv(work: Path, n_rows: int) -> dict:
    from synanno_dash.data.tables import open_table

    csv = work / "table.csv"
    _import_libraries()
    seconds, table = _timed(lambda: open_table(csv, work / "csv-cache"))
    return {"csv rows": table.n_rows, "csv MB": csv.stat().st_size / 2**20,
            "convert s": seconds, "rows/s": n_rows / seconds, "peak RSS MB": _rss_mb()}  # fmt: skip


def _run(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print(title: str, results: dict, targets: dict[str, str] | None = None) -> None:
    print(title)
    for key, value in results.items():
        target = f"   target {targets[key]}" if targets and key in targets else ""
        if key.endswith(("MB", "hits", "neurons", "rows", "rows/s", "keys")):
            print(f"  {key:<40} {value:12,.0f}{target}")
        elif key.endswith("/ page 1"):
            print(f"  {key:<40} {value:12.2f}x{target}")
        elif key.endswith(" s"):
            print(f"  {key:<40} {value:12.1f}{target}")
        else:
            print(f"  {key:<40} {value * 1e3:9.1f} ms{target}")


def main() -> None:
    if sys.argv[1:2] == ["--phase"]:
        phase, rest = sys.argv[2], sys.argv[3:]
        if phase == "first":
            result = phase_first(
                Path(rest[0]), Path(rest[1]), json.loads(rest[2]), int(rest[3]), int(rest[4])
            )
        elif phase == "cursor":
            result = {"cursor": _deep_cursor(Path(rest[0]), int(rest[1]))}
        elif phase == "index":
            result = phase_index(Path(rest[0]), Path(rest[1]))
        elif phase == "indexed":
            result = phase_indexed(
                Path(rest[0]), Path(rest[1]), json.loads(rest[2]), int(rest[3]), int(rest[4])
            )
        elif phase == "jumps":
            result = phase_jumps(Path(rest[0]), Path(rest[1]))
        elif phase == "csv-generate":
            result = phase_csv_generate(Path(rest[0]), int(rest[1]))
        else:
            result = phase_csv(Path(rest[0]), int(rest[1]))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--csv-rows", type=int, default=2_000_000, help="0: skip the CSV phase")
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the table here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_big_table_"))
    work.mkdir(parents=True, exist_ok=True)
    path, cache = work / f"synapses_{args.rows}.parquet", work / "cache"
    try:
        if not path.exists():
            seconds, _ = _timed(lambda: generate(path, args.rows))
            print(f"generated {args.rows:,} rows ({path.stat().st_size / 2**30:.1f} GiB) "
                  f"in {seconds:.0f} s")  # fmt: skip
        shutil.rmtree(cache, ignore_errors=True)  # a table never seen before
        rng = np.random.default_rng(SEED + 2)
        neurons = json.dumps([int(n) for n in rng.choice(_neuron_ids(), 20)])
        deep_page = min(DEEP_PAGE, args.rows // PAGE - 1)
        # In a process of its own: Linux carries a parent's peak RSS into a forked child.
        cursor = str(_run("cursor", str(path), str(deep_page))["cursor"])
        print(f"deep page = page {deep_page:,}")
        first = _run("first", str(path), str(cache), neurons, cursor, str(deep_page))
        targets = {"open + first page": "<= 3000 ms", "peak RSS MB": "<= 500 MB",
                   "deep page (keyset)": "~ page 1"}  # fmt: skip
        _print(f"{args.rows:,} rows, first open (scans: no side files yet):", first, targets)
        _print("side files (background, once):", _run("index", str(path), str(cache)))
        _print("jump index of the whole table (background, once):",
               _run("jumps", str(path), str(cache)))  # fmt: skip
        indexed = _run("indexed", str(path), str(cache), neurons, cursor, str(deep_page))
        targets = {"neuron query (all its synapses)": "<= 100 ms", "peak RSS MB": "<= 500 MB",
                   "deep page (keyset)": "~ page 1", "jump / page 1": "~ 1"}  # fmt: skip
        _print("with side files and the jump index:", indexed, targets)
        if args.csv_rows:
            _run("csv-generate", str(work), str(args.csv_rows))  # memory not counted below
            _print("CSV converted once to Parquet:", _run("csv", str(work), str(args.csv_rows)))
        print(f"load average at the end (2 shared cores): {os.getloadavg()}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
