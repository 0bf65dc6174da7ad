"""The label click's statements: the log row of a click, and on PostgreSQL the click's
UPDATE and its log INSERT as one statement (``SessionStore.cycle_label``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Insert, Select, Update, case, insert, literal, select

from synanno_dash.core.labels import Label
from synanno_dash.data import store_schema as schema


def previous_label(label: Label) -> Label:
    """The label a click turned into ``label`` (the click cycle backwards)."""
    return next(old for old in Label if old.next is label)


def _label_json(label: Label) -> str:
    return json.dumps({"label": label.value})


def label_log_row(session_id: str, instance_id: int, old: Label, new: Label, now: float) -> Insert:
    return insert(schema.edits).values(
        session_id=session_id, instance_id=instance_id, kind="do", field="label",
        old_json=_label_json(old), new_json=_label_json(new), at=now,
        reviewer=schema.reviewer_of(session_id),
    )  # fmt: skip


def with_label_log(changed: Update, session_id: str, now: float) -> Select[Any]:
    """PostgreSQL: the click's UPDATE and its log INSERT as one statement (data-modifying
    CTEs), returning the changed row."""
    row = changed.cte("changed")
    logged = insert(schema.edits).from_select(
        ["session_id", "instance_id", "kind", "field", "old_json", "new_json", "at", "reviewer"],
        select(
            literal(session_id), row.c.instance_id, literal("do"), literal("label"),
            case({new.value: _label_json(previous_label(new)) for new in Label}, value=row.c.label),
            case({new.value: _label_json(new) for new in Label}, value=row.c.label),
            literal(now), schema.reviewer_of(session_id),
        ),
    ).cte("logged")  # fmt: skip
    return select(row).add_cte(logged)
