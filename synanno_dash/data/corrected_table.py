"""The corrected synapse table: the input table with corrected points and synapse types,
dropped false positives and added synapses, in the input's own format (CSV or Parquet) and
schema. Types go into the table's own type column (written as text), or into a new
``synapse_type`` column when the table has none and the session typed a synapse."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synanno_dash.data.table_errors import described, read_error
from synanno_dash.data.table_files import is_parquet
from synanno_dash.data.table_schema import (
    Layout,
    TableError,
    detect_layout,
    materialization_index,
)

Point = tuple[float, float, float]
NEW_TYPE_COLUMN = "synapse_type"


@dataclass(frozen=True)
class AddedSynapse:
    center: Point
    pre: Point | None = None
    post: Point | None = None
    pre_neuron_id: int | None = None  # the neuropil segment under the marker, if known
    post_neuron_id: int | None = None
    synapse_type: str | None = None


@dataclass(frozen=True)
class TableCorrections:
    """What changes, in the table's own units. ``points``: materialization index ->
    {"pre": point, "post": point} (only the changed ones); ``types``: materialization index
    -> its synapse type (only the changed ones; ``None`` clears it)."""

    drop: frozenset[int] = frozenset()
    points: Mapping[int, Mapping[str, Point]] = field(default_factory=dict)
    added: tuple[AddedSynapse, ...] = ()
    types: Mapping[int, str | None] = field(default_factory=dict)

    def type_column(self, layout: Layout) -> str | None:
        """The column types are written to: the table's own, else a new one when a type
        was set (``None``: the table is copied without one)."""
        typed = any(t is not None for t in self.types.values()) or any(
            a.synapse_type is not None for a in self.added
        )
        return layout.synapse_type or (NEW_TYPE_COLUMN if typed else None)


def table_path(path_or_url: str) -> Path:
    parsed = urlparse(path_or_url)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    if len(parsed.scheme) > 1:
        raise TableError(f"only local tables can be rewritten, not {path_or_url}")
    return Path(path_or_url)


def write_corrected_table(
    source: Path,
    out: Path,
    corrections: TableCorrections,
    batch_rows: int = 250_000,
    on_rows: Callable[[int], None] | None = None,
) -> int:
    """Copy a synapse table with the corrections applied, in its own format and schema.

    Streams batches (any size of table); rows are kept in order, dropped ones left out,
    added ones appended with the next ids (when the table has an ``id`` column). Columns
    we do not know are copied unchanged. Returns the number of rows written; ``on_rows(n)``
    is called after each batch with the rows read so far (progress).
    """
    parquet = is_parquet(source)
    try:
        return _write_corrected(source, out, corrections, batch_rows, parquet, on_rows)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # quoted file text: not shown
        raise read_error(source, "Parquet" if parquet else "CSV", exc) from None


def _write_corrected(
    source: Path,
    out: Path,
    corrections: TableCorrections,
    batch_rows: int,
    parquet: bool,
    on_rows: Callable[[int], None] | None,
) -> int:
    if parquet:
        names = list(pq.ParquetFile(source).schema_arrow.names)
        batches = pq.ParquetFile(source).iter_batches(batch_size=batch_rows)
    else:
        reader = _csv_strings(source, None)
        names = list(reader.schema.names)
        reader.close()
        batches = iter(_csv_strings(source, names))
    layout = detect_layout(names, source=described(source))
    type_column = corrections.type_column(layout)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out, parquet)
    first_row, max_id, written = 0, -1, 0
    schema: pa.Schema | None = None
    for batch in batches:
        mat = _materialization(batch, layout, first_row)
        first_row += batch.num_rows
        max_id = max(max_id, int(mat.max(initial=-1)))
        batch = _patched(batch, layout, mat, corrections.points)
        if type_column is not None:
            batch = _with_types(batch, type_column, mat, corrections.types)
        schema = batch.schema
        keep = ~np.isin(mat, np.fromiter(corrections.drop, np.int64, len(corrections.drop)))
        batch = batch.filter(pa.array(keep))
        writer.write(batch)
        written += batch.num_rows
        if on_rows is not None:
            on_rows(first_row)
    if schema is None:
        raise TableError(f"synapse table {source} has no rows to correct")
    if corrections.added:
        start = (max_id if layout.id else first_row - 1) + 1
        writer.write(_added_batch(schema, layout, corrections.added, start, type_column))
        written += len(corrections.added)
    writer.close()
    return written


def _csv_strings(path: Path, columns: list[str] | None) -> pacsv.CSVStreamingReader:
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    if columns is not None:  # text keeps ids and numbers exactly as written
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=True
        )
    stream = pa.input_stream(str(path), compression="detect")
    return pacsv.open_csv(stream, convert_options=convert)


class _Writer:
    """Parquet with the source schema, or CSV whose number columns stay unquoted."""

    def __init__(self, out: Path, parquet: bool) -> None:
        self.out, self.parquet = out, parquet
        self._parquet: pq.ParquetWriter | None = None
        self._csv = None if parquet else out.open("wb")
        self._header = True

    def write(self, batch: pa.RecordBatch) -> None:
        if self.parquet:
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.out, batch.schema)
            self._parquet.write_batch(batch)
            return
        assert self._csv is not None
        table = pa.Table.from_batches([_numbers_unquoted(batch)])
        pacsv.write_csv(table, self._csv, pacsv.WriteOptions(include_header=self._header))
        self._header = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()


def _numbers_unquoted(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text columns that hold only integers become integer columns (written unquoted)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type):
            for kind in (pa.int64(), pa.uint64()):
                try:
                    column = pc.cast(column, kind)
                    break
                except pa.ArrowInvalid:
                    continue
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _materialization(batch: pa.RecordBatch, layout: Layout, first_row: int) -> np.ndarray:
    if layout.id is None:
        return np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
    return materialization_index(batch, layout.id, first_row)  # the import's own rule


def _point_columns(layout: Layout, role: str) -> tuple[str, str, str] | str | None:
    return {"center": layout.center, "pre": layout.pre, "post": layout.post}[role]


def _cell(value: float, arrow_type: pa.DataType) -> Any:
    whole = float(value).is_integer()
    if pa.types.is_string(arrow_type):
        return str(int(value)) if whole else repr(float(value))
    if pa.types.is_integer(arrow_type):
        return int(round(value))
    return float(value)


def _id_cell(neuron_id: int, arrow_type: pa.DataType) -> Any:
    """A 64-bit id, exact: never through float."""
    return str(neuron_id) if pa.types.is_string(arrow_type) else int(neuron_id)


def _list_cell(point: Point, arrow_type: pa.DataType) -> Any:
    if pa.types.is_string(arrow_type):
        return "[" + ", ".join(str(_cell(v, pa.string())) for v in point) + "]"
    value_type = arrow_type.value_type
    return [_cell(v, value_type) for v in point]


def _set_point(columns: dict[str, list], types: dict[str, pa.DataType], spec: Any,
               row: int, point: Point | None) -> None:  # fmt: skip
    if spec is None:
        return
    if isinstance(spec, str):
        columns[spec][row] = None if point is None else _list_cell(point, types[spec])
        return
    for name, value in zip(spec, point or (None, None, None), strict=True):
        columns[name][row] = None if value is None else _cell(value, types[name])


def _patched(batch: pa.RecordBatch, layout: Layout, mat: np.ndarray,
             points: Mapping[int, Mapping[str, Point]]) -> pa.RecordBatch:  # fmt: skip
    rows = np.flatnonzero(np.isin(mat, np.fromiter(points, np.int64, len(points))))
    if rows.size == 0:
        return batch
    types = {name: batch.schema.field(name).type for name in batch.schema.names}
    names = {n for role in ("pre", "post") for n in _names(_point_columns(layout, role))}
    columns = {name: batch.column(name).to_pylist() for name in names}
    for row in rows.tolist():
        for role, point in points[int(mat[row])].items():
            _set_point(columns, types, _point_columns(layout, role), row, point)
    arrays = [
        pa.array(columns[name], type=types[name]) if name in columns else batch.column(name)
        for name in batch.schema.names
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _names(spec: tuple[str, str, str] | str | None) -> list[str]:
    return [] if spec is None else [spec] if isinstance(spec, str) else list(spec)


def _with_types(batch: pa.RecordBatch, column: str, mat: np.ndarray,
                types: Mapping[int, str | None]) -> pa.RecordBatch:  # fmt: skip
    """The batch with its type column as text (added, all empty, when missing) and the
    changed types set."""
    names = batch.schema.names
    if column in names:
        values = batch.column(column)
        if not pa.types.is_string(values.type):
            values = pc.cast(values, pa.string())
    else:
        values = pa.nulls(batch.num_rows, pa.string())
    rows = np.flatnonzero(np.isin(mat, np.fromiter(types, np.int64, len(types))))
    if rows.size:
        cells = values.to_pylist()
        for row in rows.tolist():
            cells[row] = types[int(mat[row])]
        values = pa.array(cells, pa.string())
    if column in names:
        return batch.set_column(names.index(column), column, values)
    return batch.append_column(column, values)


def _added_batch(schema: pa.Schema, layout: Layout, added: Sequence[AddedSynapse],
                 first_id: int, type_column: str | None) -> pa.RecordBatch:  # fmt: skip
    types = {name: schema.field(name).type for name in schema.names}
    columns: dict[str, list] = {name: [None] * len(added) for name in schema.names}
    for row, item in enumerate(added):
        for role, point in (("center", item.center), ("pre", item.pre), ("post", item.post)):
            _set_point(columns, types, _point_columns(layout, role), row, point)
        if layout.id:
            columns[layout.id][row] = _cell(first_id + row, types[layout.id])
        for name, neuron in ((layout.pre_neuron_id, item.pre_neuron_id),
                             (layout.post_neuron_id, item.post_neuron_id)):  # fmt: skip
            if name and neuron is not None:
                columns[name][row] = _id_cell(neuron, types[name])
        if type_column is not None:
            columns[type_column][row] = item.synapse_type
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[n], type=types[n]) for n in schema.names], schema=schema
    )
