"""Conversion between core ``Instance`` values and session-store rows, and small helpers
shared by the store's modules."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Instance, Synapse
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.synapse_types import parse_type


def _point_to_text(point: tuple[int, int, int] | None) -> str | None:
    return None if point is None else json.dumps([int(v) for v in point])


def _point_from_text(text: str | None) -> tuple[int, int, int] | None:
    if not text:
        return None
    x, y, z = json.loads(text)
    return (int(x), int(y), int(z))


def _id_to_text(value: int | None) -> str | None:
    return None if value is None else str(int(value))


def _id_from_text(text: str | None) -> int | None:
    return None if text in (None, "") else int(str(text))


def _enum_value(value: Any) -> Any:
    return None if value is None else getattr(value, "value", value)


@dataclass(frozen=True)
class EditableField:
    to_db: Callable[[Any], Any]


EDITABLE_FIELDS: dict[str, EditableField] = {
    "label": EditableField(lambda v: Label(_enum_value(v)).value),
    "category": EditableField(lambda v: None if v is None else Category(_enum_value(v)).value),
    "custom_category": EditableField(lambda v: str(v or "")),
    "note": EditableField(lambda v: str(v or "")),
    "discarded": EditableField(bool),
    "pre_xyz_vx": EditableField(_point_to_text),
    "post_xyz_vx": EditableField(_point_to_text),
    "synapse_type": EditableField(parse_type),
}


def instance_to_row(session_id: str, item: Instance, now: float | None = None) -> dict[str, Any]:
    syn = item.synapse
    return {
        "session_id": session_id,
        "instance_id": item.instance_id,
        "materialization_index": syn.materialization_index,
        "center_xyz_vx": _point_to_text(syn.center_xyz_vx),
        "pre_xyz_vx": _point_to_text(syn.pre_xyz_vx),
        "post_xyz_vx": _point_to_text(syn.post_xyz_vx),
        "pre_neuron_id": _id_to_text(syn.pre_neuron_id),
        "post_neuron_id": _id_to_text(syn.post_neuron_id),
        "synapse_type": syn.synapse_type,
        "bbox_target_vx": json.dumps(item.bbox_target_vx.as_list()),
        "label": item.label.value,
        "seen": item.seen,
        "category": None if item.category is None else item.category.value,
        "custom_category": item.custom_category,
        "note": item.note,
        "discarded": item.discarded,
        "compartment": item.compartment,
        "traversal_index": item.traversal_index,
        "extra_json": json.dumps(item.extra),
        "updated_at": time.time() if now is None else now,
    }


def instance_from_row(row: Mapping[Any, Any]) -> Instance:
    center = _point_from_text(row["center_xyz_vx"])
    assert center is not None
    bbox = json.loads(row["bbox_target_vx"])
    return Instance(
        instance_id=int(row["instance_id"]),
        synapse=Synapse(
            materialization_index=int(row["materialization_index"]),
            center_xyz_vx=center,
            pre_xyz_vx=_point_from_text(row["pre_xyz_vx"]),
            post_xyz_vx=_point_from_text(row["post_xyz_vx"]),
            pre_neuron_id=_id_from_text(row["pre_neuron_id"]),
            post_neuron_id=_id_from_text(row["post_neuron_id"]),
            synapse_type=row["synapse_type"],
        ),
        bbox_target_vx=BBox.from_bounds(tuple(bbox[:3]), tuple(bbox[3:])),
        label=Label(row["label"]),
        seen=bool(row["seen"]),
        category=None if row["category"] is None else Category(row["category"]),
        custom_category=row["custom_category"] or "",
        note=row["note"] or "",
        discarded=bool(row["discarded"]),
        compartment=row["compartment"],
        traversal_index=row["traversal_index"],
        extra=json.loads(row["extra_json"] or "{}"),
    )


class StoreError(RuntimeError):
    """A session-store problem a user can act on."""


def replay_stacks(
    rows: Iterable[tuple[int, str]], kinds: tuple[str, str, str]
) -> tuple[list[int], list[int]]:
    """(undo stack, redo stack) of action sequence numbers, replayed from an edit log.

    ``kinds`` names the log's (action, undo, redo) row kinds; a new action clears the redo
    stack, as in every editor.
    """
    do_kind, undo_kind, redo_kind = kinds
    undo_stack: list[int] = []
    redo_stack: list[int] = []
    for seq, kind in rows:
        if kind == do_kind:
            undo_stack.append(seq)
            redo_stack.clear()
        elif kind == undo_kind and undo_stack:
            redo_stack.append(undo_stack.pop())
        elif kind == redo_kind and redo_stack:
            undo_stack.append(redo_stack.pop())
    return undo_stack, redo_stack
