"""Review statistics of a session, or of every session on its dataset: one call returns
everything the statistics view and the report show (no Dash here).

Developer notes: ``collect_statistics`` picks the sessions (the current one, or all with
the same source, target and table), asks the store for aggregates (``data.store_stats``,
``data.store_activity``: SQL ``GROUP BY``, never every instance in Python) and wraps each
figure's data in a ``Section``: its value, or the message a person reads in place of the
figure (an empty session, a volume-centric session, no ground truth...). Nothing in here
raises for a state the data can be in; only a session without a dataset is an error.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Generic, TypeVar

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import DatasetConfig, Mode
from synanno_dash.core.review_stats import (
    Agreement,
    CategoryCount,
    CompartmentCounts,
    LabelCounts,
    NeuronCounts,
    PositionSample,
    SessionCounts,
    fold_custom_texts,
)
from synanno_dash.core.statistics import Accuracy, TruthCell, score_against_truth
from synanno_dash.core.throughput import Throughput
from synanno_dash.data.ground_truth import (
    GroundTruth,
    GroundTruthError,
    find_beside_table,
    load_ground_truth,
)
from synanno_dash.data.store import SessionStore
from synanno_dash.data.store_activity import ActivityStatistics
from synanno_dash.data.store_stats import ReviewCounts
from synanno_dash.data.volumes import VolumeError, VolumeRegistry
from synanno_dash.services.neuron import NeuronError, view_key

T = TypeVar("T")
TOP_NEURONS = 20
CUSTOM_TEXTS_SHOWN = 12


class Scope(StrEnum):
    SESSION = "session"  # the current session
    DATASET = "dataset"  # every session on the same source, target and table


class StatisticsError(ValueError):
    """No statistics can be made (no such session, no dataset open); for the user."""


@dataclass(frozen=True)
class Section(Generic[T]):
    """A figure's data, or (``value`` None) the message shown in its place."""

    value: T | None
    message: str = ""

    @classmethod
    def empty(cls, message: str) -> Section[T]:
        return cls(None, message)


@dataclass(frozen=True)
class Categories:
    overall: tuple[CategoryCount, ...]
    by_compartment: tuple[CategoryCount, ...]  # empty unless neuron-centric
    flagged: int


@dataclass(frozen=True)
class Neurons:
    pre: tuple[NeuronCounts, ...]
    post: tuple[NeuronCounts, ...]
    top_n: int


@dataclass(frozen=True)
class Positions:
    sample: PositionSample
    box: BBox | None  # the dataset's box in target voxels (None: unknown, use the data's)


@dataclass(frozen=True)
class AccuracyResult:
    overall: Accuracy
    per_session: tuple[tuple[str, Accuracy], ...]
    ground_truth: Path
    unmatched_reviewed: int  # reviewed instances the ground truth has no line for
    not_in_table: int  # synapses the table misses (not scored here)


@dataclass(frozen=True)
class StatisticsResult:
    scope: Scope
    session_id: str
    config: DatasetConfig
    sessions: tuple[SessionCounts, ...]  # the sessions counted, oldest first
    neuron_sessions: tuple[str, ...]  # those on the current session's neuron (compartments)
    session_times: dict[str, tuple[float, float]]  # session -> (created, updated)
    generated_at: float
    time_span: tuple[float, float] | None  # first and last logged event
    overall: LabelCounts
    compartments: Section[tuple[CompartmentCounts, ...]]
    categories: Section[Categories]
    neurons: Section[Neurons]
    positions: Section[Positions]
    throughput: Section[Throughput]
    agreement: Section[Agreement]
    accuracy: Section[AccuracyResult]


def same_dataset(a: DatasetConfig, b: DatasetConfig) -> bool:
    return (a.source_url, a.target_url, a.table_url) == (b.source_url, b.target_url, b.table_url)


def collect_statistics(
    store: SessionStore,
    session_id: str,
    scope: Scope = Scope.SESSION,
    ground_truth: str | Path | None = None,
    volumes: VolumeRegistry | None = None,
    top_n: int = TOP_NEURONS,
) -> StatisticsResult:
    """Everything the statistics view shows. ``ground_truth``: a file, or None to look
    beside the synapse table; ``volumes``: to read the dataset's box (else the review box
    or the data's extent is used)."""
    config = store.load_config(session_id)
    if config is None:
        raise StatisticsError(
            f"Session {session_id} has no dataset open: open one on Open Data first "
            "(the session id is shown in the Menu)."
        )
    stats = ActivityStatistics(store.engine)
    configured = [(sid, c) for sid, c in stats.configured_sessions() if same_dataset(c, config)]
    if scope is Scope.DATASET:
        ids = [sid for sid, _c in configured] or [session_id]
    else:
        ids = [session_id]
    neuron_ids = _same_neuron(config, session_id, configured, ids)
    counts = stats.review_counts(ids)
    rows = counts.labels
    per_session = _per_session(ids, rows)
    overall = sum((c for c in per_session.values()), LabelCounts())
    empty = _empty_message(overall, scope)
    activity = stats.throughput(ids)
    return StatisticsResult(
        scope=scope,
        session_id=session_id,
        config=config,
        sessions=tuple(SessionCounts(s, per_session[s]) for s in ids),
        neuron_sessions=tuple(neuron_ids),
        session_times=stats.session_times(ids),
        generated_at=time.time(),
        time_span=activity.span_s,
        overall=overall,
        compartments=_compartments(rows, neuron_ids, config, empty),
        categories=_categories(counts.categories, neuron_ids, overall, empty),
        neurons=_neurons(stats, ids, top_n, empty),
        positions=_positions(stats, ids, overall, config, volumes, empty),
        throughput=_throughput(activity),
        agreement=_agreement(stats, ids, session_id, scope),
        accuracy=_accuracy(stats, ids, config, ground_truth, counts, empty),
    )


def _same_neuron(
    config: DatasetConfig,
    session_id: str,
    configured: list[tuple[str, DatasetConfig]],
    ids: list[str],
) -> list[str]:
    """The sessions whose compartments are those of the current session's neuron."""
    if config.mode is not Mode.NEURON:
        return []
    try:
        key = view_key(config)
    except NeuronError:
        return []
    same = {session_id}
    for sid, other in configured:
        try:
            if other.mode is Mode.NEURON and view_key(other) == key:
                same.add(sid)
        except NeuronError:
            continue
    return [sid for sid in ids if sid in same]


def _per_session(
    ids: list[str], rows: list[tuple[str, int | None, LabelCounts]]
) -> dict[str, LabelCounts]:
    totals = dict.fromkeys(ids, LabelCounts())
    for sid, _k, counts in rows:
        totals[sid] = totals[sid] + counts
    return totals


def _empty_message(overall: LabelCounts, scope: Scope) -> str:
    if overall.total == 0:
        return (
            "This session has no synapses to review: submit Open Data with a box, a neuron "
            "or the whole table first."
            if scope is Scope.SESSION
            else "No session on this dataset has synapses to review yet."
        )
    if overall.seen == 0:
        return "Nothing has been reviewed yet: open the review grid and label a page first."
    return ""


def _compartments(
    rows: list[tuple[str, int | None, LabelCounts]],
    neuron_ids: list[str],
    config: DatasetConfig,
    empty: str,
) -> Section[tuple[CompartmentCounts, ...]]:
    if config.mode is not Mode.NEURON:
        return Section.empty(
            "This session is volume-centric: statistics per compartment need a neuron-centric "
            "session (Open Data, Neuron-centric)."
        )
    if empty:
        return Section.empty(empty)
    by_compartment: dict[int, LabelCounts] = {}
    chosen = set(neuron_ids)
    for sid, k, counts in rows:
        if sid in chosen and k is not None:
            by_compartment[k] = by_compartment.get(k, LabelCounts()) + counts
    if not by_compartment:
        return Section.empty("No synapse of this session lies on a compartment of the neuron.")
    # compartments are numbered along the skeleton traversal (docs/compartments.md)
    return Section(tuple(CompartmentCounts(k, by_compartment[k]) for k in sorted(by_compartment)))


def _categories(
    rows: list[tuple[str, CategoryCount]],
    neuron_ids: list[str],
    overall: LabelCounts,
    empty: str,
) -> Section[Categories]:
    if empty:
        return Section.empty(empty)
    if overall.flagged == 0:
        return Section.empty("No reviewed synapse is flagged incorrect or unsure yet.")
    on_neuron = set(neuron_ids)
    whole = _merged(c for _sid, c in rows)
    per_compartment = _merged((c for sid, c in rows if sid in on_neuron), by_compartment=True)
    return Section(
        Categories(
            tuple(fold_custom_texts(whole, CUSTOM_TEXTS_SHOWN)),
            tuple(fold_custom_texts(per_compartment, CUSTOM_TEXTS_SHOWN)),
            overall.flagged,
        )
    )


def _merged(counts: Iterable[CategoryCount], by_compartment: bool = False) -> list[CategoryCount]:
    """Sum over sessions (and compartments unless ``by_compartment``); Custom texts that
    differ only in case or spaces are one category, shown as first met."""
    sums: dict[tuple[int | None, str | None, str], CategoryCount] = {}
    for c in counts:
        k = c.compartment if by_compartment else None
        if by_compartment and k is None:
            continue
        key = (k, c.category, c.custom_text.strip().lower())
        known = sums.get(key)
        text = c.custom_text if known is None else known.custom_text
        sums[key] = CategoryCount(k, c.category, text, c.count + (known.count if known else 0))
    return list(sums.values())


def _neurons(
    stats: ActivityStatistics, ids: list[str], top_n: int, empty: str
) -> Section[Neurons]:
    if empty:
        return Section.empty(empty)
    top_n = max(1, min(int(top_n), 200))
    pre = tuple(stats.top_neurons(ids, "pre", top_n))
    post = tuple(stats.top_neurons(ids, "post", top_n))
    if not pre and not post:
        return Section.empty(
            "The synapse table has no pre or post neuron ids, so errors cannot be counted "
            "per neuron."
        )
    return Section(Neurons(pre, post, top_n))


def _positions(
    stats: ActivityStatistics,
    ids: list[str],
    overall: LabelCounts,
    config: DatasetConfig,
    volumes: VolumeRegistry | None,
    empty: str,
) -> Section[Positions]:
    if empty:
        return Section.empty(empty)
    totals = {"correct": overall.correct, "incorrect": overall.incorrect, "unsure": overall.unsure}
    sample = stats.position_sample(ids, totals)
    return Section(Positions(sample, _dataset_box(config, volumes)))


def _dataset_box(config: DatasetConfig, volumes: VolumeRegistry | None) -> BBox | None:
    if volumes is not None:
        try:
            return volumes.get(config).target_bounds
        except VolumeError:
            pass  # unreachable data: fall back to the review box or the points' extent
    return config.bbox_target_vx


def _throughput(result: Throughput) -> Section[Throughput]:
    if not result.has_activity:
        return Section.empty(
            "No review activity is logged yet: throughput counts pages shown on the review "
            "grid and edits made since this version (older sessions have no page log)."
        )
    return Section(result)


def _agreement(
    stats: ActivityStatistics, ids: list[str], session_id: str, scope: Scope
) -> Section[Agreement]:
    if scope is Scope.SESSION:
        return Section.empty(
            "Agreement compares sessions: switch to all sessions on this dataset."
        )
    if len(ids) < 2:
        return Section.empty("Only one session reviewed this dataset: nothing to compare.")
    found = stats.agreement_kappa(ids)
    if found is None:
        return Section.empty("No synapse was reviewed by two sessions: nothing to compare.")
    kappa, sharing = found
    total, rows = stats.disagreements(ids, session_id)
    return Section(Agreement(kappa, sharing, total, rows))


def _accuracy(
    stats: ActivityStatistics,
    ids: list[str],
    config: DatasetConfig,
    path: str | Path | None,
    counts: ReviewCounts,
    empty: str,
) -> Section[AccuracyResult]:
    if path is None or str(path) == "":
        path = find_beside_table(config.table_url)
        if path is None:
            return Section.empty(
                "No ground truth for this dataset: put ground_truth.csv beside the synapse "
                "table (format in docs/formats.md) to score the review against it."
            )
    try:
        truth = load_ground_truth(path)
    except GroundTruthError as exc:
        return Section.empty(str(exc))
    if empty:
        return Section.empty(empty)
    return _scored(stats, ids, truth, counts)


def _scored(
    stats: ActivityStatistics, ids: list[str], truth: GroundTruth, counts: ReviewCounts
) -> Section[AccuracyResult]:
    cells = stats.truth_cells(ids, truth.rows, truth.errors, counts.seen_cells)
    reviewed = sum(counts.seen_cells.values())
    matched = sum(cell.count for _sid, cell in cells)
    if matched == 0:
        return Section.empty(
            f"The table rows of {truth.path.name} match none of the reviewed synapses: is it "
            "the ground truth of another table? (materialization_index must be the synapse "
            "table's row id.)"
        )
    by_session: dict[str, list[TruthCell]] = {}
    for sid, cell in cells:
        by_session.setdefault(sid, []).append(cell)
    return Section(
        AccuracyResult(
            overall=score_against_truth(cell for _sid, cell in cells),
            per_session=tuple(
                (sid, score_against_truth(by_session[sid])) for sid in ids if sid in by_session
            ),
            ground_truth=truth.path,
            unmatched_reviewed=reviewed - matched,
            not_in_table=truth.not_in_table,
        )
    )
