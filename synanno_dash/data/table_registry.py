"""Opening synapse tables with the app's table cache folder.

``open_table`` prepares a table once under ``cache_dir`` and reopens it cheaply afterwards.
Opened tables are kept (a few, most recent last) so their DuckDB connections are reused;
the side files that make neuron and box queries fast on large tables are built here, one
table at a time, in a background thread, so opening never waits for them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

from synanno_dash.data.table_files import Progress
from synanno_dash.data.tables import ColumnMapping, SynapseTable, cache_folder_for, open_table

log = logging.getLogger(__name__)
MAX_OPEN_TABLES = 8


class TableRegistry:
    def __init__(self, cache_dir: Path, build_indexes: bool = True) -> None:
        self.cache_dir = cache_dir
        self._build_indexes = build_indexes
        # One preparation at a time: two sessions opening the same new table share the work.
        self._open_lock = threading.Lock()
        self._tables: OrderedDict[tuple, SynapseTable] = OrderedDict()
        self._builds: dict[Path, Future[None]] = {}
        self._build_lock = threading.Lock()

    def get(
        self,
        path_or_url: str,
        mapping: ColumnMapping | None = None,
        progress: Progress | None = None,
    ) -> SynapseTable:
        with self._open_lock:
            key = (cache_folder_for(path_or_url, self.cache_dir, mapping),)
            table = self._tables.get(key)
            if table is not None and table.cache_folder.exists():
                self._tables.move_to_end(key)
            else:
                table = open_table(path_or_url, self.cache_dir, mapping, progress)
                self._tables[key] = table
                while len(self._tables) > MAX_OPEN_TABLES:
                    self._tables.popitem(last=False)
            if self._build_indexes and table.needs_indexes:
                self._start_build(table)
        return table

    def index_build(self, table: SynapseTable) -> Future[None] | None:
        """The background build of ``table``'s side files, if one was started."""
        with self._open_lock:
            return self._builds.get(table.cache_folder)

    def _start_build(self, table: SynapseTable) -> None:
        running = self._builds.get(table.cache_folder)
        if running is not None and not running.done():
            return
        future: Future[None] = Future()
        future.add_done_callback(_log_failure)
        self._builds[table.cache_folder] = future
        # A daemon thread (not an executor's worker, which exit waits for): stopping the server
        # mid-build leaves only a partial folder, removed by the next build.
        threading.Thread(
            target=self._build, args=(table, future), name="synanno-table-index", daemon=True
        ).start()

    def _build(self, table: SynapseTable, future: Future[None]) -> None:
        with self._build_lock:  # one table at a time: each build uses the machine fully
            try:
                table.build_indexes()
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(None)


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("building a table's side files failed", exc_info=future.exception())
