"""Command line: ``synanno-dash serve``, ``worker``, ``demo --out DIR``, ``convert-table PATH``,
``report --session ID --out FILE``, ``import-predictions --map URL --out DIR``,
``export --session ID --format FORMAT --out PATH`` and ``neuroglancer`` (the viewer service
``serve`` starts), ``unet train|eval`` and ``complete-mask`` (the U-Net)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

from synanno_dash import (
    cli_exports,
    cli_neuroglancer,
    cli_predictions,
    cli_report,
    cli_serve,
    cli_tables,
    cli_unet,
)
from synanno_dash.settings import Settings, load_settings


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
    from synanno_dash.services.mask_completion import PRELOAD_MODULES
    from synanno_dash.ui.app import create_app
    from synanno_dash.ui.jobs import app_job_manager

    for module in PRELOAD_MODULES:  # before the pool forks: Auto jobs start with torch loaded
        importlib.import_module(module)

    # The app registers its jobs as Celery tasks; the worker runs them.
    manager = app_job_manager(create_app(settings))
    extra = ["--hostname", args.name] if args.name else []
    manager.handle.worker_main(worker_arguments(settings, extra))
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    out = Path(args.out).expanduser() if args.out else settings.demo_dir
    if out.exists() and not out.is_dir():
        print(f"demo: --out {out} is a file: give a folder (it is created if missing)",
              file=sys.stderr)  # fmt: skip
        return 2
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
    cli_serve.add_parser(sub)
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
        return cli_serve.run(args, settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
