"""Synapse-table files: where they are, how to stream them, and the one-off conversion.

Every table is queried as Parquet in *our columns* (``NORMALIZED``: ``mat, cx, cy, cz, pre_x..,
post_x.., pre_id, post_id, confidence, synapse_type``, ids as exact ``uint64``, confidence and
type null when the table has none). A Parquet file whose columns can be
read that way directly (numbers, lists of numbers, integer ids: see ``inplace_columns``) is
queried in place, however large; anything else (CSV, ids written as text or floats, points
written as text) is converted once by ``convert_to_parquet``, batch by batch through
``table_schema.convert_batch`` (exact ids, every bad cell named by column and row), reporting
its progress as bytes read of the source.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synanno_dash.data.table_errors import read_error
from synanno_dash.data.table_schema import Batch, Layout, TableError, convert_batch
from synanno_dash.data.table_types import type_sql

BATCH_ROWS = 250_000
CSV_BLOCK_BYTES = 4 << 20  # 16 MB blocks cost ~150 MB more peak memory, no speed
ROW_GROUP_ROWS = 131_072
_REMOTE_SCHEMES = ("gs", "s3", "http", "https", "precomputed")

# progress(done, total): bytes of the source read so far (a CLI bar or a Dash progress bar).
Progress = Callable[[int, int], None]

NORMALIZED = pa.schema(
    [("mat", pa.int64()), ("cx", pa.int64()), ("cy", pa.int64()), ("cz", pa.int64())]
    + [(f"{side}_{a}", pa.int64()) for side in ("pre", "post") for a in "xyz"]
    + [("pre_id", pa.uint64()), ("post_id", pa.uint64()), ("confidence", pa.float64())]
    + [("synapse_type", pa.string())]
)
COLUMNS = NORMALIZED.names


def local_path(path_or_url: str) -> Path:
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


def stat(path: Path) -> os.stat_result:
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


def is_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"PAR1"
    except OSError as exc:
        msg = f"Cannot read synapse table {path}: {exc.strerror}. Fix: check its permissions."
        raise TableError(msg) from None


def _csv_reader(
    path: Path, columns: list[str] | None, raw: BinaryIO | None = None
) -> pacsv.CSVStreamingReader:
    """A streaming CSV reader; ``raw`` (an open file of ``path``) lets a caller watch
    ``raw.tell()`` for progress."""
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    if columns is not None:  # read as text: ids stay exact, bad cells get named later
        convert = pacsv.ConvertOptions(
            include_columns=columns,
            column_types={c: pa.string() for c in columns},
            strings_can_be_null=True,
        )
    if raw is None:
        stream = pa.input_stream(str(path), compression="detect")
    else:
        codec = pa.Codec.detect(str(path)) if path.suffix in (".gz", ".bz2", ".zst") else None
        stream = pa.PythonFile(raw, mode="r")
        if codec is not None:
            stream = pa.CompressedInputStream(stream, codec.name)
    # Reading only the header needs one small block, not a 16 MB one with every type inferred.
    read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES if columns is not None else 1 << 16)
    return pacsv.open_csv(stream, read_options=read, convert_options=convert)


def column_names(path: Path, parquet: bool) -> list[str]:
    kind = "Parquet" if parquet else "CSV"
    try:
        if parquet:
            return list(pq.ParquetFile(path).schema_arrow.names)
        reader = _csv_reader(path, None)
        names = list(reader.schema.names)
        reader.close()
        return names
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # never quoted: see
        raise read_error(path, kind, exc) from None  # table_errors


def batches(
    path: Path, parquet: bool, columns: list[str], raw: BinaryIO | None = None
) -> Iterator[pa.RecordBatch]:
    kind = "Parquet" if parquet else "CSV"
    try:
        if parquet:
            yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)
        else:
            yield from _csv_reader(path, columns, raw)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # never quoted: see
        raise read_error(path, kind, exc) from None  # table_errors


def _numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _as(expr: str, kind: pa.DataType, wanted: pa.DataType, sql_type: str) -> str:
    """``expr`` as ``sql_type``; a column already of that type is used bare, so that DuckDB
    can use its Parquet statistics (filters and top-N on a cast skip no row group)."""
    return expr if kind == wanted else f"CAST({expr} AS {sql_type})"


def _axis_sql(expr: str, kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return _as(expr, kind, pa.int64(), "BIGINT")
    return f"TRY_CAST(round({expr}) AS BIGINT)"  # NaN and empty cells become NULL


def inplace_columns(schema: pa.Schema, layout: Layout) -> dict[str, str] | None:
    """SQL for each normalized column over the file's own columns, or ``None`` when the file
    needs converting (text or float ids, text points, other types)."""
    types = {name: schema.field(name).type for name in schema.names}
    sql: dict[str, str] = {}
    for name, point in (("c", layout.center), ("pre", layout.pre), ("post", layout.post)):
        prefix = "c" if name == "c" else f"{name}_"
        if point is None:
            sql.update({f"{prefix}{a}": "CAST(NULL AS BIGINT)" for a in "xyz"})
            continue
        if isinstance(point, str):
            kind = types[point]
            if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and not (
                pa.types.is_fixed_size_list(kind)
            ):
                return None
            if not _numeric(kind.value_type):
                return None
            axes = [_axis_sql(f'"{point}"[{i + 1}]', kind.value_type) for i in range(3)]
        else:
            if not all(_numeric(types[c]) for c in point):
                return None
            axes = [_axis_sql(f'"{c}"', types[c]) for c in point]
        if name != "c":  # a point with an empty axis is no point
            missing = " OR ".join(f"({a}) IS NULL" for a in axes)
            axes = [f"CASE WHEN {missing} THEN NULL ELSE {a} END" for a in axes]
        sql.update({f"{prefix}{a}": expr for a, expr in zip("xyz", axes, strict=True)})
    for side, column in (("pre", layout.pre_neuron_id), ("post", layout.post_neuron_id)):
        if column is None:
            sql[f"{side}_id"] = "CAST(NULL AS UBIGINT)"
        elif pa.types.is_integer(types[column]):
            sql[f"{side}_id"] = _as(f'"{column}"', types[column], pa.uint64(), "UBIGINT")
        else:
            return None
    if layout.confidence is None:
        sql["confidence"] = "CAST(NULL AS DOUBLE)"
    elif _numeric(types[layout.confidence]):
        sql["confidence"] = f'CAST("{layout.confidence}" AS DOUBLE)'
    else:
        return None
    type_expr = type_sql(layout.synapse_type, types.get(layout.synapse_type or ""))
    if type_expr is None:
        return None
    sql["synapse_type"] = type_expr
    if layout.id is None:
        sql["mat"] = "CAST(file_row_number AS BIGINT)"
    elif pa.types.is_integer(types[layout.id]):
        sql["mat"] = _as(f'"{layout.id}"', types[layout.id], pa.int64(), "BIGINT")
    else:
        return None
    return {name: sql[name] for name in COLUMNS}


def batch_table(batch: Batch) -> pa.Table:
    """One converted batch in the normalized schema (missing points and ids as nulls)."""

    def column(values: object, missing: object) -> pa.Array:
        return pa.array(values, mask=missing)

    arrays = [pa.array(batch.mat), *(pa.array(batch.center_xyz[:, i]) for i in range(3))]
    arrays += [column(batch.pre_xyz[:, i], batch.pre_missing) for i in range(3)]
    arrays += [column(batch.post_xyz[:, i], batch.post_missing) for i in range(3)]
    arrays += [column(batch.pre_id, batch.pre_id_missing)]
    arrays += [column(batch.post_id, batch.post_id_missing)]
    arrays += [column(batch.confidence, np.isnan(batch.confidence)), batch.synapse_type]
    return pa.Table.from_arrays(arrays, schema=NORMALIZED)


def convert_to_parquet(
    source: Path, target: Path, layout: Layout, progress: Progress | None = None
) -> int:
    """Write the table in our columns to ``target`` (atomically); returns the row count."""
    parquet = is_parquet(source)
    total = source.stat().st_size
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    n_rows = 0
    try:
        # Dictionary pages suit repeated values, not coordinates and ids: skipping them makes
        # writing several times faster.
        writer_options = {"use_dictionary": False, "compression": "snappy"}
        with (
            source.open("rb") as raw,
            pq.ParquetWriter(partial, NORMALIZED, **writer_options) as writer,
        ):
            rows_total = pq.ParquetFile(source).metadata.num_rows if parquet else 0
            for record_batch in batches(source, parquet, layout.columns, raw):
                batch = convert_batch(record_batch, layout, n_rows)
                writer.write_table(batch_table(batch), row_group_size=ROW_GROUP_ROWS)
                n_rows += record_batch.num_rows
                if progress is not None:
                    done = total * n_rows // max(1, rows_total) if parquet else raw.tell()
                    progress(min(done, total), total)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    if progress is not None:
        progress(total, total)
    return n_rows
