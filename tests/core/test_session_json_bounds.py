"""A restored session JSON is bounded and every bad value gets a message (issue 10).

Each case is one of the inputs that used to end in "Something went wrong" (or worse, a loop
or an allocation the file controlled): the message must name the record or key and the fix.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from synanno_dash.core import session_json_read
from synanno_dash.core.session_json import SessionJsonError, parse_session_json


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Page": 0, "Image_Index": 4, "materialization_index": -1, "Label": "correct",
        "Annotated": "No", "neuron_id": "No Neuron Selected...", "Error_Description": "None",
        "X_Index": 0, "Y_Index": 1, "Z_Index": 2, "Middle_Slice": 12,
        "cx0": 40, "cy0": 50, "cz0": 12, "pre_pt_x": 38, "pre_pt_y": 50, "pre_pt_z": 12,
        "post_pt_x": 42, "post_pt_y": 51, "post_pt_z": 12,
        "crop_size_x": 64, "crop_size_y": 64, "crop_size_z": 6,
        "Original_Bbox": [8, 72, 18, 82, 9, 15], "Adjusted_Bbox": [8, 72, 18, 82, 9, 15],
        "Padding": [[0, 0], [0, 0], [0, 0]],
    }  # fmt: skip
    record.update(changes)
    return record


def _text(*records: dict[str, Any], ours: Any = None) -> str:
    document: dict[str, Any] = {"Proofread Time": {}, "Metadata": list(records)}
    if ours is not None:
        document["SynAnno Dash"] = ours
    return json.dumps(document)


def _message(text: str | bytes) -> str:
    with pytest.raises(SessionJsonError) as caught:
        parse_session_json(text)
    return str(caught.value)


def test_a_valid_record_loads() -> None:
    restored = parse_session_json(_text(_record()))
    assert restored.instances[0].bbox_target_vx.as_list() == [8, 18, 9, 72, 82, 15]
    assert restored.instances[0].synapse.materialization_index == 4


def test_deeply_nested_json_is_refused_by_depth() -> None:
    assert "nests lists and objects more than 8 levels" in _message("[" * 100_000 + "]" * 100_000)
    nested: Any = 1
    for _ in range(12):
        nested = [nested]
    message = _message(_text(_record(Extra=nested)))
    assert "more than 8 levels" in message and "Fix:" in message


def test_a_huge_file_is_refused_by_size_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_json_read, "MAX_SESSION_JSON_BYTES", 10_000)
    message = _message(_text(*[_record()] * 200))
    assert "a session JSON may be at most" in message and "split the review" in message


def test_too_many_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_json_read, "MAX_SESSION_RECORDS", 3)
    assert "holds 4 records; a session holds at most 3" in _message(_text(*[_record()] * 4))


@pytest.mark.parametrize("page", ["abc", 0, -3, 1.5, [], 10**9])
def test_a_page_that_is_not_a_page_number(page: Any) -> None:
    message = _message(_text(_record(), ours={"page": page}))
    assert "'SynAnno Dash' -> 'page'" in message and "a page number of 1 or more" in message


@pytest.mark.parametrize("tiles", [-5, 0, 7, "abc", 10**30])
def test_tiles_per_page_only_6_12_or_24(tiles: Any) -> None:
    message = _message(_text(_record(), ours={"tiles_per_page": tiles}))
    assert "'tiles_per_page'" in message and "6, 12 or 24" in message


def test_tiles_per_page_6_12_24_are_kept() -> None:
    for tiles in (6, 12, 24):
        assert (
            parse_session_json(_text(_record(), ours={"tiles_per_page": tiles})).tiles_per_page
            == tiles
        )


def test_an_unknown_category_names_the_known_ones() -> None:
    message = _message(_text(_record(sd_category="bogus")))
    assert "record 0, Image_Index 4: 'sd_category' is 'bogus'" in message
    assert "false_positive" in message


def test_a_short_box_says_how_many_values_and_the_layout() -> None:
    message = _message(_text(_record(Original_Bbox=[8, 72, 18, 82, 9])))
    assert (
        "'Original_Bbox' holds 5 values; a box is six numbers [x0, x1, y0, y1, z0, z1]" in message
    )


def test_six_numbers_in_the_wrong_order_say_what_is_wrong() -> None:
    inverted = _message(_text(_record(Original_Bbox=[8, 72, 18, 82, 15, 9])))
    assert "six numbers" not in inverted
    assert "runs in z from 15 to 9: the stop must be above the start" in inverted
    # z, y, x order given as x, y, z: the centre is not in the box read that way
    swapped = _message(_text(_record(Original_Bbox=[9, 15, 18, 82, 8, 72])))
    assert "six numbers" not in swapped and "does not hold the centre" in swapped
    assert "check X_Index, Y_Index and Z_Index" in swapped


def test_axis_indexes_must_be_a_permutation() -> None:
    message = _message(_text(_record(X_Index=32, Y_Index=32, Z_Index=3)))
    assert "'X_Index'" in message and "0 to 2" in message
    message = _message(_text(_record(X_Index=0, Y_Index=0, Z_Index=2)))
    assert "each axis needs its own position" in message


def test_a_box_too_big_for_a_page() -> None:
    message = _message(_text(_record(Original_Bbox=[-(10**6), 10**6, 18, 82, 9, 15])))
    assert "spans 2000000 x 64 x 6 voxels" in message and "at most 1024 voxels per axis" in message


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers(value: str) -> None:
    text = _text(_record()).replace('"cx0": 40', f'"cx0": {value}')
    message = _message(text)
    assert "'cx0'" in message and "not a finite number" in message


def test_a_number_of_100000_digits_is_never_converted() -> None:
    text = _text(_record()).replace('"cy0": 50', '"cy0": ' + "9" * 100_000)
    message = _message(text)
    assert "'cy0' is a number of 100,000 digits" in message
    assert len(message) < 400


@pytest.mark.parametrize("neuron", [-1, 2**64, "²", "1e17", 1.5, "12a", 0, True])
def test_neuron_ids_are_64_bit_unsigned(neuron: Any) -> None:
    message = _message(_text(_record(neuron_id=neuron)))
    assert "'neuron_id'" in message and "neuron id (unsigned 64-bit)" in message


def test_pre_and_post_ids_are_64_bit_unsigned() -> None:
    assert parse_session_json(_text(_record(sd_pre_neuron_id=2**64 - 1))).instances[0]
    message = _message(_text(_record(sd_post_neuron_id=2**64)))
    assert "'sd_post_neuron_id'" in message


def test_labels_text_and_flags() -> None:
    assert "'Label' is 'Maybe'" in _message(_text(_record(Label="Maybe")))
    assert "'Label' must be text" in _message(_text(_record(Label=3)))
    assert "'sd_note' holds 10,001 characters" in _message(_text(_record(sd_note="x" * 10_001)))
    assert "'Annotated' must be Yes or No" in _message(_text(_record(Annotated="perhaps")))
    assert "'Error_Description' must be text" in _message(_text(_record(Error_Description=["a"])))


def test_padding_and_adjusted_box_are_checked() -> None:
    assert "'Padding'" in _message(_text(_record(Padding=[[0, 0], [0, 0]])))
    assert "'Padding'" in _message(_text(_record(Padding=[[0, -1], [0, 0], [0, 0]])))
    assert "'Adjusted_Bbox' runs in x from 72 to 8" in _message(
        _text(_record(Adjusted_Bbox=[72, 8, 18, 82, 9, 15]))
    )


def test_not_utf8_and_not_json() -> None:
    assert "not UTF-8 text" in _message(b"\xff\xfe{")
    assert "not valid JSON (line 1, column 2" in _message("{nope")
    assert "no 'Metadata' list" in _message("[1, 2]")
    assert "'SynAnno Dash' is 5, not an object" in _message(_text(_record(), ours=5))


def test_unusable_stage_times_are_left_out_not_fatal() -> None:
    document = json.loads(_text(_record()))
    document["Proofread Time"] = {"start_grid": "2026-11-22T11:13:01.816134", "x": [1], "y": 3}
    restored = parse_session_json(json.dumps(document))
    assert restored.proofread_time == {"start_grid": "2026-11-22T11:13:01.816134"}
