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
from typing import Any

from sqlalchemy import Engine, and_, case, func, literal_column, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from synanno_dash.core.geometry import Triple
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.review_stats import (
    CategoryCount,
    LabelCounts,
    NeuronCounts,
    PositionSample,
)
from synanno_dash.core.serialize import config_from_dict
from synanno_dash.core.statistics import FLAGGED_LABELS
from synanno_dash.data import store_schema as schema

log = logging.getLogger(__name__)

MAX_CATEGORY_ROWS = 5000  # (compartment, category, custom text) groups read at most
MAX_POINTS_PER_LABEL = 10_000  # positions sampled per label for the projections

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


def ensure_stats_indexes(engine: Engine) -> None:
    """Create the statistics' indexes on databases made before they existed."""
    for index in schema.STATS_INDEXES:
        try:
            index.create(engine, checkfirst=True)
        except SQLAlchemyError:  # another worker made it at the same moment, or no rights
            log.warning("could not create index %s; statistics may be slower", index.name)


class StoreStatistics:
    """Aggregates over the sessions ``session_ids`` of one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        ensure_stats_indexes(engine)

    # -- which sessions ------------------------------------------------------------------
    def configured_sessions(self) -> list[tuple[str, DatasetConfig]]:
        """Every session with a dataset configuration (one small row each)."""
        col = schema.sessions.c
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col.session_id, col.created_at, col.updated_at).where(
                    col.session_id.in_(list(session_ids))
                )
            ).all()
        return {str(s): (float(a), float(b)) for s, a, b in rows}

    # -- counts --------------------------------------------------------------------------
    def label_counts(
        self, session_ids: Sequence[str]
    ) -> list[tuple[str, int | None, LabelCounts]]:
        """(session, compartment, counts) for every compartment of every session
        (compartment None: volume-centric instances)."""
        c = _INSTANCE
        query = (
            select(
                c.session_id,
                c.compartment,
                func.count(),
                sql_count_if(SEEN),
                sql_count_if(and_(SEEN, c.label == sql_text(Label.INCORRECT.value))),
                sql_count_if(and_(SEEN, c.label == sql_text(Label.UNSURE.value))),
                sql_count_if(and_(SEEN, c.discarded.is_(True))),
            )
            .where(c.session_id.in_(list(session_ids)))
            .group_by(c.session_id, c.compartment)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            (str(s), None if k is None else int(k), LabelCounts(*(int(v) for v in values)))
            for s, k, *values in rows
        ]

    def category_counts(
        self, session_ids: Sequence[str], by_compartment: bool
    ) -> tuple[list[CategoryCount], bool]:
        """Flagged instances per error category (Custom grouped by its trimmed,
        case-folded text), per compartment or overall; and whether groups were cut off
        at ``MAX_CATEGORY_ROWS`` (the caller tops up with what it knows is flagged)."""
        c = _INSTANCE
        is_custom = c.category == sql_text(Category.CUSTOM.value)
        custom_key = case((is_custom, func.lower(func.trim(c.custom_category))), else_=sql_text(""))
        shown = func.min(case((is_custom, func.trim(c.custom_category)), else_=sql_text("")))
        keys: list[Any] = [c.category, custom_key]
        if by_compartment:
            keys.insert(0, c.compartment)
        count = func.count().label("n")
        query = (
            select(*keys, shown, count)
            .where(c.session_id.in_(list(session_ids)), FLAGGED)
            .group_by(*keys)
            .order_by(count.desc())
            .limit(MAX_CATEGORY_ROWS + 1)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        cut = len(rows) > MAX_CATEGORY_ROWS
        result = []
        for row in rows[:MAX_CATEGORY_ROWS]:
            compartment = row[0] if by_compartment else None
            category, _key, text, n = row[-4:]
            result.append(
                CategoryCount(
                    None if compartment is None else int(compartment),
                    None if category is None else str(category),
                    str(text or ""),
                    int(n),
                )
            )
        return result, cut

    def top_neurons(
        self, session_ids: Sequence[str], side: str, top_n: int
    ) -> list[NeuronCounts]:
        """The ``top_n`` pre (``side="pre"``) or post neurons with the most flagged
        reviewed synapses (ties: more reviewed first, then the smaller id)."""
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
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [NeuronCounts(int(str(n)), int(r), int(f)) for n, r, f in rows]

    def position_sample(
        self,
        session_ids: Sequence[str],
        totals: dict[str, int],
        per_label: int = MAX_POINTS_PER_LABEL,
    ) -> PositionSample:
        """Centres of reviewed instances per label; an even sample (every k-th instance)
        of at most ``per_label`` when there are more. ``totals``: reviewed per label."""
        c = _INSTANCE
        points: dict[str, tuple[Triple, ...]] = {}
        with self.engine.connect() as conn:
            for label, total in totals.items():
                if total <= 0:
                    continue
                step = max(1, math.ceil(total / per_label))
                query = select(c.center_xyz_vx).where(
                    c.session_id.in_(list(session_ids)), SEEN, c.label == label
                )
                if step > 1:
                    query = query.where(c.instance_id % step == 0)
                texts = conn.execute(query.limit(per_label)).scalars().all()
                points[label] = tuple(_point(text) for text in texts)
        return PositionSample(points, dict(totals))


def _point(text: str) -> Triple:
    x, y, z = json.loads(text)
    return (int(x), int(y), int(z))
