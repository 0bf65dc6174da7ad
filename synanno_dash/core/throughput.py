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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

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


VIEWS = tuple(View)  # a view's code is its position here
_GRID = VIEWS.index(View.GRID)


@dataclass(frozen=True, eq=False)
class SessionLog:
    """One session's activity as arrays: event times (epoch s), view codes (positions in
    ``VIEWS``) and instances first shown (> 0 for a page showing, 0 for an edit)."""

    at_s: np.ndarray
    view: np.ndarray
    shown: np.ndarray

    @classmethod
    def of(
        cls, pages: Sequence[tuple[float, int]], edits: Sequence[tuple[float, int]]
    ) -> SessionLog:
        """From (time, instances shown) per page and (time, view code) per edit."""
        page_arr = np.asarray(pages, dtype=np.float64).reshape(-1, 2)
        edit_arr = np.asarray(edits, dtype=np.float64).reshape(-1, 2)
        return cls(
            np.concatenate([page_arr[:, 0], edit_arr[:, 0]]),
            np.concatenate([np.full(len(page_arr), _GRID), edit_arr[:, 1]]).astype(np.int64),
            np.concatenate([page_arr[:, 1], np.zeros(len(edit_arr))]).astype(np.int64),
        )


def throughput_of(events: Iterable[ActivityEvent], idle_gap_s: float = IDLE_GAP_S) -> Throughput:
    """The rules applied to (session, time, view, shown) events in any order."""
    by_session: dict[str, tuple[list, list]] = {}
    for sid, at, view, shown in events:
        pages, edits = by_session.setdefault(sid, ([], []))
        if shown > 0:
            pages.append((at, shown))
        else:
            edits.append((at, VIEWS.index(view)))
    return throughput_of_logs(
        (SessionLog.of(pages, edits) for pages, edits in by_session.values()), idle_gap_s
    )


class _Totals:
    """What the sessions add up to."""

    def __init__(self) -> None:
        n = len(VIEWS)
        self.active, self.events = np.zeros(n), np.zeros(n, dtype=np.int64)
        self.idle_n, self.idle_s = np.zeros(n, dtype=np.int64), np.zeros(n)
        self.histogram: dict[float, int] = {}
        self.untimed = 0
        self.shown_at: list[np.ndarray] = []
        self.shown_n: list[np.ndarray] = []

    def add(self, log: SessionLog, idle_gap_s: float) -> None:
        order = np.lexsort((-log.shown, log.at_s))  # by time; a showing before an edit
        at, view, shown = log.at_s[order], log.view[order], log.shown[order]
        n = len(VIEWS)
        self.events += np.bincount(view, minlength=n)
        page = np.cumsum(shown > 0)  # pages shown so far, after each event
        gap, later = np.diff(at), view[1:]
        on_screen = page[:-1]  # the page on screen during each gap
        idle = gap > idle_gap_s
        self.active += np.bincount(later[~idle], weights=gap[~idle], minlength=n)
        self.idle_n += np.bincount(later[idle], minlength=n)
        self.idle_s += np.bincount(later[idle], weights=gap[idle], minlength=n)
        pages = int(page[-1]) if len(page) else 0
        grid = later == _GRID
        time_s = np.bincount(on_screen[grid & ~idle], weights=gap[grid & ~idle],
                             minlength=pages + 1)  # fmt: skip
        paused = np.bincount(on_screen[grid & idle], minlength=pages + 1) > 0
        size = np.zeros(pages + 1, dtype=np.int64)
        size[page[shown > 0]] = shown[shown > 0]
        timed = (size > 0) & ~paused
        timed[pages] = False  # the last page: its end is unknown
        self.untimed += int(np.sum(size > 0)) - int(timed.sum())
        steps = np.round(time_s[timed] / size[timed] / TIME_STEP_S) * TIME_STEP_S
        for value, count in zip(steps.tolist(), size[timed].tolist(), strict=True):
            key = round(value, 6)
            self.histogram[key] = self.histogram.get(key, 0) + count
        self.shown_at.append(at[shown > 0])
        self.shown_n.append(shown[shown > 0])


def throughput_of_logs(logs: Iterable[SessionLog], idle_gap_s: float = IDLE_GAP_S) -> Throughput:
    """The rules applied to each session's log, added up."""
    totals = _Totals()
    first, last = np.inf, -np.inf
    for log in logs:
        if len(log.at_s) == 0:
            continue
        totals.add(log, idle_gap_s)
        first, last = min(first, float(log.at_s.min())), max(last, float(log.at_s.max()))
    shown_at = np.concatenate(totals.shown_at) if totals.shown_at else np.zeros(0)
    shown_n = np.concatenate(totals.shown_n) if totals.shown_n else np.zeros(0, dtype=np.int64)
    return Throughput(
        reviewed=int(shown_n.sum()),
        per_view=tuple(
            ViewTime(v, float(totals.active[i]), int(totals.events[i]), int(totals.idle_n[i]),
                     float(totals.idle_s[i]))
            for i, v in enumerate(VIEWS)
        ),  # fmt: skip
        bins=rate_bins(shown_at, shown_n),
        time_per_instance=totals.histogram,
        untimed_pages=totals.untimed,
        span_s=None if first > last else (first, last),
    )


def rate_bins(at_s: np.ndarray, shown: np.ndarray) -> tuple[RateBin, ...]:
    """Instances first shown per bin, from the time and size of each page showing."""
    if len(at_s) == 0:
        return ()
    first = float(at_s.min())
    width = rate_bin_width_s(float(at_s.max()) - first)
    index = ((at_s - first) // width).astype(np.int64)
    counts = np.bincount(index, weights=shown)
    return tuple(
        RateBin(first + i * width, float(width), int(counts[i]))
        for i in np.flatnonzero(counts).tolist()
    )
