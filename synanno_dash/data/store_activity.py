"""Statistics of review activity, agreement and accuracy, aggregated in the database.

- Throughput: the activity log is the union of page showings (``seen_events`` grouped by
  session and time: one event per page, with its number of newly shown instances) and the
  edit log. Window functions (``LAG``, a running count of pages) give each event the gap
  since the previous one and the page it belongs to; the database then sums the gaps per
  (session, page, view), so Python receives a few rows per page, never one per instance.
- Agreement: instances of different sessions are the same synapse when they have the same
  table row (``materialization_index``); rows added by hand (-1) are left out.
- Accuracy: the ground truth goes into a temporary table and is joined in the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    distinct,
    func,
    insert,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from synanno_dash.core.labels import Label
from synanno_dash.core.review_stats import (
    IDLE_GAP_S,
    Disagreement,
    RateBin,
    Throughput,
    View,
    ViewTime,
)
from synanno_dash.core.statistics import (
    Kappa,
    TruthCell,
    cohen_kappa,
    fleiss_kappa_from_sums,
    rate_bin_width_s,
)
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store_masks import MaskStore
from synanno_dash.data.store_stats import SEEN, StoreStatistics, sql_count_if, sql_text

VIEW_CODES = {View.GRID: 0, View.CATEGORIZE: 1, View.DRAWING: 2}
_VIEW_OF_CODE = {code: view for view, code in VIEW_CODES.items()}
MARKER_FIELDS = ("pre_xyz_vx", "post_xyz_vx")  # moved on the drawing view
REVIEW_KINDS = ("do", "undo", "redo")
MAX_DISAGREEMENTS = 200
_TRUTH_CHUNK = 20_000


def _code(view: View) -> ColumnElement[Any]:
    return literal_column(str(VIEW_CODES[view]))


class ActivityStatistics(StoreStatistics):
    """``StoreStatistics`` plus throughput, agreement and accuracy."""

    # -- time ----------------------------------------------------------------------------
    def time_span(self, session_ids: Sequence[str]) -> tuple[float, float] | None:
        """(first, last) logged event of the sessions, epoch seconds; None if none."""
        ids = list(session_ids)
        seen, edits = schema.seen_events.c, schema.edits.c
        with self.engine.connect() as conn:
            a = conn.execute(
                select(func.min(seen.at), func.max(seen.at)).where(seen.session_id.in_(ids))
            ).one()
            b = conn.execute(
                select(func.min(edits.at), func.max(edits.at)).where(edits.session_id.in_(ids))
            ).one()
        starts = [v for v in (a[0], b[0]) if v is not None]
        ends = [v for v in (a[1], b[1]) if v is not None]
        return (float(min(starts)), float(max(ends))) if starts else None

    def throughput(self, session_ids: Sequence[str]) -> Throughput:
        ids = list(session_ids)
        with self.engine.connect() as conn:
            rows = conn.execute(_activity_query(ids)).all()
            bins = self._rate_bins(conn, ids)
        return _summarize(rows, bins)

    def _rate_bins(self, conn: Connection, ids: list[str]) -> tuple[RateBin, ...]:
        seen = schema.seen_events.c
        first, last = conn.execute(
            select(func.min(seen.at), func.max(seen.at)).where(seen.session_id.in_(ids))
        ).one()
        if first is None:
            return ()
        width = rate_bin_width_s(float(last) - float(first))
        offset = (seen.at - float(first)) / float(width)
        # floor of a non-negative number: PostgreSQL casts round, SQLite casts truncate
        index = func.floor(offset) if conn.dialect.name == "postgresql" else offset
        inner = (
            select(cast(index, Integer).label("bin"))
            .where(seen.session_id.in_(ids))
            .subquery("binned")
        )
        counted = conn.execute(
            select(inner.c.bin, func.count()).group_by(inner.c.bin).order_by(inner.c.bin)
        ).all()
        return tuple(
            RateBin(float(first) + int(b) * width, float(width), int(n)) for b, n in counted
        )

    # -- agreement -----------------------------------------------------------------------
    def agreement_kappa(self, session_ids: Sequence[str]) -> tuple[Kappa, int] | None:
        """Kappa over table rows reviewed by two or more of the sessions (Cohen's for two
        sessions, Fleiss' for more) and how many sessions share them; None if no row is
        shared."""
        ids = list(session_ids)
        if len(ids) < 2:
            return None
        with self.engine.connect() as conn:
            sharing = conn.execute(_sharing_sessions(ids)).scalar() or 0
            if len(ids) == 2:
                kappa = self._cohen(conn, ids[0], ids[1])
            else:
                kappa = self._fleiss(conn, ids)
        return None if kappa is None else (kappa, int(sharing))

    def _cohen(self, conn: Connection, first: str, second: str) -> Kappa | None:
        a = schema.instances.alias("a")
        b = schema.instances.alias("b")
        rows = conn.execute(
            select(a.c.label, b.c.label, func.count())
            .select_from(
                a.join(b, a.c.materialization_index == b.c.materialization_index)
            )
            .where(
                a.c.session_id == first,
                b.c.session_id == second,
                a.c.seen.is_(True),
                b.c.seen.is_(True),
                a.c.materialization_index >= 0,
            )
            .group_by(a.c.label, b.c.label)
        ).all()
        if not rows:
            return None
        order = [label.value for label in Label]
        matrix = [[0] * len(order) for _ in order]
        for la, lb, n in rows:
            matrix[order.index(la)][order.index(lb)] += int(n)
        return cohen_kappa(matrix)

    def _fleiss(self, conn: Connection, ids: list[str]) -> Kappa | None:
        cell, item = _cells_and_items(ids)
        n_items, agreement_sum = conn.execute(
            select(
                func.count(),
                func.sum(cast(item.c.si - item.c.ni, Float) / cast(
                    item.c.ni * (item.c.ni - 1), Float)),
            )
        ).one()
        if not n_items:
            return None
        totals: dict[str, int] = dict(
            conn.execute(
                select(cell.c.label, func.sum(cell.c.k))
                .select_from(cell.join(item, cell.c.m == item.c.m))
                .group_by(cell.c.label)
            ).all()
        )
        counts = [int(totals.get(label.value, 0)) for label in Label]
        return fleiss_kappa_from_sums(int(n_items), float(agreement_sum), counts)

    def disagreements(
        self, session_ids: Sequence[str], current: str | None, limit: int = MAX_DISAGREEMENTS
    ) -> tuple[int, tuple[Disagreement, ...]]:
        """(how many, the first ``limit`` by table row) rows the sessions labelled
        differently, with the row's instance in the ``current`` session."""
        c = schema.instances.c
        votes = [sql_count_if(c.label == sql_text(label.value)) for label in Label]
        query = (
            select(c.materialization_index, *votes)
            .where(c.session_id.in_(list(session_ids)), SEEN, c.materialization_index >= 0)
            .group_by(c.materialization_index)
            .having(and_(func.count() >= 2, func.count(distinct(c.label)) > 1))
        )
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar()
            rows = conn.execute(query.order_by(c.materialization_index).limit(limit)).all()
            rows_ids = [int(r[0]) for r in rows]
            own = {}
            if current is not None and rows_ids:
                own = dict(
                    conn.execute(
                        select(c.materialization_index, c.instance_id).where(
                            c.session_id == current, c.materialization_index.in_(rows_ids)
                        )
                    ).all()
                )
        found = tuple(
            Disagreement(
                int(m),
                {label.value: int(v) for label, v in zip(Label, values, strict=True)},
                None if own.get(m) is None else int(own[m]),
            )
            for m, *values in rows
        )
        return int(total or 0), found

    # -- accuracy ------------------------------------------------------------------------
    def truth_cells(
        self, session_ids: Sequence[str], truth: Mapping[int, str]
    ) -> list[tuple[str, TruthCell]]:
        """(session, cell) counts of reviewed instances joined to the ground truth
        (table row -> true error) in the database."""
        table = Table(
            "stats_truth",
            MetaData(),
            Column("m", Integer, primary_key=True),
            Column("error", String(64), nullable=False),
            prefixes=["TEMPORARY"],
        )
        c = schema.instances.c
        query = (
            select(c.session_id, c.label, c.category, table.c.error, func.count())
            .select_from(schema.instances.join(table, c.materialization_index == table.c.m))
            .where(c.session_id.in_(list(session_ids)), SEEN)
            .group_by(c.session_id, c.label, c.category, table.c.error)
        )
        items = [{"m": int(m), "error": str(e)} for m, e in truth.items()]
        with self.engine.connect() as conn:
            table.drop(conn, checkfirst=True)
            table.create(conn)
            try:
                for start in range(0, len(items), _TRUTH_CHUNK):
                    conn.execute(insert(table), items[start : start + _TRUTH_CHUNK])
                rows = conn.execute(query).all()
            finally:
                table.drop(conn, checkfirst=True)
                conn.commit()
        return [
            (str(s), TruthCell(str(label), None if cat is None else str(cat), str(err), int(n)))
            for s, label, cat, err, n in rows
        ]


def _view_of_edit() -> ColumnElement[Any]:
    e = schema.edits.c
    return case(
        (e.kind.in_([sql_text(k) for k in MaskStore.DRAW_KINDS]), _code(View.DRAWING)),
        (e.field.in_([sql_text(f) for f in MARKER_FIELDS]), _code(View.DRAWING)),
        (e.field == sql_text("label"), _code(View.GRID)),
        else_=_code(View.CATEGORIZE),
    )


def _activity_query(ids: list[str]) -> Any:
    """Rows (session, page, view, events, active s, idle gaps, idle s, newly shown).

    ``page`` is the page the time *before* each event belongs to (the page on screen
    then); the ``newly shown`` of a (session, p) row are those of page p + 1, whose
    showing is the event that ends page p.
    """
    s, e = schema.seen_events.c, schema.edits.c
    zero: ColumnElement[Any] = literal_column("0")
    pages = select(
        s.session_id.label("sid"), s.at.label("at"), _code(View.GRID).label("view"),
        func.count().label("n"),
    ).where(s.session_id.in_(ids)).group_by(s.session_id, s.at)
    edits = select(
        e.session_id.label("sid"), e.at.label("at"), _view_of_edit().label("view"),
        zero.label("n"),
    ).where(
        e.session_id.in_(ids),
        e.kind.in_([sql_text(k) for k in (*REVIEW_KINDS, *MaskStore.DRAW_KINDS)]),
    )  # fmt: skip
    ev = union_all(pages, edits).subquery("events")
    order = (ev.c.at, ev.c.n.desc())
    is_page = case((ev.c.n > zero, literal_column("1")), else_=zero)
    timed = select(
        ev.c.sid, ev.c.view, ev.c.n,
        (ev.c.at - func.lag(ev.c.at).over(partition_by=ev.c.sid, order_by=order)).label("gap"),
        (func.sum(is_page).over(partition_by=ev.c.sid, order_by=order, rows=(None, 0))
         - is_page).label("page"),
    ).subquery("timed")  # fmt: skip
    t = timed.c
    idle = t.gap > literal_column(repr(IDLE_GAP_S))
    active = case((t.gap <= literal_column(repr(IDLE_GAP_S)), t.gap), else_=literal_column("0.0"))
    return select(
        t.sid, t.page, t.view, func.count(), func.sum(active), sql_count_if(idle),
        func.sum(case((idle, t.gap), else_=literal_column("0.0"))), func.sum(t.n),
    ).group_by(t.sid, t.page, t.view)  # fmt: skip


def _summarize(rows: Sequence[Any], bins: tuple[RateBin, ...]) -> Throughput:
    per_view: dict[View, list[float]] = {v: [0.0, 0, 0, 0.0] for v in View}
    page_size: dict[tuple[str, int], int] = {}
    page_time: dict[tuple[str, int], float] = {}
    page_idle: set[tuple[str, int]] = set()
    last_page: dict[str, int] = {}
    for sid, page, code, events, active_s, idle_n, idle_s, shown in rows:
        view = _VIEW_OF_CODE[int(code)]
        sums = per_view[view]
        sums[0] += float(active_s or 0.0)
        sums[1] += int(events)
        sums[2] += int(idle_n or 0)
        sums[3] += float(idle_s or 0.0)
        key = (str(sid), int(page))
        if shown:
            page_size[(key[0], key[1] + 1)] = int(shown)
            last_page[key[0]] = max(last_page.get(key[0], 0), key[1] + 1)
        if view is View.GRID:
            page_time[key] = page_time.get(key, 0.0) + float(active_s or 0.0)
            if idle_n:
                page_idle.add(key)
    histogram: dict[float, int] = {}
    untimed = 0
    for key, size in page_size.items():
        if key in page_idle or key[1] == last_page[key[0]]:
            untimed += 1  # its end is unknown, or a pause hides how long it took
            continue
        per_instance = round(page_time.get(key, 0.0) / size, 1)
        histogram[per_instance] = histogram.get(per_instance, 0) + size
    return Throughput(
        reviewed=sum(page_size.values()),
        per_view=tuple(
            ViewTime(v, sums[0], int(sums[1]), int(sums[2]), sums[3])
            for v, sums in per_view.items()
        ),
        bins=bins,
        time_per_instance=histogram,
        untimed_pages=untimed,
    )


def _cells_and_items(ids: list[str]) -> tuple[Any, Any]:
    """Subqueries: cell (row m, label, k raters) and item (m, n_i, sum of k^2), items
    being the rows reviewed by at least two sessions."""
    c = schema.instances.c
    cell = (
        select(
            c.materialization_index.label("m"), c.label.label("label"), func.count().label("k")
        )
        .where(c.session_id.in_(ids), SEEN, c.materialization_index >= 0)
        .group_by(c.materialization_index, c.label)
        .subquery("cell")
    )
    item = (
        select(
            cell.c.m,
            func.sum(cell.c.k).label("ni"),
            func.sum(cell.c.k * cell.c.k).label("si"),
        )
        .group_by(cell.c.m)
        .having(func.sum(cell.c.k) >= 2)
        .subquery("item")
    )
    return cell, item


def _sharing_sessions(ids: list[str]) -> Any:
    """How many sessions reviewed a table row that another one reviewed too."""
    _cell, item = _cells_and_items(ids)
    c = schema.instances.c
    return select(func.count(distinct(c.session_id))).where(
        c.session_id.in_(ids),
        SEEN,
        c.materialization_index.in_(select(item.c.m)),
    )

