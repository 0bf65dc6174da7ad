"""The table loader keeps a ``confidence`` column, converted (CSV) or read in place (a large
Parquet file), and orders a query least confident first (empty confidences last)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synanno_dash.data import tables
from synanno_dash.data.tables import open_table

CONFIDENCE = [0.9, None, 0.1, 0.5, 0.3]


def _columns() -> dict[str, list]:
    n = len(CONFIDENCE)
    columns: dict[str, list] = {name: list(range(10, 10 + n)) for name in ("x", "y", "z")}
    for side in ("pre", "post"):
        columns.update({f"{side}_pt_{a}": list(range(n)) for a in "xyz"})
    columns["id"] = [100 + i for i in range(n)]
    columns["confidence"] = CONFIDENCE
    return columns


@pytest.mark.parametrize("in_place", [False, True])
def test_least_confident_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    table = pa.table(_columns())
    if in_place:
        monkeypatch.setattr(tables, "INPLACE_MIN_ROWS", 1)
        path = tmp_path / "scored.parquet"
        pq.write_table(table, path)
    else:
        path = tmp_path / "scored.csv"
        table.to_pandas().to_csv(path, index=False)
    opened = open_table(path, tmp_path / "cache")
    assert opened.has_confidence
    assert (opened.data_path == path) is in_place
    order = [s.materialization_index for s in opened.query(least_confident_first=True)]
    assert order == [102, 104, 103, 100, 101]  # 0.1, 0.3, 0.5, 0.9, then the empty one
    assert [s.materialization_index for s in opened.query()] == [100, 101, 102, 103, 104]


def test_a_table_without_the_column_has_no_confidence(tmp_path: Path) -> None:
    columns = _columns()
    del columns["confidence"]
    path = tmp_path / "plain.csv"
    pa.table(columns).to_pandas().to_csv(path, index=False)
    assert not open_table(path, tmp_path / "cache").has_confidence
