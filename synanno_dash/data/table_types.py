"""A synapse table's type column (``synapse_type`` or ``type``; ``core/synapse_types.py``):
its cells as checked type names, and its SQL when the table is queried in place.

A cell is text (or a whole number, read as its decimal text); an empty cell is "not typed".
Names are trimmed and lower-cased; one longer than ``MAX_TYPE_CHARS`` or with control
characters is refused, named by column and row (never quoted: ``table_errors``).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from synanno_dash.core.synapse_types import MAX_TYPE_CHARS, TYPE_COLUMNS, UNTYPED, parse_type
from synanno_dash.data.table_errors import TableError, bad_value, column_kind_error

FIX = (
    f"write each synapse type as a name of at most {MAX_TYPE_CHARS} printable characters "
    "(e.g. excitatory, inhibitory), or leave the cell empty when it is not known."
)


def type_column(columns: set[str]) -> str | None:
    """The table's type column: the first of ``TYPE_COLUMNS`` it has."""
    return next((name for name in TYPE_COLUMNS if name in columns), None)


def _as_text(arr: pa.Array, column: str) -> pa.Array:
    kind = arr.type
    if pa.types.is_null(kind):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_integer(kind):
        return pc.cast(arr, pa.string())
    if pa.types.is_dictionary(kind):
        return _as_text(arr.dictionary_decode(), column)
    if pa.types.is_large_string(kind):
        return pc.cast(arr, pa.string())
    if not pa.types.is_string(kind):
        raise column_kind_error(column, kind, "synapse types", FIX)
    return arr


def type_names(arr: pa.Array, column: str, first_row: int) -> pa.Array:
    """The column's cells as type names (string, null where not typed)."""
    text = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(arr, column)))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    too_long = pc.greater(pc.utf8_length(text), MAX_TYPE_CHARS)
    unprintable = pc.invert(pc.utf8_is_printable(text))
    reserved = pc.equal(text, UNTYPED)
    bad = pc.fill_null(pc.or_(pc.or_(too_long, unprintable), reserved), False)
    if pc.any(bad).as_py():
        row = pc.index(bad, True).as_py()
        value = text[row].as_py()
        try:
            parse_type(value)
            why = "is not a synapse type"
        except ValueError as exc:
            why = f"is not a synapse type ({exc})"
        raise bad_value(column, first_row + row, value, why, FIX)
    return text


def type_sql(column: str | None, kind: pa.DataType | None) -> str | None:
    """The normalized ``synapse_type`` over the file's own column, for a table queried in
    place; ``None`` when the column needs converting. Cells are checked as they are read
    (``tables``), since an in-place table is not read whole at open."""
    if column is None or kind is None:
        return "CAST(NULL AS VARCHAR)"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return f"NULLIF(lower(trim(\"{column}\")), '')"
    if pa.types.is_integer(kind):
        return f'CAST("{column}" AS VARCHAR)'
    return None


def checked_type(value: str | None, materialization_index: int) -> str | None:
    """A type read from the table (in place, so not checked at open): a valid name or
    ``None``; anything else is refused naming the synapse's row id, not the cell."""
    try:
        return parse_type(value)
    except ValueError as exc:
        raise TableError(
            f"The synapse type of the table's synapse {materialization_index} is not usable "
            f"({exc}). Fix: {FIX}"
        ) from None
