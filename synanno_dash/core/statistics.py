"""Statistics formulas: proportions with Wilson intervals, Cohen's and Fleiss' kappa,
precision and recall against ground truth, weighted quantiles. Pure: no I/O.

Inputs are counts, because the session store aggregates in the database
(``synanno_dash.data.store_stats``); these functions turn counts into the numbers shown.
The value types that carry the counts are in ``synanno_dash.core.review_stats``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from synanno_dash.core.labels import Label

Z_95 = 1.959963984540054  # the two-sided 95 % quantile of the standard normal
NO_ERROR = "none"  # ground truth: the row is a true synapse, correctly annotated
FLAGGED_LABELS = (Label.INCORRECT.value, Label.UNSURE.value)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (Wilson 1927; Newcombe 1998,
    method 3). Unlike the normal approximation it stays inside [0, 1] and is honest for
    the small counts of a compartment. No trials: the whole range (nothing is known)."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Proportion:
    """``count`` of ``total`` with its 95 % Wilson interval; no rate when ``total`` is 0."""

    count: int
    total: int

    def __post_init__(self) -> None:
        if self.total < 0 or not 0 <= self.count <= self.total:
            raise ValueError(f"need 0 <= count <= total, got {self.count} of {self.total}")

    @property
    def rate(self) -> float | None:
        return None if self.total == 0 else self.count / self.total

    @property
    def interval(self) -> tuple[float, float] | None:
        return None if self.total == 0 else wilson_interval(self.count, self.total)

    def __str__(self) -> str:
        if self.rate is None or self.interval is None:
            return f"{self.count} of {self.total}"
        low, high = self.interval
        return (
            f"{self.rate:.1%} ({self.count} of {self.total}; 95% CI {low:.1%}-{high:.1%})"
        )


# -- agreement ------------------------------------------------------------------------
class KappaMethod(StrEnum):
    COHEN = "cohen"
    FLEISS = "fleiss"


@dataclass(frozen=True)
class Kappa:
    """Chance-corrected agreement. ``kappa`` is None when chance agreement is 1 (every
    rating in one category), where kappa is undefined; ``observed`` still says how much
    the raters agreed."""

    method: KappaMethod
    kappa: float | None
    observed: float  # observed agreement: P_o (Cohen) or mean pairwise agreement P-bar
    expected: float  # agreement expected by chance: P_e
    n_items: int


def _kappa(method: KappaMethod, observed: float, expected: float, n_items: int) -> Kappa:
    undefined = math.isclose(expected, 1.0, rel_tol=0.0, abs_tol=1e-12)
    value = None if undefined else (observed - expected) / (1.0 - expected)
    return Kappa(method, value, observed, expected, n_items)


def cohen_kappa(matrix: Sequence[Sequence[int]]) -> Kappa:
    """Cohen's kappa (1960) of two raters from their square contingency table:
    ``matrix[i][j]`` counts items rater A put in category i and rater B in category j."""
    k = len(matrix)
    if k == 0 or any(len(row) != k for row in matrix):
        raise ValueError("Cohen's kappa needs a square table of counts")
    if any(v < 0 for row in matrix for v in row):
        raise ValueError("counts cannot be negative")
    n = sum(sum(row) for row in matrix)
    if n == 0:
        raise ValueError("Cohen's kappa needs at least one item rated by both raters")
    observed = sum(matrix[i][i] for i in range(k)) / n
    rows = [sum(row) for row in matrix]
    cols = [sum(matrix[i][j] for i in range(k)) for j in range(k)]
    expected = sum(r * c for r, c in zip(rows, cols, strict=True)) / (n * n)
    return _kappa(KappaMethod.COHEN, observed, expected, n)


def fleiss_kappa(table: Sequence[Sequence[int]]) -> Kappa:
    """Fleiss' kappa (1971) from ``table[item][category]`` = raters who chose the category.

    Items may have different numbers of raters (at least two each): each item's agreement
    is then taken over its own raters and the category shares over all ratings, which
    is exactly Fleiss' formula when every item has the same number of raters.
    """
    n_items = len(table)
    if n_items == 0:
        raise ValueError("Fleiss' kappa needs at least one item")
    widths = {len(row) for row in table}
    if len(widths) != 1:
        raise ValueError("every item needs a count for every category")
    agreement_sum = 0.0
    totals = [0] * widths.pop()
    for row in table:
        if any(v < 0 for v in row):
            raise ValueError("counts cannot be negative")
        agreement_sum += item_agreement(row)
        totals = [t + v for t, v in zip(totals, row, strict=True)]
    return fleiss_kappa_from_sums(n_items, agreement_sum, totals)


def item_agreement(counts: Sequence[int]) -> float:
    """The share of agreeing rater pairs on one item: sum n_j (n_j - 1) / (n (n - 1))."""
    n = sum(counts)
    if n < 2:
        raise ValueError(f"an item needs at least two ratings, got {n}")
    return sum(c * (c - 1) for c in counts) / (n * (n - 1))


def fleiss_kappa_from_sums(
    n_items: int, agreement_sum: float, category_totals: Sequence[int]
) -> Kappa:
    """Fleiss' kappa from its sufficient statistics (what the database aggregates):
    the number of items, the sum of their ``item_agreement`` and ratings per category."""
    ratings = sum(category_totals)
    if n_items <= 0 or ratings <= 0:
        raise ValueError("Fleiss' kappa needs at least one item with two ratings")
    observed = agreement_sum / n_items
    expected = sum((t / ratings) ** 2 for t in category_totals)
    return _kappa(KappaMethod.FLEISS, observed, expected, n_items)


# -- accuracy against ground truth ----------------------------------------------------
@dataclass(frozen=True)
class TruthCell:
    """Reviewed instances with one (label, category, true error) combination."""

    label: str
    category: str | None
    truth: str  # NO_ERROR or an injected error kind (a category value)
    count: int


@dataclass(frozen=True)
class TypeScore:
    """How a reviewer did on one injected error type."""

    error: str
    detected: Proportion  # flagged (incorrect or unsure) of the reviewed instances with it
    named: Proportion  # flagged *and* given this category, of the same instances
    category_precision: Proportion  # of the flags given this category, how many had it


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of reviewed instances: ``counts[i][j]`` has label ``labels[i]`` and truth
    ``truths[j]``."""

    labels: tuple[str, ...]
    truths: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Accuracy:
    precision: Proportion  # flags that are true errors, of all flags
    recall: Proportion  # true errors flagged, of the reviewed true errors
    per_type: tuple[TypeScore, ...]
    confusion: ConfusionMatrix
    reviewed: int  # reviewed instances that the ground truth knows


def score_against_truth(cells: Iterable[TruthCell]) -> Accuracy:
    """Precision and recall of flagged errors, overall and per injected error type."""
    cells = [c for c in cells if c.count > 0]
    flagged = [c for c in cells if c.label in FLAGGED_LABELS]
    true_flags = sum(c.count for c in flagged if c.truth != NO_ERROR)
    errors = sum(c.count for c in cells if c.truth != NO_ERROR)
    kinds = sorted({c.truth for c in cells} - {NO_ERROR})
    per_type = tuple(_type_score(kind, cells, flagged) for kind in kinds)
    return Accuracy(
        precision=Proportion(true_flags, sum(c.count for c in flagged)),
        recall=Proportion(true_flags, errors),
        per_type=per_type,
        confusion=confusion_matrix(cells),
        reviewed=sum(c.count for c in cells),
    )


def _type_score(kind: str, cells: list[TruthCell], flagged: list[TruthCell]) -> TypeScore:
    having = sum(c.count for c in cells if c.truth == kind)
    detected = sum(c.count for c in flagged if c.truth == kind)
    named = sum(c.count for c in flagged if c.truth == kind and c.category == kind)
    claimed = sum(c.count for c in flagged if c.category == kind)
    return TypeScore(
        kind, Proportion(detected, having), Proportion(named, having), Proportion(named, claimed)
    )


def confusion_matrix(cells: Iterable[TruthCell]) -> ConfusionMatrix:
    cells = list(cells)
    labels = tuple(label.value for label in Label)
    truths = (NO_ERROR, *sorted({c.truth for c in cells} - {NO_ERROR}))
    counts: dict[tuple[str, str], int] = {}
    for c in cells:
        counts[(c.label, c.truth)] = counts.get((c.label, c.truth), 0) + c.count
    return ConfusionMatrix(
        labels,
        truths,
        tuple(tuple(counts.get((lab, tru), 0) for tru in truths) for lab in labels),
    )


# -- distributions --------------------------------------------------------------------
def weighted_quantile(weights_by_value: Mapping[float, int], q: float) -> float | None:
    """The ``q`` quantile of values repeated by their weights (the inverted CDF: the
    smallest value whose cumulative weight reaches ``q`` of the total); None if empty."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile lies in [0, 1], got {q}")
    items = sorted((v, w) for v, w in weights_by_value.items() if w > 0)
    total = sum(w for _, w in items)
    if total == 0:
        return None
    target = q * total
    running = 0
    for value, weight in items:
        running += weight
        if running >= target and running > 0:
            return value
    return items[-1][0]


# A review's wall-clock span is cut into at most this many bins for the rate over time.
MAX_RATE_BINS = 240
_BIN_WIDTHS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def rate_bin_width_s(span_s: float, max_bins: int = MAX_RATE_BINS) -> int:
    """The narrowest bin (one minute or wider) that cuts ``span_s`` into ``max_bins``."""
    for width in _BIN_WIDTHS_S:
        if span_s / width < max_bins:
            return width
    days = math.ceil(span_s / (max_bins * 86400)) + 1
    return days * 86400
