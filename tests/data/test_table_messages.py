"""The synapse-table loader never shows what it read (issue 10).

The table field takes any path the server can read. Pointed at a secrets file,
``/etc/passwd`` or the session database, the message must give the path, the size and what
was expected, and no line of the file. Bad cells are named by column and row, not quoted.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synanno_dash.data.corrected_table import TableCorrections, write_corrected_table
from synanno_dash.data.store import SessionStore
from synanno_dash.data.table_errors import size_text
from synanno_dash.data.tables import TableError, open_table

SECRET = "hunter2-SECRETVALUE"
SYNANNO = ["x", "y", "z", "pre_pt_x", "pre_pt_y", "pre_pt_z", "post_pt_x", "post_pt_y",
           "post_pt_z"]  # fmt: skip


def _lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= 6]


def _refused(path: Path, cache: Path) -> str:
    with pytest.raises(TableError) as caught:
        open_table(path, cache)
    message = str(caught.value)
    assert SECRET not in message
    for line in _lines(path):
        assert line not in message, line
    return message


def _secret_files(folder: Path) -> list[Path]:
    secrets = folder / "secrets.json"
    secrets.write_text(json.dumps({"token": SECRET, "project": "lab"}, indent=1))
    credentials = folder / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = AKIA\naws_secret_access_key = {SECRET}\n"
    )
    header = folder / "header.csv"
    header.write_text(f"{SECRET},x,y\n1,2,3\n")
    zipped = folder / "t.csv.gz"
    zipped.write_bytes(gzip.compress(f"name,{SECRET}\n1,2,3\n".encode()))
    store = SessionStore(f"sqlite:///{folder / 'sessions.db'}")
    store.update_state("someone", note=SECRET)
    store.engine.dispose()
    files = [secrets, credentials, header, zipped, folder / "sessions.db"]
    files += [p for p in (Path("/etc/passwd"), Path("/etc/hostname")) if p.is_file()]
    return files


def test_no_line_of_any_file_reaches_the_message(tmp_path: Path) -> None:
    for path in _secret_files(tmp_path):
        message = _refused(path, tmp_path / "cache")
        assert str(path) in message, message
        assert f"({size_text(path.stat().st_size)})" in message, message
        assert "x, y, z, pre_pt_x" in message  # what was expected


def test_the_session_database_is_not_echoed(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    store = SessionStore(f"sqlite:///{db}")
    store.update_state("abc", secret=SECRET)
    store.engine.dispose()
    message = _refused(db, tmp_path / "cache")
    assert "SQLite" not in message and "CREATE TABLE" not in message


def test_devices_and_pipes_are_refused_before_reading(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading would block for ever
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(TableError, match="is not a regular file"):
            open_table(path, tmp_path / "cache")


def _table(tmp_path: Path, name: str, **extra: list) -> dict[str, list]:
    columns: dict[str, list] = {c: [1, 2] for c in SYNANNO}
    columns.update(extra)
    return columns


def _csv(path: Path, columns: dict[str, list]) -> Path:
    rows = zip(*columns.values(), strict=True)
    path.write_text(",".join(columns) + "\n" + "\n".join(",".join(map(str, r)) for r in rows))
    return path


@pytest.mark.parametrize("value", [SECRET, "1.5", "1e3", "-4"])
def test_a_bad_cell_is_named_by_column_and_row_not_quoted(tmp_path: Path, value: str) -> None:
    columns = ("id", "pre_neuron_id", "y") if value == SECRET else ("id", "pre_neuron_id")
    for column in columns:
        path = _csv(tmp_path / f"{column}.csv", _table(tmp_path, "t", **{column: ["7", value]}))
        message = _refused(path, tmp_path / "cache")
        assert f"Column '{column}', data row 1" in message, message
        assert value not in message


def test_an_id_column_of_floats_or_strings_in_parquet(tmp_path: Path) -> None:
    for name, ids in (("floats", pa.array([1.0, 1.5])), ("strings", pa.array(["7", SECRET]))):
        columns = {c: pa.array([1, 2]) for c in SYNANNO}
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({**columns, "id": ids}), path)
        message = _refused(path, tmp_path / "cache")
        assert "Column 'id', data row 1" in message and "non-negative integers" in message


def test_the_corrected_table_names_a_bad_id_column(tmp_path: Path) -> None:
    """The export reads the table again: a float id there is a message, not a crash."""
    path = _csv(tmp_path / "t.csv", _table(tmp_path, "t", id=["1", "2.5"]))
    with pytest.raises(TableError) as caught:
        write_corrected_table(path, tmp_path / "out.csv", TableCorrections())
    assert "Column 'id', data row 1" in str(caught.value) and "2.5" not in str(caught.value)
    broken = tmp_path / "broken.csv"
    broken.write_text(f"x,y\n1,2,{SECRET}\n")
    with pytest.raises(TableError) as caught:
        write_corrected_table(broken, tmp_path / "out2.csv", TableCorrections())
    assert SECRET not in str(caught.value) and "3 fields where the header line has 2" in str(
        caught.value
    )
