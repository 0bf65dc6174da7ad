"""Synapse-table values: one Arrow batch of raw columns as exact numbers.

Which columns hold what is the table's ``Layout`` (``data/table_layout.py``, re-exported here
with ``ColumnMapping`` and ``detect_layout``). :func:`convert_batch` turns one batch into exact
numbers: coordinates rounded to int voxels (an empty cell makes the point ``None``), neuron ids
as exact 64-bit integers that never pass through float, the confidence as a float and the
synapse type as a checked name (``data/table_types.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synanno_dash.data.table_errors import TableError, bad_value, column_kind_error
from synanno_dash.data.table_layout import (
    ColumnMapping,
    Layout,
    PointColumns,
    detect_layout,
)
from synanno_dash.data.table_types import type_names

__all__ = [
    "Batch", "ColumnMapping", "Layout", "TableError", "convert_batch", "detect_layout",
    "materialization_index",
]  # fmt: skip

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
