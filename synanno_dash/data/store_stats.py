"""Review statistics aggregated in the session database (SQLite or PostgreSQL).

Every figure's numbers come from ``GROUP BY`` over the store's tables: per session and
compartment, per error category, per neuron, a bounded sample of positions; the activity
log and agreement between sessions are in ``store_activity``. Nothing here loads every
instance into Python: results are bounded by compartments, categories, neurons (top N) or
an explicit sample size.

Developer notes: SQL constants inside expressions that are also grouped are written as
``literal_column`` (not bound parameters), because PostgreSQL matches GROUP BY expressions
by their text and two bound parameters never match.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from synanno_dash.core.geometry import Triple
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.review_stats import (
    OTHER_CUSTOM_TEXT,
    CategoryCount,
    LabelCounts,
    NeuronCounts,
    PositionSample,
)
from synanno_dash.core.serialize import config_from_dict
from synanno_dash.core.statistics import FLAGGED_LABELS
from synanno_dash.data import store_schema as schema
from synanno_dash.data.query_guard import QueryGuard, guarded_connect

log = logging.getLogger(__name__)

MAX_CATEGORY_ROWS = 5000  # (compartment, category, custom text) groups read at most
MAX_POINTS_PER_LABEL = 5_000  # positions sampled per label for the projections

_INSTANCE = schema.instances.c


def sql_count_if(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``, 0 over no rows."""
    return func.coalesce(
        func.sum(case((condition, literal_column("1")), else_=literal_column("0"))),
        literal_column("0"),
    )


def sql_text(value: str) -> ColumnElement[Any]:
    """A string constant written into the SQL (for expressions that are grouped by)."""
    if "'" in value:
        raise ValueError("constants written into SQL cannot hold a quote")
    return literal_column(f"'{value}'")


SEEN = _INSTANCE.seen.is_(True)
FLAGGED = and_(SEEN, _INSTANCE.label.in_([sql_text(v) for v in FLAGGED_LABELS]))


@dataclass(frozen=True)
class ReviewCounts:
    labels: list[tuple[str, int | None, LabelCounts]]  # (session, compartment, counts)
    categories: list[tuple[str, CategoryCount]]  # (session, flagged per compartment+category)
    seen_cells: dict[SeenCell, int]  # reviewed instances per (session, label, category)


SeenCell = tuple[str, str, str | None]


class StoreStatistics:
    """Aggregates over the sessions ``session_ids`` of one store; ``guard``: a job's Cancel
    stops the queries (``data.query_guard``)."""

    def __init__(self, engine: Engine, guard: QueryGuard | None = None) -> None:
        self.engine = engine
        self.guard = guard

    def connect(self) -> AbstractContextManager[Connection]:
        return guarded_connect(self.engine, self.guard)

    # -- which sessions ------------------------------------------------------------------
    def configured_sessions(self) -> list[tuple[str, DatasetConfig]]:
        """Every session with a dataset configuration (one small row each)."""
        col = schema.sessions.c
        with self.connect() as conn:
            rows = conn.execute(
                select(col.session_id, col.config_json)
                .where(col.config_json.is_not(None))
                .order_by(col.created_at, col.session_id)
            ).all()
        found = []
        for session_id, raw in rows:
            try:
                found.append((str(session_id), config_from_dict(json.loads(raw))))
            except (ValueError, TypeError, KeyError):
                log.warning("session %s has an unreadable configuration", session_id)
        return found

    def session_times(self, session_ids: Sequence[str]) -> dict[str, tuple[float, float]]:
        """session id -> (created, last updated), epoch seconds."""
        col = schema.sessions.c
        with self.connect() as conn:
            rows = conn.execute(
                select(col.session_id, col.created_at, col.updated_at).where(
                    col.session_id.in_(list(session_ids))
                )
            ).all()
        return {str(s): (float(a), float(b)) for s, a, b in rows}

    def data_version(self, session_ids: Sequence[str]) -> tuple[float, ...]:
        """What changes whenever the statistics of ``session_ids`` may change: the last
        edit (undo, redo and drawing included), the last first showing of an instance, the
        last configuration change (a new Open Data), and how many instances there are. Each
        is one index lookup per session, not a scan of its rows."""
        ids = list(session_ids)
        e, s, sess = schema.edits.c, schema.seen_events.c, schema.sessions.c
        with self.connect() as conn:
            last_edit = conn.execute(
                select(func.max(e.seq)).where(e.session_id.in_(ids))
            ).scalar()
            last_seen = conn.execute(select(func.max(s.at)).where(s.session_id.in_(ids))).scalar()
            configured = conn.execute(
                select(func.max(sess.updated_at), func.count()).where(sess.session_id.in_(ids))
            ).one()
        return (
            float(last_edit or 0),
            float(last_seen or 0),
            float(configured[0] or 0),
            float(configured[1]),
        )

    # -- counts --------------------------------------------------------------------------
    def review_counts(self, session_ids: Sequence[str]) -> ReviewCounts:
        """Label counts per (session, compartment) and flagged counts per error category,
        from one grouped pass over the sessions' instances (an index-only scan) plus one
        over their Custom categories (Custom grouped by trimmed, case-folded text)."""
        c = _INSTANCE
        keys = (c.session_id, c.compartment, c.seen, c.label, c.discarded, c.category)
        query = (
            select(*keys, func.count())
            .where(c.session_id.in_(list(session_ids)))
            .group_by(*keys)
        )
        with self.connect() as conn:
            rows = conn.execute(query).all()
            custom, cut = self._custom_texts(conn, session_ids)
        labels: dict[tuple[str, int | None], list[int]] = {}
        flagged: dict[tuple[str, int | None, str | None], int] = {}
        cells: dict[SeenCell, int] = {}
        for sid, k, seen, label, discarded, category, n in rows:
            n = int(n)
            sums = labels.setdefault((str(sid), _int_or_none(k)), [0, 0, 0, 0, 0])
            sums[0] += n
            if not seen:
                continue
            sums[1] += n
            sums[2] += n if label == Label.INCORRECT.value else 0
            sums[3] += n if label == Label.UNSURE.value else 0
            sums[4] += n if discarded else 0
            cell = (str(sid), str(label), None if category is None else str(category))
            cells[cell] = cells.get(cell, 0) + n
            if label in FLAGGED_LABELS:
                key = (str(sid), _int_or_none(k), None if category is None else str(category))
                flagged[key] = flagged.get(key, 0) + n
        return ReviewCounts(
            labels=[(sid, k, LabelCounts(*sums)) for (sid, k), sums in labels.items()],
            categories=_with_custom_texts(flagged, custom, cut),
            seen_cells=cells,
        )

    def _custom_texts(
        self, conn: Connection, session_ids: Sequence[str]
    ) -> tuple[list[tuple[str, CategoryCount]], bool]:
        c = _INSTANCE
        key = func.lower(func.trim(c.custom_category))
        count = func.count().label("n")
        query = (
            select(c.session_id, c.compartment, key, func.min(func.trim(c.custom_category)), count)
            .where(
                c.session_id.in_(list(session_ids)),
                FLAGGED,
                c.category == sql_text(Category.CUSTOM.value),
            )
            .group_by(c.session_id, c.compartment, key)
            .order_by(count.desc())
            .limit(MAX_CATEGORY_ROWS + 1)
        )
        rows = conn.execute(query).all()
        found = [
            (str(sid), CategoryCount(_int_or_none(k), Category.CUSTOM.value, str(text), int(n)))
            for sid, k, _key, text, n in rows[:MAX_CATEGORY_ROWS]
        ]
        return found, len(rows) > MAX_CATEGORY_ROWS

    def top_neurons(
        self, session_ids: Sequence[str], side: str, top_n: int
    ) -> list[NeuronCounts]:
        """The ``top_n`` pre (``side="pre"``) or post neurons with the most flagged
        reviewed synapses (ties: more reviewed first, then by id)."""
        if side not in ("pre", "post"):
            raise ValueError(f"side must be 'pre' or 'post', got {side!r}")
        c = _INSTANCE
        neuron = c.pre_neuron_id if side == "pre" else c.post_neuron_id
        reviewed = func.count().label("reviewed")
        flagged = sql_count_if(FLAGGED).label("flagged")
        query = (
            select(neuron, reviewed, flagged)
            .where(c.session_id.in_(list(session_ids)), SEEN, neuron.is_not(None))
            .group_by(neuron)
            .order_by(flagged.desc(), reviewed.desc(), neuron)
            .limit(max(0, int(top_n)))
        )
        with self.connect() as conn:
            rows = conn.execute(query).all()
        return [NeuronCounts(int(str(n)), int(r), int(f)) for n, r, f in rows]

    def position_sample(
        self,
        session_ids: Sequence[str],
        totals: dict[str, int],
        per_label: int = MAX_POINTS_PER_LABEL,
    ) -> PositionSample:
        """Centres of reviewed instances per label; an even sample (the instances whose id
        is a multiple of k) of at most ``per_label`` when there are more. ``totals``:
        reviewed per label. A sample of a frequent label is read by probing the primary key
        at those ids (``_probed``), not by reading every instance of the label."""
        c = _INSTANCE
        ids = list(session_ids)
        points: dict[str, tuple[Triple, ...]] = {}
        with self.connect() as conn:
            bounds = self._id_bounds(conn, ids) if any(
                t > per_label for t in totals.values()
            ) else (0, -1)  # fmt: skip
            for label, total in totals.items():
                if total <= 0:
                    continue
                step = max(1, math.ceil(total / per_label))
                probes = (bounds[1] - bounds[0]) // step + 1
                if step > 1 and probes * len(ids) <= total:
                    query = _probed(ids, label, step, bounds)
                else:
                    query = select(c.center_xyz_vx).where(c.session_id.in_(ids), SEEN,
                                                          c.label == label)  # fmt: skip
                    if step > 1:
                        query = query.where(c.instance_id % step == 0)
                texts = conn.execute(query.limit(per_label)).scalars().all()
                points[label] = _points(texts)
        return PositionSample(points, dict(totals))

    @staticmethod
    def _id_bounds(conn: Connection, ids: list[str]) -> tuple[int, int]:
        """The smallest and largest instance id of the sessions (the primary key's ends)."""
        c = _INSTANCE
        low, high = None, None
        for sid in ids:  # one session per query: each is an index lookup at the key's ends
            a, b = conn.execute(
                select(func.min(c.instance_id), func.max(c.instance_id)).where(
                    c.session_id == sid
                )
            ).one()
            if a is not None:
                low = int(a) if low is None else min(low, int(a))
                high = int(b) if high is None else max(high, int(b))
        return (0, -1) if low is None or high is None else (low, high)


def _probed(ids: list[str], label: str, step: int, bounds: tuple[int, int]) -> Any:
    """Centres of ``label``'s reviewed instances whose id is a multiple of ``step``: the
    multiples (a recursive CTE) joined to the primary key, one lookup each."""
    c = _INSTANCE
    first = -(-bounds[0] // step) * step  # the first multiple of step >= the smallest id
    k = select(literal(first, Integer).label("i")).cte("k", recursive=True)
    k = k.union_all(select(k.c.i + step).where(k.c.i + step <= bounds[1]))
    on = and_(c.session_id.in_(ids), c.instance_id == k.c.i)
    return (
        select(c.center_xyz_vx)
        .select_from(k.join(schema.instances, on))
        .where(SEEN, c.label == label)
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _with_custom_texts(
    flagged: dict[tuple[str, int | None, str | None], int],
    custom: list[tuple[str, CategoryCount]],
    cut: bool,
) -> list[tuple[str, CategoryCount]]:
    """Category counts with Custom split by text; texts past the row limit (``cut``) stay
    together as ``OTHER_CUSTOM_TEXT`` so that every flagged instance is counted."""
    result: list[tuple[str, CategoryCount]] = []
    for (sid, k, category), n in flagged.items():
        if category != Category.CUSTOM.value:
            result.append((sid, CategoryCount(k, category, "", n)))
            continue
        shown = sum(c.count for s, c in custom if s == sid and c.compartment == k)
        if cut and n > shown:
            result.append((sid, CategoryCount(k, category, OTHER_CUSTOM_TEXT, n - shown)))
    return result + custom


def _points(texts: Sequence[str]) -> tuple[Triple, ...]:
    """Parse stored "[x, y, z]" texts in one JSON call (one call per text is 10x slower)."""
    values = json.loads("[" + ",".join(texts) + "]")
    return tuple((int(x), int(y), int(z)) for x, y, z in values)
