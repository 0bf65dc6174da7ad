"""``data.atomic_files``: a result appears under its final name only when completely written;
a failed write leaves the earlier result (if any) and no temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from synanno_dash.data.atomic_files import written_atomically


def test_a_file_is_published_only_when_complete(tmp_path: Path) -> None:
    final = tmp_path / "table.csv"
    final.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with written_atomically(final) as partial:
            partial.write_text("half")
            assert partial.parent == tmp_path and partial.name.startswith(".table.csv.partial-")
            raise RuntimeError("disk full")
    assert final.read_text() == "old" and sorted(tmp_path.iterdir()) == [final]
    with written_atomically(final) as partial:
        partial.write_text("new")
        assert final.read_text() == "old"  # not yet
    assert final.read_text() == "new" and sorted(tmp_path.iterdir()) == [final]


def test_a_folder_replaces_an_earlier_one_whole(tmp_path: Path) -> None:
    final = tmp_path / "layer"
    final.mkdir()
    (final / "stale").write_text("x")
    with pytest.raises(OSError):
        with written_atomically(final) as partial:
            (partial / "info").parent.mkdir()
            (partial / "info").write_text("{}")
            raise OSError("no space left")
    assert sorted(p.name for p in final.iterdir()) == ["stale"]
    with written_atomically(final) as partial:
        partial.mkdir()
        (partial / "info").write_text("{}")
    assert sorted(p.name for p in final.iterdir()) == ["info"]
    assert sorted(tmp_path.iterdir()) == [final]
