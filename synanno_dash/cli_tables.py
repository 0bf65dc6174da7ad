"""``synanno-dash convert-table``: prepare a synapse table once, with progress bars.

What Open Data does on its first use of a table, ahead of time: a CSV (or a Parquet file
that cannot be read in place) is converted to Parquet in the table cache, and with
``--index`` the side files that make neuron and box queries fast on large tables are built.
The server then opens the table at once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from synanno_dash.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "convert-table", help="prepare a synapse table (convert, index) with progress bars"
    )
    parser.add_argument("table", help="a .csv or .parquet synapse table")
    parser.add_argument("--data-dir", help="data folder whose table cache to fill")
    parser.add_argument(
        "--index", action="store_true", help="also build the side files for neuron/box queries"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from synanno_dash.data.tables import TableError, open_table

    if args.data_dir:
        settings = settings.with_changes(data_dir=Path(args.data_dir).expanduser())
    started = time.perf_counter()
    try:
        with tqdm(total=0, unit="B", unit_scale=True, desc="convert", leave=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            table = open_table(args.table, settings.table_cache_dir, progress=progress)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    where = "read in place" if table.data_path == table.source else f"cached at {table.data_path}"
    print(
        f"{table.n_rows:,} synapses ({table.schema} schema), {where}, "
        f"ready in {time.perf_counter() - started:.1f} s"
    )
    if args.index and table.needs_indexes:
        with tqdm(total=3, desc="side files", unit="file") as bar:
            table.build_indexes(lambda done, total: bar.update(done - bar.n))
        print(f"neuron and box side files in {table.cache_folder}")
    return 0
