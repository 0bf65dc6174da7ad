"""Jumping to any page through a jump index returns exactly the rows OFFSET returns.

The index logic (``core/jump_index.py``) is checked against two independent databases:
SQLite (Python's ``sqlite3``: the keys streamed in order, the page read from the anchor key,
compared with ``LIMIT ... OFFSET``) and DuckDB over Parquet through ``SynapseTable`` (in place
and converted, sorted by id and shuffled, whole table and a box), with hypothesis choosing
page sizes and positions. Expected rows always come from the database's own OFFSET query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash.core.geometry import BBox
from synanno_dash.core.jump_index import JumpIndex, JumpIndexBuilder, KeysNotAscending
from synanno_dash.data import table_jumps, tables
from synanno_dash.data.table_registry import TableRegistry
from synanno_dash.data.tables import SynapseTable, open_table

N_ROWS = 20_000
BOX = BBox((0, 0, 0), (500, 1000, 100))  # about half of the rows (x < 500)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- the index itself -------------------------------------------------------------------


@given(
    keys=st.lists(st.integers(-(2**62), 2**62), unique=True, max_size=400).map(sorted),
    stride=st.integers(1, 40),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    data=st.data(),
)
def test_an_anchor_is_the_indexed_key_at_or_before_the_position(
    keys: list[int], stride: int, cuts: list[int], data: Any
) -> None:
    bounds = [0, *sorted(c for c in cuts if c <= len(keys)), len(keys)]
    batches = [np.array(keys[a:b], dtype=np.int64) for a, b in zip(bounds, bounds[1:])]
    index = JumpIndex.of_keys(batches, stride)
    assert index.total == len(keys)
    if not keys:
        return
    position = data.draw(st.integers(0, len(keys) - 1))
    key, skip = index.anchor(position)
    assert 0 <= skip < stride
    assert keys[position - skip] == key and (position - skip) % stride == 0
    stop = data.draw(st.integers(position + 1, len(keys) + 5))
    low, high, skip = index.span(position, stop)
    inside = [k for k in keys if low <= k and (high is None or k < high)]
    assert inside[skip : skip + stop - position] == keys[position:stop]
    assert len(inside) < stop - position + 2 * stride


@pytest.mark.parametrize(
    "batches", [[[1, 2, 2]], [[1, 5], [5, 6]], [[3, 4], [2]], [[2, 1]]], ids=str
)
def test_keys_that_are_not_strictly_ascending_are_refused(batches: list[list[int]]) -> None:
    builder = JumpIndexBuilder(2)
    with pytest.raises(KeysNotAscending):
        for batch in batches:
            builder.add(np.array(batch))


def test_a_position_outside_the_selection_is_refused() -> None:
    index = JumpIndex.of_keys([np.arange(10)], 4)
    with pytest.raises(ValueError, match="outside the selection of 10 rows"):
        index.anchor(10)
    with pytest.raises(ValueError, match="holds 3 keys, not 2"):
        JumpIndex(4, 10, np.array([0, 4]))


# --- SQLite -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_rows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """A table of unique keys with gaps (inserted shuffled) and a payload, on disk."""
    rng = np.random.default_rng(7)
    keys = np.cumsum(rng.integers(1, 1000, N_ROWS)) + 2**40
    rng.shuffle(keys)
    db = sqlite3.connect(tmp_path_factory.mktemp("sqlite") / "rows.db", check_same_thread=False)
    db.execute("CREATE TABLE rows (mat INTEGER NOT NULL, payload INTEGER NOT NULL)")
    db.execute("CREATE INDEX rows_mat ON rows (mat)")
    db.executemany("INSERT INTO rows VALUES (?, ?)", [(int(k), int(k) % 7) for k in keys.tolist()])
    db.commit()
    yield db
    db.close()


def _sqlite_keys(db: sqlite3.Connection, where: str) -> Iterator[np.ndarray]:
    cursor = db.execute(f"SELECT mat FROM rows{where} ORDER BY mat")
    while batch := cursor.fetchmany(997):
        yield np.array([row[0] for row in batch], dtype=np.int64)


@pytest.mark.parametrize("where", ["", " WHERE payload < 3"], ids=["all rows", "filtered"])
@SETTINGS
@given(per_page=st.integers(1, 60), stride=st.sampled_from([1, 7, 256]), data=st.data())
def test_sqlite_page_from_the_index_is_the_offset_page(
    sqlite_rows: sqlite3.Connection, where: str, per_page: int, stride: int, data: Any
) -> None:
    index = JumpIndex.of_keys(_sqlite_keys(sqlite_rows, where), stride)
    total = sqlite_rows.execute(f"SELECT count(*) FROM rows{where}").fetchone()[0]
    assert index.total == total
    pages = -(-total // per_page)
    page = data.draw(st.integers(1, pages))
    start = (page - 1) * per_page
    expected = sqlite_rows.execute(
        f"SELECT mat, payload FROM rows{where} ORDER BY mat LIMIT ? OFFSET ?", (per_page, start)
    ).fetchall()
    low, high, skip = index.span(start, start + per_page)
    joiner = " AND" if where else " WHERE"
    below = "" if high is None else f" AND mat < {high}"
    found = sqlite_rows.execute(
        f"SELECT mat, payload FROM rows{where}{joiner} mat >= ?{below} ORDER BY mat LIMIT ?",
        (low, skip + per_page),
    ).fetchall()[skip:]
    assert found == expected and len(found) == min(per_page, total - start)


# --- DuckDB over Parquet ------------------------------------------------------------------


def _write_table(path: Path, shuffle: bool, repeat_id: bool = False) -> None:
    rng = np.random.default_rng(14)
    ids = np.cumsum(rng.integers(1, 4, N_ROWS)).astype(np.int64) + 2**33
    centre = np.column_stack(
        [rng.integers(0, 1000, N_ROWS), rng.integers(0, 1000, N_ROWS), rng.integers(0, 100, N_ROWS)]
    )
    if repeat_id:
        ids[N_ROWS // 2] = ids[N_ROWS // 2 - 1]
    order = rng.permutation(N_ROWS) if shuffle else np.arange(N_ROWS)
    columns: dict[str, Any] = {"id": ids[order]}
    for name in ("ctr", "pre", "post"):
        for i, axis in enumerate("xyz"):
            columns[f"{name}_pt_position_{axis}"] = centre[order, i]
    columns["pre_pt_root_id"] = rng.integers(1, 50, N_ROWS).astype(np.uint64) + np.uint64(2**60)
    columns["post_pt_root_id"] = rng.integers(1, 50, N_ROWS).astype(np.uint64)
    pq.write_table(pa.table(columns), path, row_group_size=700)


@pytest.fixture(scope="module", params=["in place, sorted", "in place, shuffled", "converted"])
def parquet_table(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SynapseTable:
    folder = tmp_path_factory.mktemp("parquet")
    path = folder / "synapses.parquet"
    _write_table(path, shuffle="shuffled" in request.param)
    with pytest.MonkeyPatch.context() as patch:
        if "in place" in request.param:
            patch.setattr(tables, "INPLACE_MIN_ROWS", 1000)
        table = open_table(path, folder / "cache")
    assert (table.data_path == path) == ("in place" in request.param)
    for box in (None, BOX):
        assert table.jump_index(None, box) is None
        table.build_jump_index(None, box)
    return table


@pytest.mark.parametrize("box", [None, BOX], ids=["whole table", "box"])
@SETTINGS
@given(per_page=st.integers(1, 60), data=st.data())
def test_duckdb_page_from_the_index_is_the_offset_page(
    parquet_table: SynapseTable, box: BBox | None, per_page: int, data: Any
) -> None:
    index = parquet_table.jump_index(None, box)
    assert index is not None and index.total == parquet_table.count(bbox=box)
    page = data.draw(st.integers(1, -(-index.total // per_page)))
    start = (page - 1) * per_page
    expected = parquet_table.query(bbox=box, offset=start, limit=per_page)
    assert parquet_table.page_at(start, per_page, None, box) == expected
    assert len(expected) == min(per_page, index.total - start)


def test_a_jump_reads_from_the_index_not_by_offset(
    parquet_table: SynapseTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = parquet_table.query(offset=N_ROWS - 30, limit=24)

    def no_offset(*_args: Any, **_kwargs: Any) -> list:
        raise AssertionError("the jump used OFFSET")

    monkeypatch.setattr(SynapseTable, "query", no_offset)
    assert parquet_table.page_at(N_ROWS - 30, 24) == expected


def test_the_index_is_kept_beside_the_table_for_other_processes(
    parquet_table: SynapseTable,
) -> None:
    path = table_jumps.jump_path(parquet_table.cache_folder, None, BOX)
    kept = table_jumps.read_jumps(path)
    built = parquet_table.jump_index(None, BOX)
    assert kept is not None and built is not None
    assert kept.total == built.total and np.array_equal(kept.keys, built.keys)
    path.write_bytes(b"not an index")  # damaged: dropped, so it is built again
    assert table_jumps.read_jumps(path) is None and not path.exists()


def test_repeated_ids_leave_jumps_on_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "repeated.parquet"
    _write_table(path, shuffle=False, repeat_id=True)
    monkeypatch.setattr(tables, "INPLACE_MIN_ROWS", 1000)  # in place: ids not checked unique
    registry = TableRegistry(tmp_path / "cache", build_indexes=False)
    table = registry.get(str(path))
    build = registry.start_jump_index(table, None, None)
    assert build is not None
    with pytest.raises(KeysNotAscending):
        build.result(timeout=60)
    assert registry.start_jump_index(table, None, None) is build  # not tried again
    assert table.jump_index() is None
    assert table.page_at(500, 24) == table.query(offset=500, limit=24)


def test_the_registry_builds_an_index_once_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "synapses.parquet"
    _write_table(path, shuffle=False)
    registry = TableRegistry(tmp_path / "cache", build_indexes=False)
    table = registry.get(str(path))
    build = registry.start_jump_index(table, None, BOX)
    assert build is not None
    build.result(timeout=60)
    index = table.jump_index(None, BOX)
    assert index is not None and index.total == table.count(bbox=BOX)
    assert registry.start_jump_index(table, None, BOX) is None  # there: nothing to build
    assert table.jump_index(None, None) is None  # another selection has its own index
