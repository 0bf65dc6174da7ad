"""Synapse tables (CSV or Parquet) queried in place with DuckDB: no import step.

Design: tables reach hundreds of millions of rows, so nothing here loads or imports a table
whole before the first page. ``open_table``:
- a large Parquet file whose columns DuckDB can read as numbers is queried where it lies,
  through a view that maps its columns to ours (``table_files.inplace_columns``); opening it
  reads the footer and checks the first batch, in well under a second at 10^8 rows;
- anything else (CSV, ids written as text or floats, small tables) is converted once into a
  Parquet file in our columns (``table_files.convert_to_parquet``, with progress), checking
  every cell; small tables take a blink, large CSVs stream at several 10^5 rows/s.
The cache folder of a table is named from the source and its version (``table_cache``).

Queries (all on the view ``synapses``, ordered by materialization index ``mat``):
- the whole table page by page: keyset paging on ``mat`` (``page_after``), which Parquet's
  row-group statistics turn into reading one row group when the file is sorted by id, as
  CAVE and SynAnno tables are; a jump to any position (``page_at``) reads from the key a
  selection's jump index (``table_jumps``, built once in the background) holds just before
  it, and falls back to ``query(offset=...)`` until that index exists;
- by neuron and by box: large tables get side files with their rows bucketed by neuron id and
  by z slab (``table_indexes``), built once in the background (``build_indexes``); a lookup
  then reads one bucket or a few slabs. Until they exist, queries scan the table.
Neuron ids are exact: DuckDB's UBIGINT holds every uint64, and ids travel as text in SQL.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pyarrow.parquet as pq

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Synapse
from synanno_dash.core.jump_index import JumpIndex
from synanno_dash.data import table_files
from synanno_dash.data.bounded_cache import BoundedCache
from synanno_dash.data.table_cache import cache_folder, extent, remove_stale
from synanno_dash.data.table_errors import described, read_error
from synanno_dash.data.table_files import Progress
from synanno_dash.data.table_indexes import SideFiles
from synanno_dash.data.table_jumps import build_jumps, jump_path, read_jumps, write_jumps
from synanno_dash.data.table_schema import ColumnMapping, TableError, convert_batch, detect_layout
from synanno_dash.data.table_sql import (
    COUNTS_SQL,
    SELECT_COLUMNS,
    NeuronCount,
    box_sql,
    id_param,
    quote,
    repeated_id_rows,
    synapse_of_row,
)

__all__ = ["ColumnMapping", "NeuronCount", "SynapseTable", "TableError", "open_table"]

INPLACE_MIN_ROWS = 1_000_000  # smaller Parquet files are converted: every cell checked at open
INDEX_MIN_ROWS = 1_000_000  # larger tables get sorted side files for neuron and box queries
MEMORY_LIMIT = "300MB"
# Building side files streams the table through Arrow batches held in Python (table_indexes);
# DuckDB needs little for that scan, and what it is allowed adds to the peak (758 MB at 5 x 10^7
# rows with 300 MB, 472 MB with 100 MB and the smaller batches and files of table_indexes).
BUILD_MEMORY_LIMIT = "100MB"
MAX_JUMP_INDEXES = 8  # selections whose jump index an opened table keeps in memory (~1.6 MB
# each at 5 x 10^7 rows)

NeuronSort = Literal["total", "n_pre", "n_post", "neuron_id"]


class SynapseTable:
    """An opened synapse table. Thread-safe: each call uses its own DuckDB cursor."""

    def __init__(self, source: Path, folder: Path, meta: dict[str, Any]) -> None:
        self.source = source
        self.cache_folder = folder
        self.schema: str = meta["schema"]
        self.n_rows: int = int(meta["n_rows"])
        bounds = meta.get("center_bbox_vx")
        self.center_bbox_vx = BBox.from_bounds(bounds[:3], bounds[3:]) if bounds else None
        self.data_path = Path(meta["data_path"])
        self.has_confidence: bool = bool(meta.get("has_confidence", False))
        self._view_sql = meta["view_sql"]
        self._build_lock = threading.Lock()
        self._side = SideFiles(folder)
        self._jump_lock = threading.Lock()
        self._jumps: BoundedCache[Path, JumpIndex] = BoundedCache(MAX_JUMP_INDEXES)
        import duckdb

        self._db = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 2})
        self._db.execute(f"CREATE VIEW synapses AS {self._view_sql}")

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        import duckdb

        cursor = self._db.cursor()
        try:
            yield cursor
        except duckdb.ConversionException:  # e.g. a negative id in a large table
            # DuckDB quotes the cell; a message never shows file content (table_errors).
            raise TableError(
                f"Synapse table {described(self.source)} holds a value its column cannot hold "
                "(a negative or too large id, or a coordinate that is not a number). Fix: ids must "
                "be non-negative whole numbers up to 2**64 - 1, coordinates finite numbers."
            ) from None
        finally:
            cursor.close()

    @property
    def indexed(self) -> bool:
        """Whether neuron and box queries read side files (large tables only)."""
        return self._side.ready

    @property
    def needs_indexes(self) -> bool:
        return self.n_rows > INDEX_MIN_ROWS and not self.indexed

    def _from(self, neuron_id: int | None, bbox: BBox | None) -> tuple[str, list[Any]]:
        """``FROM ... WHERE ...`` of a selection, on a side file when one helps."""
        clauses: list[str] = []
        params: list[Any] = []
        source = "synapses"
        if neuron_id is not None:
            bucket = self._side.neuron_source(int(id_param(neuron_id)))
            if bucket is not None:
                source = bucket
                clauses.append("neuron = CAST(? AS UBIGINT)")
                params.append(id_param(neuron_id))
            else:
                clauses.append("(pre_id = CAST(? AS UBIGINT) OR post_id = CAST(? AS UBIGINT))")
                params += [id_param(neuron_id)] * 2
        elif bbox is not None:
            source = self._side.box_source(bbox) or source
        if bbox is not None:
            box_clauses, box_params = box_sql(bbox)
            clauses += box_clauses
            params += box_params
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return f" FROM {source}{where}", params

    def count(self, neuron_id: int | None = None, bbox: BBox | None = None) -> int:
        """Synapses whose pre or post neuron is ``neuron_id`` and whose centre is in ``bbox``."""
        if neuron_id is None and bbox is None:
            return self.n_rows
        sql, params = self._from(neuron_id, bbox)
        with self._cursor() as cursor:
            return int(cursor.execute(f"SELECT count(*){sql}", params).fetchone()[0])

    def query(
        self,
        neuron_id: int | None = None,
        bbox: BBox | None = None,
        offset: int = 0,
        limit: int | None = None,
        least_confident_first: bool = False,
    ) -> list[Synapse]:
        """Matching synapses ordered by materialization index, ``offset``/``limit`` paged;
        ``least_confident_first``: by the confidence column ascending (rows without one
        last, ties by index).

        ``bbox`` is half-open and in the table's voxels; it filters on the centre point. For
        deep pages of a large selection use ``page_at``: ``offset`` skips rows one by one.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError(f"offset and limit must not be negative, got {offset}, {limit}")
        sql, params = self._from(neuron_id, bbox)
        paging = f" LIMIT {int(limit)}" if limit is not None else ""
        paging += f" OFFSET {int(offset)}" if offset else ""
        with self._cursor() as cursor:
            order = "confidence ASC NULLS LAST, mat" if least_confident_first else "mat"
            rows = cursor.execute(f"SELECT {SELECT_COLUMNS}{sql} ORDER BY {order}{paging}", params)
            return [synapse_of_row(row) for row in rows.fetchall()]

    def page_after(
        self,
        after_mat: int | None,
        limit: int,
        neuron_id: int | None = None,
        bbox: BBox | None = None,
    ) -> list[Synapse]:
        """The next ``limit`` matching synapses with a materialization index above
        ``after_mat`` (``None``: from the start). Keyset paging: page 100,000 costs what
        page 1 does. Pass the last synapse's index of a page to get the next one."""
        return self._keyset(">", after_mat, limit, neuron_id, bbox)

    def page_before(
        self, before_mat: int, limit: int, neuron_id: int | None = None, bbox: BBox | None = None
    ) -> list[Synapse]:
        """The ``limit`` matching synapses just below materialization index ``before_mat``,
        in ascending order (the page before a known one, by keyset paging too)."""
        return self._keyset("<", before_mat, limit, neuron_id, bbox)[::-1]

    def _keyset(
        self, op: Literal[">", "<"], mat: int | None, limit: int,
        neuron_id: int | None, bbox: BBox | None, below: int | None = None,
    ) -> list[Synapse]:  # fmt: skip
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        sql, params = self._from(neuron_id, bbox)
        for bound, value in ((op, mat), ("<", below)):
            if value is not None:
                sql += (" AND" if " WHERE " in sql else " WHERE") + f" mat {bound} ?"
                params.append(int(value))
        order = "mat" if op == ">" else "mat DESC"
        with self._cursor() as cursor:
            rows = cursor.execute(
                f"SELECT {SELECT_COLUMNS}{sql} ORDER BY {order} LIMIT {int(limit)}", params
            )
            return [synapse_of_row(row) for row in rows.fetchall()]

    def page_at(
        self, position: int, limit: int, neuron_id: int | None = None, bbox: BBox | None = None
    ) -> list[Synapse]:
        """The ``limit`` matching synapses from review position ``position`` on: the rows
        ``query(neuron_id, bbox, offset=position, limit=limit)`` returns. Once the selection's
        jump index is built (``build_jump_index``) a keyset read from the indexed key before
        ``position``, as fast deep in the table as on page 1; until then OFFSET."""
        index = self.jump_index(neuron_id, bbox)
        if index is None or not 0 <= position < index.total:
            return self.query(neuron_id, bbox, offset=position, limit=limit)
        low, high, skip = index.span(position, position + limit)
        rows = self._keyset(">", low - 1, skip + limit, neuron_id, bbox, below=high)
        return rows[skip:]

    def jump_index(
        self, neuron_id: int | None = None, bbox: BBox | None = None
    ) -> JumpIndex | None:
        """The selection's jump index, if it was built (by this or another process)."""
        path = jump_path(self.cache_folder, neuron_id, bbox)
        index = self._jumps.get(path)
        if index is None:
            index = read_jumps(path)
            if index is not None:
                self._jumps.put(path, index)
        return index

    def build_jump_index(
        self, neuron_id: int | None = None, bbox: BBox | None = None
    ) -> JumpIndex:
        """Build (once) and keep the selection's jump index. Raises ``KeysNotAscending`` when
        the table repeats a materialization index (jumps then stay on OFFSET)."""
        with self._jump_lock:
            index = self.jump_index(neuron_id, bbox)
            if index is None:
                sql, params = self._from(neuron_id, bbox)
                index = build_jumps(self._view_sql, sql, params, self.cache_folder / "spill")
                write_jumps(jump_path(self.cache_folder, neuron_id, bbox), index)
            return index

    def get(self, materialization_index: int) -> Synapse | None:
        """The synapse with this materialization index, or None if the table has none."""
        with self._cursor() as cursor:
            sql = f"SELECT {SELECT_COLUMNS} FROM synapses WHERE mat = ? LIMIT 1"
            row = cursor.execute(sql, [materialization_index]).fetchone()
        return None if row is None else synapse_of_row(row)

    def neurons(self, sort_by: NeuronSort = "total") -> list[NeuronCount]:
        """Every neuron of the table with its synapse counts as pre and as post.

        Counts sort largest first (ties by id); ``"neuron_id"`` sorts ids ascending.
        """
        if sort_by not in ("total", "n_pre", "n_post", "neuron_id"):
            raise ValueError(f"sort_by must be total, n_pre, n_post or neuron_id, not {sort_by}")
        side = self._side.counts_source()
        sql = f"SELECT * FROM {side}" if side else COUNTS_SQL
        with self._cursor() as cursor:
            rows = cursor.execute(sql).fetchall()
        counts = [NeuronCount(int(i), int(pre), int(post)) for i, pre, post in rows]
        if sort_by == "neuron_id":
            return sorted(counts)
        return sorted(counts, key=lambda c: (-getattr(c, sort_by), c.neuron_id))

    def build_indexes(self, progress: Progress | None = None) -> None:
        """Write the side files that make neuron and box queries fast (idempotent)."""
        with self._build_lock:
            spill = self.cache_folder / "spill"
            with self._cursor() as cursor:
                cursor.execute(f"SET temp_directory = {quote(spill)}")
                cursor.execute("SET preserve_insertion_order = false")
                cursor.execute("SET threads = 1")  # two threads buffer twice the rows
                cursor.execute(f"SET memory_limit = '{BUILD_MEMORY_LIMIT}'")
                try:
                    self._side.build(cursor, self.n_rows, COUNTS_SQL, progress)
                finally:  # database-wide settings
                    cursor.execute("SET threads = 2")
                    cursor.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            shutil.rmtree(spill, ignore_errors=True)


def _prepare(
    source: Path, folder: Path, mapping: ColumnMapping | None, progress: Progress | None
) -> dict[str, Any]:
    """Check the table and describe how to query it; converts it when it must be."""
    parquet = table_files.is_parquet(source)
    layout = detect_layout(table_files.column_names(source, parquet), mapping, described(source))
    if parquet:
        try:
            file = pq.ParquetFile(source)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise read_error(source, "Parquet", exc) from None
        n_rows = file.metadata.num_rows
        columns = table_files.inplace_columns(file.schema_arrow, layout)
        if columns is not None and n_rows >= INPLACE_MIN_ROWS:
            first = next(file.iter_batches(batch_size=4096, columns=layout.columns))
            convert_batch(first, layout, 0)  # systematic problems show at once, named
            expressions = ", ".join(f"{sql} AS {name}" for name, sql in columns.items())
            numbered = ", file_row_number = true" if layout.id is None else ""
            split = layout.center if not isinstance(layout.center, str) else ("", "", "")
            return {
                "schema": layout.schema, "n_rows": n_rows, "data_path": str(source),
                "view_sql": f"SELECT {expressions} FROM read_parquet({quote(source)}{numbered})",
                "center_bbox_vx": extent(source, split),
                "has_confidence": layout.confidence is not None,
            }  # fmt: skip
    data_path = folder / "table.parquet"
    n_rows = table_files.convert_to_parquet(source, data_path, layout, progress)
    return {
        "schema": layout.schema, "n_rows": n_rows, "data_path": str(data_path),
        "view_sql": f"SELECT * FROM read_parquet({quote(data_path)})",
        "center_bbox_vx": extent(data_path, ("cx", "cy", "cz")),
        "unique_id": layout.id,
        "has_confidence": layout.confidence is not None,
    }  # fmt: skip


def _check_unique(table: SynapseTable, column: str | None) -> None:
    """A converted table's ids are unique; a repeat is named by its data rows (the converted
    file keeps the source's row order), never by the id, which is file content."""
    if column is None:
        return
    with table._cursor() as cursor:
        rows = repeated_id_rows(cursor, table.data_path)
    if rows is None:
        return
    where = " and ".join(f"data row {r}" for r in rows) or "two rows"
    raise TableError(
        f"Column {column!r} must be unique but {where} hold the same id. "
        "Fix: remove the duplicate rows, or pass a ColumnMapping with id=None to number rows."
    )


def open_table(
    path_or_url: str | Path,
    cache_dir: Path,
    mapping: ColumnMapping | None = None,
    progress: Progress | None = None,
) -> SynapseTable:
    """Open a CSV or Parquet synapse table (converting it into ``cache_dir`` if it must be).

    Raises TableError, naming the problem and the fix, when the table cannot be used.
    ``progress(done, total)`` follows a conversion (bytes of the source).
    """
    source = table_files.local_path(str(path_or_url))
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    folder = cache_folder(cache_dir, source, mapping)
    meta_file = folder / "meta.json"
    if meta_file.exists():
        try:
            return SynapseTable(source, folder, json.loads(meta_file.read_text()))
        except (ValueError, KeyError, OSError):
            shutil.rmtree(folder, ignore_errors=True)  # a damaged cache is rebuilt, not trusted
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.mkdir(parents=True, exist_ok=True)
    try:
        meta = _prepare(source, partial, mapping, progress)
        meta["data_path"] = meta["data_path"].replace(str(partial), str(folder))
        meta["view_sql"] = meta["view_sql"].replace(str(partial), str(folder))
        (partial / "meta.json").write_text(json.dumps(meta))
        try:
            os.rename(partial, folder)
        except OSError:
            if not meta_file.exists():  # not another process that finished first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    table = SynapseTable(source, folder, json.loads(meta_file.read_text()))
    try:
        _check_unique(table, meta.get("unique_id"))
    except TableError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    remove_stale(folder)
    return table
