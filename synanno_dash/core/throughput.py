"""Review throughput from the activity log. Pure: no I/O.

The log is a list of events per session: a grid page first shown (with how many instances
it showed: ``seen_events`` grouped by time) and every edit, each with the view it happened
on (label clicks on the grid; categories, notes and discards on Categorize; strokes and
markers on the drawing view). The rules:

1. The time between two events of a session is counted for the view of the later one (the
   time it took to make that action). Sessions have their own timelines: interleaving two
   sessions never makes a gap.
2. A gap over ``IDLE_GAP_S`` is a pause: it is left out of every time and counted, so the
   view can say so.
3. *Time per instance*: a page's grid time (the gaps before its label clicks and before the
   next page is shown) divided by its instances. A session's last page (its end is unknown)
   and a page with a pause are not timed; they are counted as untimed.
4. *Reviewed per minute over time*: instances first shown per bin of wall-clock time (bins of
   one minute or wider, at most ``MAX_RATE_BINS``), bins without a showing left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from synanno_dash.core.statistics import rate_bin_width_s, weighted_quantile

IDLE_GAP_S = 300.0  # a pause longer than five minutes is not review time
TIME_STEP_S = 0.1  # resolution of the time-per-instance distribution


class View(StrEnum):
    """Where an event happened (the order is the workflow's)."""

    GRID = "grid"
    CATEGORIZE = "categorize"
    DRAWING = "drawing"


# (session, time in epoch seconds, view, instances first shown: > 0 for a page showing)
ActivityEvent = tuple[str, float, View, int]


@dataclass(frozen=True)
class ViewTime:
    view: View
    active_s: float  # time before this view's events, pauses left out
    events: int
    idle_gaps: int
    idle_s: float


@dataclass(frozen=True)
class RateBin:
    start_s: float  # epoch seconds
    width_s: float
    reviewed: int  # instances first shown in the bin

    @property
    def per_minute(self) -> float:
        return self.reviewed / (self.width_s / 60.0)


@dataclass(frozen=True)
class Throughput:
    reviewed: int  # instances whose first showing was logged
    per_view: tuple[ViewTime, ...]
    bins: tuple[RateBin, ...]
    # time per instance: seconds (``TIME_STEP_S`` steps) -> instances
    time_per_instance: dict[float, int] = field(default_factory=dict)
    untimed_pages: int = 0  # a session's last page, or a page with a pause
    span_s: tuple[float, float] | None = None  # first and last event, epoch seconds

    @property
    def active_s(self) -> float:
        return sum(v.active_s for v in self.per_view)

    @property
    def idle_gaps(self) -> int:
        return sum(v.idle_gaps for v in self.per_view)

    @property
    def idle_s(self) -> float:
        return sum(v.idle_s for v in self.per_view)

    @property
    def has_activity(self) -> bool:
        return self.reviewed > 0 or any(v.events for v in self.per_view)

    @property
    def reviewed_per_active_minute(self) -> float | None:
        grid_s = sum(v.active_s for v in self.per_view if v.view is View.GRID)
        return None if grid_s <= 0 else self.reviewed / (grid_s / 60.0)

    @property
    def median_s(self) -> float | None:
        return weighted_quantile(self.time_per_instance, 0.5)

    @property
    def p90_s(self) -> float | None:
        return weighted_quantile(self.time_per_instance, 0.9)

    @property
    def timed_instances(self) -> int:
        return sum(self.time_per_instance.values())

    @property
    def idle_note(self) -> str:
        if self.idle_gaps == 0:
            return "No pause over 5 minutes."
        minutes = self.idle_s / 60.0
        return (
            f"{self.idle_gaps} pause{'s' if self.idle_gaps != 1 else ''} over 5 minutes "
            f"({minutes:.0f} min in all) left out."
        )


class _Sums:
    """Running sums of one view."""

    def __init__(self) -> None:
        self.active_s, self.events, self.idle_gaps, self.idle_s = 0.0, 0, 0, 0.0


def throughput_of(events: Iterable[ActivityEvent], idle_gap_s: float = IDLE_GAP_S) -> Throughput:
    """Apply the module's rules to an activity log (any order)."""
    ordered = sorted(events, key=lambda e: (e[0], e[1], -e[3]))
    sums = {view: _Sums() for view in View}
    page_size: dict[tuple[str, int], int] = {}
    page_time: dict[tuple[str, int], float] = {}
    untimed: set[tuple[str, int]] = set()
    showings: list[tuple[float, int]] = []
    session, page, previous = None, 0, 0.0
    for sid, at, view, shown in ordered:
        if sid != session:
            if session is not None and page:
                untimed.add((session, page))  # the last page: its end is unknown
            session, page, previous = sid, 0, at
        else:
            gap, where = at - previous, (sid, page)
            view_sums = sums[view]
            if gap > idle_gap_s:
                view_sums.idle_gaps += 1
                view_sums.idle_s += gap
                if view is View.GRID:
                    untimed.add(where)
            else:
                view_sums.active_s += gap
                if view is View.GRID:
                    page_time[where] = page_time.get(where, 0.0) + gap
            previous = at
        sums[view].events += 1
        if shown > 0:
            page += 1
            page_size[(sid, page)] = shown
            showings.append((at, shown))
    if session is not None and page:
        untimed.add((session, page))
    histogram: dict[float, int] = {}
    for key, size in page_size.items():
        if key not in untimed:
            step = round(page_time.get(key, 0.0) / size / TIME_STEP_S) * TIME_STEP_S
            histogram[round(step, 6)] = histogram.get(round(step, 6), 0) + size
    return Throughput(
        reviewed=sum(page_size.values()),
        per_view=tuple(
            ViewTime(v, s.active_s, s.events, s.idle_gaps, s.idle_s) for v, s in sums.items()
        ),
        bins=rate_bins(showings),
        time_per_instance=histogram,
        untimed_pages=len(untimed & page_size.keys()),
        span_s=(min(e[1] for e in ordered), max(e[1] for e in ordered)) if ordered else None,
    )


def rate_bins(showings: list[tuple[float, int]]) -> tuple[RateBin, ...]:
    """Instances first shown per bin, from (time, instances) of each page showing."""
    if not showings:
        return ()
    first = min(at for at, _n in showings)
    width = rate_bin_width_s(max(at for at, _n in showings) - first)
    counts: dict[int, int] = {}
    for at, n in showings:
        index = int((at - first) // width)
        counts[index] = counts.get(index, 0) + n
    return tuple(RateBin(first + i * width, float(width), counts[i]) for i in sorted(counts))
