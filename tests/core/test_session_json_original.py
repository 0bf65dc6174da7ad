"""The original SynAnno's session JSON as it really is, read and written back (issue 10).

Documents come from ``tests/original_synanno.py``, which writes records the way the original
does and shares no code with our writer: several axis orders, volume- and neuron-centric
sessions, boxes at the volume's border, drawn instances.
"""

from __future__ import annotations

import json
from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synanno_dash.core.geometry import BBox
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.session_json import build_session_json, dumps, parse_session_json
from synanno_dash.core.stage_times import parse_difference, parse_time, proofread_time
from tests.original_synanno import (
    NO_NEURON,
    OriginalSession,
    OriginalSynapse,
    box_of,
    original_document,
    original_json,
)

ORDERS = ["".join(p) for p in permutations("xyz")]
VOLUME = (512, 512, 64)
BIG_NEURON = 864691135000000123  # above 2**53
# The keys our export must write back unchanged. Page counts from 0 in the original and
# Image_Index/materialization_index name the table row differently; those are ours to set.
SAME_KEYS = (
    "section_index", "tree_traversal_index", "Label", "Annotated", "neuron_id",
    "Error_Description", "X_Index", "Y_Index", "Z_Index", "Middle_Slice", "Original_Bbox",
    "cz0", "cy0", "cx0", "pre_pt_z", "pre_pt_x", "pre_pt_y", "post_pt_y", "post_pt_z",
    "post_pt_x", "crop_size_x", "crop_size_y", "crop_size_z", "Adjusted_Bbox", "Padding",
)  # fmt: skip


def _synapses(neuron_centric: bool = False) -> list[OriginalSynapse]:
    """Inside the volume, and at every border (boxes clipped and padded)."""
    centres = [(200, 300, 30), (3, 250, 1), (509, 2, 62), (256, 511, 0), (40, 60, 63)]
    labels = [("correct", "None"), ("incorrect", "falsePositive"), ("unsure", "odd blob"),
              ("incorrect", "badFit"), ("unsure", "polaritySwitch")]  # fmt: skip
    return [
        OriginalSynapse(
            row=10 + 7 * i,
            center_xyz=c,
            pre_xyz=(c[0] - 2, c[1], c[2]),
            post_xyz=(c[0] + 2, c[1] + 1, c[2]),
            label=label,
            error=error,
            annotated=i != 4,
            section_index=i // 2 if neuron_centric else -1,
            tree_traversal_index=100 + i if neuron_centric else -1,
        )  # fmt: skip
        for i, (c, (label, error)) in enumerate(zip(centres, labels, strict=True))
    ]


def _session(order: str, neuron: int | None = None, **kw: object) -> OriginalSession:
    return OriginalSession(
        _synapses(neuron is not None), VOLUME, coordinate_order=order, neuron_id=neuron, **kw
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("neuron", [None, BIG_NEURON])
def test_an_original_json_loads_with_its_own_axis_order(order: str, neuron: int | None) -> None:
    session = _session(order, neuron)
    document = original_document(session)
    restored = parse_session_json(original_json(session))
    assert len(restored.instances) == len(session.synapses)
    assert restored.neuron_id == neuron
    for record, syn, item in zip(
        document["Metadata"], session.synapses, restored.instances, strict=True
    ):
        box = box_of(record)  # the fixture's own reading of its box
        assert item.bbox_target_vx == BBox(
            (box["x"][0], box["y"][0], box["z"][0]), (box["x"][1], box["y"][1], box["z"][1])
        )
        assert item.synapse.center_xyz_vx == syn.center_xyz
        assert item.synapse.pre_xyz_vx == syn.pre_xyz and item.synapse.post_xyz_vx == syn.post_xyz
        assert item.bbox_target_vx.shape_xyz == (64, 64, 6)
        assert item.label is Label(syn.label) and item.seen == syn.annotated
        assert item.synapse.materialization_index == syn.row  # Image_Index when -1
        if neuron is None:
            assert item.compartment is None and item.traversal_index is None
        else:
            assert item.compartment == syn.section_index
            assert item.traversal_index == syn.tree_traversal_index
    categories = [i.category for i in restored.instances]
    assert categories == [None, Category.FALSE_POSITIVE, Category.CUSTOM,
                          Category.POORLY_ALIGNED, Category.WRONG_DIRECTION]  # fmt: skip
    assert restored.instances[2].custom_category == "odd blob"


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("neuron", [None, BIG_NEURON])
def test_load_export_load_keeps_the_axis_order_and_the_values(
    order: str, neuron: int | None
) -> None:
    session = _session(order, neuron)
    original = original_document(session)
    restored = parse_session_json(json.dumps(original))
    volume = BBox((0, 0, 0), VOLUME)
    exported = build_session_json(
        restored.instances, 24, restored.proofread_time, restored.neuron_id, volume=volume
    )
    for before, after in zip(original["Metadata"], exported["Metadata"], strict=True):
        for key in SAME_KEYS:
            assert after[key] == before[key], (order, key)
    assert exported["Metadata"][0]["neuron_id"] == (NO_NEURON if neuron is None else neuron)
    again = parse_session_json(dumps(exported))
    assert again.instances == restored.instances
    assert [i.extra for i in again.instances] == [i.extra for i in restored.instances]
    assert again.neuron_id == neuron


def test_border_boxes_are_clipped_and_padded_in_the_records_order() -> None:
    """(3, 250, 1) with a 64 x 64 x 6 crop in zyx order: x runs -29..35, z -2..4."""
    document = original_document(_session("zyx"))
    record = document["Metadata"][1]
    assert (record["X_Index"], record["Y_Index"], record["Z_Index"]) == (2, 1, 0)
    assert record["Original_Bbox"] == [-2, 4, 218, 282, -29, 35]
    assert record["Adjusted_Bbox"] == [0, 4, 218, 282, 0, 35]
    assert record["Padding"] == [[0, 0], [0, 0], [29, 0]]  # z is not padded outside drawing
    restored = parse_session_json(json.dumps(document))
    out = build_session_json(restored.instances, 24, {}, volume=BBox((0, 0, 0), VOLUME))
    assert out["Metadata"][1]["Original_Bbox"] == record["Original_Bbox"]
    assert out["Metadata"][1]["Padding"] == record["Padding"]
    assert out["Metadata"][1]["Adjusted_Bbox"] == record["Adjusted_Bbox"]


def test_drawn_instances_pad_z_like_the_original() -> None:
    """While drawing, the original widens z to its draw depth and pads z at the border."""
    session = _session("yxz", drawn_rows=frozenset({17}), crop_size_z_draw=16)
    document = original_document(session)
    record = document["Metadata"][1]  # row 17, centre z = 1: z runs -7..9
    assert box_of(record)["z"] == (-7, 9) and record["Padding"][2] == [7, 0]
    restored = parse_session_json(json.dumps(document))
    item = restored.instances[1]
    out = build_session_json(
        restored.instances, 24, {}, volume=BBox((0, 0, 0), VOLUME),
        draw_boxes={item.instance_id: item.bbox_target_vx},
    )  # fmt: skip
    for key in ("Original_Bbox", "Adjusted_Bbox", "Padding", "crop_size_z"):
        assert out["Metadata"][1][key] == record[key], key


def test_proofread_time_is_iso_with_microseconds_and_differences_h_mm_ss() -> None:
    document = original_document(_session("xyz"))
    times = document["Proofread Time"]
    assert times["start_grid"] == "2026-11-22T11:13:01.816134"
    assert times["difference_grid"] == "0:05:12.345678"
    restored = parse_session_json(json.dumps(document))
    assert restored.proofread_time["start_grid"] == times["start_grid"]
    # Download JSON after such a restore: the differences are computed from these times
    with_finish = {**restored.proofread_time, "finish_categorize": "2026-11-22T12:00:00"}
    result = proofread_time(with_finish)
    assert result["difference_grid"] == "0:05:12.345678"
    # 12:00:00 minus the start of categorizing (11:18:14.161812)
    assert result["difference_categorize"] == "0:41:45.838188"
    assert parse_difference(result["difference_categorize"]) == (
        parse_time("2026-11-22T12:00:00") - parse_time(times["start_categorize"])  # type: ignore[operator]
    )


def test_old_stage_times_and_long_differences_are_read() -> None:
    old = {"start_grid": "2024-01-01 10:00:00", "finish_grid": "2024-01-02 11:00:00.5"}
    assert proofread_time(old)["difference_grid"] == "25:00:00.500000"
    assert parse_difference("1 day, 1:00:00.500000") == parse_difference("25:00:00.5")
    assert parse_time("not a time") is None and parse_difference("soon") is None
    # the original's note for a timer run out of order is kept as it is
    note = {"difference_grid": "Non linear execution of the grid process - time invalid"}
    assert proofread_time(note) == note


@settings(max_examples=60, deadline=None)
@given(
    order=st.sampled_from(ORDERS),
    neuron=st.one_of(st.none(), st.integers(1, 2**64 - 1)),
    crop=st.tuples(st.integers(1, 96), st.integers(1, 96), st.integers(1, 24)),
    centres=st.lists(
        st.tuples(st.integers(0, 511), st.integers(0, 511), st.integers(0, 63)),
        min_size=1,
        max_size=8,
    ),  # fmt: skip
)
def test_any_original_session_round_trips(order, neuron, crop, centres) -> None:  # type: ignore[no-untyped-def]
    synapses = [
        OriginalSynapse(row=i, center_xyz=c, pre_xyz=c, post_xyz=c, label="unsure")
        for i, c in enumerate(centres)
    ]
    session = OriginalSession(
        synapses, VOLUME, coordinate_order=order, crop_size_xyz=crop, neuron_id=neuron
    )
    original = original_document(session)
    restored = parse_session_json(json.dumps(original))
    exported = build_session_json(
        restored.instances, 6, {}, restored.neuron_id, volume=BBox((0, 0, 0), VOLUME)
    )
    for before, after in zip(original["Metadata"], exported["Metadata"], strict=True):
        for key in SAME_KEYS:
            assert after[key] == before[key], key
    assert parse_session_json(dumps(exported)).instances == restored.instances


def test_our_stage_times_are_iso_with_microseconds() -> None:
    import re

    from synanno_dash.core.stage_times import file_stamp, now_iso

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", now_iso())
    assert ":" not in file_stamp() and "." in file_stamp()
    start, finish = "2026-11-22T11:13:01.000000", "2026-11-22T11:13:02.000001"
    assert proofread_time({"start_grid": start, "finish_grid": finish})["difference_grid"] == (
        "0:00:01.000001"
    )
