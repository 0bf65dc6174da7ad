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

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from synanno_dash.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

T = TypeVar("T")
# Progress reports closer together than this are merged (each is a write to the job store).
REPORT_INTERVAL_S = 0.2


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

    def report(self, fraction: float, text: str, force: bool = False) -> None:
        """``fraction`` (0 to 1) of this job's part is done; ``text`` says what it does now.
        Reports within ``REPORT_INTERVAL_S`` of the last one are dropped unless ``force``."""
        now = time.monotonic()
        if not force and now - self._last_report_s[0] < REPORT_INTERVAL_S and fraction < 1:
            return
        self._last_report_s[0] = now
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
        )

    def bytes_read(self, what: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback in bytes (the data layer's table
        conversion) reporting "``what``: 12 of 80 MB"."""

        def progress(done: int, total: int) -> None:
            megabytes = f"{done / 1e6:,.1f} of {total / 1e6:,.1f} MB"
            self.report(done / max(1, total), f"{what}: {megabytes}")

        return progress


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
