"""Where an opened synapse table is kept (``tables.open_table``): its cache folder, named
from the source and its version, and the centre's extent read from Parquet statistics.

The cache folder of a table is named from the source's resolved path and the column mapping,
then its size, mtime and the cache format version: a changed file is opened anew and the
stale folder removed (``remove_stale``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from synanno_dash.data import table_files
from synanno_dash.data.table_schema import ColumnMapping

CACHE_FORMAT_VERSION = 4  # 3: the confidence column; 4: the synapse type


def cache_folder_for(
    path_or_url: str | Path, cache_dir: Path, mapping: ColumnMapping | None = None
) -> Path:
    """Where ``open_table`` keeps this table (changes when the file changes)."""
    return cache_folder(Path(cache_dir), table_files.local_path(str(path_or_url)), mapping)


def cache_folder(cache_dir: Path, path: Path, mapping: ColumnMapping | None) -> Path:
    """``table-<source and mapping>-<size, mtime, format>``: a changed file gets a new name,
    and its old folder is found by the shared first part (see remove_stale)."""
    stat = table_files.stat(path)
    source = json.dumps([str(path.resolve()), mapping and mapping.as_dict()])
    version = json.dumps([stat.st_size, stat.st_mtime_ns, CACHE_FORMAT_VERSION])
    path_hash = hashlib.sha256(source.encode()).hexdigest()[:16]
    key_hash = hashlib.sha256((source + version).encode()).hexdigest()[:16]
    return cache_dir / f"table-{path_hash}-{key_hash}"


def remove_stale(folder: Path) -> None:
    """Remove the folders of older versions of the same source (not ones being written)."""
    prefix = folder.name.rsplit("-", 1)[0]
    for old in folder.parent.glob(f"{prefix}-*"):
        if old != folder and old.is_dir() and not old.name.endswith(".partial"):
            shutil.rmtree(old, ignore_errors=True)


def extent(data_path: Path, names: tuple[str, str, str]) -> list[int] | None:
    """The centre's half-open extent from the Parquet statistics, when every row group has
    them (our converted files always do)."""
    meta = pq.ParquetFile(data_path).metadata
    if meta.num_row_groups == 0:
        return None
    first = meta.row_group(0)
    leaves = {first.column(j).path_in_schema: j for j in range(first.num_columns)}
    low, high = [], []
    for name in names:
        if name not in leaves:
            return None
        index = leaves[name]
        stats = [meta.row_group(i).column(index).statistics for i in range(meta.num_row_groups)]
        if not stats or any(s is None or not s.has_min_max for s in stats):
            return None
        low.append(round(min(s.min for s in stats)))
        high.append(round(max(s.max for s in stats)) + 1)
    return low + high
