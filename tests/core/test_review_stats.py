"""Value types of the review statistics: counts, category names, throughput summaries."""

from __future__ import annotations

from synanno_dash.core.review_stats import (
    NO_CATEGORY,
    OTHER_CUSTOM_TEXT,
    CategoryCount,
    LabelCounts,
    category_title,
    fold_custom_texts,
)
from synanno_dash.core.throughput import RateBin, Throughput, View, ViewTime


def test_label_counts_add_and_derive() -> None:
    a = LabelCounts(total=10, seen=8, incorrect=2, unsure=1, discarded=1)
    b = LabelCounts(total=5, seen=5, incorrect=0, unsure=2)
    both = a + b
    assert both == LabelCounts(15, 13, 2, 3, 1)
    assert (both.flagged, both.correct) == (5, 8)
    assert (both.error_rate.count, both.error_rate.total) == (5, 13)
    assert (both.progress.count, both.progress.total) == (13, 15)


def test_category_titles() -> None:
    assert category_title("false_positive") == "False positive"
    assert category_title("custom", "membrane fold") == "Custom: membrane fold"
    assert category_title("custom") == "Custom"
    assert category_title(None) == NO_CATEGORY
    assert category_title("from_an_older_version") == "from_an_older_version"


def test_fold_custom_texts_keeps_the_most_frequent() -> None:
    counts = [
        CategoryCount(0, "custom", "a", 5),
        CategoryCount(1, "custom", "a", 1),
        CategoryCount(0, "custom", "b", 3),
        CategoryCount(0, "custom", "c", 2),
        CategoryCount(1, "custom", "d", 2),
        CategoryCount(0, "merged", "", 4),
    ]
    folded = {(c.compartment, c.category, c.custom_text): c.count
              for c in fold_custom_texts(counts, keep=2)}  # fmt: skip
    assert folded == {
        (0, "custom", "a"): 5, (1, "custom", "a"): 1, (0, "custom", "b"): 3,
        (0, "custom", OTHER_CUSTOM_TEXT): 2, (1, "custom", OTHER_CUSTOM_TEXT): 2,
        (0, "merged", ""): 4,
    }  # fmt: skip
    assert sum(folded.values()) == sum(c.count for c in counts)


def test_throughput_summary() -> None:
    t = Throughput(
        reviewed=120,
        per_view=(
            ViewTime(View.GRID, active_s=600.0, events=30, idle_gaps=1, idle_s=900.0),
            ViewTime(View.CATEGORIZE, active_s=120.0, events=10, idle_gaps=1, idle_s=400.0),
            ViewTime(View.DRAWING, 0.0, 0, 0, 0.0),
        ),
        bins=(RateBin(0.0, 120.0, 30),),
        time_per_instance={2.0: 50, 4.0: 40, 10.0: 10},
    )
    assert t.active_s == 720.0
    assert (t.idle_gaps, t.idle_s) == (2, 1300.0)
    assert t.reviewed_per_active_minute == 12.0  # 120 over 10 grid minutes
    assert (t.median_s, t.p90_s, t.timed_instances) == (2.0, 4.0, 100)
    assert t.bins[0].per_minute == 15.0
    assert t.idle_note == "2 pauses over 5 minutes (22 min in all) left out."
    quiet = Throughput(0, (), ())
    assert quiet.reviewed_per_active_minute is None and quiet.median_s is None
    assert quiet.idle_note == "No pause over 5 minutes."
