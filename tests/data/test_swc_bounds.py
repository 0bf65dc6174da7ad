"""SWC input bounded and checked line by line (issue 10): finite values, no cycles, one root
per tree, bounded size; every bad line named, never an exception of another kind."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from synanno_dash.data import swc
from synanno_dash.data.swc import SkeletonError, parse_swc, read_swc
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.settings import Settings

GOOD = "1 1 0 0 0 5 -1\n2 3 10 0 0 1 1\n3 3 20 0 0 1 2\n"


def _message(text: str, units_nm: float = 1.0) -> str:
    with pytest.raises(SkeletonError) as caught:
        parse_swc(text, units_nm)
    return str(caught.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("4 inf 30 0 0 1 3", "line 4: the type 'inf' must be a whole number"),
        ("4 3 inf 0 0 1 3", "line 4: the x coordinate is 'inf'"),
        ("4 3 30 -inf 0 1 3", "line 4: the y coordinate is '-inf'"),
        ("4 3 30 0 1e999 1 3", "line 4: the z coordinate is '1e999'"),
        ("4 3 30 0 0 nan 3", "line 4: the radius is 'nan'"),
        ("4 3 30 0 0 1 inf", "line 4: the parent 'inf' must be a whole number"),
        ("inf 3 30 0 0 1 3", "line 4: the node id 'inf' must be a whole number"),
        ("4 3 1e300 0 0 1 3", "line 4: the x coordinate 1e+300 units"),
        ("4 3 30 0 0 1 " + "9" * 100_000, "line 4: the parent '99999999"),
        (str(2**70) + " 3 30 0 0 1 3", f"line 4: the node id {2**70} lies outside 0.."),
        ("-4 3 30 0 0 1 3", "line 4: the node id -4 lies outside 0.."),
        ("4 3 30 0 0 1.5 3.5", "line 4: the parent '3.5' must be a whole number"),
    ],
)
def test_every_bad_value_names_its_line(line: str, expected: str) -> None:
    assert expected in _message(GOOD + line + "\n")


def test_huge_values_are_refused_after_the_unit_is_applied() -> None:
    assert parse_swc(GOOD + "4 3 1e12 0 0 1 3\n").n_nodes == 4
    message = _message(GOOD + "4 3 1e13 0 0 1 3\n", 1000)
    assert "line 4" in message and "1e+16 nm" in message and "nm per unit" in message


def test_a_cycle_has_no_root_and_is_named_by_its_lines() -> None:
    text = "1 1 0 0 0 5 -1\n2 3 1 0 0 1 4\n3 3 2 0 0 1 2\n4 3 3 0 0 1 3\n"
    message = _message(text)
    assert "lines 2, 4, 3: nodes 2 -> 4 -> 3" in message  # each node's parent follows it
    assert "cycle with no root" in message and "parent -1" in message
    assert "line 2: node 2 is its own parent" in _message("1 1 0 0 0 5 -1\n2 3 1 0 0 1 2\n")


def test_several_trees_each_with_one_root_are_fragments_not_errors() -> None:
    skeleton = parse_swc(GOOD + "10 3 0 50 0 1 -1\n11 3 0 60 0 1 10\n")
    assert skeleton.n_fragments() == 2  # healed later by prepare_skeleton


def test_size_and_line_count_are_bounded_before_splitting(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(swc, "MAX_SWC_BYTES", 100)
    assert "may be at most" in _message(GOOD * 10)
    path = tmp_path / "big.swc"
    path.write_text(GOOD * 10)
    with pytest.raises(SkeletonError, match="big.swc is .* may be at most"):
        read_swc(path)
    monkeypatch.setattr(swc, "MAX_SWC_BYTES", 10**6)
    monkeypatch.setattr(swc, "MAX_SWC_LINES", 5)
    assert "has 10 lines; at most 5 are read" in _message("# c\n" * 9 + "1 1 0 0 0 1 -1")


def test_units_must_be_finite() -> None:
    assert "positive, finite number of nm" in _message(GOOD, float("inf"))


def test_inf_in_an_uploaded_swc_is_a_field_message(
    data_dir: Path, tmp_path: Path, demo_info
) -> None:  # type: ignore[no-untyped-def]
    """Through Open Data's service: the SWC field gets the message, nothing raises."""
    context = AppContext.create(
        Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 's.db'}")
    )
    form = OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url, table=demo_info.table_url,
        mode="neuron", neuron_id=str(demo_info.demo_neuron_id), crop_size="64, 64, 6",
    )  # fmt: skip
    for bad in ("4 inf 30 0 0 1 3", "4 3 inf 0 0 1 3", "4 3 30 0 0 1 4"):
        outcome = prepare_session(context, "s", replace(form, swc_text=GOOD + bad + "\n"))
        assert not outcome.ok
        assert "line 4" in outcome.errors["swc"], outcome.errors
    outcome = prepare_session(context, "s", replace(form, swc_text=GOOD, swc_unit_nm="inf"))
    assert "positive number of nm" in outcome.errors["swc"]
