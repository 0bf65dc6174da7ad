"""``synanno-dash report``: a session's review statistics (or those of every session on its
dataset) as one self-contained HTML file, for a script or cron (docs/statistics.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synanno_dash.cli_sessions import add_session_arguments, session_store
from synanno_dash.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write review statistics as one offline HTML file")
    add_session_arguments(parser)
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument(
        "--dataset", action="store_true", help="every session on the session's dataset"
    )
    parser.add_argument(
        "--ground-truth", help="ground-truth CSV (default: ground_truth.csv beside the table)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from synanno_dash.data.volume_registry import VolumeRegistry
    from synanno_dash.services.statistics import Scope, StatisticsError, collect_statistics
    from synanno_dash.ui.stats_report import write_report

    scope = Scope.DATASET if args.dataset else Scope.SESSION
    with session_store(args, settings) as (store, settings):
        try:
            result = collect_statistics(
                store, args.session, scope, ground_truth=args.ground_truth,
                volumes=VolumeRegistry(cache_bytes=settings.cache_bytes),
            )  # fmt: skip
            out = write_report(result, Path(args.out))
        except StatisticsError as exc:
            print(f"synanno-dash report: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(
                f"synanno-dash report: cannot write {args.out}: {exc.strerror}; "
                "give a writable file path",
                file=sys.stderr,
            )
            return 2
    print(f"report of {len(result.sessions)} session(s) written to {out}")
    return 0
