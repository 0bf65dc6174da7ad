"""Value types of review statistics: the counts the session store aggregates and what is
derived from them (rates, throughput). Pure: no I/O.

Definitions used throughout (and in the report's notes):
- *reviewed* = seen: the instance was shown on a grid page;
- *flagged* = reviewed and labelled incorrect or unsure; the *error rate* is flagged over
  reviewed, with its 95 % Wilson interval;
- throughput is in ``synanno_dash.core.throughput``.
"""

from __future__ import annotations

from dataclasses import dataclass

from synanno_dash.core.geometry import Triple
from synanno_dash.core.labels import CATEGORY_TITLES, Category, Label
from synanno_dash.core.statistics import Kappa, Proportion

OTHER_CUSTOM_TEXT = "(other texts)"
NO_CATEGORY = "(no category)"


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
class Disagreement:
    """One table row that sessions labelled differently."""

    materialization_index: int
    votes: dict[str, int]  # label value -> sessions
    instance_id: int | None  # the row's instance in the current session, if it has one


@dataclass(frozen=True)
class Agreement:
    kappa: Kappa
    n_sessions: int  # sessions compared
    disagreements_total: int
    disagreements: tuple[Disagreement, ...]  # the first ones, by table row

    @property
    def agreeing(self) -> int:
        return self.kappa.n_items - self.disagreements_total


LABEL_ORDER = tuple(label.value for label in Label)
