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
  ``services.jobs.celery_app`` (jobs run on ``synanno-dash worker``).
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
import multiprocess
import psutil
from dash import CeleryManager, DiskcacheManager, Input, Output, State, html, no_update

from synanno_dash.services.jobs import (
    Job,
    JobError,
    JobProgress,
    cancel_job,
    celery_app,
    session_stop_signal,
)
from synanno_dash.services.mask_completion import PRELOAD_MODULES
from synanno_dash.services.session import NoDatasetError, Session
from synanno_dash.settings import Settings
from synanno_dash.ui import ids
from synanno_dash.ui.request_inputs import RefusedInput
from synanno_dash.ui.session import current_session, job_session

log = logging.getLogger(__name__)
MANAGER_KEY = "synanno_jobs"
POLL_INTERVAL_MS = 500
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


class _DiskcacheJobs(_OwnKeys, DiskcacheManager):
    """Jobs in processes of this machine, forked from the fork server (module notes)."""

    def __init__(self, cache: diskcache.Cache, settings: Settings, factory: AppFactory) -> None:
        super().__init__(cache)
        self.settings = settings
        self.factory = factory

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
    app_job_manager(app).func_registry[callback](result_key, progress_key, args, context)


class _CeleryJobs(_OwnKeys, CeleryManager):
    pass


def job_manager(settings: Settings, factory: AppFactory) -> DiskcacheManager | CeleryManager:
    """The app's job queue: Celery on ``settings.redis_url`` when set, else processes of this
    machine with results in ``settings.jobs_dir``; ``factory`` builds the app in a job
    process."""
    if settings.redis_url:
        return _CeleryJobs(celery_app(settings))
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    return _DiskcacheJobs(diskcache.Cache(str(settings.jobs_dir)), settings, factory)


def install_job_manager(app: dash.Dash, settings: Settings, factory: AppFactory) -> None:
    """Give ``app`` its job queue (before its callbacks are registered)."""
    app.server.extensions[MANAGER_KEY] = job_manager(settings, factory)


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
    def sink(progress: JobProgress) -> None:
        set_progress((progress.percent, progress.text))

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
