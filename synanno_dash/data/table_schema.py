"""Synapse-table schemas: which columns hold what, named from the columns, never guessed.

- ``synanno`` (SynAnno / H01): ``x, y, z`` (centre), ``pre_pt_x/y/z``, ``post_pt_x/y/z``, and
  optionally ``pre_neuron_id, post_neuron_id``.
- ``cave``: ``ctr_pt_position, pre_pt_position, post_pt_position``, each an ``[x, y, z]`` list
  (a string in CSV, a list in Parquet) or split into ``<name>_x/_y/_z`` columns, and optionally
  ``pre_pt_root_id, post_pt_root_id``.
- ``mapped``: anything else, through a user-given :class:`ColumnMapping`.

Every schema keeps a ``confidence`` column (a detector's score, 0-1, e.g. the output of
``synanno-dash import-predictions``) when the table has one: the review can be ordered by it;
and a ``synapse_type`` (or ``type``) column, the synapses' types (``data/table_types.py``).

Both named schemas take an ``id`` column as the materialization index when there is one.
:func:`convert_batch` turns one Arrow batch of raw columns into exact numbers: coordinates
rounded to int voxels (an empty cell makes the point ``None``), neuron ids as exact 64-bit
integers that never pass through float.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synanno_dash.data.table_errors import (
    CAVE_COLUMNS,
    SYNANNO_COLUMNS,
    TableError,
    bad_value,
    column_kind_error,
)
from synanno_dash.data.table_types import type_column, type_names

__all__ = [
    "Batch", "ColumnMapping", "Layout", "TableError", "convert_batch", "detect_layout",
    "materialization_index",
]  # fmt: skip

# A point is three split columns (x, y, z) or one column of "[x, y, z]" lists.
PointColumns = tuple[str, str, str] | str


@dataclass(frozen=True)
class ColumnMapping:
    """Names of the columns that hold each value, for a table in neither named schema.

    Only the centre is required. A pre or post point needs all three of its columns; a
    missing ``id`` means rows are numbered from 0 in file order.
    """

    center_x: str
    center_y: str
    center_z: str
    pre_x: str | None = None
    pre_y: str | None = None
    pre_z: str | None = None
    post_x: str | None = None
    post_y: str | None = None
    post_z: str | None = None
    pre_neuron_id: str | None = None
    post_neuron_id: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        for side in ("pre", "post"):
            names = [getattr(self, f"{side}_{axis}") for axis in "xyz"]
            if any(names) and not all(names):
                raise TableError(
                    f"ColumnMapping names only some of {side}_x, {side}_y, {side}_z ({names}); "
                    f"name all three columns of the {side} point, or none of them."
                )

    def as_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Layout:
    """Where each value lives in one table (the result of detection or a mapping)."""

    schema: str  # "synanno" | "cave" | "mapped"
    center: PointColumns
    pre: PointColumns | None
    post: PointColumns | None
    pre_neuron_id: str | None
    post_neuron_id: str | None
    id: str | None
    confidence: str | None = None  # a detector's score per synapse, when the table has one
    synapse_type: str | None = None  # the synapses' types, when the table has them

    @property
    def columns(self) -> list[str]:
        """Every column the layout reads, each once, in a stable order."""
        names: list[str] = []
        for point in (self.center, self.pre, self.post):
            if point is not None:
                names.extend([point] if isinstance(point, str) else point)
        optional = (
            self.pre_neuron_id, self.post_neuron_id, self.id, self.confidence, self.synapse_type
        )
        names.extend(c for c in optional if c)
        return list(dict.fromkeys(names))


_SYNANNO_POINTS = {
    "centre": ("x", "y", "z"),
    "pre": ("pre_pt_x", "pre_pt_y", "pre_pt_z"),
    "post": ("post_pt_x", "post_pt_y", "post_pt_z"),
}
_CAVE_POINTS = {"centre": "ctr_pt_position", "pre": "pre_pt_position", "post": "post_pt_position"}


def _optional(columns: set[str], name: str) -> str | None:
    return name if name in columns else None


def _synanno_layout(columns: set[str]) -> tuple[Layout | None, list[str]]:
    missing = [c for names in _SYNANNO_POINTS.values() for c in names if c not in columns]
    if missing:
        return None, missing
    layout = Layout(
        schema="synanno",
        center=_SYNANNO_POINTS["centre"],
        pre=_SYNANNO_POINTS["pre"],
        post=_SYNANNO_POINTS["post"],
        pre_neuron_id=_optional(columns, "pre_neuron_id"),
        post_neuron_id=_optional(columns, "post_neuron_id"),
        id=_optional(columns, "id"),
        confidence=_optional(columns, CONFIDENCE_COLUMN),
        synapse_type=type_column(columns),
    )
    return layout, []


def _cave_point(columns: set[str], name: str) -> PointColumns | None:
    if name in columns:
        return name
    split = (f"{name}_x", f"{name}_y", f"{name}_z")
    return split if all(c in columns for c in split) else None


def _cave_layout(columns: set[str]) -> tuple[Layout | None, list[str]]:
    points = {role: _cave_point(columns, name) for role, name in _CAVE_POINTS.items()}
    missing = [f"{_CAVE_POINTS[role]} (or _x/_y/_z)" for role, p in points.items() if p is None]
    if missing:
        return None, missing
    layout = Layout(
        schema="cave",
        center=points["centre"],  # type: ignore[arg-type]
        pre=points["pre"],
        post=points["post"],
        pre_neuron_id=_optional(columns, "pre_pt_root_id"),
        post_neuron_id=_optional(columns, "post_pt_root_id"),
        id=_optional(columns, "id"),
        confidence=_optional(columns, CONFIDENCE_COLUMN),
        synapse_type=type_column(columns),
    )
    return layout, []


def _mapped_layout(mapping: ColumnMapping, columns: Sequence[str], source: str) -> Layout:
    named = {k: v for k, v in mapping.as_dict().items() if v is not None}
    absent = {k: v for k, v in named.items() if v not in set(columns)}
    if absent:
        wanted = ", ".join(f"{k}={v!r}" for k, v in absent.items())
        raise TableError(
            f"The column mapping names columns that table {source} does not have: {wanted} "
            f"(it has {len(columns)} columns).\n"
            "Fix: correct those names in the ColumnMapping (names are case-sensitive)."
        )

    def triple(side: str) -> tuple[str, str, str] | None:
        x, y, z = (getattr(mapping, f"{side}_{axis}") for axis in "xyz")
        return (x, y, z) if x and y and z else None

    return Layout(
        schema="mapped",
        center=(mapping.center_x, mapping.center_y, mapping.center_z),
        pre=triple("pre"),
        post=triple("post"),
        pre_neuron_id=mapping.pre_neuron_id,
        post_neuron_id=mapping.post_neuron_id,
        id=mapping.id,
        confidence=CONFIDENCE_COLUMN if CONFIDENCE_COLUMN in set(columns) else None,
        synapse_type=type_column(set(columns)),
    )


def _unknown_columns_message(source: str, columns: Sequence[str], misses: dict) -> str:
    """Which expected columns are missing; the file's own column names are not quoted (the
    header line of any file the server can read would otherwise be shown)."""
    return (
        f"Cannot tell the schema of synapse table {source}: none of the expected column sets "
        f"is complete among its {len(columns)} columns.\n"
        "Expected one of:\n"
        f"  - synanno (SynAnno/H01): {SYNANNO_COLUMNS}; optional pre_neuron_id, "
        "post_neuron_id, id.\n"
        f"    Missing: {', '.join(misses['synanno'])}.\n"
        f"  - cave (CAVE): {CAVE_COLUMNS}, each an "
        '"[x, y, z]" list or split into _x/_y/_z columns (e.g. ctr_pt_position_x); optional '
        "pre_pt_root_id, post_pt_root_id, id.\n"
        f"    Missing: {', '.join(misses['cave'])}.\n"
        "Fix: rename the columns to one of these schemas (names are case-sensitive), or pass "
        "a ColumnMapping naming your columns, e.g. ColumnMapping(center_x='ctr_x', "
        "center_y='ctr_y', center_z='ctr_z', pre_x=..., post_x=..., pre_neuron_id=..., "
        "post_neuron_id=..., id=...)."
    )


def detect_layout(
    columns: Sequence[str], mapping: ColumnMapping | None = None, source: str = "(table)"
) -> Layout:
    """The layout of a table with these columns; a mapping, when given, always wins."""
    if mapping is not None:
        return _mapped_layout(mapping, columns, source)
    present = set(columns)
    synanno, synanno_missing = _synanno_layout(present)
    cave, cave_missing = _cave_layout(present)
    if synanno and cave:
        raise TableError(
            f"Synapse table {source} has the columns of both the synanno and the cave schema, "
            "so which points to use is ambiguous. Fix: pass a ColumnMapping naming the columns."
        )
    layout = synanno or cave
    if layout is None:
        misses = {"synanno": synanno_missing, "cave": cave_missing}
        raise TableError(_unknown_columns_message(source, columns, misses))
    return layout


CONFIDENCE_COLUMN = "confidence"
_MAX_EXACT_FLOAT = 2**53  # beyond this a float no longer holds every integer
_INT64_MAX = 2**63 - 1
_POINT_SEPARATORS = r"[,\s]+"
_POINT_BRACKETS = "[]() \t"


@dataclass(frozen=True)
class Batch:
    """Rows of one batch as exact numbers. Missing points and ids hold 0 and are flagged."""

    mat: np.ndarray  # int64 materialization index
    center_xyz: np.ndarray  # (n, 3) int64 voxels
    pre_xyz: np.ndarray  # (n, 3) int64 voxels
    pre_missing: np.ndarray  # bool
    post_xyz: np.ndarray
    post_missing: np.ndarray
    pre_id: np.ndarray  # uint64 neuron ids
    pre_id_missing: np.ndarray
    post_id: np.ndarray
    post_id_missing: np.ndarray
    confidence: np.ndarray  # float64, NaN where the table has none
    synapse_type: pa.Array  # string, null where not typed


def _is_string(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def _is_list(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def _blank_to_null(arr: pa.Array) -> pa.Array:
    """Strings are trimmed; an empty cell means "missing", like a null."""
    if not _is_string(arr.type):
        return arr
    trimmed = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def _first_failure(arr: pa.Array, parse: Callable[[Any], object]) -> tuple[int, object]:
    """The first non-null value that ``parse`` rejects (only run once a batch failed)."""
    for row, value in enumerate(arr.to_pylist()):
        if value is None:
            continue
        try:
            parse(value)
        except (ValueError, TypeError, OverflowError):
            return row, value
    return 0, arr[0].as_py() if len(arr) else None


def _finite_float(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number) or abs(number) > _MAX_EXACT_FLOAT:
        raise ValueError(value)
    return number


def _floats(arr: pa.Array, column: str, first_row: int) -> np.ndarray:
    """Coordinates as float64, NaN where a cell is empty."""
    arr = _blank_to_null(arr)
    kind = arr.type
    if pa.types.is_null(kind):
        return np.full(len(arr), np.nan)
    fix = f"make every value of {column!r} a plain number, or leave the cell empty."
    if _is_string(kind):
        try:
            values = pc.cast(arr, pa.float64())
        except pa.ArrowInvalid:
            row, value = _first_failure(arr, float)
            raise bad_value(column, first_row + row, value, "is not a number", fix) from None
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = pc.cast(arr, pa.float64(), safe=False)
    else:
        raise column_kind_error(column, kind, "coordinates", fix)
    out = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.isinf(out) | (np.abs(out) > _MAX_EXACT_FLOAT))
    if bad.size:
        row = int(bad[0])
        raise bad_value(column, first_row + row, arr[row].as_py(), "is not a finite voxel", fix)
    return out


def _point_items(value: Any) -> list:
    if isinstance(value, str):
        return re.split(_POINT_SEPARATORS, value.strip(_POINT_BRACKETS))
    return list(value)


def _check_point(value: Any) -> None:
    items = _point_items(value)
    if len(items) != 3:
        raise ValueError(value)
    for item in items:
        if item is not None:
            _finite_float(item)


def _list_points(arr: pa.Array, column: str, first_row: int) -> np.ndarray:
    """An "[x, y, z]" column (strings or lists) as an (n, 3) float64 array, NaN if missing."""
    kind = arr.type
    out = np.full((len(arr), 3), np.nan)
    if pa.types.is_null(kind):
        return out
    if _is_string(kind):
        text = _blank_to_null(pc.utf8_trim(arr, characters=_POINT_BRACKETS))
        lists = pc.split_pattern_regex(text, _POINT_SEPARATORS)
    elif _is_list(kind):
        lists = arr
    else:
        raise TableError(
            f"Column {column!r} holds {kind} values, not [x, y, z] points. Fix: store each "
            'point as a list of three numbers, or as a string like "[1, 2, 3]".'
        )
    valid = np.asarray(lists.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = pc.list_value_length(lists).fill_null(3).to_numpy(zero_copy_only=False)
    try:
        if np.any(valid & (lengths != 3)):
            raise TableError("not three values")
        flat = pc.list_flatten(lists.filter(pa.array(valid)))
        out[valid] = _floats(flat, column, 0).reshape(-1, 3)
    except TableError:
        row, value = _first_failure(arr, _check_point)
        raise bad_value(
            column,
            first_row + row,
            value,
            "is not an [x, y, z] point of three numbers",
            'write each point as "[x, y, z]", or leave the cell empty.',
        ) from None
    return out


def _points(
    batch: pa.RecordBatch, columns: PointColumns, first_row: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rounded int voxels (n, 3) and a mask of rows whose point is missing."""
    if isinstance(columns, str):
        xyz = _list_points(batch.column(columns), columns, first_row)
    else:
        xyz = np.column_stack([_floats(batch.column(c), c, first_row) for c in columns])
        xyz = xyz.reshape(-1, 3)
    missing = np.isnan(xyz).any(axis=1)
    return np.rint(np.where(missing[:, None], 0.0, xyz)).astype(np.int64), missing


def _exact_id(value: Any) -> int:
    number = int(value)  # int("1.5") and int("1e3") fail: ids are written as integers
    if not 0 <= number < 2**64:
        raise ValueError(value)
    return number


def _ids(arr: pa.Array, column: str, first_row: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integer ids as exact uint64 (never through float), and a missing mask."""
    arr = _blank_to_null(arr)
    n = len(arr)
    if pa.types.is_null(arr.type):
        return np.zeros(n, np.uint64), np.ones(n, bool)
    missing = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    fix = (
        "write ids as plain non-negative integers (Int64/UInt64 or text in Parquet); "
        "leave the cell empty when the id is unknown."
    )
    if _is_string(arr.type):
        try:
            arr = pc.cast(arr, pa.uint64())
        except pa.ArrowInvalid:
            row, value = _first_failure(arr, _exact_id)
            raise bad_value(column, first_row + row, value, "is not an integer id", fix) from None
    kind = arr.type
    if pa.types.is_floating(kind):
        values = arr.fill_null(0).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.floor(values)) | (values < 0)
            bad |= values > _MAX_EXACT_FLOAT
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            why = "is a floating-point id that is not exact (floats lose digits above 2**53)"
            raise bad_value(column, first_row + row, arr[row].as_py(), why, fix)
        return values.astype(np.uint64), missing
    if not pa.types.is_integer(kind):
        raise column_kind_error(column, kind, "integer ids", fix)
    if pa.types.is_signed_integer(kind):
        negative = np.flatnonzero(arr.fill_null(0).to_numpy(zero_copy_only=False) < 0)
        if negative.size:
            row = int(negative[0])
            raise bad_value(column, first_row + row, arr[row].as_py(), "is negative", fix)
    return pc.cast(arr, pa.uint64()).fill_null(0).to_numpy(zero_copy_only=False), missing


def materialization_index(batch: pa.RecordBatch, column: str, first_row: int) -> np.ndarray:
    """The ``id`` column as int64 row ids; any other kind of value is named by its column."""
    values, missing = _ids(batch.column(column), column, first_row)
    fix = f"fill in {column!r}, or pass a ColumnMapping with id=None to number rows from 0."
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise bad_value(column, first_row + row, None, "is empty: every row needs an id", fix)
    too_big = np.flatnonzero(values > np.uint64(_INT64_MAX))
    if too_big.size:
        row = int(too_big[0])
        why = "is above 2**63 - 1, the largest materialization index stored"
        raise bad_value(column, first_row + row, int(values[row]), why, fix)
    return values.astype(np.int64)


def convert_batch(batch: pa.RecordBatch, layout: Layout, first_row: int) -> Batch:
    """Exact numbers for one batch whose first row is data row ``first_row`` of the table."""
    n = batch.num_rows
    center, center_missing = _points(batch, layout.center, first_row)
    if center_missing.any():
        row = first_row + int(np.flatnonzero(center_missing)[0])
        raise TableError(
            f"Data row {row} (0-based) has no centre point (columns {layout.center} are empty). "
            "Fix: every synapse needs a centre: fill it in or drop the row."
        )
    absent_point = (np.zeros((n, 3), np.int64), np.ones(n, bool))
    absent_id = (np.zeros(n, np.uint64), np.ones(n, bool))
    pre = _points(batch, layout.pre, first_row) if layout.pre else absent_point
    post = _points(batch, layout.post, first_row) if layout.post else absent_point
    pre_col, post_col = layout.pre_neuron_id, layout.post_neuron_id
    pre_id = _ids(batch.column(pre_col), pre_col, first_row) if pre_col else absent_id
    post_id = _ids(batch.column(post_col), post_col, first_row) if post_col else absent_id
    if layout.id:
        mat = materialization_index(batch, layout.id, first_row)
    else:
        mat = np.arange(first_row, first_row + n, dtype=np.int64)
    confidence = (
        _floats(batch.column(layout.confidence), layout.confidence, first_row)
        if layout.confidence
        else np.full(n, np.nan)
    )
    kind = layout.synapse_type
    types = type_names(batch.column(kind), kind, first_row) if kind else pa.nulls(n, pa.string())
    return Batch(
        mat, center, pre[0], pre[1], post[0], post[1],
        pre_id[0], pre_id[1], post_id[0], post_id[1], confidence, types,
    )  # fmt: skip
