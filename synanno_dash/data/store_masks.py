"""Edited masks and the drawing undo log of the correction view, part of the session store.

Mask slices are stored as ``.npy`` bytes per (session, instance, z). Drawing strokes are
logged in the store's append-only ``edits`` table under their own kinds (``draw``,
``dundo``, ``dredo``), so the review page's undo never sees them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from synanno_dash.data import store_schema as schema
from synanno_dash.data.store_rows import StoreError, replay_stacks


class MaskStore:
    """Mixed into ``SessionStore``: needs its ``engine``."""

    engine: Engine

    # -- masks ---------------------------------------------------------------------------
    def save_mask_slice(self, session_id: str, instance_id: int, z_index: int, npy: bytes) -> None:
        col = schema.masks.c
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.masks).where(
                    col.session_id == session_id,
                    col.instance_id == instance_id,
                    col.z_index == z_index,
                )
            )
            conn.execute(
                insert(schema.masks).values(
                    session_id=session_id,
                    instance_id=instance_id,
                    z_index=z_index,
                    mask_npy=npy,
                    updated_at=time.time(),
                )
            )

    def mask_slices(self, session_id: str, instance_id: int) -> dict[int, bytes]:
        col = schema.masks.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col.z_index, col.mask_npy).where(
                    col.session_id == session_id, col.instance_id == instance_id
                )
            ).all()
        return {int(z): bytes(blob) for z, blob in rows}

    def delete_mask_slice(self, session_id: str, instance_id: int, z_index: int) -> None:
        """Forget a stored slice (the instance's original mask shows again there)."""
        col = schema.masks.c
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.masks).where(
                    col.session_id == session_id,
                    col.instance_id == instance_id,
                    col.z_index == z_index,
                )
            )

    def masked_instance_ids(self, session_id: str) -> list[int]:
        """Instances with at least one stored mask slice."""
        col = schema.masks.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col.instance_id).where(col.session_id == session_id).distinct()
            ).all()
        return sorted(int(r[0]) for r in rows)

    # -- drawing log (correction view), per instance ------------------------------------
    # Its own kinds keep it apart from the review's undo stack (``_stacks`` reads only
    # do/undo/redo): one stroke, marker placement or slice clear is one undo step of that
    # instance, and the log survives restarts like every other edit.
    DRAW_KINDS = ("draw", "dundo", "dredo")

    def log_draw(
        self, session_id: str, instance_id: int, field_name: str, old: Any, new: Any
    ) -> int:
        """Record one drawing action (values must be JSON-able); returns its sequence number."""
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(schema.edits).values(
                    session_id=session_id,
                    reviewer=schema.reviewer_of(session_id),
                    instance_id=instance_id,
                    kind="draw",
                    field=field_name,
                    old_json=json.dumps(old),
                    new_json=json.dumps(new),
                    at=time.time(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def _draw_stacks(self, conn: Any, session_id: str, instance_id: int) -> tuple[list, list]:
        col = schema.edits.c
        rows = conn.execute(
            select(col.seq, col.kind)
            .where(
                col.session_id == session_id,
                col.instance_id == instance_id,
                col.kind.in_(self.DRAW_KINDS),
            )
            .order_by(col.seq)
        ).all()
        return replay_stacks(rows, self.DRAW_KINDS)

    def draw_step(self, session_id: str, instance_id: int, kind: str) -> dict[str, Any] | None:
        """Pop the instance's drawing undo (``kind="undo"``) or redo stack and log the step.

        Returns ``{"field": ..., "value": ...}``: the value to restore (the old one for an
        undo, the new one for a redo), which the caller applies; ``None`` if the stack is
        empty.
        """
        if kind not in ("undo", "redo"):
            raise StoreError(f"unknown drawing step {kind!r}")
        with self.engine.begin() as conn:
            undo_stack, redo_stack = self._draw_stacks(conn, session_id, instance_id)
            stack = undo_stack if kind == "undo" else redo_stack
            if not stack:
                return None
            target = conn.execute(
                select(schema.edits).where(schema.edits.c.seq == stack[-1])
            ).mappings().one()
            conn.execute(
                insert(schema.edits).values(
                    session_id=session_id,
                    reviewer=schema.reviewer_of(session_id),
                    instance_id=instance_id,
                    kind="d" + kind,
                    field=target["field"],
                    ref_seq=target["seq"],
                    at=time.time(),
                )
            )
        value = json.loads(target["old_json"] if kind == "undo" else target["new_json"])
        return {"field": target["field"], "value": value}

    def can_undo_redo_draw(self, session_id: str, instance_id: int) -> tuple[bool, bool]:
        with self.engine.connect() as conn:
            undo_stack, redo_stack = self._draw_stacks(conn, session_id, instance_id)
        return (bool(undo_stack), bool(redo_stack))
