"""Value types of review statistics: the counts the session store aggregates and what is
derived from them (rates, throughput). Pure: no I/O.

Definitions used throughout (and in the report's notes):
- *reviewed* = seen: the instance was shown on a grid page;
- *flagged* = reviewed and labelled incorrect or unsure; the *error rate* is flagged over
  reviewed, with its 95 % Wilson interval;
- throughput comes from the activity log: the time an instance was first shown and the
  edits (label clicks on the grid, categories and notes on Categorize, strokes and
  markers on the drawing view). The time between two events is counted for the view of
  the later one; a gap over ``IDLE_GAP_S`` is idle: left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from synanno_dash.core.geometry import Triple
from synanno_dash.core.labels import CATEGORY_TITLES, Category, Label
from synanno_dash.core.statistics import Kappa, Proportion, weighted_quantile

IDLE_GAP_S = 300.0  # a pause longer than five minutes is not review time
OTHER_CUSTOM_TEXT = "(other texts)"
NO_CATEGORY = "(no category)"


class View(StrEnum):
    """Where an event happened (the order is the workflow's)."""

    GRID = "grid"
    CATEGORIZE = "categorize"
    DRAWING = "drawing"


@dataclass(frozen=True)
class LabelCounts:
    """Instances of a scope (a session, a compartment, a neuron...)."""

    total: int = 0
    seen: int = 0
    incorrect: int = 0  # seen and labelled incorrect
    unsure: int = 0  # seen and labelled unsure
    discarded: int = 0  # seen and discarded as false positives on Categorize

    @property
    def flagged(self) -> int:
        return self.incorrect + self.unsure

    @property
    def correct(self) -> int:
        return self.seen - self.flagged

    @property
    def error_rate(self) -> Proportion:
        return Proportion(self.flagged, self.seen)

    @property
    def progress(self) -> Proportion:
        return Proportion(self.seen, self.total)

    def __add__(self, other: LabelCounts) -> LabelCounts:
        return LabelCounts(
            self.total + other.total,
            self.seen + other.seen,
            self.incorrect + other.incorrect,
            self.unsure + other.unsure,
            self.discarded + other.discarded,
        )


@dataclass(frozen=True)
class CompartmentCounts:
    compartment: int  # numbered along the skeleton traversal (docs/compartments.md)
    counts: LabelCounts


@dataclass(frozen=True)
class SessionCounts:
    session_id: str
    counts: LabelCounts


@dataclass(frozen=True)
class CategoryCount:
    """Flagged instances with one error category (per compartment, or overall: None)."""

    compartment: int | None
    category: str | None  # a Category value; None = flagged but not categorized
    custom_text: str  # the text of a Custom category ("" otherwise)
    count: int

    @property
    def title(self) -> str:
        return category_title(self.category, self.custom_text)


def category_title(category: str | None, custom_text: str = "") -> str:
    """The name a person reads: the taxonomy's title, ``Custom: <text>``, or none."""
    if category is None:
        return NO_CATEGORY
    try:
        known = Category(category)
    except ValueError:
        return category
    if known is Category.CUSTOM:
        return f"Custom: {custom_text}" if custom_text else "Custom"
    return CATEGORY_TITLES[known]


def fold_custom_texts(counts: list[CategoryCount], keep: int) -> list[CategoryCount]:
    """Keep the ``keep`` most frequent Custom texts; the rest become one "other" group."""
    totals: dict[str, int] = {}
    for c in counts:
        if c.category == Category.CUSTOM.value:
            totals[c.custom_text] = totals.get(c.custom_text, 0) + c.count
    kept = set(sorted(totals, key=lambda t: (-totals[t], t))[:keep])
    merged: dict[tuple[int | None, str | None, str], int] = {}
    for c in counts:
        text = c.custom_text
        if c.category == Category.CUSTOM.value and text not in kept:
            text = OTHER_CUSTOM_TEXT
        key = (c.compartment, c.category, text)
        merged[key] = merged.get(key, 0) + c.count
    return [CategoryCount(k, cat, text, n) for (k, cat, text), n in merged.items()]


@dataclass(frozen=True)
class NeuronCounts:
    neuron_id: int
    reviewed: int
    flagged: int

    @property
    def error_rate(self) -> Proportion:
        return Proportion(self.flagged, self.reviewed)


@dataclass(frozen=True)
class PositionSample:
    """Centres (target voxels, x, y, z) of reviewed instances per label: all of them, or an
    even sample when there are more than the figure can show (``shown`` < ``total``)."""

    points: dict[str, tuple[Triple, ...]]  # label value -> centres
    totals: dict[str, int]  # label value -> reviewed instances with it

    def shown(self, label: str) -> int:
        return len(self.points.get(label, ()))

    @property
    def is_sampled(self) -> bool:
        return any(self.shown(k) < n for k, n in self.totals.items())

    @property
    def is_empty(self) -> bool:
        return not any(self.points.values())


@dataclass(frozen=True)
class ViewTime:
    view: View
    active_s: float  # time before this view's events, idle gaps left out
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
    # time per instance: per-instance seconds (0.1 s steps) -> instances
    time_per_instance: dict[float, int] = field(default_factory=dict)
    untimed_pages: int = 0  # a session's last page, or a page with an idle gap

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


@dataclass(frozen=True)
class Disagreement:
    """One table row that sessions labelled differently."""

    materialization_index: int
    votes: dict[str, int]  # label value -> sessions
    instance_id: int | None  # the row's instance in the current session, if it has one


@dataclass(frozen=True)
class Agreement:
    kappa: Kappa
    n_sessions: int  # sessions with at least one shared reviewed instance
    disagreements_total: int
    disagreements: tuple[Disagreement, ...]  # the first ones, by table row

    @property
    def agreeing(self) -> int:
        return self.kappa.n_items - self.disagreements_total


LABEL_ORDER = tuple(label.value for label in Label)
