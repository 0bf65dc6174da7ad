"""The session store: per-browser-session state in a real database (SQLAlchemy).

A SQLite file by default, any SQLAlchemy URL by configuration. Holds the dataset
configuration, the instances with their labels, categories, notes and markers, edited
masks, and an append-only log of edits. Undo/redo stacks are derived from that log, so a
server restart loses nothing: every write is committed before the call returns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)

from synanno_dash.core.instances import DatasetConfig, Instance
from synanno_dash.core.labels import Label
from synanno_dash.core.serialize import config_from_dict, config_to_dict
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store_engine import open_engine
from synanno_dash.data.store_labels import label_log_row, previous_label, with_label_log
from synanno_dash.data.store_masks import MaskStore
from synanno_dash.data.store_migrations import schema_revision
from synanno_dash.data.store_pages import PageRows
from synanno_dash.data.store_rows import (
    EDITABLE_FIELDS,
    StoreError,
    instance_from_row,
    instance_to_row,
    replay_stacks,
)
from synanno_dash.data.store_tokens import DataTokenStore


class SessionStore(MaskStore, DataTokenStore, PageRows):
    """All reads and writes of session state, keyed by a browser session id."""

    def __init__(self, database_url: str) -> None:
        self.engine = open_engine(database_url)

    def ping(self) -> None:
        """One round trip to the database; raises the driver's error when it is unreachable."""
        with self.engine.connect() as conn:
            conn.execute(select(literal_column("1")))

    def schema_revision(self) -> str | None:
        """The migration the database is at (``data.store_migrations``)."""
        return schema_revision(self.engine)

    # -- sessions -----------------------------------------------------------------------
    def ensure_session(self, session_id: str) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            found = conn.execute(
                select(schema.sessions.c.session_id).where(
                    schema.sessions.c.session_id == session_id
                )
            ).first()
            if found is None:
                conn.execute(
                    insert(schema.sessions).values(
                        session_id=session_id, created_at=now, updated_at=now, state_json="{}"
                    )
                )

    def session_exists(self, session_id: str) -> bool:
        """Whether the server issued this id (the sessions table is the record of issued ids)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(schema.sessions.c.session_id).where(
                    schema.sessions.c.session_id == session_id
                )
            ).first()
        return found is not None

    def prune_unused_sessions(self, idle_s: float) -> int:
        """Forget sessions that never opened a dataset nor saved anything and were idle for
        ``idle_s`` seconds (ids issued to visitors who left), so issued ids stay bounded."""
        col = schema.sessions.c
        unused = (
            col.config_json.is_(None)
            & (col.state_json == "{}")
            & (col.updated_at < time.time() - idle_s)
            & ~col.session_id.in_(select(schema.instances.c.session_id).distinct())
        )
        with self.engine.begin() as conn:
            return int(conn.execute(delete(schema.sessions).where(unused)).rowcount or 0)

    def reset_session(self, session_id: str) -> None:
        """Forget everything of one session (``/reset``); other sessions are untouched."""
        with self.engine.begin() as conn:
            for table in (
                schema.masks, schema.edits, schema.seen_events, schema.instances, schema.sessions
            ):
                conn.execute(delete(table).where(table.c.session_id == session_id))

    def set_reviewer(self, session_id: str, reviewer: str) -> None:
        """Who decides in this session from now on (recorded with each logged edit)."""
        self.ensure_session(session_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.sessions)
                .where(schema.sessions.c.session_id == session_id)
                .values(reviewer=reviewer or None)
            )

    def reviewer(self, session_id: str) -> str:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(schema.sessions.c.reviewer).where(
                    schema.sessions.c.session_id == session_id
                )
            ).scalar()
        return str(found or "")

    def save_config(self, session_id: str, config: DatasetConfig) -> None:
        self.ensure_session(session_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.sessions)
                .where(schema.sessions.c.session_id == session_id)
                .values(config_json=json.dumps(config_to_dict(config)), updated_at=time.time())
            )

    def load_config(self, session_id: str) -> DatasetConfig | None:
        with self.engine.connect() as conn:
            raw = conn.execute(
                select(schema.sessions.c.config_json).where(
                    schema.sessions.c.session_id == session_id
                )
            ).scalar()
        return None if not raw else config_from_dict(json.loads(raw))

    def get_state(self, session_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            raw = conn.execute(
                select(schema.sessions.c.state_json).where(
                    schema.sessions.c.session_id == session_id
                )
            ).scalar()
        return {} if not raw else dict(json.loads(raw))

    def update_state(self, session_id: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the session's small JSON state (page, stage times...)."""
        self.ensure_session(session_id)
        with self.engine.begin() as conn:
            raw = conn.execute(
                select(schema.sessions.c.state_json).where(
                    schema.sessions.c.session_id == session_id
                )
            ).scalar()
            state = {} if not raw else dict(json.loads(raw))
            state.update(changes)
            conn.execute(
                update(schema.sessions)
                .where(schema.sessions.c.session_id == session_id)
                .values(state_json=json.dumps(state), updated_at=time.time())
            )
        return state

    # -- instances ----------------------------------------------------------------------
    def replace_instances(self, session_id: str, items: Sequence[Instance]) -> None:
        """Start a new review: the instance list, a fresh edit log, no masks."""
        self.ensure_session(session_id)
        now = time.time()
        with self.engine.begin() as conn:
            for table in (schema.masks, schema.edits, schema.seen_events, schema.instances):
                conn.execute(delete(table).where(table.c.session_id == session_id))
            if items:
                conn.execute(
                    insert(schema.instances),
                    [instance_to_row(session_id, item, now) for item in items],
                )

    def add_instance(self, session_id: str, item: Instance) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.instances).values(instance_to_row(session_id, item)))

    def instances(self, session_id: str, ids: Iterable[int] | None = None) -> list[Instance]:
        query = select(schema.instances).where(schema.instances.c.session_id == session_id)
        if ids is not None:
            query = query.where(schema.instances.c.instance_id.in_(list(ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(schema.instances.c.instance_id)).mappings()
            return [instance_from_row(row) for row in rows]

    def instance(self, session_id: str, instance_id: int) -> Instance:
        found = self.instances(session_id, [instance_id])
        if not found:
            raise StoreError(f"instance {instance_id} is not part of this session")
        return found[0]

    def counts(self, session_id: str) -> dict[str, int]:
        """Totals for progress bars: instances, seen, and per label."""
        col = schema.instances.c
        with self.engine.connect() as conn:
            total, seen = conn.execute(
                select(func.count(), func.coalesce(func.sum(col.seen.cast(schema.Integer)), 0))
                .where(col.session_id == session_id)
            ).one()
            per_label: dict[str, int] = dict(
                conn.execute(
                    select(col.label, func.count())
                    .where(col.session_id == session_id)
                    .group_by(col.label)
                ).all()
            )
        result = {"total": int(total), "seen": int(seen)}
        result.update({label.value: int(per_label.get(label.value, 0)) for label in Label})
        return result

    def mark_seen(self, session_id: str, ids: Iterable[int]) -> None:
        """Mark instances seen; the first time, log when (the statistics' throughput)."""
        col = schema.instances.c
        with self.engine.begin() as conn:
            unseen = conn.execute(
                select(col.instance_id).where(
                    col.session_id == session_id,
                    col.instance_id.in_(list(ids)),
                    col.seen.is_(False),
                )
            ).scalars().all()
            if not unseen:
                return
            conn.execute(
                update(schema.instances)
                .where(col.session_id == session_id, col.instance_id.in_(unseen))
                .values(seen=True)
            )
            now = time.time()
            conn.execute(
                insert(schema.seen_events),
                [{"session_id": session_id, "instance_id": i, "at": now} for i in unseen],
            )

    # -- edits (autosaved, undoable) ----------------------------------------------------
    # Every edit is one transaction that starts by writing the instance's row: PostgreSQL
    # locks the row, SQLite takes its one write lock, so two edits of one instance at the
    # same moment run one after the other and both count (no read-then-write race), and
    # the log's old values are the ones the edit replaced.

    def cycle_label(self, session_id: str, instance_id: int) -> Instance:
        """One click: correct -> incorrect -> unsure -> correct, logged as one undo step.

        One atomic UPDATE ... RETURNING and the log's INSERT in one transaction; on
        PostgreSQL both in one statement (one round trip)."""
        col = schema.instances.c
        now = time.time()
        next_label = case(
            {label.value: label.next.value for label in Label}, value=col.label,
            else_=Label.CORRECT.value,
        )  # fmt: skip
        changed = (
            update(schema.instances)
            .where(col.session_id == session_id, col.instance_id == instance_id)
            .values(label=next_label, updated_at=now)
            .returning(*schema.instances.c)
        )
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                row = conn.execute(with_label_log(changed, session_id, now)).mappings().first()
            else:
                row = conn.execute(changed).mappings().first()
                if row is not None:
                    new = Label(row["label"])
                    old = previous_label(new)
                    conn.execute(label_log_row(session_id, instance_id, old, new, now))
        if row is None:
            raise StoreError(f"instance {instance_id} is not part of this session")
        return instance_from_row(row)

    def edit(self, session_id: str, instance_id: int, **changes: Any) -> Instance:
        """Apply one user action to one instance and log it; one action = one undo step."""
        return self._edit(session_id, instance_id, changes, skip_unchanged=False)

    def edit_if_changed(self, session_id: str, instance_id: int, **changes: Any) -> Instance:
        """``edit``, except that nothing is written or logged when every value is already
        as asked."""
        return self._edit(session_id, instance_id, changes, skip_unchanged=True)

    def _edit(
        self, session_id: str, instance_id: int, changes: dict[str, Any], skip_unchanged: bool
    ) -> Instance:
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise StoreError(f"cannot edit {sorted(unknown)}")
        new = {name: EDITABLE_FIELDS[name].to_db(value) for name, value in changes.items()}
        now = time.time()
        with self.engine.begin() as conn:
            current = self._lock_row(conn, session_id, instance_id, now)
            old = {name: current[name] for name in changes}
            if skip_unchanged and old == new:
                return instance_from_row(current)
            row = self._write_fields(conn, session_id, instance_id, new, now)
            conn.execute(
                insert(schema.edits).values(
                    session_id=session_id,
                    reviewer=schema.reviewer_of(session_id),
                    instance_id=instance_id,
                    kind="do",
                    field=",".join(sorted(changes)),
                    old_json=json.dumps(old),
                    new_json=json.dumps(new),
                    at=now,
                )
            )
        return instance_from_row(row)

    def undo(self, session_id: str) -> Instance | None:
        """Reverse the newest action still on the undo stack; ``None`` if there is none."""
        return self._step(session_id, "undo")

    def redo(self, session_id: str) -> Instance | None:
        return self._step(session_id, "redo")

    def history(self, session_id: str) -> list[dict[str, Any]]:
        """The whole append-only log, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.edits)
                .where(schema.edits.c.session_id == session_id)
                .order_by(schema.edits.c.seq)
            ).mappings()
            return [dict(row) for row in rows]

    def _stacks(self, conn: Any, session_id: str) -> tuple[list[int], list[int]]:
        """(undo stack, redo stack) of 'do' sequence numbers, derived from the log."""
        rows = conn.execute(
            select(schema.edits.c.seq, schema.edits.c.kind)
            .where(schema.edits.c.session_id == session_id)
            .order_by(schema.edits.c.seq)
        ).all()
        return replay_stacks(rows, ("do", "undo", "redo"))

    def _step(self, session_id: str, kind: str) -> Instance | None:
        now = time.time()
        with self.engine.begin() as conn:
            # A write first: concurrent undo/redo of one session run one after the other.
            conn.execute(
                update(schema.sessions)
                .where(schema.sessions.c.session_id == session_id)
                .values(updated_at=now)
            )
            undo_stack, redo_stack = self._stacks(conn, session_id)
            stack = undo_stack if kind == "undo" else redo_stack
            if not stack:
                return None
            target = conn.execute(
                select(schema.edits).where(schema.edits.c.seq == stack[-1])
            ).mappings().one()
            values = json.loads(target["old_json"] if kind == "undo" else target["new_json"])
            row = self._write_fields(conn, session_id, target["instance_id"], values, now)
            conn.execute(
                insert(schema.edits).values(
                    session_id=session_id,
                    reviewer=schema.reviewer_of(session_id),
                    instance_id=target["instance_id"],
                    kind=kind,
                    field=target["field"],
                    ref_seq=target["seq"],
                    at=now,
                )
            )
        return instance_from_row(row)

    def can_undo_redo(self, session_id: str) -> tuple[bool, bool]:
        with self.engine.connect() as conn:
            undo_stack, redo_stack = self._stacks(conn, session_id)
        return (bool(undo_stack), bool(redo_stack))

    @staticmethod
    def _lock_row(conn: Connection, session_id: str, instance_id: int, now: float) -> RowMapping:
        """Touch the instance's row (a write, so the transaction holds the row or the
        database for writing from here on) and return it as it is."""
        col = schema.instances.c
        row = conn.execute(
            update(schema.instances)
            .where(col.session_id == session_id, col.instance_id == instance_id)
            .values(updated_at=now)
            .returning(*schema.instances.c)
        ).mappings().first()
        if row is None:
            raise StoreError(f"instance {instance_id} is not part of this session")
        return row

    @staticmethod
    def _write_fields(
        conn: Connection, session_id: str, instance_id: int, values: dict[str, Any], now: float
    ) -> RowMapping:
        col = schema.instances.c
        row = conn.execute(
            update(schema.instances)
            .where(col.session_id == session_id, col.instance_id == instance_id)
            .values(**values, updated_at=now)
            .returning(*schema.instances.c)
        ).mappings().first()
        if row is None:
            raise StoreError(f"instance {instance_id} is not part of this session")
        return row
