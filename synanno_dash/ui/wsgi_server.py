"""Production serving: the app under gunicorn with threaded (gthread) workers.

Why gthread (docs/hosting.md): a request mostly waits on the database, volume reads and
image encoding, which release the GIL, so a few threads per process keep a process busy
without a process per connection; several processes use several cores; a slow request
(a page of crops) does not hold a whole process as a sync worker would; and gthread needs
no monkey-patching (gevent would patch the database drivers and CloudVolume's threads).

- Each worker builds its own app after the fork (no ``preload_app``): its own database
  pool, caches and background executor. The Neuroglancer service is one process for all
  workers, started by ``cli_serve`` before gunicorn.
- Each worker starts its own jobs' fork server right after the fork (``post_fork``, before
  any of its threads): a fork server started by the master would be a sibling of the
  workers, which ``multiprocess`` cannot check on (it waits on the server's pid).
- The schema is migrated once by the master before any worker starts (``cli_serve``), and
  the migration lock (``data.store_migrations``) keeps concurrent starts safe anyway.
- Graceful shutdown: on SIGTERM a worker stops accepting, finishes its requests in flight
  (their writes commit before they answer) and its background work, within
  ``graceful_timeout_s``; only then is it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
from gunicorn.app.base import BaseApplication

from synanno_dash.settings import Settings
from synanno_dash.ui.server_logs import JsonGunicornLogger
from synanno_dash.ui.session import EXTENSION_KEY

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    workers: int = 1  # processes; size caches per worker (docs/hosting.md)
    threads: int = 8  # requests served at once by one worker
    graceful_timeout_s: int = 30  # SIGTERM: time to finish requests in flight
    timeout_s: int = 120  # a worker silent for this long is restarted


def _finish_background_work(_arbiter: Any, worker: Any) -> None:
    """gunicorn ``worker_exit``: let the app's background work finish before exit."""
    server = getattr(worker, "wsgi", None)
    resources = server.extensions.get(EXTENSION_KEY) if isinstance(server, flask.Flask) else None
    if resources is not None:
        resources.wait_for_background(timeout_s=worker.cfg.graceful_timeout)
        resources.executor.shutdown(wait=False)


def _start_job_processes(settings: Settings) -> Any:
    """gunicorn ``post_fork``: the worker's jobs' fork server (``ui.jobs``)."""

    def post_fork(_arbiter: Any, _worker: Any) -> None:
        from synanno_dash.ui.jobs import start_job_processes

        start_job_processes(settings)

    return post_fork


def gunicorn_options(settings: Settings, options: ServeOptions) -> dict[str, Any]:
    heartbeat_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
    return {
        "bind": [f"{settings.host}:{settings.port}"],
        "workers": options.workers,
        "worker_class": "gthread",
        "threads": options.threads,
        "graceful_timeout": options.graceful_timeout_s,
        "timeout": options.timeout_s,
        "keepalive": 5,
        "preload_app": False,
        "accesslog": "-",
        "errorlog": "-",
        "logger_class": JsonGunicornLogger,
        # X-Forwarded-* are believed by the app only (SYNANNO_TRUSTED_PROXIES, ProxyFix).
        "forwarded_allow_ips": "",
        "proc_name": "synanno-dash",
        "worker_tmp_dir": heartbeat_dir,
        "post_fork": _start_job_processes(settings),
        "worker_exit": _finish_background_work,
        # gunicorn >= 24's control socket is one path per user (~/.gunicorn): several
        # instances on one machine would fight over it, and nothing here uses it.
        "control_socket_disable": True,
    }


class GunicornServer(BaseApplication):
    """``create_app(settings)`` served by gunicorn with ``gunicorn_options``."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings, self.options).items():
            if value is not None and key in self.cfg.settings:  # older gunicorn lacks some
                self.cfg.set(key, value)

    def load(self) -> flask.Flask:
        from synanno_dash.ui.app import create_app

        return create_app(self.settings).server


def serve(settings: Settings, options: ServeOptions) -> None:
    """Run gunicorn in this process until it is stopped (SIGTERM or SIGINT)."""
    GunicornServer(settings, options).run()
