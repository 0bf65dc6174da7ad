"""Command line: ``synanno-dash serve``, ``worker``, ``demo --out DIR``, ``convert-table PATH``,
``report --session ID --out FILE``, ``import-predictions --map URL --out DIR``,
``export --session ID --format FORMAT --out PATH`` and ``neuroglancer`` (the viewer service
``serve`` starts), ``unet train|eval`` and ``complete-mask`` (the U-Net)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from synanno_dash import (
    cli_exports,
    cli_neuroglancer,
    cli_predictions,
    cli_report,
    cli_tables,
    cli_unet,
)
from synanno_dash.settings import Settings, load_settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    changes: dict[str, object] = {}
    if args.host:
        changes["host"] = args.host
    if args.port:
        changes["port"] = args.port
    if args.data_dir:
        changes["data_dir"] = Path(args.data_dir).expanduser()
    settings = settings.with_changes(**changes)
    if not args.no_demo:
        _ensure_demo(settings.demo_dir)
    supervisor = None
    if not settings.ng_service_url:  # start the viewer service every worker shares
        supervisor = cli_neuroglancer.NeuroglancerSupervisor.for_settings(settings)
        supervisor.start()
        settings = settings.with_changes(
            ng_service_url=supervisor.url, ng_secret=supervisor.secret
        )
        # Workers made later (the reloader, other servers' workers) find the same service.
        os.environ["SYNANNO_NG_SERVICE_URL"] = supervisor.url
        os.environ["SYNANNO_NG_SECRET"] = supervisor.secret
    # SIGTERM ends ``serve`` like Ctrl+C, so the service it started is stopped with it.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if supervisor is not None and not _service_ready(supervisor):
            return 1
        from synanno_dash.ui.app import create_app
        from synanno_dash.ui.jobs import start_job_processes

        start_job_processes(settings)
        app = create_app(settings)
        print(f"SynAnno Dash on http://{settings.host}:{settings.port}/", flush=True)
        app.run(host=settings.host, port=settings.port, debug=args.debug or settings.debug)
    finally:
        if supervisor is not None:
            supervisor.stop()
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """A Celery worker running the app's background jobs (``services.jobs``)."""
    if args.data_dir:
        settings = settings.with_changes(data_dir=Path(args.data_dir).expanduser())
    if args.processes:
        settings = settings.with_changes(job_worker_processes=args.processes)
    if not settings.redis_url:
        print(
            "synanno-dash worker needs SYNANNO_REDIS_URL (for example redis://127.0.0.1:6379/0),"
            " the same as the app's; without it the app runs its jobs itself.",
            file=sys.stderr,
        )
        return 2
    from synanno_dash.services.jobs import worker_arguments
    from synanno_dash.ui.app import create_app
    from synanno_dash.ui.jobs import app_job_manager

    # The app registers its jobs as Celery tasks; the worker runs them.
    manager = app_job_manager(create_app(settings))
    extra = ["--hostname", args.name] if args.name else []
    manager.handle.worker_main(worker_arguments(settings, extra))
    return 0
def _service_ready(supervisor: cli_neuroglancer.NeuroglancerSupervisor) -> bool:
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


def _ensure_demo(out: Path) -> None:
    from synanno_dash.demo.dataset import ensure_demo

    started = time.perf_counter()
    info = ensure_demo(out)
    print(
        f"demo dataset ready in {out} ({time.perf_counter() - started:.1f} s): {info.table_url}",
        flush=True,
    )


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    out = Path(args.out).expanduser() if args.out else settings.demo_dir
    from synanno_dash.demo.dataset import generate_demo

    started = time.perf_counter()
    info = generate_demo(out, seed=args.seed)
    print(f"demo dataset written to {out} in {time.perf_counter() - started:.1f} s")
    print(f"  source:   {info.source_url}\n  target:   {info.target_url}")
    print(f"  neuropil: {info.neuropil_url}\n  table:    {info.table_url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synanno-dash", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the web app (generates the demo on first run)")
    serve.add_argument("--host", help="address to bind (env APP_IP, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env APP_PORT, default 8050)")
    serve.add_argument("--data-dir", help="data folder (env SYNANNO_DATA_DIR)")
    serve.add_argument("--no-demo", action="store_true", help="do not generate the demo data")
    serve.add_argument("--debug", action="store_true", help="Dash debug mode")
    worker = sub.add_parser(
        "worker", help="run background jobs from Redis (SYNANNO_REDIS_URL; Celery worker)"
    )
    worker.add_argument("--data-dir", help="data folder (env SYNANNO_DATA_DIR), as the app's")
    worker.add_argument(
        "--processes", type=int, help="jobs run at once (env SYNANNO_JOB_WORKER_PROCESSES)"
    )
    worker.add_argument("--name", help="worker name, unique per machine (default celery@host)")
    demo = sub.add_parser("demo", help="write the demo dataset")
    demo.add_argument("--out", help="folder to write into (default: <data dir>/demo)")
    demo.add_argument("--seed", type=int, default=0)
    cli_tables.add_parser(sub)
    cli_report.add_parser(sub)
    cli_neuroglancer.add_parser(sub)
    cli_predictions.add_parser(sub)
    cli_exports.add_parser(sub)
    cli_unet.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    settings = load_settings()
    if args.command == "demo":
        return _demo(args, settings)
    if args.command == "worker":
        return _worker(args, settings)
    if args.command == "convert-table":
        return cli_tables.run(args, settings)
    if args.command == "export":
        return cli_exports.run(args, settings)
    if args.command == "import-predictions":
        return cli_predictions.run(args, settings)
    if args.command == "report":
        return cli_report.run(args, settings)
    if args.command == "neuroglancer":
        return cli_neuroglancer.run(args, settings)
    if args.command in ("unet", "complete-mask"):
        return cli_unet.run(args)
    if args.command in (None, "serve"):
        if args.command is None:
            args = build_parser().parse_args(["serve", *(argv or sys.argv[1:])])
        return _serve(args, settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
