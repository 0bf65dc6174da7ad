"""The ground-truth file: the demo's own, found beside its table, and broken files with
messages that name the problem."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synanno_dash.data.ground_truth import (
    GroundTruthError,
    find_beside_table,
    load_ground_truth,
)


def test_the_demo_ground_truth_loads_and_matches_its_table(demo_info) -> None:  # type: ignore[no-untyped-def]
    found = find_beside_table(demo_info.table_url)
    assert found is not None and found.name == "ground_truth.csv"
    truth = load_ground_truth(demo_info.ground_truth_url)  # a file:// URL works too
    assert truth.path == found
    # one line per table row, plus the left-out clefts without a row
    table = pd.read_csv(found.parent / "synapses.csv")
    assert sorted(truth.errors_by_row()) == list(range(len(table)))
    counts = dict(demo_info.error_counts)
    assert truth.not_in_table == counts["false_negative"]
    assert truth.counts() == {k: n for k, n in counts.items() if k != "false_negative"}


def test_no_ground_truth_beside_a_table(tmp_path: Path) -> None:
    (tmp_path / "cells.csv").write_text("x,y,z\n1,2,3\n")
    assert find_beside_table((tmp_path / "cells.csv").as_uri()) is None
    assert find_beside_table("gs://bucket/table.csv") is None
    (tmp_path / "cells_ground_truth.csv").write_text(HEADER + "0,none\n")
    assert find_beside_table(str(tmp_path / "cells.csv")) == tmp_path / "cells_ground_truth.csv"


HEADER = "materialization_index,error\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("row,kind\n0,none\n", r"column\(s\) materialization_index, error \(it has: row, kind"),
        ("materialization_index\n0\n", r"lacks the column\(s\) error"),
        (HEADER + "0,none\n1,typo\n", r"unknown error kind\(s\) 'typo'"),
        (HEADER + "0,none\nx7,none\n", r"line 3: materialization_index must be"),
        (HEADER + "0,none\n-1,none\n", r"line 3: materialization_index"),
        (HEADER + "4,none\n4,merged\n", r"table row 4 appears twice"),
        (HEADER + "0,\n", r"line 2: the error column is empty"),
        (HEADER + ",false_negative\n", r"has no line with a materialization_index"),
        (HEADER + "0,none,extra,cells\n", r"Cannot read ground truth"),
        ("", r"lacks the column\(s\) materialization_index, error \(it has: none\)"),
    ],
)  # fmt: skip
def test_broken_ground_truth_gets_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "truth.csv"
    path.write_text(text)
    with pytest.raises(GroundTruthError, match=message):
        load_ground_truth(path)


def test_missing_or_remote_ground_truth(tmp_path: Path) -> None:
    with pytest.raises(GroundTruthError, match="not found"):
        load_ground_truth(tmp_path / "nope.csv")
    with pytest.raises(GroundTruthError, match="only local files"):
        load_ground_truth("https://example.org/truth.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(GroundTruthError, match="not found"):
        load_ground_truth(tmp_path / "folder.csv")


def test_binary_file_is_refused_without_its_contents(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_bytes(b"\xff\xfe\x00\x01secret\x00" * 50)
    with pytest.raises(GroundTruthError) as info:
        load_ground_truth(path)
    assert "secret" not in str(info.value)
