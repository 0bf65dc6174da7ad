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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import DatasetConfig, Mode
from synanno_dash.core.review_stats import (
    Agreement,
    CategoryCount,
    CompartmentCounts,
    LabelCounts,
    NeuronCounts,
    SessionCounts,
    fold_custom_texts,
)
from synanno_dash.core.throughput import Throughput
from synanno_dash.data.store import SessionStore
from synanno_dash.data.store_activity import ActivityStatistics
from synanno_dash.data.volume_registry import VolumeRegistry
from synanno_dash.data.volumes import VolumeError
from synanno_dash.services.neuron import NeuronError, view_key
from synanno_dash.services.session import Session
from synanno_dash.services.statistics_accuracy import accuracy_section, find_truth
from synanno_dash.services.statistics_types import (
    AccuracyResult,
    Categories,
    Neurons,
    Positions,
    Scope,
    Section,
    StatisticsError,
    StatisticsResult,
)

__all__ = [  # the statistics view and the report need only this module
    "AccuracyResult", "Scope", "Section", "StatisticsError", "StatisticsResult",
    "collect_statistics", "same_dataset", "session_statistics",
]  # fmt: skip
TOP_NEURONS = 20
CUSTOM_TEXTS_SHOWN = 12
# Aggregates are independent queries: run them side by side (SQLite readers under WAL and
# PostgreSQL backends work in parallel; the driver releases the GIL while a query runs).
QUERY_THREADS = 3


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
    top_n = max(1, min(int(top_n), 200))
    with ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="stats") as pool:
        counts_job = pool.submit(stats.review_counts, ids)
        activity_job = pool.submit(stats.throughput, ids)
        truth_job = pool.submit(find_truth, config, ground_truth)
        pre_job = pool.submit(stats.top_neurons, ids, "pre", top_n)
        post_job = pool.submit(stats.top_neurons, ids, "post", top_n)
        agreement_job = pool.submit(_agreement, stats, ids, session_id, scope)
        counts = counts_job.result()
        per_session = _per_session(ids, counts.labels)
        overall = sum((c for c in per_session.values()), LabelCounts())
        empty = _empty_message(overall, scope)
        positions_job = pool.submit(_positions, stats, ids, overall, config, volumes, empty)
        accuracy_job = pool.submit(
            accuracy_section, stats, ids, truth_job.result(), counts, empty
        )
        activity = activity_job.result()
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
            compartments=_compartments(counts.labels, neuron_ids, config, empty),
            categories=_categories(counts.categories, neuron_ids, overall, empty),
            neurons=_neurons(pre_job.result(), post_job.result(), top_n, empty),
            positions=positions_job.result(),
            throughput=_throughput(activity),
            agreement=agreement_job.result(),
            accuracy=accuracy_job.result(),
        )


def session_statistics(
    session: Session, scope: Scope = Scope.SESSION, ground_truth: str | Path | None = None
) -> StatisticsResult:
    """What the statistics view shows for a browser session (``NoDatasetError`` without a
    dataset, like every use case)."""
    session.config  # noqa: B018 - raises NoDatasetError, the one "no dataset" error
    return collect_statistics(
        session.store, session.session_id, scope, ground_truth, session.resources.volumes
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
    pre: list[NeuronCounts], post: list[NeuronCounts], top_n: int, empty: str
) -> Section[Neurons]:
    if empty:
        return Section.empty(empty)
    if not pre and not post:
        return Section.empty(
            "The synapse table has no pre or post neuron ids, so errors cannot be counted "
            "per neuron."
        )
    return Section(Neurons(tuple(pre), tuple(post), top_n))


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
    found = stats.agreement(ids, session_id)
    if found is None:
        return Section.empty("No synapse was reviewed by two sessions: nothing to compare.")
    kappa, total, rows = found
    return Section(Agreement(kappa, len(ids), total, rows))
