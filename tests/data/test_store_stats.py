"""Statistics aggregated in the session database, on SQLite and on PostgreSQL: hand-built
sessions and logs with known answers, and the SQL kappa against the pure one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.statistics import NO_ERROR, KappaMethod, cohen_kappa, fleiss_kappa
from synanno_dash.core.throughput import View
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store import SessionStore
from synanno_dash.data.store_activity import ActivityStatistics
from tests.data.databases import DATABASES, database_url

BIG_ID = 864691135000000123
T0 = 1_700_000_000.0


@pytest.fixture(params=DATABASES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    for url in database_url(request.param, tmp_path):
        opened = SessionStore(url)
        yield opened
        opened.engine.dispose()


def _instances(n: int, per_compartment: int | None = None, first_row: int = 0) -> list:
    items = []
    for i in range(n):
        syn = Synapse(first_row + i, (10 * i, 20 + i % 7, 3 + i % 5), None, None,
                      BIG_ID + i % 3, BIG_ID + 100 + i % 2)  # fmt: skip
        item = instance_for(i, syn, (64, 64, 6))
        if per_compartment:
            item = replace(item, compartment=i // per_compartment, traversal_index=i)
        items.append(item)
    return items


def _stats(store: SessionStore) -> ActivityStatistics:
    return ActivityStatistics(store.engine)


def test_first_showings_are_logged_once_and_reset_with_the_session(store: SessionStore) -> None:
    store.replace_instances("a", _instances(5))
    store.mark_seen("a", [0, 1])
    store.mark_seen("a", [1, 2])  # 1 again: not a new showing
    with store.engine.connect() as conn:
        rows = conn.execute(schema.seen_events.select().order_by("instance_id")).all()
    assert [r.instance_id for r in rows] == [0, 1, 2]
    assert rows[0].at == rows[1].at <= rows[2].at
    store.replace_instances("a", _instances(5))
    assert _stats(store).throughput(["a"]).reviewed == 0
    store.mark_seen("a", [0])
    store.reset_session("a")
    assert _stats(store).throughput(["a"]).reviewed == 0


def test_counts_per_session_and_compartment(store: SessionStore) -> None:
    store.replace_instances("a", _instances(12, per_compartment=4))
    store.mark_seen("a", range(10))
    store.edit("a", 0, label=Label.INCORRECT)
    store.edit("a", 5, label=Label.UNSURE)
    store.edit("a", 6, label=Label.INCORRECT)
    store.edit("a", 6, discarded=True)
    store.edit("a", 11, label=Label.INCORRECT)  # never shown: not reviewed, not counted
    store.replace_instances("b", _instances(3))
    rows = {(s, k): c for s, k, c in _stats(store).review_counts(["a", "b"]).labels}
    assert set(rows) == {("a", 0), ("a", 1), ("a", 2), ("b", None)}
    assert (rows[("a", 0)].total, rows[("a", 0)].seen, rows[("a", 0)].incorrect) == (4, 4, 1)
    one = rows[("a", 1)]
    assert (one.seen, one.incorrect, one.unsure, one.discarded, one.flagged) == (4, 1, 1, 1, 2)
    assert (rows[("a", 2)].total, rows[("a", 2)].seen, rows[("a", 2)].flagged) == (4, 2, 0)
    assert (rows[("b", None)].total, rows[("b", None)].seen) == (3, 0)


def test_categories_group_custom_text_by_trimmed_lower_case(store: SessionStore) -> None:
    store.replace_instances("a", _instances(8, per_compartment=4))
    store.mark_seen("a", range(8))
    for iid, category, text in [
        (0, Category.CUSTOM, " Membrane fold"), (1, Category.CUSTOM, "membrane FOLD "),
        (2, Category.FALSE_POSITIVE, ""), (4, Category.FALSE_POSITIVE, ""),
        (5, Category.CUSTOM, "Blur"), (6, None, ""),
    ]:  # fmt: skip
        store.edit("a", iid, label=Label.INCORRECT)
        if category is not None:
            store.edit("a", iid, category=category, custom_category=text)
    store.edit("a", 3, category=Category.MERGED)  # categorised but labelled correct: not counted
    per = [c for _sid, c in _stats(store).review_counts(["a"]).categories]
    got_per = {(c.compartment, c.category, c.custom_text.lower()): c.count for c in per}
    assert got_per == {
        (0, "custom", "membrane fold"): 2, (0, "false_positive", ""): 1,
        (1, "false_positive", ""): 1, (1, "custom", "blur"): 1, (1, None, ""): 1,
    }  # fmt: skip


def test_top_neurons_by_flagged_count_keep_64_bit_ids(store: SessionStore) -> None:
    store.replace_instances("a", _instances(9))
    store.mark_seen("a", range(9))
    for iid in (1, 4, 7, 2):  # pre ids: BIG+1 three times, BIG+2 once
        store.edit("a", iid, label=Label.INCORRECT)
    pre = _stats(store).top_neurons(["a"], "pre", 2)
    assert [(n.neuron_id, n.reviewed, n.flagged) for n in pre] == [
        (BIG_ID + 1, 3, 3), (BIG_ID + 2, 3, 1)
    ]
    post = _stats(store).top_neurons(["a"], "post", 5)
    assert {n.neuron_id: n.flagged for n in post} == {BIG_ID + 100: 2, BIG_ID + 101: 2}
    with pytest.raises(ValueError, match="side"):
        _stats(store).top_neurons(["a"], "both", 2)


def test_position_sample_is_bounded_and_even(store: SessionStore) -> None:
    store.replace_instances("a", _instances(500))
    store.mark_seen("a", range(500))
    for iid in range(0, 500, 50):
        store.edit("a", iid, label=Label.UNSURE)
    sample = _stats(store).position_sample(
        ["a"], {"correct": 490, "incorrect": 0, "unsure": 10}, per_label=100
    )
    assert sample.totals["correct"] == 490 and sample.is_sampled
    assert 90 <= sample.shown("correct") <= 100
    xs = sorted(p[0] for p in sample.points["correct"])
    assert xs[0] < 500 and xs[-1] > 4400  # spread over the whole range, not the first rows
    assert sorted(p[0] for p in sample.points["unsure"]) == [10 * i for i in range(0, 500, 50)]
    assert "incorrect" not in sample.points


def _log(store: SessionStore, sid: str, pages: list[tuple[float, list[int]]],
         edits: list[tuple[float, str, str]]) -> None:  # fmt: skip
    """Write a hand-built activity log: page showings (time, ids) and edits (time, kind,
    field), at the given seconds after ``T0``."""
    with store.engine.begin() as conn:
        for at, ids in pages:
            conn.execute(schema.instances.update()
                         .where(schema.instances.c.session_id == sid,
                                schema.instances.c.instance_id.in_(ids))
                         .values(seen=True))  # fmt: skip
            shown = [{"session_id": sid, "instance_id": i, "at": T0 + at} for i in ids]
            conn.execute(schema.seen_events.insert(), shown)
        for at, kind, field in edits:
            conn.execute(schema.edits.insert().values(session_id=sid, instance_id=0, kind=kind,
                                                      field=field, at=T0 + at))  # fmt: skip


def test_throughput_of_a_hand_built_log_with_an_idle_gap(store: SessionStore) -> None:
    store.replace_instances("a", _instances(30))
    _log(
        store, "a",
        pages=[(0, list(range(6))), (60, [6, 7, 8]), (120, list(range(9, 15))),
               (1120, list(range(15, 21)))],
        edits=[(90, "do", "label"), (1150, "do", "category,custom_category"),
               (1160, "undo", "note"), (1200, "draw", "mask"), (1210, "do", "pre_xyz_vx")],
    )  # fmt: skip
    # events: 0 p1 | 60 p2 | 90 label | 120 p3 | 1120 p4 (1000 s idle) | 1150 cat | 1160 cat
    # | 1200 draw | 1210 marker; the time before an event counts for its view
    t = _stats(store).throughput(["a"])
    views = {v.view: v for v in t.per_view}
    assert views[View.GRID].active_s == pytest.approx(120.0)
    assert (views[View.GRID].idle_gaps, views[View.GRID].idle_s) == (1, pytest.approx(1000.0))
    assert views[View.CATEGORIZE].active_s == pytest.approx(40.0)
    assert views[View.DRAWING].active_s == pytest.approx(50.0)
    assert (views[View.GRID].events, views[View.CATEGORIZE].events) == (5, 2)
    assert t.reviewed == 21
    assert t.reviewed_per_active_minute == pytest.approx(21 / 2.0)
    # page 1: 60 s over 6 = 10 s each; page 2: 30 + 30 s over 3 = 20 s each; page 3 ends
    # in a pause and page 4 is the last: neither is timed
    assert t.time_per_instance == {10.0: 6, 20.0: 3}
    assert (t.median_s, t.p90_s, t.untimed_pages) == (10.0, 20.0, 2)
    assert [(b.start_s - T0, b.width_s, b.reviewed) for b in t.bins] == [
        (0.0, 60.0, 6), (60.0, 60.0, 3), (120.0, 60.0, 6), (1080.0, 60.0, 6)
    ]
    assert "1 pause over 5 minutes (17 min in all)" in t.idle_note
    assert t.span_s == (T0, T0 + 1210)


def test_throughput_adds_sessions_on_their_own_timelines(store: SessionStore) -> None:
    for sid in ("a", "b"):
        store.replace_instances(sid, _instances(12))
    _log(store, "a", [(0, [0, 1]), (20, [2, 3]), (40, [4])], [])
    _log(store, "b", [(10, [0, 1, 2, 3]), (2000, [4, 5]), (2040, [6])], [])
    t = _stats(store).throughput(["a", "b"])
    views = {v.view: v for v in t.per_view}
    # a: gaps 20, 20; b: 1990 (idle), 40: interleaving sessions never makes a gap
    assert views[View.GRID].active_s == pytest.approx(80.0)
    assert views[View.GRID].idle_gaps == 1
    assert t.time_per_instance == {10.0: 4, 20.0: 2}  # a: p1, p2; b: p2 (p1 ends in a pause)
    assert t.reviewed == 12


def test_agreement_two_sessions_is_cohen_on_shared_table_rows(store: SessionStore) -> None:
    rng = np.random.default_rng(1)
    labels = {sid: rng.choice(list(Label), size=40) for sid in ("a", "b")}
    store.replace_instances("a", _instances(40))
    store.replace_instances("b", _instances(30, first_row=10))  # rows 10..39 shared
    for sid, count in (("a", 40), ("b", 30)):
        store.mark_seen(sid, range(count))
        for iid in range(count):
            if labels[sid][iid] is not Label.CORRECT:
                store.edit(sid, iid, label=labels[sid][iid])
    got = _stats(store).agreement(["a", "b"], current="b", limit=5)
    assert got is not None
    kappa, total, rows = got
    order = list(Label)
    matrix = [[0] * 3 for _ in order]
    for row in range(10, 40):
        matrix[order.index(labels["a"][row])][order.index(labels["b"][row - 10])] += 1
    assert kappa.method is KappaMethod.COHEN and kappa.n_items == 30
    assert kappa.kappa == pytest.approx(cohen_kappa(matrix).kappa)
    differ = [r for r in range(10, 40) if labels["a"][r] != labels["b"][r - 10]]
    assert total == len(differ)
    assert [d.materialization_index for d in rows] == differ[:5]
    assert [d.instance_id for d in rows] == [r - 10 for r in differ[:5]]
    assert all(sum(d.votes.values()) == 2 for d in rows)


def test_agreement_of_many_sessions_is_fleiss_with_their_own_raters(store: SessionStore) -> None:
    rng = np.random.default_rng(7)
    sessions = ["s0", "s1", "s2", "s3"]
    votes: dict[int, list[Label]] = {}
    for n, sid in enumerate(sessions):
        store.replace_instances(sid, _instances(25))
        shown = [i for i in range(25) if (i + n) % 4 != 0]  # each session misses some rows
        store.mark_seen(sid, shown)
        for iid in shown:
            label = Label.CORRECT if rng.random() < 0.6 else rng.choice(list(Label))
            votes.setdefault(iid, []).append(label)
            if label is not Label.CORRECT:
                store.edit(sid, iid, label=label)
    got = _stats(store).agreement(sessions, current=None)
    assert got is not None
    table = [[v.count(label) for label in Label] for v in votes.values() if len(v) >= 2]
    expected = fleiss_kappa(table)
    assert got[0].method is KappaMethod.FLEISS
    assert got[1] == sum(1 for v in votes.values() if len(v) >= 2 and len(set(v)) > 1)
    assert [d.instance_id for d in got[2]] == [None] * len(got[2])
    assert got[0].n_items == expected.n_items == 25
    assert got[0].kappa == pytest.approx(expected.kappa)
    assert got[0].observed == pytest.approx(expected.observed)


def test_no_agreement_without_shared_rows(store: SessionStore) -> None:
    store.replace_instances("a", _instances(5))
    store.replace_instances("b", _instances(5, first_row=100))
    store.mark_seen("a", range(5))
    store.mark_seen("b", range(5))
    assert _stats(store).agreement(["a", "b"], "a") is None
    assert _stats(store).agreement(["a"], "a") is None


def _truth_cells(store: SessionStore, ids: list[str], truth: dict[int, str]) -> dict:
    stats = _stats(store)
    rows = np.array(list(truth), dtype=np.int64)
    errors = np.array(list(truth.values()), dtype=object)
    seen = stats.review_counts(ids).seen_cells
    found: dict = {}
    for _s, c in stats.truth_cells(ids, rows, errors, seen):
        key = (c.label, c.category, c.truth)
        found[key] = found.get(key, 0) + c.count
    return found


def test_truth_is_joined_in_the_database(store: SessionStore) -> None:
    store.replace_instances("a", _instances(6))
    store.mark_seen("a", range(5))  # row 5 never shown
    store.edit("a", 1, label=Label.INCORRECT)
    store.edit("a", 1, category=Category.FALSE_POSITIVE)
    store.edit("a", 2, label=Label.UNSURE)
    truth = {0: NO_ERROR, 1: "false_positive", 2: NO_ERROR, 3: "poorly_aligned", 5: "merged",
             999: "false_positive"}  # fmt: skip
    # row 4 was reviewed but the truth has no line for it: left out
    assert _truth_cells(store, ["a"], truth) == {
        ("correct", None, NO_ERROR): 1, ("incorrect", "false_positive", "false_positive"): 1,
        ("unsure", None, NO_ERROR): 1, ("correct", None, "poorly_aligned"): 1,
    }  # fmt: skip
    # the temporary table is gone: a second call on the same pool works
    assert _truth_cells(store, ["a"], {4: NO_ERROR}) == {("correct", None, NO_ERROR): 1}
    assert _truth_cells(store, ["a"], {900: NO_ERROR, 901: "merged"}) == {}


def test_truth_with_scattered_rows_gives_what_a_whole_table_gives(store: SessionStore) -> None:
    rng = np.random.default_rng(5)
    for sid in ("a", "b"):
        store.replace_instances(sid, _instances(300))
        store.mark_seen(sid, range(250))
        for iid in rng.choice(250, size=60, replace=False):
            store.edit(sid, int(iid), label=rng.choice([Label.INCORRECT, Label.UNSURE]))
            store.edit(sid, int(iid), category=rng.choice([Category.MERGED, Category.CUSTOM]))
    kinds = rng.choice([NO_ERROR, NO_ERROR, "merged", "false_positive"], size=400)
    labels = {
        (sid, i.instance_id): (i.label.value, None if i.category is None else i.category.value)
        for sid in ("a", "b") for i in store.instances(sid) if i.seen
    }  # fmt: skip
    whole = {r: str(kinds[r]) for r in range(0, 400)}  # one run: only errors are sent
    scattered = {r: str(kinds[r]) for r in range(0, 400, 2)}  # 200 runs: every row is sent
    for truth in (whole, scattered):
        expected: dict = {}
        for (_sid, row), (label, category) in labels.items():
            if row in truth:
                key = (label, category, truth[row])
                expected[key] = expected.get(key, 0) + 1
        assert _truth_cells(store, ["a", "b"], truth) == expected
