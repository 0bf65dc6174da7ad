"""The statistics view's results, kept per (sessions counted, version of their data): a
computation whose data did not change since the last one is read back instead of run
again, and the report downloads exactly the numbers on screen (no Dash here).

The view's background job (``pages/stats.py``, a ``ui.jobs.job_callback``) calls
``statistics_for_view``; it returns the result and its key, which the page keeps. The
report job reads the result back with ``kept_statistics(session, key)``: None when it is
no longer kept (more recent results pushed it out, ``Settings.max_statistics``), and the
page then says so and offers to compute it again.

Developer notes: the version (``StoreStatistics.data_version``) is the last edit, the
last first showing of an instance, the last configuration change and the number of
sessions, plus the ground truth file's size and time: a label click makes a new key, so a
stale result is never shown as current. Results live in ``Settings.jobs_dir`` (files,
``data.result_files``): the job process that computes and the one that writes the report
are different processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from synanno_dash.data.ground_truth import find_beside_table
from synanno_dash.data.query_guard import QueryCancelled
from synanno_dash.data.result_files import ResultFiles
from synanno_dash.data.store_activity import ActivityStatistics
from synanno_dash.services.jobs import Job, JobCancelled
from synanno_dash.services.session import Session
from synanno_dash.services.statistics import (
    Plan,
    Scope,
    StatisticsResult,
    compute_statistics,
    plan_statistics,
)

RESULTS_FOLDER = "statistics"
CANCELLED = "The statistics were cancelled: press Refresh to compute them."
VERSION_SHARE = 0.05  # of the job's progress: finding the sessions and their data's version


@dataclass(frozen=True)
class ViewStatistics:
    key: str  # for ``kept_statistics``
    result: StatisticsResult
    reused: bool  # read back (the data did not change since it was computed)


def _results(session: Session) -> ResultFiles:
    settings = session.resources.settings
    return ResultFiles(settings.jobs_dir / RESULTS_FOLDER, settings.max_statistics)


def _truth_stamp(plan: Plan) -> tuple[str, int, int] | None:
    path = find_beside_table(plan.config.table_url)
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_size, stat.st_mtime_ns


def statistics_key(session: Session, plan: Plan, version: tuple[float, ...]) -> str:
    """The key of a result: who may read it (the browser session) and what it counts."""
    what = repr((plan.scope.value, plan.ids, version, _truth_stamp(plan)))
    digest = hashlib.sha256(what.encode()).hexdigest()[:32]
    owner = hashlib.sha256(session.session_id.encode()).hexdigest()[:16]
    return f"{plan.scope.value}-{owner}-{digest}"


def statistics_for_view(session: Session, scope: Scope, job: Job | None = None) -> ViewStatistics:
    """The statistics of ``session`` (or of every session on its dataset): kept ones when
    the data did not change, else computed (and kept). ``NoDatasetError`` without a
    dataset."""
    session.config  # noqa: B018 - raises NoDatasetError, the one "no dataset" error
    job = job or Job()
    try:
        return _for_view(session, scope, job)
    except QueryCancelled as exc:
        raise JobCancelled(CANCELLED) from exc


def _for_view(session: Session, scope: Scope, job: Job) -> ViewStatistics:
    job.report(0.0, "Finding the sessions and the version of their data", force=True)
    guard = job.query_guard()
    plan = plan_statistics(session.store, session.session_id, scope, guard)
    version = ActivityStatistics(session.store.engine, guard).data_version(plan.ids)
    key = statistics_key(session, plan, version)
    results = _results(session)
    kept = results.get(key)
    if isinstance(kept, StatisticsResult):
        job.report(1.0, "The data did not change: the statistics were read back", force=True)
        return ViewStatistics(key, kept, reused=True)
    result = compute_statistics(
        session.store, plan, None, session.resources.volumes,
        job=job.part(VERSION_SHARE, 1.0),
    )  # fmt: skip
    results.put(key, result)
    return ViewStatistics(key, result, reused=False)


def kept_statistics(session: Session, key: str) -> StatisticsResult | None:
    """The result ``key`` of this browser session, or None when it is no longer kept (or
    the key is not one of this session's)."""
    if not ResultFiles.valid_key(key):
        return None
    owner = hashlib.sha256(session.session_id.encode()).hexdigest()[:16]
    if key.split("-")[1:2] != [owner]:
        return None
    found = _results(session).get(key)
    return found if isinstance(found, StatisticsResult) else None


def forget_statistics(session: Session, key: str) -> None:
    """Drop a kept result (as if more recent ones had pushed it out)."""
    if kept_statistics(session, key) is not None:
        _results(session).remove(key)
