"""``synanno-dash export``: a session's proofread synapses in a format other tools read
(docs/formats.md, section 9). Errors are one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synanno_dash.cli_sessions import add_session_arguments, session_store
from synanno_dash.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="a session's synapses for connectome tools")
    add_session_arguments(parser)
    parser.add_argument(
        "--format", required=True,
        choices=("connectivity", "cave", "ng-annotations", "ng-state"),
        help="connectivity: edge list CSV/Parquet + GraphML; cave: CAVE-schema Parquet + CSV; "
        "ng-annotations: a Neuroglancer precomputed annotation layer (folder); ng-state: a "
        "Neuroglancer state (JSON) at the first flagged instance",
    )  # fmt: skip
    parser.add_argument("--out", required=True, help="output path without suffix")
    parser.add_argument("--base-url", help="ng-state: the app's address (local layers are "
                        "served by it; default http://HOST:PORT of the settings)")  # fmt: skip
    parser.add_argument("--annotations", default="",
                        help="ng-state: the exported annotation layer to show")  # fmt: skip


def run(args: argparse.Namespace, settings: Settings) -> int:
    from synanno_dash.services.field_exports import ExportError, export_session

    with session_store(args, settings) as (store, settings):
        try:
            base_url = args.base_url or f"http://{settings.host}:{settings.port}"
            paths = export_session(
                store, args.session, args.format, Path(args.out).expanduser(), base_url,
                args.annotations, settings.synapse_types,
            )  # fmt: skip
        except ExportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"error: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return 2
    print("\n".join(f"wrote {p}" for p in paths))
    return 0
