"""Background jobs: how a long use case reports progress and fails, and the job queue
(no Dash here; the views start jobs with ``synanno_dash.ui.jobs.job_callback``).

A job is a use case that may take more than a second: an export, a neuron's preparation, a
table's conversion, writing the demo dataset. It runs outside the request that started it, in
a process of this machine (results in ``Settings.jobs_dir``), or, when ``SYNANNO_REDIS_URL`` is
set, on a ``synanno-dash worker`` (Celery with Redis as broker and result store). The work
function takes a ``Job`` and a ``Session``: it reports through ``job.report`` /
``job.steps`` / ``job.part`` and raises ``JobError`` with a message for the user.

Developer notes
- A job survives the worker that runs it being killed: Celery acknowledges a job only when it
  has finished (``task_acks_late``) and gives it back to the queue when the process running it
  dies (``task_reject_on_worker_lost``); Redis hands an unacknowledged job to another worker
  after ``Settings.job_redelivery_s``. A job may therefore run twice: jobs write their files
  whole (under a temporary name, then renamed) so a second run simply replaces the first.
- Jobs run in processes forked from the web or worker process; ``AppContext.in_this_process``
  gives them database connections, threads and locks of their own.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from synanno_dash.data.query_guard import QueryGuard, cancel_queries
from synanno_dash.settings import Settings

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy import Engine

    from synanno_dash.services.session import Session

T = TypeVar("T")
# Progress reports closer together than this are merged (each is a write to the job store).
REPORT_INTERVAL_S = 0.2
STEP_WAIT_S = 0.2  # how often a wait for steps running side by side looks at Cancel


class JobError(RuntimeError):
    """A job that cannot finish; the message is for the user (it names the problem and the
    fix, never file contents)."""


JOB_QUEUE_DOWN_MESSAGE = (
    "The job queue (Redis) is not reachable right now, so this job was not started and "
    "nothing was changed. Try again in a moment (the app reconnects by itself)."
)
JOB_QUEUE_WAITING_MESSAGE = (
    "The job queue (Redis) is not reachable right now. Jobs already started are kept and "
    "their progress shows again when it is back; keep this page open."
)


class JobNotStarted(JobError):
    """A job refused before it was queued (the message says why and what to do)."""


class JobQueueDown(JobNotStarted):
    """Redis (the broker and result store) did not answer when a job was started."""

    def __init__(self) -> None:
        super().__init__(JOB_QUEUE_DOWN_MESSAGE)


class JobLimitReached(JobNotStarted):
    """The session already runs as many jobs as hosted mode allows at once."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This session already has {limit} job{'s' if limit != 1 else ''} running, the "
            "most this instance allows at once, so this one was not started. Wait for one "
            "to finish (or cancel one), then start it again."
        )


def job_queue_down(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) means Redis cannot be reached (server down,
    restarting, refusing connections), not a bug in a job."""
    from kombu.exceptions import OperationalError as BrokerDown
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisTimeout

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BrokerDown | RedisDown | RedisTimeout | ConnectionRefusedError):
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class JobProgress:
    """How far a job is: ``fraction`` of the work done (0 to 1) and what it is doing."""

    fraction: float
    text: str

    @property
    def percent(self) -> int:
        return int(round(100 * min(1.0, max(0.0, self.fraction))))


ProgressSink = Callable[[JobProgress], None]


class JobCancelled(JobError):
    """The job's Cancel was pressed: it stops at its next progress report or query."""


@dataclass(frozen=True)
class StopSignal:
    """Cancel of one job, seen across processes: the process that handles Cancel creates
    ``path`` (in ``Settings.jobs_dir``) and cancels the queries of the connections tagged
    ``tag``; the job's process checks the file (``Job.stopped``, ``Job.query_guard``)."""

    path: Path
    tag: str

    def requested(self) -> bool:
        return self.path.exists()

    def request(self, engine: Engine | None = None) -> None:
        """Ask the job to stop, and cancel its running queries on ``engine``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        if engine is not None:
            cancel_queries(engine, self.tag)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def stop_signal(settings: Settings, job_name: str, owner: str) -> StopSignal:
    """The stop signal of the job ``job_name`` of the browser session ``owner`` (a browser
    runs one job of a name at a time: its start button is disabled meanwhile)."""
    digest = hashlib.sha256(f"{job_name}\0{owner}".encode()).hexdigest()[:24]
    return StopSignal(settings.jobs_dir / "stop" / digest, f"synanno-job-{digest}")


def session_stop_signal(session: Session, job_name: str) -> StopSignal:
    """The stop signal of the job ``job_name`` of the browser ``session``."""
    return stop_signal(session.resources.settings, job_name, session.session_id)


def cancel_job(session: Session, job_name: str) -> None:
    """Cancel the job ``job_name`` of ``session``: its stop signal, and its running queries
    cancelled in the session store."""
    session_stop_signal(session, job_name).request(session.store.engine)


def _ignore(_progress: JobProgress) -> None:
    return None


@dataclass
class Job:
    """A running job as its work function sees it. ``Job()`` reports nowhere (a job's work
    called directly, as in the command line or tests)."""

    sink: ProgressSink = _ignore
    start: float = 0.0  # the part of the whole job this one covers, as fractions
    stop: float = 1.0
    _last_report_s: list[float] = field(default_factory=lambda: [-1.0], repr=False)
    signal: StopSignal | None = None  # its Cancel (None: it cannot be cancelled)

    def stopped(self) -> bool:
        """Whether the job's Cancel was pressed."""
        return self.signal is not None and self.signal.requested()

    def query_guard(self, timeout_s: float | None = None) -> QueryGuard | None:
        """For ``data.query_guard.guarded_connect``: the job's queries stop on Cancel (and
        after ``timeout_s``). None for a job that cannot be cancelled."""
        if self.signal is None:
            return None
        if timeout_s is None:
            return QueryGuard(self.signal.tag, self.signal.requested)
        return QueryGuard(self.signal.tag, self.signal.requested, timeout_s)

    def report(self, fraction: float, text: str, force: bool = False) -> None:
        """``fraction`` (0 to 1) of this job's part is done; ``text`` says what it does now.
        Reports within ``REPORT_INTERVAL_S`` of the last one are dropped unless ``force``.
        Raises ``JobCancelled`` once Cancel was pressed."""
        now = time.monotonic()
        if not force and now - self._last_report_s[0] < REPORT_INTERVAL_S and fraction < 1:
            return
        self._last_report_s[0] = now
        if self.stopped():
            raise JobCancelled(f"Cancelled while {text[:1].lower() + text[1:]}.")
        bounded = min(1.0, max(0.0, fraction))
        self.sink(JobProgress(self.start + bounded * (self.stop - self.start), text))

    def steps(self, items: Sequence[T], describe: Callable[[int, T], str]) -> Iterator[T]:
        """Yield ``items``, reporting before each one: ``describe(index, item)`` (index from
        0) says what is being done."""
        total = max(1, len(items))
        for index, item in enumerate(items):
            self.report(index / total, describe(index, item), force=index == 0)
            yield item
        self.report(1.0, f"{len(items)} of {len(items)} done", force=True)

    def part(self, start: float, stop: float) -> Job:
        """A sub-job covering ``start``..``stop`` (fractions of this job), for a step of a
        job made of several (a ``Job`` passed to another use case)."""
        width = self.stop - self.start
        return Job(
            self.sink,
            self.start + start * width,
            self.start + stop * width,
            self._last_report_s,
            self.signal,
        )

    def bytes_read(self, what: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback in bytes (the data layer's table
        conversion) reporting "``what``: 12 of 80 MB"."""

        def progress(done: int, total: int) -> None:
            megabytes = f"{done / 1e6:,.1f} of {total / 1e6:,.1f} MB"
            self.report(done / max(1, total), f"{what}: {megabytes}")

        return progress


@dataclass
class ParallelSteps:
    """Progress of ``total`` steps running side by side (futures of a thread pool):
    ``wait`` reports each finished one as "k of n <unit> done (name)"; a Cancel raises
    ``JobCancelled`` there (and stops the steps' guarded queries)."""

    job: Job
    total: int
    unit: str
    finished: set[str] = field(default_factory=set)

    def wait(self, futures: Mapping[str, Future[Any]], until: str | None = None) -> None:
        """Wait for ``futures[until]`` (all of ``futures`` when None); raises its error."""
        target = [futures[until]] if until else list(futures.values())
        while True:
            ready = all(f.done() for f in target)  # before the report: none goes unreported
            for name, future in futures.items():
                if future.done() and name not in self.finished:
                    self.finished.add(name)
                    self.job.report(self._fraction(), f"{self._done()} ({name})", force=True)
            if ready:
                for f in target:
                    f.result()
                return
            self.job.report(self._fraction(), self._done())
            pending = [f for f in target if not f.done()]
            wait(pending, timeout=STEP_WAIT_S, return_when=FIRST_COMPLETED)

    def _fraction(self) -> float:
        return len(self.finished) / max(1, self.total)

    def _done(self) -> str:
        return f"{len(self.finished)} of {self.total} {self.unit} done"


# -- the queue: Celery with Redis ---------------------------------------------------------------
CELERY_APP_NAME = "synanno_dash"
# Seconds between a worker's looks for jobs whose worker died (Redis's unacknowledged set).
RESTORE_SWEEP_S = 5


def celery_app(settings: Settings) -> Celery:
    """The Celery application of ``settings.redis_url`` (broker and result store). Jobs are
    acknowledged after they finish and given back when their process dies (module notes).
    Its queue and every Redis key it writes are named after ``settings.job_queue``, so
    instances sharing a Redis never run each other's jobs."""
    from celery import Celery

    app = Celery(CELERY_APP_NAME, broker=settings.redis_url, backend=settings.redis_url)
    prefix = f"{settings.job_queue}:"
    app.conf.update(
        task_default_queue=settings.job_queue,  # this instance's queue (Settings.job_queue)
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,  # a worker holds no job it is not running
        broker_transport_options={
            "visibility_timeout": settings.job_redelivery_s,
            "unacked_restore_interval": RESTORE_SWEEP_S,
            "unacked_restore_throttle": 1,
            "global_keyprefix": prefix,
        },
        result_backend_transport_options={
            "visibility_timeout": settings.job_redelivery_s,
            "global_keyprefix": prefix,
        },
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def worker_arguments(settings: Settings, extra: Sequence[str] = ()) -> list[str]:
    """The Celery worker's command line (``synanno-dash worker``): prefork processes, so a
    cancelled job's process can be stopped; the cancelled jobs are remembered in a file per
    worker (``%n``: its name), so a restart does not run them when Redis hands them back."""
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    return [
        "worker",
        "--pool=prefork",
        f"--concurrency={settings.job_worker_processes}",
        "--loglevel=INFO",
        f"--statedb={settings.jobs_dir / 'worker-%n.state'}",
        *extra,
    ]
