"""Jump indexes of synapse-table selections (``core/jump_index.py``), kept beside the table.

Developer notes
- One file per selection (neuron id and box; the whole table is the selection of neither),
  ``<table cache folder>/jumps/<hash>.npz``, written to a temporary name and renamed: a reader
  sees a whole index or none, two processes may build one at the same time harmlessly, and
  the folder goes with the table's cache folder when the table changes.
- Built with a DuckDB connection of its own: one thread (the build runs beside the server
  and leaves it the other core), insertion order kept (so a table stored in key order, as
  CAVE and SynAnno tables are, streams its keys in order with no sort) and the build memory
  limit; keys that turn out unordered are streamed again sorted (spilling to the table's
  ``spill`` folder). Keys repeated in the table leave it without an index (OFFSET stays).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from synanno_dash.core.geometry import BBox
from synanno_dash.core.jump_index import JUMP_STRIDE, JumpIndex, KeysNotAscending
from synanno_dash.data.table_sql import quote

JUMPS_FOLDER = "jumps"
BATCH_ROWS = 1 << 16
BUILD_MEMORY_LIMIT = "100MB"


def jump_path(folder: Path, neuron_id: int | None, bbox: BBox | None) -> Path:
    """Where the jump index of a selection of the table cached in ``folder`` is kept."""
    box = None if bbox is None else [list(bbox.start_xyz), list(bbox.stop_xyz)]
    key = json.dumps([None if neuron_id is None else str(neuron_id), box])
    return folder / JUMPS_FOLDER / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def read_jumps(path: Path) -> JumpIndex | None:
    """The index kept at ``path``; None when there is none (a damaged file is removed, so it
    is built again)."""
    try:
        with np.load(path) as stored:
            return JumpIndex(int(stored["stride"]), int(stored["total"]), stored["keys"])
    except FileNotFoundError:
        return None
    except (ValueError, OSError, KeyError):
        path.unlink(missing_ok=True)
        return None


def write_jumps(path: Path, index: JumpIndex) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.partial.npz")
    try:
        np.savez(partial, stride=index.stride, total=index.total, keys=index.keys)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def build_jumps(
    view_sql: str, from_sql: str, params: list[Any], spill: Path, stride: int = JUMP_STRIDE
) -> JumpIndex:
    """The jump index of ``SELECT mat {from_sql}`` (``from_sql`` may read the view
    ``synapses`` defined by ``view_sql``). Raises ``KeysNotAscending`` when keys repeat."""
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": 1,
        "memory_limit": BUILD_MEMORY_LIMIT,
        "preserve_insertion_order": True,
    }
    db = duckdb.connect(config=config)
    try:
        db.execute(f"SET temp_directory = {quote(spill)}")
        db.execute(f"CREATE VIEW synapses AS {view_sql}")
        try:
            return _index(db, f"SELECT mat{from_sql}", params, stride)
        except KeysNotAscending:
            return _index(db, f"SELECT mat{from_sql} ORDER BY mat", params, stride)
    finally:
        db.close()


def _index(db: Any, sql: str, params: list[Any], stride: int) -> JumpIndex:
    """The index of the keys ``sql`` returns, streamed on a cursor of its own."""
    cursor = db.cursor()
    try:
        reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        return JumpIndex.of_keys((batch.column(0).to_numpy() for batch in reader), stride)
    finally:
        cursor.close()
