from __future__ import annotations

import json
from dataclasses import replace

import pytest

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.session_json import (
    ORIGINAL_KEYS,
    SessionJsonError,
    build_session_json,
    dumps,
    parse_session_json,
)

BIG = 864691135000000123  # above 2**53: a float round trip would change it


def _items() -> list:
    items = [
        instance_for(i, Synapse(100 + i, (40 + i, 50, 3), (38, 50, 3), (42, 51, 4), BIG, BIG + i),
                     (64, 64, 6))
        for i in range(5)
    ]
    items[1] = replace(items[1], label=Label.INCORRECT, category=Category.FALSE_POSITIVE,
                       seen=True, note="no vesicles")
    items[2] = replace(items[2], label=Label.UNSURE, category=Category.CUSTOM,
                       custom_category="odd membrane", seen=True)
    items[3] = replace(items[3], synapse=replace(items[3].synapse, pre_xyz_vx=None))
    items[4] = replace(items[4], discarded=True, label=Label.INCORRECT,
                       category=Category.FALSE_POSITIVE)
    return items


def test_records_have_the_original_28_keys_and_exact_ids() -> None:
    document = build_session_json(_items(), per_page=2, proofread_time={"start_grid": "t0"},
                                  neuron_id=BIG)
    assert len(ORIGINAL_KEYS) == 28
    records = document["Metadata"]
    assert len(records) == 4  # the discarded one left the export
    for record in records:
        assert set(ORIGINAL_KEYS) <= set(record)
        assert all(k in ORIGINAL_KEYS or k.startswith("sd_") for k in record)
    text = dumps(document)
    reread = json.loads(text)
    assert reread["Metadata"][0]["neuron_id"] == BIG
    assert reread["Metadata"][2]["sd_post_neuron_id"] == BIG + 2
    assert records[1]["Label"] == "incorrect" and records[1]["Error_Description"] == "falsePositive"
    assert records[2]["Error_Description"] == "odd membrane"
    assert records[0]["Error_Description"] == "None" and records[0]["Annotated"] == "No"
    assert records[2]["Page"] == 2 and records[0]["Page"] == 1
    # the usual X_Index 0, Y_Index 1, Z_Index 2: boxes read [x0, x1, y0, y1, z0, z1]
    assert (records[0]["X_Index"], records[0]["Y_Index"], records[0]["Z_Index"]) == (0, 1, 2)
    assert records[0]["Original_Bbox"] == [8, 72, 18, 82, 0, 6]
    assert records[0]["Middle_Slice"] == records[0]["cz0"] == 3
    assert records[0]["crop_size_z"] == 6
    assert records[3]["pre_pt_x"] is None


def test_ours_round_trips_to_ours() -> None:
    items = _items()
    document = build_session_json(items, per_page=6, proofread_time={}, include_discarded=True)
    restored = parse_session_json(dumps(document))
    assert restored.instances == items
    assert restored.tiles_per_page == 6


def test_padding_and_adjusted_box_at_the_volume_border() -> None:
    item = instance_for(0, Synapse(0, (10, 50, 1), None, None), (64, 64, 6))
    volume = BBox((0, 0, 0), (512, 512, 64))
    record = build_session_json([item], 24, {}, volume=volume)["Metadata"][0]
    # x, y, z pairs; z is not padded outside drawing (the grid shows whole slices)
    assert record["Original_Bbox"] == [-22, 42, 18, 82, -2, 4]
    assert record["Padding"] == [[22, 0], [0, 0], [0, 0]]
    assert record["Adjusted_Bbox"] == [0, 42, 18, 82, 0, 4]
    drawn = BBox((-22, 18, -6), (42, 82, 10))
    record = build_session_json([item], 24, {}, volume=volume, draw_boxes={0: drawn})
    record = record["Metadata"][0]
    assert record["Original_Bbox"] == [-22, 42, 18, 82, -6, 10]
    assert record["Padding"] == [[22, 0], [0, 0], [6, 0]] and record["crop_size_z"] == 16


def _original_record(index: int, label: str, description: str) -> dict:
    return {
        "Page": 1, "Image_Index": index, "materialization_index": 7 + index,
        "section_index": None, "tree_traversal_index": None, "Label": label,
        "Annotated": "Yes", "neuron_id": BIG, "Error_Description": description,
        "Y_Index": 1, "X_Index": 2, "Z_Index": 0, "Middle_Slice": 12,
        "Original_Bbox": [9, 15, 18, 82, 8, 72], "cz0": 12, "cy0": 50, "cx0": 40,
        "pre_pt_z": 12, "pre_pt_x": 38, "pre_pt_y": 50, "post_pt_y": 51, "post_pt_z": 12,
        "post_pt_x": 42, "crop_size_x": 64, "crop_size_y": 64, "crop_size_z": 6,
        "Adjusted_Bbox": [9, 15, 18, 82, 8, 72], "Padding": [[0, 0], [0, 0], [0, 0]],
    }  # fmt: skip


def test_original_json_maps_onto_our_taxonomy_and_back() -> None:
    original = {
        "Proofread Time": {"start_grid": "2024-01-01 10:00:00"},
        "Metadata": [
            _original_record(0, "incorrect", "falsePositive"),
            _original_record(1, "Incorrect", "badFit"),  # either case is read
            _original_record(2, "unsure", "polaritySwitch"),
            _original_record(3, "unsure", "strange blob"),
            _original_record(4, "incorrect", "False Negative"),
            _original_record(5, "correct", "None"),
        ],
    }
    restored = parse_session_json(json.dumps(original))
    assert [i.category for i in restored.instances] == [
        Category.FALSE_POSITIVE, Category.POORLY_ALIGNED, Category.WRONG_DIRECTION,
        Category.CUSTOM, Category.FALSE_NEGATIVE, None,
    ]  # fmt: skip
    assert restored.instances[3].custom_category == "strange blob"
    assert restored.neuron_id == BIG
    assert restored.instances[0].bbox_target_vx == BBox((8, 18, 9), (72, 82, 15))
    again = build_session_json(restored.instances, 24, restored.proofread_time, restored.neuron_id)
    for before, after in zip(original["Metadata"], again["Metadata"]):
        for key in ("Error_Description", "materialization_index", "cz0", "cy0", "cx0",
                    "pre_pt_x", "post_pt_y", "Original_Bbox", "crop_size_z", "neuron_id",
                    "X_Index", "Y_Index", "Z_Index"):
            assert after[key] == before[key], key
        assert after["Label"] == before["Label"].lower()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"Records": []}', "no 'Metadata' list"),
        ('{"Metadata": [5]}', "record 0 of 'Metadata' is 5, not an object"),
        ('{"Metadata": [{"cx0": 1, "cy0": 2}]}', "record 0: the key 'cz0' is missing"),
        ('{"Metadata": [{"cx0": 1, "cy0": 2, "cz0": "a", "crop_size_x": 1}]}',
         "record 0: 'cz0' must be a whole number"),
        ('{"Metadata": [{"cx0": 0, "cy0": 0, "cz0": 0, "Label": "Maybe", '
         '"Original_Bbox": [0,1,0,1,0,1]}]}', "record 0: 'Label'"),
    ],
)
def test_malformed_json_names_the_record_and_key(text: str, message: str) -> None:
    with pytest.raises(SessionJsonError, match=message):
        parse_session_json(text)
