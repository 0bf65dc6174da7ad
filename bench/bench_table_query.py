"""Benchmark: query a 10-million-row synapse table by neuron id and by box.

Compares ``synanno_dash.data.tables`` (one-off import into an indexed SQLite cache, then SQL
queries) with the obvious baseline measured in the same run: pandas loading the whole Parquet
table and filtering it with boolean masks. Each side runs in its own subprocess so the peak
memory (ru_maxrss) of one does not leak into the other.

Usage: python bench/bench_table_query.py [WORK_DIR] [N_ROWS]
WORK_DIR holds the generated table and the cache (default: a new temporary folder, removed at
the end); N_ROWS defaults to 10,000,000.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")
N_ROWS = 10_000_000
N_NEURONS = 50_000
CHUNK_ROWS = 500_000
VOLUME_XYZ_VX = (200_000, 150_000, 7_000)
BOXES = {  # (start_xyz, stop_xyz)
    "small box": ((100_000, 70_000, 3_000), (104_096, 74_096, 3_128)),  # one review region
    "large box": ((80_000, 60_000, 2_500), (100_000, 80_000, 3_000)),
    "whole-volume box": ((0, 0, 0), VOLUME_XYZ_VX),
}
N_QUERY_NEURONS = 20
PAGE = 24
SEED = 7


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _timed(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    start = time.perf_counter()
    for _ in range(repeat):
        result = fn()
    return (time.perf_counter() - start) / repeat, result


def _neuron_ids() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    offsets = rng.choice(10**12, size=N_NEURONS, replace=False).astype(np.uint64)
    return np.uint64(864_691_135_000_000_000) + offsets  # real-looking ids, all > 2**53


def generate(path: Path, n_rows: int) -> dict:
    """A CAVE-style split-column table, written chunk by chunk to keep memory low."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(SEED + 1)
    neurons = _neuron_ids()
    writer: pq.ParquetWriter | None = None
    next_id = 0
    for start in range(0, n_rows, CHUNK_ROWS):
        n = min(CHUNK_ROWS, n_rows - start)
        ids = next_id + np.cumsum(rng.integers(1, 4, size=n))  # ascending, with gaps
        next_id = int(ids[-1])
        ctr = np.column_stack([rng.integers(0, s, size=n) for s in VOLUME_XYZ_VX])
        columns: dict[str, np.ndarray] = {"id": ids.astype(np.int64)}
        for name, shift in (("ctr", 0), ("pre", -3), ("post", 3)):
            for i, axis in enumerate("xyz"):
                columns[f"{name}_pt_position_{axis}"] = ctr[:, i] + (shift if i < 2 else 0)
        columns["pre_pt_root_id"] = neurons[rng.integers(0, N_NEURONS, size=n)]
        columns["post_pt_root_id"] = neurons[rng.integers(0, N_NEURONS, size=n)]
        table = pa.table(columns)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return {"file_mb": path.stat().st_size / 2**20}


def phase_import(path: Path, cache: Path) -> dict:
    from synanno_dash.data.tables import open_table

    rss_before = _peak_rss_mb()
    seconds, table = _timed(lambda: open_table(path, cache))
    db_mb = table.db_path.stat().st_size / 2**20
    return {"import_s": seconds, "rows": table.count(), "db_mb": db_mb,
            "rss_before_mb": rss_before, "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


def phase_query(path: Path, cache: Path, neurons: list[int]) -> dict:
    from synanno_dash.core.geometry import BBox
    from synanno_dash.data.tables import open_table

    rss_before = _peak_rss_mb()
    open_s, table = _timed(lambda: open_table(path, cache), repeat=5)
    out: dict[str, float] = {"open_cached_s": open_s}
    all_s, hits = _timed(lambda: [len(table.query(neuron_id=n)) for n in neurons])
    page_s, _ = _timed(lambda: [table.query(neuron_id=n, limit=PAGE) for n in neurons])
    count_s, _ = _timed(lambda: [table.count(neuron_id=n) for n in neurons])
    out.update({"neuron id: all rows": all_s / len(neurons), "neuron id: count":
                count_s / len(neurons), "neuron id: first page": page_s / len(neurons),
                "neuron id: hits": float(np.mean(hits))})  # fmt: skip
    for name, box in BOXES.items():
        bbox = BBox(*box)
        if name != "whole-volume box":
            out[f"{name}: all rows"], _ = _timed(partial(table.query, bbox=bbox), 3)
        out[f"{name}: count"], count = _timed(partial(table.count, bbox=bbox), 3)
        out[f"{name}: first page"], _ = _timed(partial(table.query, bbox=bbox, limit=PAGE), 3)
        out[f"{name}: hits"] = count
    last = max(0, table.count() - PAGE)
    out["whole table: last page"], _ = _timed(lambda: table.query(offset=last, limit=PAGE), 3)
    out["neurons()"], counts = _timed(table.neurons)
    out.update(n_neurons=len(counts), rss_before_mb=rss_before, peak_rss_mb=_peak_rss_mb())
    return out


def phase_pandas(path: Path, neurons: list[int]) -> dict:
    import pandas as pd

    rss_before = _peak_rss_mb()
    load_s, df = _timed(lambda: pd.read_parquet(path))
    pre, post = df["pre_pt_root_id"].to_numpy(), df["post_pt_root_id"].to_numpy()
    x, y, z = (df[f"ctr_pt_position_{a}"].to_numpy() for a in "xyz")

    def by_neuron(n: int) -> int:
        return len(df[(pre == np.uint64(n)) | (post == np.uint64(n))].sort_values("id"))

    def by_box(box: tuple) -> int:
        (x0, y0, z0), (x1, y1, z1) = box
        mask = (x >= x0) & (x < x1) & (y >= y0) & (y < y1) & (z >= z0) & (z < z1)
        return len(df[mask].sort_values("id"))

    neuron_s, hits = _timed(lambda: [by_neuron(n) for n in neurons])
    out = {"load_s": load_s, "neuron id": neuron_s / len(neurons),
           "neuron id: hits": float(np.mean(hits))}  # fmt: skip
    for name, box in BOXES.items():
        out[name], out[f"{name}: hits"] = _timed(partial(by_box, box), repeat=3)
    out.update(rss_before_mb=rss_before, peak_rss_mb=_peak_rss_mb())
    return out


def _run_phase(*args: str) -> dict:
    cmd = [sys.executable, __file__, "--phase", *args]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(n_rows: int, gen: dict, imp: dict, qry: dict, pdx: dict) -> None:
    print(f"\nTable: {n_rows:,} rows, {N_NEURONS:,} neurons, CAVE split columns, Parquet "
          f"{gen['file_mb']:.0f} MiB (generated in {gen['seconds']:.1f} s)")  # fmt: skip
    rate = n_rows / imp["import_s"]
    print(f"One-off import into SQLite: {imp['import_s']:.1f} s ({rate:,.0f} rows/s), "
          f"cache file {imp['db_mb']:.0f} MiB, peak RSS {imp['peak_rss_mb']:.0f} MiB")  # fmt: skip
    print(f"Re-open of the imported table: {qry['open_cached_s'] * 1e3:.2f} ms")
    print(f"pandas read_parquet of the whole table: {pdx['load_s']:.2f} s\n")
    head = ("query", "sqlite ms", "pandas ms", "+load ms", "x filter", "x load+filter", "hits")
    print(f"{head[0]:30}{head[1]:>10}{head[2]:>11}{head[3]:>10}{head[4]:>10}{head[5]:>15}"
          f"{head[6]:>20}")  # fmt: skip
    for key, ours in qry.items():
        if ":" not in key or key.endswith("hits"):
            continue
        group = key.split(":")[0]
        theirs = pdx.get(group)
        hits = f"{qry.get(f'{group}: hits', float('nan')):.0f}/{pdx.get(f'{group}: hits', 0):.0f}"
        if theirs is None:
            print(f"{key:30}{ours * 1e3:10.2f}")
            continue
        full = pdx["load_s"] + theirs
        print(f"{key:30}{ours * 1e3:10.2f}{theirs * 1e3:11.1f}{full * 1e3:10.0f}"
              f"{theirs / ours:10.1f}{full / ours:15.0f}{hits:>20}")  # fmt: skip
    print(f"neurons() with counts, {qry['n_neurons']:,} neurons: {qry['neurons()'] * 1e3:.0f} ms")
    ratio = pdx["peak_rss_mb"] / qry["peak_rss_mb"]
    print(f"\nPeak RSS: pandas {pdx['peak_rss_mb']:.0f} MiB (after imports "
          f"{pdx['rss_before_mb']:.0f}) vs SQLite queries {qry['peak_rss_mb']:.0f} MiB (after "
          f"imports {qry['rss_before_mb']:.0f}): {ratio:.1f}x")  # fmt: skip
    print("(hits = sqlite/pandas result counts, which must agree; 'x' = pandas time / sqlite time)")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Load average at the end (2 cores; other work skews the times): {load}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--phase"]:
        phase, path, rest = argv[1], Path(argv[2]), argv[3:]
        if phase == "generate":
            print(json.dumps(generate(path, int(rest[0]))))
        elif phase == "import":
            print(json.dumps(phase_import(path, Path(rest[0]))))
        elif phase == "query":
            print(json.dumps(phase_query(path, Path(rest[0]), json.loads(rest[1]))))
        elif phase == "pandas":
            print(json.dumps(phase_pandas(path, json.loads(rest[0]))))
        return
    work = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="bench_table_"))
    n_rows = int(argv[1]) if len(argv) > 1 else N_ROWS
    work.mkdir(parents=True, exist_ok=True)
    path, cache = work / f"synapses_{n_rows}.parquet", work / "cache"
    try:
        gen_s, gen = _timed(lambda: _run_phase("generate", str(path), str(n_rows)))
        gen["seconds"] = gen_s
        shutil.rmtree(cache, ignore_errors=True)  # time a true first import
        imp = _run_phase("import", str(path), str(cache))
        rng = np.random.default_rng(SEED + 2)
        neurons = json.dumps([int(n) for n in rng.choice(_neuron_ids(), N_QUERY_NEURONS)])
        qry = _run_phase("query", str(path), str(cache), neurons)
        pdx = _run_phase("pandas", str(path), neurons)
        _report(n_rows, gen, imp, qry, pdx)
    finally:
        if not argv:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main(sys.argv[1:])
