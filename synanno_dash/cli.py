"""Command line: ``synanno-dash serve``, ``demo --out DIR``, ``convert-table PATH``,
``report --session ID --out FILE``, ``unet train|eval`` and ``complete-mask``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from synanno_dash import cli_report, cli_tables, cli_unet
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
    from synanno_dash.ui.app import create_app

    app = create_app(settings)
    print(f"SynAnno Dash on http://{settings.host}:{settings.port}/", flush=True)
    app.run(host=settings.host, port=settings.port, debug=args.debug or settings.debug)
    return 0


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
    demo = sub.add_parser("demo", help="write the demo dataset")
    demo.add_argument("--out", help="folder to write into (default: <data dir>/demo)")
    demo.add_argument("--seed", type=int, default=0)
    cli_tables.add_parser(sub)
    cli_report.add_parser(sub)
    cli_unet.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    settings = load_settings()
    if args.command == "demo":
        return _demo(args, settings)
    if args.command == "convert-table":
        return cli_tables.run(args, settings)
    if args.command == "report":
        return cli_report.run(args, settings)
    if args.command in ("unet", "complete-mask"):
        return cli_unet.run(args)
    if args.command in (None, "serve"):
        if args.command is None:
            args = build_parser().parse_args(["serve", *(argv or sys.argv[1:])])
        return _serve(args, settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
