"""The statistics view's background job on the demo: started, finished, replaced,
cancelled before it runs; no dataset is the one "no dataset" error."""

from __future__ import annotations

import threading

import pytest

from synanno_dash.services import review
from synanno_dash.services.session import NoDatasetError, open_session
from synanno_dash.services.statistics import Scope
from synanno_dash.services.statistics_jobs import (
    JobState,
    cancel_statistics,
    finished_result,
    job_status,
    start_statistics,
)


def test_a_job_finishes_with_the_statistics_of_the_session(neuron_session) -> None:  # type: ignore[no-untyped-def]
    session = neuron_session.session
    items = review.load_page(session, 1).instances
    review.cycle_label(session, items[0].instance_id)
    started = start_statistics(
        session, Scope.SESSION, present=lambda r: ("shown", r.overall.seen), wait_s=0
    )
    assert started.state in (JobState.RUNNING, JobState.DONE)
    neuron_session.resources.wait_for_background()
    done = job_status(neuron_session.session, started.token)
    assert done.state is JobState.DONE and done.result is not None
    assert done.result.overall.seen == len(items) and done.result.overall.incorrect == 1
    assert done.presented == ("shown", len(items))  # built in the job, not by the poller
    assert finished_result(neuron_session.session, started.token) is done.result
    # a new start replaces it: the old token is gone, with a message saying what to do
    newer = start_statistics(neuron_session.session, Scope.DATASET)
    neuron_session.resources.wait_for_background()
    old = job_status(neuron_session.session, started.token)
    assert old.state is JobState.GONE and "Refresh" in old.message
    assert job_status(neuron_session.session, newer.token).scope is Scope.DATASET


def test_a_cancelled_job_never_runs(neuron_session) -> None:  # type: ignore[no-untyped-def]
    resources = neuron_session.resources
    release = threading.Event()
    busy = [resources.run_in_background(release.wait, 30) for _ in range(2)]  # both workers
    try:
        job = start_statistics(neuron_session.session, Scope.SESSION, wait_s=0)
        assert job.state is JobState.RUNNING
        assert cancel_statistics(neuron_session.session, job.token)
        assert not cancel_statistics(neuron_session.session, job.token)  # once
        assert job_status(neuron_session.session, job.token).state is JobState.GONE
    finally:
        release.set()
        for future in busy:
            future.result(timeout=30)
    resources.wait_for_background()
    assert job_status(neuron_session.session, job.token).state is JobState.GONE
    assert finished_result(neuron_session.session, job.token) is None


def test_no_dataset_is_the_one_no_dataset_error(neuron_session) -> None:  # type: ignore[no-untyped-def]
    stranger = open_session(neuron_session.resources, "never-opened-anything")
    with pytest.raises(NoDatasetError):
        start_statistics(stranger, Scope.SESSION)
    assert job_status(stranger, "no-such-token").state is JobState.GONE
