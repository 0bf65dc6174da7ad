"""The statistics view's job on the demo: real progress (aggregates and figures done out of
all), a result kept per version of the data (read back while nothing changed, recomputed
after a label click), Cancel stopping the job and its queries, and a report asked for a
result no longer kept saying so (tests/ui/test_stats_jobs.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from synanno_dash.services import review
from synanno_dash.services.jobs import Job, JobCancelled, JobProgress, session_stop_signal
from synanno_dash.services.session import NoDatasetError, open_session
from synanno_dash.services.statistics import AGGREGATES, Scope
from synanno_dash.services.statistics_cache import (
    forget_statistics,
    kept_statistics,
    statistics_for_view,
)


def _recording(session, name: str = "stats-test") -> tuple[Job, list[JobProgress]]:  # type: ignore[no-untyped-def]
    seen: list[JobProgress] = []
    signal = session_stop_signal(session, name)
    signal.clear()
    return Job(seen.append, signal=signal), seen


def test_progress_counts_the_aggregates_and_a_result_is_kept_per_data_version(  # type: ignore[no-untyped-def]
    neuron_session,
) -> None:
    session = neuron_session.session
    items = review.load_page(session, 1).instances
    review.cycle_label(session, items[0].instance_id)
    job, seen = _recording(session)
    first = statistics_for_view(session, Scope.SESSION, job)
    assert not first.reused
    assert first.result.overall.seen == len(items) and first.result.overall.incorrect == 1
    # every aggregate reported once as done, k of n, in order, with a fraction that grows
    done = [p for p in seen if "aggregates done (" in p.text]
    assert [p.text.split(" of ")[0] for p in done] == [str(k) for k in range(1, AGGREGATES + 1)]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    # nothing changed: read back, same numbers
    again = statistics_for_view(session, Scope.SESSION)
    assert again.reused and again.key == first.key
    assert again.result.overall == first.result.overall
    assert kept_statistics(session, first.key) == first.result
    # a label click changes the version: computed again, with the new count
    review.cycle_label(session, items[1].instance_id)
    changed = statistics_for_view(session, Scope.SESSION)
    assert not changed.reused and changed.key != first.key
    assert changed.result.overall.incorrect == 2
    # another scope is another result
    dataset = statistics_for_view(session, Scope.DATASET)
    assert dataset.key != changed.key and dataset.result.scope is Scope.DATASET


def test_a_result_is_read_only_by_its_browser_session(neuron_session) -> None:  # type: ignore[no-untyped-def]
    session = neuron_session.session
    shown = statistics_for_view(session, Scope.SESSION)
    stranger = open_session(neuron_session.resources, "someone-else")
    assert kept_statistics(stranger, shown.key) is None
    for crafted in ("", "../../etc/passwd", "x" * 500, shown.key + "/.."):
        assert kept_statistics(session, crafted) is None
    forget_statistics(session, shown.key)
    assert kept_statistics(session, shown.key) is None


def test_results_past_the_limit_are_no_longer_kept(neuron_session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    session = neuron_session.session
    settings = replace(session.resources.settings, max_statistics=1)
    monkeypatch.setattr(neuron_session.resources, "settings", settings)
    oldest = statistics_for_view(session, Scope.SESSION)
    newest = statistics_for_view(session, Scope.DATASET)
    assert kept_statistics(session, newest.key) is not None
    assert kept_statistics(session, oldest.key) is None


def test_cancel_during_the_aggregates_stops_the_job(neuron_session) -> None:  # type: ignore[no-untyped-def]
    """Cancel pressed once the first aggregate is done: the job stops at its next report,
    the queries still running stop, and nothing is kept."""
    session = neuron_session.session
    signal = session_stop_signal(session, "stats-cancel-test")
    signal.clear()
    reports: list[JobProgress] = []

    def sink(progress: JobProgress) -> None:
        reports.append(progress)
        if "aggregates done (" in progress.text:
            signal.request(session.store.engine)

    with pytest.raises(JobCancelled, match="(?i)cancelled"):
        statistics_for_view(session, Scope.SESSION, Job(sink, signal=signal))
    assert not any(f"{AGGREGATES} of {AGGREGATES}" in p.text for p in reports)
    signal.clear()
    job, _seen = _recording(session, "stats-cancel-test")
    assert not statistics_for_view(session, Scope.SESSION, job).reused  # nothing was kept


def test_a_cancel_before_the_start_runs_no_query(neuron_session) -> None:  # type: ignore[no-untyped-def]
    session = neuron_session.session
    job, _seen = _recording(session, "stats-early")
    assert job.signal is not None
    job.signal.request(session.store.engine)
    with pytest.raises(JobCancelled):
        statistics_for_view(session, Scope.DATASET, job)
    job.signal.clear()


def test_no_dataset_is_the_one_no_dataset_error(neuron_session) -> None:  # type: ignore[no-untyped-def]
    stranger = open_session(neuron_session.resources, "never-opened-anything")
    with pytest.raises(NoDatasetError):
        statistics_for_view(stranger, Scope.SESSION)
