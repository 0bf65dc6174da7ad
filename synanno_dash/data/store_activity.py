"""Statistics of review activity, agreement and accuracy, aggregated in the database.

- Throughput: the activity log is the page showings (``seen_events`` grouped by session and
  time in the database: one row per page, never one per instance) and the edit log with
  each edit's view worked out in SQL; ``core.throughput`` applies the rules to it.
- Agreement: instances of different sessions are the same synapse when they have the same
  table row (``materialization_index``); rows added by hand (-1) are left out.
- Accuracy: the ground truth goes into a temporary table and is joined in the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from synanno_dash.core.labels import Label
from synanno_dash.core.review_stats import Disagreement
from synanno_dash.core.statistics import (
    NO_ERROR,
    Kappa,
    TruthCell,
    cohen_kappa,
    fleiss_kappa_from_sums,
)
from synanno_dash.core.throughput import VIEWS, SessionLog, Throughput, View, throughput_of_logs
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store_masks import MaskStore
from synanno_dash.data.store_stats import (
    SEEN,
    SeenCell,
    StoreStatistics,
    sql_count_if,
    sql_text,
)

MARKER_FIELDS = ("pre_xyz_vx", "post_xyz_vx")  # moved on the drawing view
REVIEW_KINDS = ("do", "undo", "redo")
MAX_DISAGREEMENTS = 200
_TRUTH_TABLE = "stats_truth"
MAX_TRUTH_RUNS = 64  # more runs of consecutive table rows: send every truth row


def _code(view: View) -> ColumnElement[Any]:
    """A view's code (its position in ``core.throughput.VIEWS``) as an SQL constant."""
    return literal_column(str(VIEWS.index(view)))


class ActivityStatistics(StoreStatistics):
    """``StoreStatistics`` plus throughput, agreement and accuracy."""

    # -- activity ------------------------------------------------------------------------
    def throughput(self, session_ids: Sequence[str]) -> Throughput:
        return throughput_of_logs(self.activity_logs(session_ids))

    def activity_logs(self, session_ids: Sequence[str]) -> list[SessionLog]:
        """Each session's activity log: one event per page showing (with how many
        instances it showed first; grouped in SQL) and one per review or drawing edit.
        Both are read from an index alone (``ix_seen_events_session_at``,
        ``ix_edits_stats_activity``), one session per query (no session column to ship),
        with statements built once."""
        s, e = schema.seen_events.c, schema.edits.c
        sid = bindparam("sid", type_=String())
        kinds = [sql_text(k) for k in (*REVIEW_KINDS, *MaskStore.DRAW_KINDS)]
        pages = select(s.at, func.count()).where(s.session_id == sid).group_by(s.at)
        edits = select(e.at, _view_of_edit()).where(e.session_id == sid, e.kind.in_(kinds))
        logs = []
        with self.connect() as conn:
            for session_id in session_ids:
                shown = conn.execute(pages, {"sid": session_id}).all()
                edited = conn.execute(edits, {"sid": session_id}).all()
                # plain tuples: numpy reads a row object one element at a time
                logs.append(SessionLog.of([(a, n) for a, n in shown],
                                          [(a, v) for a, v in edited]))  # fmt: skip
        return logs

    # -- agreement -----------------------------------------------------------------------
    def agreement(
        self, session_ids: Sequence[str], current: str | None, limit: int = MAX_DISAGREEMENTS
    ) -> tuple[Kappa, int, tuple[Disagreement, ...]] | None:
        """Agreement over the table rows two or more of the sessions reviewed: the kappa
        (Cohen's for two sessions, Fleiss' for more), how many rows they labelled
        differently, and the first ``limit`` of those by table row with the row's instance
        in the ``current`` session. None if no row is shared.

        One pass over the sessions' instances: votes per row are grouped in the database,
        and window aggregates over all rows (Fleiss' sums, the count of disagreements) ride
        along with the first rows, disagreeing ones first.
        """
        ids = list(session_ids)
        if len(ids) < 2:
            return None
        v = _votes_per_row(ids).c
        differ = case((_differs(v), literal_column("1")), else_=literal_column("0"))
        whole = {"partition_by": None}
        query = (
            select(
                v.m, v.correct, v.incorrect, v.unsure, differ.label("differ"),
                func.count().over(**whole), func.sum(_row_agreement(v)).over(**whole),
                func.sum(v.correct).over(**whole), func.sum(v.incorrect).over(**whole),
                func.sum(v.unsure).over(**whole), func.sum(differ).over(**whole),
            )
            .order_by(differ.desc(), v.m)
            .limit(limit)
        )  # fmt: skip
        with self.connect() as conn:
            result = conn.execute(query).all()
            if not result:
                return None
            sums = result[0][5:]
            listed = [r[:4] for r in result if r[4]]
            kappa = (
                self._cohen(conn, ids[0], ids[1])
                if len(ids) == 2
                else fleiss_kappa_from_sums(
                    int(sums[0]), float(sums[1]), [int(t or 0) for t in sums[2:5]]
                )
            )
            own = self._instances_of_rows(conn, current, [int(r[0]) for r in listed])
        if kappa is None:
            return None
        found = tuple(
            Disagreement(
                int(m),
                {label.value: int(n) for label, n in zip(Label, counts, strict=True)},
                own.get(int(m)),
            )
            for m, *counts in listed
        )
        return kappa, int(sums[5] or 0), found

    @staticmethod
    def _instances_of_rows(conn: Connection, session: str | None, rows: list[int]) -> dict:
        if session is None or not rows:
            return {}
        c = schema.instances.c
        query = select(c.materialization_index, c.instance_id).where(
            c.session_id == session, c.materialization_index.in_(rows)
        )
        return {int(m): int(i) for m, i in conn.execute(query)}

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

    # -- accuracy ------------------------------------------------------------------------
    def truth_cells(
        self,
        session_ids: Sequence[str],
        rows: np.ndarray,
        errors: np.ndarray,
        seen_cells: Mapping[SeenCell, int],
    ) -> list[tuple[str, TruthCell]]:
        """(session, cell) counts of reviewed instances against the ground truth
        (``rows[i]``: a table row, ``errors[i]``: its true error), joined in the database.

        ``seen_cells`` are the reviewed instances per (session, label, category)
        (``review_counts``). Only the truth's error rows are joined; the reviewed instances
        inside the truth's rows that are not errors are ``none``: all reviewed, minus those
        outside the truth's rows, minus the errors. That holds when the truth's rows form
        at most ``MAX_TRUTH_RUNS`` runs of consecutive ids (a whole table: one run);
        otherwise every truth row is joined. PostgreSQL receives the truth as two arrays
        (``unnest``), SQLite as a temporary table."""
        order = np.argsort(rows, kind="stable")
        rows, errors = rows[order], errors[order]
        runs = _runs(rows)
        compact = len(runs) <= MAX_TRUTH_RUNS
        if compact:
            keep = errors != NO_ERROR
            rows, errors = rows[keep], errors[keep]
        ids = list(session_ids)
        with self.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            truth = _truth_arrays(rows, errors) if postgres else _truth_table(conn, rows, errors)
            try:
                # one session per query: the planner then probes the (session, table row)
                # index instead of building a temporary one over every session's instances
                joined: list[Any] = []
                outside: list[Any] = []
                for sid in ids:
                    joined += conn.execute(_truth_join(truth, [sid])).all()
                    if compact:
                        outside += conn.execute(_outside_runs(runs, [sid])).all()
            finally:
                if not postgres:
                    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_TRUTH_TABLE}")
                conn.commit()
        found = [
            (str(s), TruthCell(str(label), None if cat is None else str(cat), str(err), int(n)))
            for s, label, cat, err, n in joined
            if s is not None  # truth rows no reviewed instance has
        ]
        if compact:
            found += _none_cells(seen_cells, found, outside)
        return found


def _truth_join(truth: Any, ids: list[str]) -> Any:
    """Reviewed instances per (session, label, category, true error). The truth is the
    left side, so SQLite loops over it and finds instances by index."""
    c = schema.instances.c
    on = and_(c.materialization_index == truth.c.m, c.session_id.in_(ids), SEEN)
    return (
        select(c.session_id, c.label, c.category, truth.c.error, func.count(c.session_id))
        .select_from(truth.outerjoin(schema.instances, on))
        .group_by(c.session_id, c.label, c.category, truth.c.error)
    )


def _outside_runs(runs: list[tuple[int, int]], ids: list[str]) -> Any:
    """Reviewed instances per (session, label, category) whose table row the truth lacks."""
    c = schema.instances.c
    m = c.materialization_index
    gaps: list[ColumnElement[bool]] = [m < runs[0][0], m > runs[-1][1]] if runs else [true()]
    gaps += [m.between(a[1] + 1, b[0] - 1) for a, b in zip(runs, runs[1:], strict=False)]
    return (
        select(c.session_id, c.label, c.category, func.count())
        .where(c.session_id.in_(ids), SEEN, or_(*gaps))
        .group_by(c.session_id, c.label, c.category)
    )


def _none_cells(
    seen_cells: Mapping[SeenCell, int],
    errors: list[tuple[str, TruthCell]],
    outside: Sequence[Any],
) -> list[tuple[str, TruthCell]]:
    left = dict(seen_cells)
    for sid, label, category, n in outside:
        key = (str(sid), str(label), None if category is None else str(category))
        left[key] = left.get(key, 0) - int(n)
    for sid, cell in errors:
        key = (sid, cell.label, cell.category)
        left[key] = left.get(key, 0) - cell.count
    return [
        (sid, TruthCell(label, category, NO_ERROR, n))
        for (sid, label, category), n in left.items()
        if n > 0
    ]


def _runs(sorted_rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive ids, as (first, last)."""
    if len(sorted_rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(sorted_rows) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(sorted_rows) - 1]])
    return [(int(sorted_rows[a]), int(sorted_rows[b])) for a, b in zip(starts, ends, strict=True)]


def _truth_arrays(rows: np.ndarray, errors: np.ndarray) -> Any:
    return (
        text("SELECT * FROM unnest(CAST(:m AS bigint[]), CAST(:e AS text[])) AS t(m, error)")
        .bindparams(m=rows.astype(np.int64).tolist(), e=[str(v) for v in errors])
        .columns(m=BigInteger, error=String)
        .subquery("truth")
    )


def _truth_table(conn: Connection, rows: np.ndarray, errors: np.ndarray) -> Table:
    """The truth in a temporary table of this connection (dropped by the caller)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_TRUTH_TABLE}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {_TRUTH_TABLE} (m INTEGER PRIMARY KEY, error TEXT NOT NULL)"
    )
    if len(rows):
        conn.exec_driver_sql(  # the driver's executemany: no per-row SQLAlchemy work
            f"INSERT INTO {_TRUTH_TABLE} VALUES (?, ?)",
            list(zip(rows.astype(np.int64).tolist(), (str(v) for v in errors), strict=True)),
        )
    return Table(_TRUTH_TABLE, MetaData(), Column("m", Integer), Column("error", String))


def _view_of_edit() -> ColumnElement[Any]:
    e = schema.edits.c
    return case(
        (e.kind.in_([sql_text(k) for k in MaskStore.DRAW_KINDS]), _code(View.DRAWING)),
        (e.field.in_([sql_text(f) for f in MARKER_FIELDS]), _code(View.DRAWING)),
        (e.field == sql_text("label"), _code(View.GRID)),
        else_=_code(View.CATEGORIZE),
    )


def _votes_per_row(ids: list[str]) -> Any:
    """Per table row reviewed by two or more of the sessions: its votes per label."""
    c = schema.instances.c
    votes = [sql_count_if(c.label == sql_text(label.value)).label(label.value) for label in Label]
    return (
        select(c.materialization_index.label("m"), func.count().label("n"), *votes)
        .where(c.session_id.in_(ids), SEEN, c.materialization_index >= 0)
        .group_by(c.materialization_index)
        .having(func.count() >= 2)
        .subquery("votes")
    )


def _row_agreement(v: Any) -> ColumnElement[Any]:
    """Fleiss' per-item agreement: sum of k (k - 1) over labels, over n (n - 1)."""
    pairs: ColumnElement[Any] = literal_column("0")
    for label in Label:
        pairs = pairs + v[label.value] * (v[label.value] - 1)
    return cast(pairs, Float) / cast(v.n * (v.n - 1), Float)


def _differs(v: Any) -> ColumnElement[bool]:
    """The row did not get one label from every session."""
    return and_(*(v[label.value] < v.n for label in Label))
