"""Throughput rules on hand-built activity logs with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synanno_dash.core.throughput import IDLE_GAP_S, View, rate_bins, throughput_of

G, C, D = View.GRID, View.CATEGORIZE, View.DRAWING


def test_a_log_with_a_pause() -> None:
    # 0 page (6) | 60 page (3) | 90 click | 120 page (6) | 1120 page (6) after 1000 s away |
    # 1150, 1160 categorize | 1200, 1210 drawing
    log = [("a", 0.0, G, 6), ("a", 60.0, G, 3), ("a", 90.0, G, 0), ("a", 120.0, G, 6),
           ("a", 1120.0, G, 6), ("a", 1150.0, C, 0), ("a", 1160.0, C, 0), ("a", 1200.0, D, 0),
           ("a", 1210.0, D, 0)]  # fmt: skip
    t = throughput_of(reversed(log))  # any order
    views = {v.view: v for v in t.per_view}
    assert (views[G].active_s, views[G].idle_gaps, views[G].idle_s) == (120.0, 1, 1000.0)
    assert (views[C].active_s, views[C].events) == (40.0, 2)
    assert (views[D].active_s, views[D].events) == (50.0, 2)
    assert t.reviewed == 21 and t.reviewed_per_active_minute == pytest.approx(10.5)
    # page 1: 60 s / 6; page 2: 30 + 30 s / 3; page 3 has the pause; page 4 is the last
    assert t.time_per_instance == {10.0: 6, 20.0: 3}
    assert (t.median_s, t.p90_s, t.untimed_pages) == (10.0, 20.0, 2)
    assert [(b.start_s, b.reviewed) for b in t.bins] == [
        (0.0, 6), (60.0, 3), (120.0, 6), (1080.0, 6)
    ]
    assert t.idle_note == "1 pause over 5 minutes (17 min in all) left out."
    assert t.span_s == (0.0, 1210.0)


def test_sessions_keep_their_own_timelines() -> None:
    log = [("a", 0.0, G, 2), ("a", 20.0, G, 2), ("a", 40.0, G, 1),
           ("b", 10.0, G, 4), ("b", 2000.0, G, 2), ("b", 2040.0, G, 1)]  # fmt: skip
    t = throughput_of(log)
    grid = t.per_view[0]
    assert (grid.view, grid.active_s, grid.idle_gaps) == (G, 80.0, 1)
    assert t.time_per_instance == {10.0: 4, 20.0: 2}
    assert t.untimed_pages == 3 and t.reviewed == 12


def test_exactly_five_minutes_is_not_a_pause_and_no_log_is_quiet() -> None:
    t = throughput_of([("a", 0.0, G, 1), ("a", IDLE_GAP_S, G, 1), ("a", IDLE_GAP_S + 1, G, 1)])
    assert t.idle_gaps == 0 and t.time_per_instance == {300.0: 1, 1.0: 1}
    empty = throughput_of([])
    assert not empty.has_activity and empty.bins == () and empty.median_s is None
    assert empty.span_s is None
    edits_only = throughput_of([("a", 5.0, C, 0), ("a", 9.0, C, 0)])
    assert edits_only.has_activity and edits_only.reviewed == 0
    assert edits_only.per_view[1].active_s == 4.0


def test_rate_bins_widen_for_long_spans() -> None:
    bins = rate_bins(np.arange(24) * 3600.0, np.full(24, 10))
    assert bins[0].width_s == 600 and sum(b.reviewed for b in bins) == 240
    assert all(b.per_minute == 1.0 for b in bins)


def _reference(events: list, idle_gap_s: float = IDLE_GAP_S) -> dict:
    """The rules written plainly, event by event (the vectorised code must agree)."""
    active = dict.fromkeys(View, 0.0)
    idle = dict.fromkeys(View, 0)
    sizes, times, paused, last = {}, {}, set(), {}
    ordered = sorted(events, key=lambda e: (e[0], e[1], -e[3]))
    for sid, at, view, shown in ordered:
        page = last.get(sid, (None, 0))[1]
        if sid in last:
            gap = at - last[sid][0]
            if gap > idle_gap_s:
                idle[view] += 1
                if view is G:
                    paused.add((sid, page))
            else:
                active[view] += gap
                if view is G:
                    times[(sid, page)] = times.get((sid, page), 0.0) + gap
        if shown:
            page += 1
            sizes[(sid, page)] = shown
        last[sid] = (at, page)
    histogram: dict = {}
    for key, size in sizes.items():
        if key in paused or key[1] == last[key[0]][1]:
            continue
        value = round(round(times.get(key, 0.0) / size / 0.1) * 0.1, 6)
        histogram[value] = histogram.get(value, 0) + size
    return {"active": active, "idle": idle, "histogram": histogram}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 5000).map(float),
            st.sampled_from(list(View)),
            st.integers(0, 30),
        ),
        max_size=60,
    )
)
def test_vectorised_rules_equal_the_plain_ones(raw: list) -> None:
    events = [(s, at, G if shown else view, shown) for s, at, view, shown in raw]
    # one event per (session, time): ties between two edits have no defined order
    events = list({(s, at): (s, at, v, n) for s, at, v, n in events}.values())
    t = throughput_of(events)
    expected = _reference(events)
    for v in t.per_view:
        assert v.active_s == pytest.approx(expected["active"][v.view])
        assert v.idle_gaps == expected["idle"][v.view]
    assert t.time_per_instance == pytest.approx(expected["histogram"])
    assert t.reviewed == sum(n for _s, _a, _v, n in events)
