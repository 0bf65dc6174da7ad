"""``synanno-dash serve``: the app under gunicorn (``--workers N``), or Dash's development
server with ``--dev`` (never otherwise). docs/hosting.md explains the settings.

Before any worker starts, ``serve`` writes the demo (first run), migrates the session database
and starts the Neuroglancer service (``cli_neuroglancer.NeuroglancerSupervisor``) that every
worker shares, unless ``SYNANNO_NG_SERVICE_URL`` names one already running; the workers find
it through ``Settings`` and the environment (``SYNANNO_NG_SERVICE_URL``, ``SYNANNO_NG_SECRET``).
The service is stopped when ``serve`` ends (SIGTERM, SIGINT, or gunicorn halting).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from synanno_dash import cli_neuroglancer
from synanno_dash.settings import Settings

# Processes use the cores (threads wait on I/O); past 4, memory (caches are per worker) costs
# more than it gives on one machine. docs/hosting.md.
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
MAX_PORT = 65535
# Upper bounds: more processes or threads than this would exhaust one machine's memory.
MAX_SERVE_COUNTS = {"workers": 64, "threads": 256, "graceful_timeout": 3600}


def add_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the web app (generates the demo on first run)")
    serve.add_argument("--host", help="address to bind (env APP_IP, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env APP_PORT, default 8050)")
    serve.add_argument("--data-dir", help="data folder (env SYNANNO_DATA_DIR)")
    serve.add_argument("--no-demo", action="store_true", help="do not generate the demo data")
    serve.add_argument(
        "--workers", type=int, default=_env_int("SYNANNO_WORKERS", DEFAULT_WORKERS),
        help="gunicorn worker processes (env SYNANNO_WORKERS; default the cores, at most 4)",
    )  # fmt: skip
    serve.add_argument(
        "--threads", type=int, default=_env_int("SYNANNO_THREADS", 8),
        help="threads per worker, requests served at once by one (env SYNANNO_THREADS, default 8)",
    )  # fmt: skip
    serve.add_argument(
        "--graceful-timeout", type=int, default=_env_int("SYNANNO_GRACEFUL_TIMEOUT", 30),
        help="seconds a stopping worker has to finish its requests (default 30)",
    )  # fmt: skip
    serve.add_argument("--dev", action="store_true", help="Dash's development server, one process")
    serve.add_argument("--debug", action="store_true", help="Dash debug mode (with --dev only)")


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else default


def _settings(args: argparse.Namespace, settings: Settings) -> Settings:
    changes: dict[str, object] = {}
    if args.host:
        changes["host"] = args.host
    if args.port:
        changes["port"] = args.port
    if args.data_dir:
        changes["data_dir"] = Path(args.data_dir).expanduser()
    return settings.with_changes(**changes)


def _refusal(args: argparse.Namespace) -> str | None:
    if args.debug and not args.dev:
        return "--debug needs --dev: debug mode runs only in the development server"
    if args.port is not None and not 1 <= args.port <= MAX_PORT:
        return f"--port must be 1 to {MAX_PORT}, got {args.port}: choose a free port, e.g. 8050"
    for name, most in MAX_SERVE_COUNTS.items():
        value = getattr(args, name)
        if not 1 <= value <= most:
            return f"--{name.replace('_', '-')} must be 1 to {most}, got {value}"
    return None


def _ensure_demo(out: Path) -> None:
    from synanno_dash.demo.dataset import ensure_demo

    started = time.perf_counter()
    info = ensure_demo(out)
    print(
        f"demo dataset ready in {out} ({time.perf_counter() - started:.1f} s): {info.table_url}",
        flush=True,
    )


def _migrate(settings: Settings) -> str | None:
    """Bring the session database to the newest schema once, before any worker starts."""
    from sqlalchemy.exc import SQLAlchemyError

    from synanno_dash.data.store import SessionStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        SessionStore(settings.effective_database_url).engine.dispose()
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return (
            f"the session database could not be opened ({type(cause).__name__}: "
            f"{str(cause).strip().splitlines()[0] if str(cause).strip() else ''}); check that "
            "its server runs and that SYNANNO_DATABASE_URL names it"
        )
    return None


Supervisor = cli_neuroglancer.NeuroglancerSupervisor


def _start_viewer_service(settings: Settings) -> tuple[Settings, Supervisor | None]:
    """Start the shared Neuroglancer service unless the settings name one already running."""
    if settings.ng_service_url:
        return settings, None
    supervisor = Supervisor.for_settings(settings)
    supervisor.start()
    # Processes made later (gunicorn's workers, the reloader, job processes) find it too.
    os.environ["SYNANNO_NG_SERVICE_URL"] = supervisor.url
    os.environ["SYNANNO_NG_SECRET"] = supervisor.secret
    changed = settings.with_changes(ng_service_url=supervisor.url, ng_secret=supervisor.secret)
    return changed, supervisor


def _service_ready(supervisor: Supervisor) -> bool:
    from synanno_dash.services.ng_client import ViewerServiceError

    try:
        supervisor.wait_ready()
    except ViewerServiceError:
        print(
            f"The Neuroglancer service did not answer on {supervisor.url} within "
            f"{cli_neuroglancer.READY_TIMEOUT_S:.0f} s (see its output above; is the port "
            "taken? set SYNANNO_NG_PORT to a free one).",
            file=sys.stderr,
        )
        return False
    print(f"Neuroglancer service on {supervisor.url}", flush=True)
    return True


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace, settings: Settings) -> int:
    refusal = _refusal(args)
    if refusal:
        print(f"synanno-dash serve: {refusal}", file=sys.stderr)
        return 2
    settings = _settings(args, settings)
    if not args.no_demo:
        _ensure_demo(settings.demo_dir)
    failure = _migrate(settings)
    if failure:
        print(f"synanno-dash serve: {failure}", file=sys.stderr)
        return 1
    settings, supervisor = _start_viewer_service(settings)
    # SIGTERM ends ``serve`` like Ctrl+C (gunicorn installs its own handlers while it runs and
    # exits when it halts), so the service started here is stopped with it.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if supervisor is not None and not _service_ready(supervisor):
            return 1
        if args.dev:
            _serve_dev(args, settings)
        else:
            _serve_gunicorn(args, settings)
    finally:
        if supervisor is not None:
            supervisor.stop()
    return 0


def _serve_dev(args: argparse.Namespace, settings: Settings) -> None:
    from synanno_dash.ui.app import create_app
    from synanno_dash.ui.jobs import start_job_processes

    start_job_processes(settings)  # before the server's threads (ui.jobs)
    print(f"SynAnno Dash (development server) on http://{settings.host}:{settings.port}/")
    debug = args.debug or settings.debug
    create_app(settings).run(host=settings.host, port=settings.port, debug=debug)


def _serve_gunicorn(args: argparse.Namespace, settings: Settings) -> None:
    from synanno_dash.ui.server_logs import use_json_logs
    from synanno_dash.ui.wsgi_server import ServeOptions, serve

    use_json_logs()
    options = ServeOptions(args.workers, args.threads, args.graceful_timeout)
    print(
        f"SynAnno Dash on http://{settings.host}:{settings.port}/ "
        f"(gunicorn, {options.workers} worker(s) x {options.threads} threads)",
        flush=True,
    )
    serve(settings, options)  # each worker starts its jobs' fork server (ui.wsgi_server)
