"""The table loader reads a synapse-type column (``synapse_type`` or ``type``) in every schema
and path: CSV (converted), small Parquet (converted), large Parquet (in place), CAVE lists,
integer codes; names are trimmed and lower-cased, empty cells are "not typed", and a cell
that is no type is refused by column and row without quoting it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synanno_dash.data import tables
from synanno_dash.data.table_schema import ColumnMapping
from synanno_dash.data.tables import TableError, open_table

RAW = ["Excitatory", None, " inhibitory ", "", "gap junction"]
EXPECTED = ["excitatory", None, "inhibitory", None, "gap junction"]


def _synanno(types: list, column: str = "synapse_type") -> dict[str, list]:
    n = len(types)
    columns: dict[str, list] = {name: list(range(10, 10 + n)) for name in ("x", "y", "z")}
    for side in ("pre", "post"):
        columns.update({f"{side}_pt_{a}": list(range(n)) for a in "xyz"})
    columns["id"] = [100 + i for i in range(n)]
    columns[column] = types
    return columns


def _types(path: Path, cache: Path, mapping: ColumnMapping | None = None) -> list[str | None]:
    table = open_table(path, cache, mapping)
    return [s.synapse_type for s in table.query()]


@pytest.mark.parametrize("column", ["synapse_type", "type"])
def test_csv_types_are_read(tmp_path: Path, column: str) -> None:
    path = tmp_path / "typed.csv"
    pa.table(_synanno(RAW, column)).to_pandas().to_csv(path, index=False)
    assert _types(path, tmp_path / "cache") == EXPECTED


@pytest.mark.parametrize("in_place", [False, True])
def test_parquet_types_are_read_converted_and_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    if in_place:
        monkeypatch.setattr(tables, "INPLACE_MIN_ROWS", 1)
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table(_synanno(RAW)), path)
    opened = open_table(path, tmp_path / "cache")
    assert (opened.data_path == path) is in_place
    assert [s.synapse_type for s in opened.query()] == EXPECTED
    assert opened.get(102) is not None and opened.get(102).synapse_type == "inhibitory"  # type: ignore[union-attr]


def test_integer_codes_and_a_cave_table(tmp_path: Path) -> None:
    n = 3
    cave = {
        "ctr_pt_position": [[i, 2, 3] for i in range(n)],
        "pre_pt_position": [[i, 1, 3] for i in range(n)],
        "post_pt_position": [[i, 4, 3] for i in range(n)],
        "type": pa.array([1, None, 2], pa.int64()),
    }
    path = tmp_path / "cave.parquet"
    pq.write_table(pa.table(cave), path)
    assert _types(path, tmp_path / "cache") == ["1", None, "2"]


def test_a_mapped_table_keeps_its_type_column(tmp_path: Path) -> None:
    path = tmp_path / "mapped.csv"
    path.write_text("cx,cy,cz,type\n1,2,3,Inhibitory\n4,5,6,\n")
    mapping = ColumnMapping(center_x="cx", center_y="cy", center_z="cz")
    assert _types(path, tmp_path / "cache", mapping) == ["inhibitory", None]


def test_a_table_without_types_has_none(tmp_path: Path) -> None:
    columns = _synanno(RAW)
    del columns["synapse_type"]
    path = tmp_path / "plain.csv"
    pa.table(columns).to_pandas().to_csv(path, index=False)
    assert _types(path, tmp_path / "cache") == [None] * len(RAW)


@pytest.mark.parametrize(
    ("cell", "why"),
    [("s3cr3t-" + "x" * 40, "printable characters"), ("untyped", "reserved")],
)
def test_a_cell_that_is_no_type_is_named_not_quoted(tmp_path: Path, cell: str, why: str) -> None:
    path = tmp_path / "bad.csv"
    pa.table(_synanno(["excitatory", cell])).to_pandas().to_csv(path, index=False)
    with pytest.raises(TableError) as error:
        open_table(path, tmp_path / "cache")
    message = str(error.value)
    assert "'synapse_type', data row 1" in message and why in message
    assert "Fix:" in message
    assert cell not in message or cell == "untyped"  # our own reserved word, not file text


def test_a_bad_cell_of_a_table_read_in_place_is_named_when_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "INPLACE_MIN_ROWS", 1)
    types = ["excitatory"] * 5000 + ["y" * 50]  # past the batch checked at open
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table(_synanno(types)), path)
    opened = open_table(path, tmp_path / "cache")
    with pytest.raises(TableError, match="synapse 5100 is not usable") as error:
        opened.query()
    assert "y" * 50 not in str(error.value)
