"""The statistics view's computation as a background job: started when the view opens (or
on Refresh, or when the scope changes), polled by the view, cancellable (no Dash here).

Developer notes: the dataset view of many sessions can take more than a second
(``bench/bench_stats.py``), so ``start_statistics`` hands ``collect_statistics`` to the
app's background executor and waits only briefly; the view then polls ``job_status`` with
the job's token. Each browser session keeps its latest job (running or done) in
``AppContext.statistics`` (a bounded cache), so the report download uses exactly the
numbers on screen. A new start replaces the job; a cancelled or replaced job's token is
unknown afterwards, and its result, should the queries still finish, is dropped.

Building the figures of a big result takes seconds too, so the caller may pass
``present(result)`` (the view passes its figure building; services know no Dash): it runs in
the job, and its value comes back as ``JobStatus.presented``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import StrEnum

from synanno_dash.services.context import AppContext
from synanno_dash.services.session import Session
from synanno_dash.services.statistics import (
    Scope,
    StatisticsError,
    StatisticsResult,
    collect_statistics,
)

FIRST_WAIT_S = 0.8  # a start returns the result at once if it is ready within this


class JobState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    GONE = "gone"  # cancelled, replaced by a newer job, or evicted from the cache


@dataclass(frozen=True)
class StatisticsJob:
    token: str
    scope: Scope
    started_at_s: float  # time.monotonic()
    future: Future[object]  # a Computed, an error message (str), or None (logged)


@dataclass(frozen=True)
class Computed:
    result: StatisticsResult
    presented: object  # what ``present(result)`` returned (None without ``present``)


@dataclass(frozen=True)
class JobStatus:
    token: str
    state: JobState
    scope: Scope
    elapsed_s: float = 0.0
    result: StatisticsResult | None = None
    presented: object = None  # ``present(result)`` of the start
    message: str = ""  # why there is no result (FAILED, GONE)


Present = Callable[[StatisticsResult], object]


def _compute(
    resources: AppContext, session_id: str, scope: Scope, present: Present | None
) -> Computed | str:
    try:
        result = collect_statistics(resources.store, session_id, scope, None, resources.volumes)
    except StatisticsError as exc:
        return str(exc)
    return Computed(result, None if present is None else present(result))


def start_statistics(
    session: Session,
    scope: Scope,
    present: Present | None = None,
    wait_s: float = FIRST_WAIT_S,
) -> JobStatus:
    """Start computing the statistics of ``session`` (or of every session on its dataset)
    and ``present(result)``, replacing its previous job; waits up to ``wait_s`` for them.
    Raises ``NoDatasetError`` without a dataset."""
    session.config  # noqa: B018 - raises NoDatasetError, the one "no dataset" error
    resources = session.resources
    future = resources.run_in_background(_compute, resources, session.session_id, scope, present)
    job = StatisticsJob(secrets.token_hex(8), scope, time.monotonic(), future)
    resources.statistics.put(session.session_id, job)
    try:
        future.result(timeout=max(0.0, wait_s))
    except FutureTimeout:
        pass
    return _status(job)


def _job_of(session: Session) -> StatisticsJob | None:
    """This browser session's latest statistics job (``AppContext.statistics``)."""
    job = session.resources.statistics.get(session.session_id)
    return job if isinstance(job, StatisticsJob) else None


def job_status(session: Session, token: str) -> JobStatus:
    """The state of the job ``token`` of this browser session."""
    job = _job_of(session)
    if job is None or job.token != token:
        return JobStatus(token, JobState.GONE, Scope.SESSION, message=_GONE_MESSAGE)
    return _status(job)


def cancel_statistics(session: Session, token: str) -> bool:
    """Stop the job ``token``: not started yet, it never runs; running, its result is
    dropped. Returns whether there was such a job."""
    job = _job_of(session)
    if job is None or job.token != token:
        return False
    job.future.cancel()
    session.resources.statistics.pop(session.session_id)
    return True


def finished_result(session: Session, token: str) -> StatisticsResult | None:
    """The result of the finished job ``token`` (None while running, failed or gone)."""
    return job_status(session, token).result


_GONE_MESSAGE = (
    "These statistics were cancelled or replaced by newer ones: press Refresh to compute "
    "them again."
)


def _status(job: StatisticsJob) -> JobStatus:
    elapsed = time.monotonic() - job.started_at_s
    if not job.future.done():
        return JobStatus(job.token, JobState.RUNNING, job.scope, elapsed)
    if job.future.cancelled():
        return JobStatus(job.token, JobState.GONE, job.scope, elapsed, message=_GONE_MESSAGE)
    value = job.future.result()
    if isinstance(value, Computed):
        return JobStatus(
            job.token, JobState.DONE, job.scope, elapsed, value.result, presented=value.presented
        )
    if isinstance(value, str):
        return JobStatus(job.token, JobState.FAILED, job.scope, elapsed, message=value)
    return JobStatus(
        job.token,
        JobState.FAILED,
        job.scope,
        elapsed,
        message="The statistics could not be computed: the server logged why. Press Refresh "
        "to try again.",
    )
