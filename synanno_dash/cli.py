"""Command line: ``synanno-dash serve``, ``demo --out DIR``, ``convert-table PATH`` and
``report --session ID --out FILE``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from synanno_dash import cli_report, cli_serve, cli_tables
from synanno_dash.settings import Settings, load_settings


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
    cli_serve.add_parser(sub)
    demo = sub.add_parser("demo", help="write the demo dataset")
    demo.add_argument("--out", help="folder to write into (default: <data dir>/demo)")
    demo.add_argument("--seed", type=int, default=0)
    cli_tables.add_parser(sub)
    cli_report.add_parser(sub)
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
    if args.command in (None, "serve"):
        if args.command is None:
            args = build_parser().parse_args(["serve", *(argv or sys.argv[1:])])
        return cli_serve.run(args, settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
