"""Background jobs in the browser: the job queue of an app, the job panel (progress bar,
what the job is doing, Cancel, its outcome) and ``job_callback``, which runs a use case as a
Dash background callback with that panel.

Use (a view's ``register_callbacks(app)``)::

    job_panel("export-layer")                       # in the layout, once per job
    job_callback(app, "export-layer", "Writing the layer", write_layer_job,
                 [Output(ids.EXD_LAYER_STATUS, "children")],
                 [Input(ids.EXD_LAYER_BUTTON, "n_clicks")],
                 start=ids.EXD_LAYER_BUTTON)

    def write_layer_job(job: Job, session: Session, clicks: int) -> list: ...

The work function gets a ``services.jobs.Job`` (progress) and the browser's ``Session``; its
return value sets ``outputs``. A ``JobError`` (``NoDatasetError``, an input refused by
``ui.request_inputs``) shows its message in the
panel and leaves the outputs as they were; anything else is logged and the panel says which
job failed. While the job runs, the start button is disabled and the panel shows the bar and
Cancel; Cancel stops the job's process, and first raises the job's stop signal
(``services.jobs.StopSignal``): the job's guarded queries are cancelled in the database
(PostgreSQL runs a statement on after its client died) and its next progress report stops it.

Developer notes
- The queue is Dash's: ``DiskcacheManager`` (a process per job, results in
  ``Settings.jobs_dir``) or, with ``SYNANNO_REDIS_URL``, ``CeleryManager`` on
  ``services.jobs.celery_app`` (jobs run on ``synanno-dash worker``). While Redis is down a
  new job is refused with ``JobQueueDown``'s message, pages waiting for a job keep waiting
  (the error toast says why) and a running job goes on without progress reports.
- Dash keys a job's result by its function and arguments; two browsers clicking the same
  button would share a key. ``_OwnKeys`` gives every job a key of its own.
- On one machine a job process is never forked from the web process: another of its threads
  may hold a lock at that moment (a module being imported, a connection pool), which the job
  would wait on forever. Jobs fork from a single-threaded fork server (``multiprocess``'s
  ``forkserver``, started on the first job with the heavy modules imported); each job builds
  the app with the factory it was given (``create_app``) and runs its callback from there.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import dash
import dash_bootstrap_components as dbc
import diskcache
import flask
import multiprocess
import psutil
from dash import CeleryManager, DiskcacheManager, Input, Output, State, html, no_update

from synanno_dash.services.jobs import (
    JOB_QUEUE_WAITING_MESSAGE,
    Job,
    JobError,
    JobNotStarted,
    JobProgress,
    JobQueueDown,
    cancel_job,
    celery_app,
    job_queue_down,
    session_stop_signal,
)
from synanno_dash.services.mask_completion import PRELOAD_MODULES
from synanno_dash.services.session import NoDatasetError, Session
from synanno_dash.settings import Settings
from synanno_dash.ui import ids
from synanno_dash.ui.job_slots import DiskcacheSlots, JobSlots, LimitedJobs, RedisSlots, SlotStore
from synanno_dash.ui.request_inputs import RefusedInput
from synanno_dash.ui.request_limits import error_toast_response
from synanno_dash.ui.session import COOKIE, current_session, job_session

log = logging.getLogger(__name__)
MANAGER_KEY = "synanno_jobs"
POLL_INTERVAL_MS = 500
PING_TIMEOUT_S = 2  # how long starting a job waits for Redis to answer
HIDDEN = {"display": "none"}
SHOWN = {"display": "block"}
Work = Callable[..., Any]


class _OwnKeys:
    """A fresh result key per job (never shared by two browsers or two clicks)."""

    def build_cache_key(self, *_args: object, **_kwargs: object) -> str:
        return secrets.token_hex(32)


AppFactory = Callable[[Settings], dash.Dash]
# Imported once by the fork server, so a job process starts with them (torch for Auto).
FORK_SERVER_PRELOAD = [
    "synanno_dash.ui.app", "cloudvolume", "pandas", "plotly.graph_objects", *PRELOAD_MODULES,
]


def _limit_jobs(manager: LimitedJobs, settings: Settings, store: SlotStore) -> None:
    """Hosted mode: at most ``settings.max_jobs_per_session`` jobs per session at once."""
    manager.slots = JobSlots(store, settings.job_redelivery_s)
    manager.limit = settings.max_jobs_per_session if settings.hosted else 0
    manager.cookie_name = COOKIE


class _DiskcacheJobs(_OwnKeys, LimitedJobs, DiskcacheManager):
    """Jobs in processes of this machine, forked from the fork server (module notes)."""

    def __init__(self, cache: diskcache.Cache, settings: Settings, factory: AppFactory) -> None:
        super().__init__(cache)
        self.settings = settings
        self.factory = factory
        _limit_jobs(self, settings, DiskcacheSlots(cache, settings.job_redelivery_s))

    def terminate_job(self, job: Any) -> None:
        """Dash's, except that the job's process may end while it is being stopped (it had
        just finished): that does not fail the request collecting its result."""
        try:
            super().terminate_job(job)
        except psutil.NoSuchProcess:
            pass

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> int:
        callback = next(name for name, fn in self.func_registry.items() if fn is job_fn)
        process = _job_processes().Process(
            target=run_job_process,
            args=(self.factory, self.settings, callback, key, self._make_progress_key(key),
                  args, dict(context)),  # fmt: skip
            daemon=False,
        )
        process.start()
        return int(process.pid)


def _job_processes() -> Any:
    processes = multiprocess.get_context("forkserver")
    processes.set_forkserver_preload(FORK_SERVER_PRELOAD)
    return processes


def start_job_processes(settings: Settings) -> None:
    """Start the fork server now (its imports take seconds), not on the first job; in the
    process that serves requests, before it starts threads. Nothing to do with Redis."""
    if not settings.redis_url:
        from multiprocess import forkserver

        _job_processes()
        forkserver.ensure_running()


def run_job_process(
    factory: AppFactory,
    settings: Settings,
    callback: str,
    result_key: str,
    progress_key: str,
    args: Any,
    context: dict[str, Any],
) -> None:
    """A job process: build the app, then run its job ``callback`` as Dash would."""
    app = factory(settings)
    manager = app_job_manager(app)
    try:
        manager.func_registry[callback](result_key, progress_key, args, context)
    finally:  # this job's slot is free once it has ended, whoever collects its result
        cookie = str((context.get("cookies") or {}).get(COOKIE, ""))
        if isinstance(manager, LimitedJobs) and manager.slots is not None:
            manager.slots.give_back(cookie, key=result_key)


class _CeleryJobs(_OwnKeys, LimitedJobs, CeleryManager):
    """Celery jobs that ride out Redis being down: starting a job says so (``JobQueueDown``,
    shown by the app's error handler), and a page waiting for a job keeps waiting (its job is
    "running", not ready, no progress) with the error toast saying why, until Redis is back."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(celery_app(settings))
        self.redis_url = settings.redis_url
        client = self.handle.backend.client
        stale_s = settings.job_redelivery_s
        _limit_jobs(self, settings, RedisSlots(client, f"{settings.job_queue}:", stale_s))

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> Any:
        try:
            _ping(self.redis_url)  # fail fast: Celery would retry its result store for 20 s
            return super().call_job_fn(key, job_fn, args, context)
        except Exception as error:
            if job_queue_down(error):
                log.warning("a job was not started: Redis is down (%s)", type(error).__name__)
                raise JobQueueDown() from error
            raise

    def get_progress(self, key: str) -> Any:
        return _unless_down(lambda: super(_CeleryJobs, self).get_progress(key), None)

    def result_ready(self, key: str) -> bool:
        return bool(_unless_down(lambda: super(_CeleryJobs, self).result_ready(key), False))

    def get_result(self, key: str, job: Any) -> Any:
        return _unless_down(lambda: super(_CeleryJobs, self).get_result(key, job), self.UNDEFINED)

    def job_running(self, job: Any) -> bool:
        return bool(_unless_down(lambda: super(_CeleryJobs, self).job_running(job), True))

    def terminate_job(self, job: Any) -> None:
        _unless_down(lambda: super(_CeleryJobs, self).terminate_job(job), None)

    def get_updated_props(self, key: str) -> Any:
        return _unless_down(
            lambda: super(_CeleryJobs, self).get_updated_props(key),
            {ids.SERVER_ERROR: {"is_open": True, "header": "Job queue unavailable",
                                "children": JOB_QUEUE_WAITING_MESSAGE}},
        )  # fmt: skip


def _ping(redis_url: str) -> None:
    """Raise a Redis connection error unless Redis answers within ``PING_TIMEOUT_S``."""
    import redis

    probe = redis.Redis.from_url(
        redis_url, socket_connect_timeout=PING_TIMEOUT_S, socket_timeout=PING_TIMEOUT_S
    )
    try:
        probe.ping()
    finally:
        probe.close()


def _unless_down(read: Callable[[], Any], while_down: Any) -> Any:
    """``read()``, or ``while_down`` when Redis cannot be reached."""
    try:
        return read()
    except Exception as error:
        if not job_queue_down(error):
            raise
        log.warning("job queue unreachable while polling a job (%s)", type(error).__name__)
        return while_down


def job_manager(settings: Settings, factory: AppFactory) -> DiskcacheManager | CeleryManager:
    """The app's job queue: Celery on ``settings.redis_url`` when set, else processes of this
    machine with results in ``settings.jobs_dir``; ``factory`` builds the app in a job
    process."""
    if settings.redis_url:
        return _CeleryJobs(settings)
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    return _DiskcacheJobs(diskcache.Cache(str(settings.jobs_dir)), settings, factory)


def install_job_manager(app: dash.Dash, settings: Settings, factory: AppFactory) -> None:
    """Give ``app`` its job queue (before its callbacks are registered), and the answer to a
    job refused before it was queued (``JobNotStarted``): the error toast with its message.
    Dash drops a background callback's side updates made at its start, so the app's error
    handler lets that error through to this Flask handler."""
    app.server.extensions[MANAGER_KEY] = job_manager(settings, factory)

    @app.server.errorhandler(JobNotStarted)
    def _not_started(error: JobNotStarted) -> flask.Response:
        return error_toast_response("Job not started", str(error))


def app_job_manager(app: dash.Dash) -> DiskcacheManager | CeleryManager:
    return app.server.extensions[MANAGER_KEY]


def job_panel(name: str, note: str = "") -> html.Div:
    """The panel of the job ``name``: while it runs, a progress bar, what it is doing and
    Cancel; afterwards its outcome (an error says what to do)."""
    return html.Div(
        [
            html.Div(
                [
                    dbc.Progress(
                        id=ids.job(name, "bar"), value=0, striped=True, animated=True,
                        className="mb-1", style={"height": "1.2rem"},
                    ),  # fmt: skip
                    html.Div(
                        [
                            html.Span(id=ids.job(name, "text"), className="small me-2"),
                            dbc.Button(
                                "Cancel", id=ids.job(name, "cancel"), size="sm",
                                color="outline-danger",
                            ),  # fmt: skip
                        ],
                        className="d-flex align-items-center",
                    ),
                ],
                id=ids.job(name, "running"),
                style=HIDDEN,
            ),
            html.Div(note, id=ids.job(name, "status"), className="small"),
        ],
        id=ids.job(name, "panel"),
        className="sd-job-panel",
    )


def _failure(title: str, error: Exception) -> html.Span:
    if isinstance(error, JobError | NoDatasetError | RefusedInput):
        message = str(error)
    else:
        log.exception("job %r failed", title, exc_info=error)
        message = (
            f"{title} failed on the server ({type(error).__name__}); nothing was changed. "
            "Try again; if it fails again, the server log has the details."
        )
    return html.Span(message, className="text-danger")


def _progress(set_progress: Callable[[tuple[int, str]], None]) -> Callable[[JobProgress], None]:
    """Progress reports are best effort: while Redis is down a job goes on without them."""

    def sink(progress: JobProgress) -> None:
        try:
            set_progress((progress.percent, progress.text))
        except Exception as error:
            if not job_queue_down(error):
                raise
            log.warning("a job's progress was not stored: Redis is down")

    return sink


def job_callback(
    app: dash.Dash,
    name: str,
    title: str,
    work: Work,
    outputs: Sequence[Output],
    inputs: Sequence[Input],
    states: Sequence[State] = (),
    start: str | Sequence[str] = (),
    done_text: str = "",
    on_load: bool = False,
) -> None:
    """Run ``work(job, session, *inputs, *states)`` as a background job of ``app`` whose
    panel is ``job_panel(name)``; its return value (one value per output, a list for several)
    sets ``outputs``. ``start``: the ids of buttons disabled while it runs. ``title`` names
    the job in messages ("Writing the layer"); ``done_text`` is the panel's text after it.
    ``on_load``: the job also runs when its inputs appear (a view computed on opening)."""
    multiple = len(outputs) != 1
    starts = [start] if isinstance(start, str) else list(start)

    def run(set_progress: Callable[[tuple[int, str]], None], *args: object) -> list[object]:
        set_progress((0, f"{title}: starting"))
        try:
            session: Session = job_session()
            signal = session_stop_signal(session, name)
            signal.clear()  # a Cancel of an earlier run
            job = Job(_progress(set_progress), signal=signal)
            result = work(job, session, *args)
        except Exception as error:  # noqa: BLE001 - every failure becomes a message
            return [*([no_update] * len(outputs)), _failure(title, error)]
        values = list(result) if multiple else [result]
        return [*values, done_text]

    app.callback(
        [*outputs, Output(ids.job(name, "status"), "children")],
        list(inputs),
        list(states),
        background=True,
        manager=app_job_manager(app),
        progress=[Output(ids.job(name, "bar"), "value"), Output(ids.job(name, "text"), "children")],
        progress_default=[0, ""],
        running=[
            (Output(ids.job(name, "running"), "style"), SHOWN, HIDDEN),
            (Output(ids.job(name, "status"), "style"), HIDDEN, SHOWN),
            *[(Output(button, "disabled"), True, False) for button in starts],
        ],
        cancel=[Input(ids.job(name, "cancel"), "n_clicks")],
        interval=POLL_INTERVAL_MS,
        prevent_initial_call=not on_load,
    )(run)
    app.callback(
        Output(ids.job(name, "status"), "children", allow_duplicate=True),
        Input(ids.job(name, "cancel"), "n_clicks"),
        prevent_initial_call=True,
    )(_cancelled_text(name, title))


def _cancelled_text(name: str, title: str) -> Callable[[int | None], object]:
    def cancelled(_clicks: int | None) -> object:
        """Cancel: raise the job's stop signal and cancel its queries (Dash stops its
        process meanwhile)."""
        cancel_job(current_session(), name)
        return html.Span(f"{title}: cancelled.", className="text-warning")

    return cancelled
