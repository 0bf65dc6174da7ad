"""Side files of a large synapse table: rows bucketed by neuron id and by z slab.

Developer notes
- ``by_neuron/bucket=<b>/*.parquet``: every synapse once per neuron it touches (an autapse
  once), in bucket ``neuron_id % buckets``. A neuron query reads one bucket (a few hundred
  thousand rows at most at 10^8 rows) instead of the whole table.
- ``by_z/slab=<s>/*.parquet``: every synapse in slab ``(cz - z0) // slab_height``; a box query
  reads the slabs its z range overlaps.
- ``neuron_counts.parquet``: synapses per neuron as pre and as post.
- Written in one streaming pass per file set, no sort: DuckDB scans the table into Arrow
  batches, each batch is split by bucket (or slab) and appended to that part's file as one
  row group. (DuckDB's own ``PARTITION_BY`` spilled gigabytes at 10^8 rows on this machine.)
- Everything is written into a temporary folder renamed to ``indexes`` at the end, so a
  reader sees all side files or none, and two processes may race harmlessly.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from synanno_dash.core.geometry import BBox
from synanno_dash.data.table_files import COLUMNS, Progress

MAX_BUCKETS = 256
ROWS_PER_BUCKET = 200_000  # fewer buckets for smaller tables: small files cost more than rows
Z_SLABS = 128
_SELECT = ", ".join(COLUMNS)


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


# With one DuckDB thread and its build memory limit (tables.BUILD_MEMORY_LIMIT), building
# peaks near 420 MB (bench_big_table.py, "side files"); 250,000 rows and a million held with
# DuckDB at 300 MB peaked at 758 MB.
BATCH_ROWS = 100_000


# snappy, not zstd: zstd saves a third of the disk but a neuron query, which decodes a whole
# bucket, took 1.8x as long (252 against 137 ms at 5 x 10^6 rows, same run). No statistics:
# a part is read whole, and each row group's statistics stay in the writer's memory until it
# closes (at 10^8 rows that alone took a gigabyte).
_WRITER_OPTIONS: dict[str, Any] = {
    "use_dictionary": False,
    "compression": "snappy",
    "write_statistics": False,
}
BUFFER_ROWS = 700_000  # rows held back to make row groups larger (~75 MB)


ROW_GROUPS_PER_FILE = 32  # a writer keeps every row group's metadata until it closes


class _PartWriters:
    """Append rows to ``target/<key>=<part>/part-<n>.parquet`` files, a few large row groups
    each: rows wait in memory until ``BUFFER_ROWS`` are held, then the largest parts are
    written. A part's file is closed after ``ROW_GROUPS_PER_FILE`` row groups and the next
    one started, so the writers' metadata stays bounded however large the table (at 5 x 10^7
    rows one file per part held 250 MB of it)."""

    def __init__(self, target: Path, key: str) -> None:
        self.target, self.key = target, key
        self._writers: dict[int, Any] = {}
        self._groups: dict[int, int] = {}  # row groups written per part so far
        self._waiting: dict[int, list[Any]] = {}
        self._held = 0

    def add(self, part: int, rows: Any) -> None:
        import pyarrow as pa

        # A slice keeps its whole batch alive: copy it, so only the rows held stay in memory.
        own = pa.RecordBatch.from_arrays(
            [pa.concat_arrays([column]) for column in rows.columns], schema=rows.schema
        )
        self._waiting.setdefault(part, []).append(own)
        self._held += rows.num_rows
        if self._held > BUFFER_ROWS:
            for part in sorted(self._waiting, key=self._rows, reverse=True):
                self._flush(part)
                if self._held <= BUFFER_ROWS // 2:
                    break

    def close(self) -> None:
        try:
            for part in list(self._waiting):
                self._flush(part)
        finally:
            for writer in self._writers.values():
                writer.close()

    def _rows(self, part: int) -> int:
        return sum(b.num_rows for b in self._waiting[part])

    def _flush(self, part: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        batches = self._waiting.pop(part)
        table = pa.Table.from_batches(batches)
        self._held -= table.num_rows
        groups = self._groups.get(part, 0)
        writer = self._writers.get(part)
        if writer is not None and groups % ROW_GROUPS_PER_FILE == 0:
            writer.close()
            writer = None
        if writer is None:
            folder = self.target / f"{self.key}={part}"
            folder.mkdir(parents=True, exist_ok=True)
            name = f"part-{groups // ROW_GROUPS_PER_FILE}.parquet"
            writer = pq.ParquetWriter(folder / name, table.schema, **_WRITER_OPTIONS)
            self._writers[part] = writer
        writer.write_table(table, row_group_size=table.num_rows)
        self._groups[part] = groups + 1


def _write_partitioned(result: Any, key: str, target: Path) -> None:
    """Write a DuckDB relation into ``target/<key>=<part>/part-<n>.parquet`` files, streaming."""
    import numpy as np
    import pyarrow.compute as pc

    writers = _PartWriters(target, key)
    try:
        for batch in result.to_arrow_reader(BATCH_ROWS):
            ordered = batch.take(pc.sort_indices(batch.column(key)))
            parts = ordered.column(key).to_numpy()
            cuts = [0, *(np.flatnonzero(np.diff(parts)) + 1).tolist(), len(parts)]
            rows = ordered.drop_columns([key])
            for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
                writers.add(int(parts[start]), rows.slice(start, stop - start))
    finally:
        writers.close()


def _remove_abandoned(folder: Path) -> None:
    """Partial side files of processes that died mid-build (a server stopped meanwhile)."""
    import psutil

    for partial in folder.glob("indexes.*.partial"):
        pid = partial.name.split(".")[1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


class SideFiles:
    """The side files of one table (``folder/indexes``), present or not."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "indexes"
        self._meta: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        return (self.folder / "meta.json").exists()

    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = json.loads((self.folder / "meta.json").read_text())
        return self._meta

    def neuron_source(self, neuron_id: int) -> str | None:
        """``FROM`` text reading the bucket of ``neuron_id`` (``None``: no side files yet)."""
        if not self.ready:
            return None
        bucket = self.folder / "by_neuron" / f"bucket={neuron_id % self.meta()['buckets']}"
        if not bucket.is_dir():
            # no synapse of any neuron falls in that bucket
            return "(SELECT CAST(NULL AS UBIGINT) AS neuron, * FROM synapses WHERE false)"
        return f"read_parquet({_quote(bucket / '*.parquet')})"

    def box_source(self, bbox: BBox) -> str | None:
        """``FROM`` text reading the z slabs a box overlaps (``None``: no side files yet)."""
        if not self.ready:
            return None
        meta = self.meta()
        z0, height = meta["z0"], meta["slab_height"]
        low = max(0, (bbox.start_xyz[2] - z0) // height)
        high = (bbox.stop_xyz[2] - 1 - z0) // height
        slabs = [
            self.folder / "by_z" / f"slab={s}"
            for s in range(low, high + 1)
            if (self.folder / "by_z" / f"slab={s}").is_dir()
        ]
        if not slabs:
            return "(SELECT * FROM synapses WHERE false)"
        files = ", ".join(_quote(s / "*.parquet") for s in slabs)
        return f"read_parquet([{files}])"

    def counts_source(self) -> str | None:
        if not self.ready:
            return None
        return f"read_parquet({_quote(self.folder / 'neuron_counts.parquet')})"

    def build(
        self, cursor: Any, n_rows: int, counts_sql: str, progress: Progress | None = None
    ) -> None:
        """Write the side files with a DuckDB cursor whose ``synapses`` view is the table."""
        if self.ready:
            return
        _remove_abandoned(self.folder.parent)
        partial = self.folder.with_name(f"indexes.{os.getpid()}.{id(cursor)}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        buckets = max(2, min(MAX_BUCKETS, n_rows // ROWS_PER_BUCKET))
        z_low, z_high = cursor.execute("SELECT min(cz), max(cz) FROM synapses").fetchall()[0]
        z0 = int(z_low or 0)
        height = max(1, -(-(int(z_high or 0) - z0 + 1) // Z_SLABS))
        steps = {
            "by_neuron": f"""
                SELECT pre_id AS neuron, {_SELECT}, CAST(pre_id % {buckets} AS INTEGER) AS bucket
                FROM synapses WHERE pre_id IS NOT NULL
                UNION ALL
                SELECT post_id, {_SELECT}, CAST(post_id % {buckets} AS INTEGER)
                FROM synapses WHERE post_id IS NOT NULL AND post_id IS DISTINCT FROM pre_id""",
            "by_z": f"SELECT {_SELECT}, CAST((cz - {z0}) // {height} AS INTEGER) AS slab "
            "FROM synapses",
        }
        try:
            for done, (name, sql) in enumerate(steps.items()):
                if progress is not None:
                    progress(done, len(steps) + 1)
                key = "bucket" if name == "by_neuron" else "slab"
                _write_partitioned(cursor.sql(sql), key, partial / name)  # streams
            if progress is not None:
                progress(len(steps), len(steps) + 1)
            cursor.execute(
                f"COPY ({counts_sql}) TO {_quote(partial / 'neuron_counts.parquet')} "
                "(FORMAT parquet)"
            )
            meta = {"buckets": buckets, "z0": z0, "slab_height": height}
            (partial / "meta.json").write_text(json.dumps(meta))
            try:
                os.rename(partial, self.folder)
            except OSError:
                if not self.ready:  # not another process that finished first
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        if progress is not None:
            progress(len(steps) + 1, len(steps) + 1)
