"""Messages about synapse tables that never show the file's content.

The table field takes any path the server can read, so a message must not echo what it read:
a secrets file, ``/etc/passwd`` or the session database would otherwise leak one line at a
time. Messages say the path, the size, what is wrong in terms of positions and kinds (a line
number, a column we know by name, "text" or "a fractional number") and what was expected.
Column names found in the file are never quoted either; the names we expect are.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pyarrow as pa

SYNANNO_COLUMNS = "x, y, z, pre_pt_x, pre_pt_y, pre_pt_z, post_pt_x, post_pt_y, post_pt_z"
CAVE_COLUMNS = "ctr_pt_position, pre_pt_position, post_pt_position"
EXPECTED = (
    "Expected: a Parquet file, or a comma-separated CSV (optionally gzip-compressed) whose "
    f"first line names the columns: {SYNANNO_COLUMNS} (SynAnno/H01; optional pre_neuron_id, "
    f"post_neuron_id, id), or {CAVE_COLUMNS} (CAVE; each an [x, y, z] list or split into "
    "_x/_y/_z columns; optional pre_pt_root_id, post_pt_root_id, id)."
)
_FIELD_COUNTS = re.compile(r"Expected (\d+) columns, got (\d+)")
_ROW = re.compile(r"Row #(\d+)")


class TableError(Exception):
    """A synapse table cannot be used; the message names the problem and the fix."""


def size_text(n_bytes: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


def described(path: Path) -> str:
    """``/data/t.csv (2.1 MB)``: the path and its size, which are not its content."""
    try:
        return f"{path} ({size_text(path.stat().st_size)})"
    except OSError:
        return str(path)


def read_error(path: Path, kind: str, exc: BaseException) -> TableError:
    """A CSV or Parquet reader's failure, told without the text the reader quotes."""
    text = str(exc)
    counts = _FIELD_COUNTS.search(text)
    row = _ROW.search(text)
    where = f" (data row {row.group(1)})" if row else ""
    if counts:
        why = (
            f"a row{where} has {counts.group(2)} fields where the header line has "
            f"{counts.group(1)}, so it is not a comma-separated table"
        )
    elif isinstance(exc, UnicodeDecodeError):
        why = "it is not UTF-8 text"
    elif "Empty CSV" in text or "empty" in text.lower():
        why = "it is empty"
    elif kind == "Parquet":
        why = "it is not a complete Parquet file"
    else:
        why = "it is not a comma-separated table of UTF-8 text"
    return TableError(
        f"Synapse table {described(path)} cannot be read as {kind}: {why}. {EXPECTED}"
    )


def describe_value(value: object) -> str:
    """What kind of value a cell holds, without its content."""
    if value is None:
        return "an empty cell"
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return f"text of {len(value)} characters"
        return (
            describe_value(number)
            if not re.fullmatch(r"\s*[+-]?\d+\s*", value)
            else (describe_value(int(value)))
        )
    if isinstance(value, int):
        if value < 0:
            return "a negative number"
        return "a number above 2**64 - 1" if value >= 2**64 else "a whole number"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "an infinite or NaN number"
        if not value.is_integer():
            return "a number with a fractional part"
        return "a floating-point number" + (" above 2**53" if abs(value) > 2**53 else "")
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} values"
    return "a value of another kind"


def bad_value(column: str, row: int, value: object, why: str, fix: str) -> TableError:
    """A cell that cannot be used: its column (a name we expect) and row, never its text."""
    return TableError(
        f"Column {column!r}, data row {row} (0-based; line {row + 2} of a CSV) holds "
        f"{describe_value(value)}, which {why}. Fix: {fix}"
    )


def column_kind_error(column: str, arrow_type: pa.DataType, wanted: str, fix: str) -> TableError:
    return TableError(f"Column {column!r} holds {arrow_type} values, not {wanted}. Fix: {fix}")
