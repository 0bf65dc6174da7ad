"""The job service: progress as a work function reports it, the Celery queue's settings, and
resources of their own in a forked job process."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synanno_dash.services.jobs import Job, JobError, JobProgress, celery_app, worker_arguments
from synanno_dash.settings import Settings, load_settings


def _recording() -> tuple[Job, list[JobProgress]]:
    seen: list[JobProgress] = []
    return Job(seen.append), seen


def test_steps_yield_every_item_and_report_the_first_and_the_end() -> None:
    job, seen = _recording()
    items = list(range(7))
    assert list(job.steps(items, lambda i, item: f"item {i + 1}: {item}")) == items
    assert seen[0] == JobProgress(0.0, "item 1: 0")
    assert seen[-1] == JobProgress(1.0, "7 of 7 done")


def test_reports_close_together_are_merged_but_forced_and_final_ones_never() -> None:
    job, seen = _recording()
    job.report(0.1, "first", force=True)
    job.report(0.2, "dropped: right after the first")
    job.report(0.3, "forced", force=True)
    job.report(1.0, "finished")
    assert [p.text for p in seen] == ["first", "forced", "finished"]


def test_parts_map_onto_their_share_of_the_whole() -> None:
    job, seen = _recording()
    reading, writing = job.part(0.0, 0.4), job.part(0.4, 1.0)
    reading.report(0.5, "reading", force=True)
    writing.part(0.5, 1.0).report(0.0, "second half of writing", force=True)
    writing.report(1.0, "written")
    assert [p.fraction for p in seen] == pytest.approx([0.2, 0.7, 1.0])


@given(st.floats(allow_nan=False), st.floats(min_value=0, max_value=1))
def test_progress_stays_within_its_part(fraction: float, start: float) -> None:
    job, seen = _recording()
    part = job.part(start, 1.0)
    part.report(fraction, "x", force=True)
    assert start - 1e-9 <= seen[0].fraction <= 1.0 + 1e-9
    assert 0 <= seen[0].percent <= 100


def test_a_job_without_a_sink_reports_nowhere() -> None:
    assert list(Job().steps(["a", "b"], lambda i, _: str(i))) == ["a", "b"]


def test_job_errors_carry_the_users_message() -> None:
    assert str(JobError("The layer could not be written: the disk is full.")).startswith("The")


def test_the_celery_queue_acknowledges_jobs_only_when_done(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/15",
                        job_redelivery_s=42, job_worker_processes=3)  # fmt: skip
    conf = celery_app(settings).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 42
    assert conf.broker_url == "redis://127.0.0.1:6379/15"
    assert "--concurrency=3" in worker_arguments(settings)
    assert "--pool=prefork" in worker_arguments(settings)


def test_job_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNANNO_REDIS_URL", " redis://127.0.0.1:6379/3 ")
    monkeypatch.setenv("SYNANNO_JOB_REDELIVERY_S", "120")
    settings = load_settings(None)
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.job_redelivery_s == 120
    assert settings.jobs_dir == settings.data_dir / "jobs"
    monkeypatch.setenv("SYNANNO_JOB_REDELIVERY_S", "soon")
    with pytest.raises(ValueError, match="SYNANNO_JOB_REDELIVERY_S must be a whole number"):
        load_settings(None)


def _child_reads_the_store(resources, queue) -> None:  # type: ignore[no-untyped-def]
    own = resources.in_this_process()
    queue.put((own is not resources, own.in_this_process() is own,
               own.store.session_exists("a" * 24)))  # fmt: skip


def test_a_forked_job_process_gets_resources_of_its_own(resources) -> None:  # type: ignore[no-untyped-def]
    resources.store.ensure_session("a" * 24)
    assert resources.in_this_process() is resources
    fork = multiprocessing.get_context("fork")
    queue = fork.Queue()
    child = fork.Process(target=_child_reads_the_store, args=(resources, queue))
    child.start()
    separate, kept, found = queue.get(timeout=60)
    child.join(timeout=60)
    assert separate and kept and found
    # the parent's connections were left alone by the child
    assert resources.store.session_exists("a" * 24)
