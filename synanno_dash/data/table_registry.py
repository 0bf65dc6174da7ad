"""Opening synapse tables with the app's table cache folder.

``open_table`` imports a table once into an indexed file under ``cache_dir`` and reopens
that file cheaply afterwards (re-importing a changed file), so nothing is kept here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from synanno_dash.data.tables import ColumnMapping, SynapseTable, open_table


class TableRegistry:
    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        # One import at a time: two sessions opening the same new table share the work.
        self._import_lock = threading.Lock()

    def get(self, path_or_url: str, mapping: ColumnMapping | None = None) -> SynapseTable:
        with self._import_lock:
            return open_table(path_or_url, self.cache_dir, mapping)
