"""Reading the session's instances page by page, and adding them page by page.

A review may be far larger than what a session should hold up front (a box or a whole table
of 10^8 synapses): such a session stores an instance when its page is first read
(``add_instances_if_absent``), with its position in review order as its instance id, so a
page is the id range ``[start, stop)`` (``instances_in_range``). Reviews held whole are cut
by position (``compartment_sequence``, ``instances_slice``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from synanno_dash.core.instances import Instance
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store_rows import instance_from_row, instance_to_row


class PageRows:
    """Mixed into ``SessionStore``: instance reads and writes that never load a whole review."""

    engine: Engine

    def compartment_sequence(self, session_id: str) -> list[int | None]:
        """Each instance's compartment, in review order: enough to cut pages."""
        col = schema.instances.c
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(col.compartment)
                    .where(col.session_id == session_id)
                    .order_by(col.instance_id)
                ).scalars()
            )

    def instances_slice(self, session_id: str, start: int, stop: int) -> list[Instance]:
        """Instances at review positions ``[start, stop)``."""
        col = schema.instances.c
        query = (
            select(schema.instances)
            .where(col.session_id == session_id)
            .order_by(col.instance_id)
            .offset(start)
            .limit(max(0, stop - start))
        )
        with self.engine.connect() as conn:
            return [instance_from_row(row) for row in conn.execute(query).mappings()]

    def instances_in_range(self, session_id: str, start_id: int, stop_id: int) -> list[Instance]:
        """The stored instances with ``start_id <= instance_id < stop_id``, in id order."""
        col = schema.instances.c
        query = (
            select(schema.instances)
            .where(col.session_id == session_id, col.instance_id >= start_id)
            .where(col.instance_id < stop_id)
            .order_by(col.instance_id)
        )
        with self.engine.connect() as conn:
            return [instance_from_row(row) for row in conn.execute(query).mappings()]

    def add_instances_if_absent(self, session_id: str, items: Sequence[Instance]) -> None:
        """Store ``items``; an instance id the session already has keeps its stored row
        (labels included), so two requests adding one page both succeed."""
        if not items:
            return
        rows = [instance_to_row(session_id, item) for item in items]
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement: Any = dialect.insert(schema.instances).on_conflict_do_nothing(
                index_elements=["session_id", "instance_id"]
            )
            conn.execute(statement, rows)

    def instance_id_end(self, session_id: str) -> int:
        """One past the largest instance id of the session (0 without instances)."""
        col = schema.instances.c
        with self.engine.connect() as conn:
            largest = conn.execute(
                select(func.max(col.instance_id)).where(col.session_id == session_id)
            ).scalar()
        return 0 if largest is None else int(largest) + 1

    def neighbours(
        self, session_id: str, start_id: int, stop_id: int, end_id: int
    ) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """The stored instances nearest below ``start_id`` and in ``[stop_id, end_id)``, as
        (instance id, materialization index): where keyset paging of a table can start."""
        col = schema.instances.c
        below = (
            select(col.instance_id, col.materialization_index)
            .where(col.session_id == session_id, col.instance_id < start_id)
            .order_by(col.instance_id.desc())
            .limit(1)
        )
        above = (
            select(col.instance_id, col.materialization_index)
            .where(col.session_id == session_id, col.instance_id >= stop_id)
            .where(col.instance_id < end_id)
            .order_by(col.instance_id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            low = conn.execute(below).first()
            high = conn.execute(above).first()
        return (
            None if low is None else (int(low[0]), int(low[1])),
            None if high is None else (int(high[0]), int(high[1])),
        )
