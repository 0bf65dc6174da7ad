"""Synapse tables (CSV or Parquet) queried through an indexed SQLite cache.

Design: tables reach hundreds of millions of rows, so nothing here loads a table whole. The
first :func:`open_table` streams the file in batches (pyarrow's CSV reader / Parquet
``iter_batches``), converts each batch to exact numbers (``table_schema.convert_batch``) and
writes it into a SQLite file in ``cache_dir``. Once all rows are in, it builds indexes on the
pre id, the post id and the centre's (z, y, x), a per-neuron count table, and records the
table's extent. Every query is then SQL on that file, for small and big tables alike.

- By neuron: ``pre_id = ? OR post_id = ?`` uses both id indexes.
- By box (half-open, on the centre, in the table's voxels): one index seek per z slice, then a
  y range within it; axes that span the whole extent are dropped, so a box over the whole
  volume pages like the whole table.
- Paging orders by the materialization index (the rowid): stable across calls. ``offset``
  steps over rows, so very deep pages cost time proportional to the offset.

The cache file is named from the source's resolved path and the column mapping, then its
size, mtime and the cache format version: a changed file is imported again (and the stale
cache removed), while an unchanged one opens with a ``stat`` and one small read. The import
writes a temporary file and renames it, so a failed or interrupted import leaves nothing.

Points come back as stored, in the table's voxels, rounded to ints. Neuron ids are exact:
SQLite INTEGER is signed 64-bit, so ids of 2**63 and above are stored as ``id - 2**64`` (ids
are never negative, which the import checks) and mapped back when read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Synapse
from synanno_dash.data.table_errors import described, read_error
from synanno_dash.data.table_schema import (
    Batch,
    ColumnMapping,
    Layout,
    TableError,
    convert_batch,
    detect_layout,
)

__all__ = ["ColumnMapping", "NeuronCount", "SynapseTable", "TableError", "open_table"]

CACHE_FORMAT_VERSION = 1
BATCH_ROWS = 250_000
CSV_BLOCK_BYTES = 16 << 20
_TWO_64 = 2**64
_INT64_MAX = 2**63 - 1
_REMOTE_SCHEMES = ("gs", "s3", "http", "https", "precomputed")

NeuronSort = Literal["total", "n_pre", "n_post", "neuron_id"]

_CREATE_SQL = """
CREATE TABLE synapses (
    mat INTEGER PRIMARY KEY,
    cx INTEGER NOT NULL, cy INTEGER NOT NULL, cz INTEGER NOT NULL,
    pre_x INTEGER, pre_y INTEGER, pre_z INTEGER,
    post_x INTEGER, post_y INTEGER, post_z INTEGER,
    pre_id INTEGER, post_id INTEGER
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INSERT_SQL = "INSERT INTO synapses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# Built after the bulk insert: cheaper than maintaining indexes row by row.
_INDEX_SQL = """
CREATE INDEX synapses_pre ON synapses (pre_id);
CREATE INDEX synapses_post ON synapses (post_id);
CREATE INDEX synapses_center_zyx ON synapses (cz, cy, cx);
CREATE TABLE neurons (neuron_id INTEGER PRIMARY KEY, n_pre INTEGER NOT NULL,
                      n_post INTEGER NOT NULL);
INSERT INTO neurons
SELECT neuron_id, SUM(n_pre), SUM(n_post) FROM (
    SELECT pre_id AS neuron_id, COUNT(*) AS n_pre, 0 AS n_post
    FROM synapses WHERE pre_id IS NOT NULL GROUP BY pre_id
    UNION ALL
    SELECT post_id, 0, COUNT(*) FROM synapses WHERE post_id IS NOT NULL GROUP BY post_id
) GROUP BY neuron_id;
PRAGMA analysis_limit = 1000;
ANALYZE;
"""
# Boxes are thin in z and wide in x, y: one index seek per z slice with a y range inside it
# reads far fewer index entries than a single range over z.
_Z_SLICES_SQL = (
    "cz IN (WITH RECURSIVE zs(z) AS (SELECT ? UNION ALL SELECT z + 1 FROM zs WHERE z + 1 < ?) "
    "SELECT z FROM zs)"
)
MAX_Z_SLICES = 65_536
_COLUMNS_SQL = "mat, cx, cy, cz, pre_x, pre_y, pre_z, post_x, post_y, post_z, pre_id, post_id"


@dataclass(frozen=True, order=True)
class NeuronCount:
    """How many synapses of the table a neuron is pre- and post-synaptic to."""

    neuron_id: int
    n_pre: int
    n_post: int

    @property
    def total(self) -> int:
        return self.n_pre + self.n_post


def _encode_id(neuron_id: int) -> int:
    if not 0 <= neuron_id < _TWO_64:
        raise ValueError(f"a neuron id is an unsigned 64-bit integer, got {neuron_id}")
    return neuron_id - _TWO_64 if neuron_id > _INT64_MAX else neuron_id


def _decode_id(stored: int | None) -> int | None:
    return stored + _TWO_64 if stored is not None and stored < 0 else stored


def _point(x: int | None, y: int | None, z: int | None) -> tuple[int, int, int] | None:
    return None if x is None or y is None or z is None else (x, y, z)


def _synapse(row: tuple) -> Synapse:
    return Synapse(
        materialization_index=row[0],
        center_xyz_vx=(row[1], row[2], row[3]),
        pre_xyz_vx=_point(*row[4:7]),
        post_xyz_vx=_point(*row[7:10]),
        pre_neuron_id=_decode_id(row[10]),
        post_neuron_id=_decode_id(row[11]),
    )


def _box_clauses(bbox: BBox, extent: BBox | None) -> tuple[list[str], list[int]]:
    """Box filter on the centre, clipped to the table's extent (axes spanning all of it are
    left out, so a box over the whole volume pages in index order without sorting)."""
    starts, stops = list(bbox.start_xyz), list(bbox.stop_xyz)
    narrower = [True, True, True]
    if extent is not None:
        for i in range(3):
            narrower[i] = starts[i] > extent.start_xyz[i] or stops[i] < extent.stop_xyz[i]
            starts[i] = max(starts[i], extent.start_xyz[i])
            stops[i] = min(stops[i], extent.stop_xyz[i])
    if any(stop <= start for start, stop in zip(starts, stops, strict=True)):
        return ["0"], []  # the box misses every centre
    clauses: list[str] = []
    params: list[int] = []
    if (narrower[2] or narrower[1]) and stops[2] - starts[2] <= MAX_Z_SLICES:
        clauses.append(_Z_SLICES_SQL)
        params += [starts[2], stops[2]]
    elif narrower[2]:
        clauses.append("cz >= ? AND cz < ?")
        params += [starts[2], stops[2]]
    for i, column in ((1, "cy"), (0, "cx")):
        if narrower[i]:
            clauses.append(f"{column} >= ? AND {column} < ?")
            params += [starts[i], stops[i]]
    return clauses, params


def _where(neuron_id: int | None, bbox: BBox | None, extent: BBox | None) -> tuple[str, list[int]]:
    clauses: list[str] = []
    params: list[int] = []
    if neuron_id is not None:
        clauses.append("(pre_id = ? OR post_id = ?)")
        params += [_encode_id(neuron_id)] * 2
    if bbox is not None:
        box_clauses, box_params = _box_clauses(bbox, extent)
        clauses += box_clauses
        params += box_params
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


@dataclass(frozen=True)
class SynapseTable:
    """An imported synapse table. Each call opens its own read-only SQLite connection, so a
    table object may be shared between threads; it holds no open handle."""

    source: Path
    db_path: Path
    schema: str  # "synanno" | "cave" | "mapped"
    n_rows: int
    center_bbox_vx: BBox | None  # the smallest half-open box holding every centre; None if empty

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        uri = self.db_path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True)
        try:
            yield conn
        finally:
            conn.close()

    def count(self, neuron_id: int | None = None, bbox: BBox | None = None) -> int:
        """Synapses whose pre or post neuron is ``neuron_id`` and whose centre is in ``bbox``."""
        if neuron_id is None and bbox is None:
            return self.n_rows
        where, params = _where(neuron_id, bbox, self.center_bbox_vx)
        with self._connect() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM synapses{where}", params).fetchone()[0])

    def query(
        self,
        neuron_id: int | None = None,
        bbox: BBox | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Synapse]:
        """Matching synapses ordered by materialization index, ``offset``/``limit`` paged.

        ``bbox`` is half-open and in the table's voxels; it filters on the centre point.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError(f"offset and limit must not be negative, got {offset}, {limit}")
        where, params = _where(neuron_id, bbox, self.center_bbox_vx)
        # The page's ids first, from the indexes alone, then its rows in id order: far fewer
        # random reads of the big table than sorting whole matching rows.
        page = f"SELECT mat FROM synapses{where} ORDER BY mat LIMIT ? OFFSET ?"
        sql = f"SELECT {_COLUMNS_SQL} FROM synapses WHERE mat IN ({page}) ORDER BY mat"
        with self._connect() as conn:
            rows = conn.execute(sql, [*params, -1 if limit is None else limit, offset])
            return [_synapse(row) for row in rows]

    def get(self, materialization_index: int) -> Synapse | None:
        """The synapse with this materialization index, or None if the table has none."""
        sql = f"SELECT {_COLUMNS_SQL} FROM synapses WHERE mat = ?"
        with self._connect() as conn:
            row = conn.execute(sql, [materialization_index]).fetchone()
        return None if row is None else _synapse(row)

    def neurons(self, sort_by: NeuronSort = "total") -> list[NeuronCount]:
        """Every neuron of the table with its synapse counts as pre and as post.

        Counts sort largest first (ties by id); ``"neuron_id"`` sorts ids ascending.
        """
        with self._connect() as conn:
            rows = conn.execute("SELECT neuron_id, n_pre, n_post FROM neurons").fetchall()
        counts = [NeuronCount(i + _TWO_64 if i < 0 else i, pre, post) for i, pre, post in rows]
        if sort_by == "neuron_id":
            return sorted(counts)
        if sort_by not in ("total", "n_pre", "n_post"):
            raise ValueError(f"sort_by must be total, n_pre, n_post or neuron_id, not {sort_by}")
        return sorted(counts, key=lambda c: (-getattr(c, sort_by), c.neuron_id))


def _local_path(path_or_url: str) -> Path:
    parsed = urlparse(path_or_url)
    scheme = parsed.scheme.lower()
    if scheme in _REMOTE_SCHEMES:
        raise TableError(
            f"Synapse table {path_or_url} is remote ({scheme}://); remote tables are not read "
            "directly yet. Fix: download it first (e.g. gsutil cp or curl) and open the local file."
        )
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise TableError(f"file:// URL {path_or_url} names a host; use file:///absolute/path")
        return Path(url2pathname(parsed.path))
    if len(scheme) > 1:
        raise TableError(
            f"Synapse table {path_or_url}: unknown URL scheme {scheme}://. "
            "Fix: give a local path or a file:// URL."
        )
    return Path(path_or_url)


def _stat(path: Path) -> os.stat_result:
    if not path.exists():
        raise TableError(
            f"Synapse table not found: {path} (resolved to {path.resolve()}). "
            "Fix: check the path; relative paths start from the current working directory."
        )
    if path.is_dir():
        raise TableError(f"Synapse table {path} is a folder. Fix: give one .csv or .parquet file.")
    if not path.is_file():  # a device or a pipe could be read forever
        raise TableError(
            f"Synapse table {path} is not a regular file (a device, a pipe or a socket). "
            "Fix: give one .csv or .parquet file."
        )
    return path.stat()


def _cache_file(cache_dir: Path, path: Path, mapping: ColumnMapping | None) -> Path:
    """``synapses-<source and mapping>-<size, mtime, format>.sqlite``: a changed file gets a
    new name, and its old cache is found by the shared first part (see _remove_stale)."""
    stat = _stat(path)
    source = json.dumps([str(path.resolve()), mapping and mapping.as_dict()])
    version = json.dumps([stat.st_size, stat.st_mtime_ns, CACHE_FORMAT_VERSION])
    path_hash = hashlib.sha256(source.encode()).hexdigest()[:16]
    key_hash = hashlib.sha256((source + version).encode()).hexdigest()[:16]
    return cache_dir / f"synapses-{path_hash}-{key_hash}.sqlite"


def is_parquet(path: Path) -> bool:
    """Parquet files start with ``PAR1``; anything else is read as CSV."""
    try:
        with path.open("rb") as f:
            return f.read(4) == b"PAR1"
    except OSError as exc:
        msg = f"Cannot read synapse table {path}: {exc.strerror}. Fix: check its permissions."
        raise TableError(msg) from None


def _csv_reader(path: Path, columns: list[str] | None) -> pacsv.CSVStreamingReader:
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    if columns is not None:  # read as text: ids stay exact, bad cells get named later
        convert = pacsv.ConvertOptions(
            include_columns=columns,
            column_types={c: pa.string() for c in columns},
            strings_can_be_null=True,
        )
    stream = pa.input_stream(str(path), compression="detect")
    read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    return pacsv.open_csv(stream, read_options=read, convert_options=convert)


def _column_names(path: Path, parquet: bool) -> list[str]:
    kind = "Parquet" if parquet else "CSV"
    try:
        if parquet:
            return list(pq.ParquetFile(path).schema_arrow.names)
        reader = _csv_reader(path, None)
        names = list(reader.schema.names)
        reader.close()
        return names
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise read_error(path, kind, exc) from None


def _batches(path: Path, parquet: bool, columns: list[str]) -> Iterator[pa.RecordBatch]:
    kind = "Parquet" if parquet else "CSV"
    try:
        if parquet:
            yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)
        else:
            yield from _csv_reader(path, columns)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise read_error(path, kind, exc) from None


def _with_nulls(values: np.ndarray, missing: np.ndarray) -> list:
    if missing.all():
        return [None] * len(values)
    out = values.tolist()
    for i in np.flatnonzero(missing).tolist():
        out[i] = None
    return out


def _rows(batch: Batch) -> Iterator[tuple]:
    columns = [
        batch.mat.tolist(),
        *batch.center_xyz.T.tolist(),
        *(_with_nulls(axis, batch.pre_missing) for axis in batch.pre_xyz.T),
        *(_with_nulls(axis, batch.post_missing) for axis in batch.post_xyz.T),
        _with_nulls(batch.pre_id.view(np.int64), batch.pre_id_missing),  # see _encode_id
        _with_nulls(batch.post_id.view(np.int64), batch.post_id_missing),
    ]
    return zip(*columns, strict=True)


def _duplicate_error(
    conn: sqlite3.Connection, batch: Batch, column: str, first_row: int
) -> TableError:
    """Which data rows share an id (the id itself is file content and is not shown)."""
    values, first, counts = np.unique(batch.mat, return_index=True, return_counts=True)
    rows: list[int] = []
    if (counts > 1).any():
        value = values[counts > 1][0]
        rows = [first_row + int(r) for r in np.flatnonzero(batch.mat == value)[:2]]
    else:
        for row, value in enumerate(batch.mat.tolist()):
            if conn.execute("SELECT 1 FROM synapses WHERE mat = ?", [value]).fetchone():
                rows = [first_row + row]
                break
    where = " and ".join(f"data row {r}" for r in rows) or "one data row"
    earlier = "" if len(rows) > 1 else " and an earlier row"
    return TableError(
        f"Column {column!r} must be unique but {where}{earlier} hold the same id. "
        "Fix: remove the duplicate rows, or pass a ColumnMapping with id=None to number rows."
    )


def _grow_extent(extent: BBox | None, center_xyz: np.ndarray) -> BBox | None:
    if len(center_xyz) == 0:
        return extent
    low, high = center_xyz.min(axis=0).tolist(), (center_xyz.max(axis=0) + 1).tolist()
    if extent is not None:
        low = [min(a, b) for a, b in zip(low, extent.start_xyz, strict=True)]
        high = [max(a, b) for a, b in zip(high, extent.stop_xyz, strict=True)]
    return BBox.from_bounds(tuple(low), tuple(high))


def _import(source: Path, target: Path, mapping: ColumnMapping | None) -> None:
    parquet = is_parquet(source)
    layout: Layout = detect_layout(_column_names(source, parquet), mapping, described(source))
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    try:
        # A half-written file is thrown away, so no journal and no fsync while importing.
        conn.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "PRAGMA cache_size = -262144;" + _CREATE_SQL
        )
        n_rows, extent = 0, None
        for record_batch in _batches(source, parquet, layout.columns):
            batch = convert_batch(record_batch, layout, n_rows)
            try:
                conn.executemany(_INSERT_SQL, _rows(batch))
            except sqlite3.IntegrityError:
                raise _duplicate_error(conn, batch, layout.id or "id", n_rows) from None
            n_rows += record_batch.num_rows
            extent = _grow_extent(extent, batch.center_xyz)
        conn.executescript(_INDEX_SQL)
        meta = {
            "schema": layout.schema,
            "n_rows": str(n_rows),
            "source": str(source),
            "center_bbox_vx": json.dumps(extent and extent.as_list()),
        }
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        conn.commit()
        conn.close()
        os.replace(partial, target)
    finally:
        conn.close()
        partial.unlink(missing_ok=True)


def _remove_stale(cache_file: Path) -> None:
    """Older caches of the same source and mapping (same first hash, another second)."""
    prefix = cache_file.name.rsplit("-", 1)[0]
    for old in cache_file.parent.glob(f"{prefix}-*.sqlite"):
        if old != cache_file:
            old.unlink(missing_ok=True)


def _load(source: Path, db_path: Path) -> SynapseTable:
    uri = db_path.resolve().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    bounds = json.loads(meta["center_bbox_vx"])
    extent = BBox.from_bounds(bounds[:3], bounds[3:]) if bounds else None
    return SynapseTable(source, db_path, meta["schema"], int(meta["n_rows"]), extent)


def open_table(
    path_or_url: str | Path, cache_dir: Path, mapping: ColumnMapping | None = None
) -> SynapseTable:
    """Open a CSV or Parquet synapse table, importing it into ``cache_dir`` the first time.

    Raises TableError, naming the problem and the fix, when the table cannot be used.
    """
    source = _local_path(str(path_or_url))
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = _cache_file(cache_dir, source, mapping)
    if cache_file.exists():
        try:
            return _load(source, cache_file)
        except (sqlite3.DatabaseError, KeyError, ValueError):
            cache_file.unlink(missing_ok=True)  # a damaged cache is rebuilt, never trusted
    _import(source, cache_file, mapping)
    _remove_stale(cache_file)
    return _load(source, cache_file)
