"""Synapse-table layouts: which columns hold what, named from the columns, never guessed.

- ``synanno`` (SynAnno / H01): ``x, y, z`` (centre), ``pre_pt_x/y/z``, ``post_pt_x/y/z``, and
  optionally ``pre_neuron_id, post_neuron_id``.
- ``cave``: ``ctr_pt_position, pre_pt_position, post_pt_position``, each an ``[x, y, z]`` list
  (a string in CSV, a list in Parquet) or split into ``<name>_x/_y/_z`` columns, and optionally
  ``pre_pt_root_id, post_pt_root_id``.
- ``mapped``: anything else, through a user-given :class:`ColumnMapping`.

Every layout keeps a ``confidence`` column and a synapse-type column (``synapse_type`` or
``type``) when the table has them; both named schemas take an ``id`` column as the
materialization index when there is one. Reading the values: ``data/table_schema.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from synanno_dash.data.table_errors import CAVE_COLUMNS, SYNANNO_COLUMNS, TableError
from synanno_dash.data.table_types import type_column

CONFIDENCE_COLUMN = "confidence"

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
    neuron_ids = ("pre_neuron_id", "post_neuron_id")
    return _detected("synanno", dict(_SYNANNO_POINTS), columns, neuron_ids), []


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
    found = {role: p for role, p in points.items() if p is not None}
    return _detected("cave", found, columns, ("pre_pt_root_id", "post_pt_root_id")), []


def _detected(
    schema: str, points: dict[str, PointColumns], columns: set[str], neuron_ids: tuple[str, str]
) -> Layout:
    """A detected layout: its point columns, and the optional columns the table has."""
    return Layout(
        schema=schema,
        center=points["centre"],
        pre=points["pre"],
        post=points["post"],
        pre_neuron_id=_optional(columns, neuron_ids[0]),
        post_neuron_id=_optional(columns, neuron_ids[1]),
        id=_optional(columns, "id"),
        confidence=_optional(columns, CONFIDENCE_COLUMN),
        synapse_type=type_column(columns),
    )


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
