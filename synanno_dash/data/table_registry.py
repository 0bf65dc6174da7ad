"""Opening synapse tables with the app's table cache folder.

``open_table`` prepares a table once under ``cache_dir`` and reopens it cheaply afterwards.
Opened tables are kept (a few, most recent last) so their DuckDB connections are reused;
the side files that make neuron and box queries fast on large tables are built here, one
table at a time, in a background thread, so opening never waits for them. So are the jump
indexes of selections read page by page (``start_jump_index``), each once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from synanno_dash.core.geometry import BBox
from synanno_dash.data.table_cache import cache_folder_for
from synanno_dash.data.table_files import Progress
from synanno_dash.data.table_jumps import jump_path
from synanno_dash.data.tables import ColumnMapping, SynapseTable, open_table

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

    def start_jump_index(
        self, table: SynapseTable, neuron_id: int | None, bbox: BBox | None
    ) -> Future[None] | None:
        """Build the jump index of a selection in the background, unless it exists or is
        being built; returns the build (None when the index exists)."""
        if table.jump_index(neuron_id, bbox) is not None:
            return None
        key = jump_path(table.cache_folder, neuron_id, bbox)
        with self._open_lock:
            tried = self._builds.get(key)
            if tried is not None and tried.done() and tried.exception() is not None:
                return tried  # e.g. repeated keys: tried once, logged once; OFFSET stays
            return self._start(key, lambda: table.build_jump_index(neuron_id, bbox), "jumps")

    def _start_build(self, table: SynapseTable) -> None:
        self._start(table.cache_folder, lambda: self._build(table), "index")

    def _start(self, key: Path, work: Callable[[], object], name: str) -> Future[None]:
        """Run ``work`` on its own thread unless a run for ``key`` is under way (callers hold
        ``_open_lock``)."""
        running = self._builds.get(key)
        if running is not None and not running.done():
            return running
        for done in [k for k, f in self._builds.items() if f.done() and not f.exception()]:
            del self._builds[done]  # kept: runs under way and failures (not tried again)
        future: Future[None] = Future()
        future.add_done_callback(_log_failure)
        self._builds[key] = future
        # A daemon thread (not an executor's worker, which exit waits for): stopping the server
        # mid-build leaves only a partial file or folder, removed or ignored by the next build.
        threading.Thread(
            target=_run, args=(work, future), name=f"synanno-table-{name}", daemon=True
        ).start()
        return future

    def _build(self, table: SynapseTable) -> None:
        with self._build_lock:  # one table at a time: each build uses the machine fully
            table.build_indexes()


def _run(work: Callable[[], object], future: Future[None]) -> None:
    try:
        work()
    except BaseException as error:
        future.set_exception(error)
    else:
        future.set_result(None)


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error(
            "building a table's side files or a jump index failed",
            exc_info=future.exception(),
        )
