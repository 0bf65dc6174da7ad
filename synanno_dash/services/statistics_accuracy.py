"""Accuracy of a review against the dataset's ground truth (statistics service part)."""

from __future__ import annotations

from pathlib import Path

from synanno_dash.core.instances import DatasetConfig
from synanno_dash.core.statistics import TruthCell, score_against_truth
from synanno_dash.data.ground_truth import (
    GroundTruth,
    GroundTruthError,
    find_beside_table,
    load_ground_truth,
)
from synanno_dash.data.store_activity import ActivityStatistics
from synanno_dash.data.store_stats import ReviewCounts
from synanno_dash.services.statistics_types import AccuracyResult, Section


def find_truth(config: DatasetConfig, path: str | Path | None) -> GroundTruth | str:
    """The ground truth (a file, or None to look beside the synapse table), or the message
    shown in place of the accuracy figures."""
    if path is None or str(path) == "":
        path = find_beside_table(config.table_url)
        if path is None:
            return (
                "No ground truth for this dataset: put ground_truth.csv beside the synapse "
                "table (format in docs/formats.md) to score the review against it."
            )
    try:
        return load_ground_truth(path)
    except GroundTruthError as exc:
        return str(exc)


def accuracy_section(
    stats: ActivityStatistics,
    ids: list[str],
    truth: GroundTruth | str,
    counts: ReviewCounts,
    empty: str,
) -> Section[AccuracyResult]:
    if isinstance(truth, str):
        return Section.empty(truth)
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
