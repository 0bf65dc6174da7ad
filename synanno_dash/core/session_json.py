"""The session JSON, compatible with the original SynAnno (SPEC section 4): writing.

``{"Proofread Time": {...}, "Metadata": [record, ...], "SynAnno Dash": {...}}``. Each
record carries the original's 28 keys written as the original writes them (see
``docs/formats.md``): boxes and paddings ordered by the record's ``X_Index``, ``Y_Index``,
``Z_Index``; labels lower case; ``neuron_id`` ``No Neuron Selected...`` without a neuron;
``Error_Description`` ``None`` without an error; ``Annotated`` ``Yes``/``No``. Our own keys
follow, all prefixed ``sd_``, which the original's loader ignores. Neuron ids are JSON
integers: Python writes them exactly; readers that go through float must not be used.

Reading (ours and the original's, every value checked) is in ``session_json_read``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Instance
from synanno_dash.core.labels import category_to_original
from synanno_dash.core.paging import ReviewPages
from synanno_dash.core.session_json_format import (
    ADDED_BY_HAND_KEY,
    AXIS_ORDER_KEY,
    DEFAULT_AXIS_ORDER,
    FORMAT_VERSION,
    NO_NEURON,
    ORIGINAL_KEYS,
    OURS_KEY,
    RestoredSession,
    SessionJsonError,
    axis_indexes,
    box_to_original,
    padding_to_original,
)
from synanno_dash.core.session_json_read import parse_session_json

__all__ = [
    "ADDED_BY_HAND_KEY", "FORMAT_VERSION", "ORIGINAL_KEYS", "RestoredSession",
    "SessionJsonError", "build_session_json", "dumps", "instance_record", "parse_session_json",
]  # fmt: skip


def _point_or_none(point: tuple[int, int, int] | None, axis: int) -> int | None:
    return None if point is None else int(point[axis])


def _or_minus_one(value: int | None) -> int:
    """The original writes -1 where a neuron-centric index does not apply."""
    return -1 if value is None else int(value)


def record_axis_order(item: Instance) -> str:
    """The axis order the instance's record is written in: as it was read, else x, y, z."""
    order = item.extra.get(AXIS_ORDER_KEY)
    return (
        order if isinstance(order, str) and sorted(order) == ["x", "y", "z"] else DEFAULT_AXIS_ORDER
    )


def instance_record(
    item: Instance,
    page: int,
    neuron_id: int | None,
    volume: BBox | None = None,
    draw_box: BBox | None = None,
) -> dict[str, Any]:
    """One ``Metadata`` record: the original's 28 keys, then ours (``sd_`` keys).

    ``page``: the review page holding the instance (``core.paging``). ``volume`` (target
    voxels) clips ``Adjusted_Bbox`` and gives ``Padding``; ``draw_box`` is the box the
    instance was drawn in (correction): it replaces the review box in the original's keys,
    and only then is z padded, as the original does.
    """
    syn, review_box = item.synapse, item.bbox_target_vx
    box = draw_box or review_box
    order = record_axis_order(item)
    clipped = box if volume is None else box.intersect(volume)
    before, after = ((0, 0, 0), (0, 0, 0)) if volume is None else box.padding_within(volume)
    if draw_box is None:  # the grid shows whole slices only: no padding in z
        before, after = (before[0], before[1], 0), (after[0], after[1], 0)
    cx, cy, cz = syn.center_xyz_vx
    record: dict[str, Any] = {
        "Page": page,
        "Image_Index": item.instance_id,
        "materialization_index": syn.materialization_index,
        "section_index": _or_minus_one(item.compartment),
        "tree_traversal_index": _or_minus_one(item.traversal_index),
        "Label": item.label.value,
        "Annotated": "Yes" if item.seen else "No",
        "neuron_id": NO_NEURON if neuron_id is None else neuron_id,
        "Error_Description": category_to_original(item.category, item.custom_category),
        **axis_indexes(order),
        "Middle_Slice": cz,
        "Original_Bbox": box_to_original(box, order),
        "cz0": cz, "cy0": cy, "cx0": cx,
        "pre_pt_z": _point_or_none(syn.pre_xyz_vx, 2),
        "pre_pt_x": _point_or_none(syn.pre_xyz_vx, 0),
        "pre_pt_y": _point_or_none(syn.pre_xyz_vx, 1),
        "post_pt_y": _point_or_none(syn.post_xyz_vx, 1),
        "post_pt_z": _point_or_none(syn.post_xyz_vx, 2),
        "post_pt_x": _point_or_none(syn.post_xyz_vx, 0),
        "crop_size_x": box.shape_xyz[0],
        "crop_size_y": box.shape_xyz[1],
        "crop_size_z": box.shape_xyz[2],
        "Adjusted_Bbox": box_to_original(clipped, order),
        "Padding": padding_to_original(before, after, order),
    }  # fmt: skip
    record.update(
        sd_instance_id=item.instance_id,
        sd_label=item.label.value,
        sd_category=None if item.category is None else item.category.value,
        sd_custom_category=item.custom_category,
        sd_note=item.note,
        sd_seen=item.seen,
        sd_discarded=item.discarded,
        sd_pre_neuron_id=syn.pre_neuron_id,
        sd_post_neuron_id=syn.post_neuron_id,
        sd_bbox_target_xyz_vx=review_box.as_list(),
        sd_compartment=item.compartment,
        sd_traversal_index=item.traversal_index,
        sd_added_by_hand=bool(item.extra.get(ADDED_BY_HAND_KEY, False)),
        sd_synapse_type=syn.synapse_type,
    )
    return record


def build_session_json(
    items: list[Instance],
    per_page: int,
    proofread_time: dict[str, Any],
    neuron_id: int | None = None,
    volume: BBox | None = None,
    extra: dict[str, Any] | None = None,
    include_discarded: bool = False,
    draw_boxes: dict[int, BBox] | None = None,
    pages: Sequence[int] | None = None,
) -> dict[str, Any]:
    """``items`` in review order, all of them (pages are those of the review grid).
    Discarded instances leave the export unless asked for (they stay in the log).
    ``pages``: each item's grid page when ``items`` is not the whole review (a review
    stored page by page); by default they are cut from ``items``.

    ``draw_boxes`` (instance id -> box) marks the instances of a correction export.
    """
    if pages is None:
        pages = ReviewPages.of([i.compartment for i in items], per_page).page_of_each_position()
    kept = [
        (item, page)
        for item, page in zip(items, pages, strict=True)
        if include_discarded or not item.discarded
    ]
    boxes = draw_boxes or {}
    orders = {record_axis_order(i) for i, _page in kept}
    return {
        "Proofread Time": dict(proofread_time),
        "Metadata": [
            instance_record(i, page, neuron_id, volume, boxes.get(i.instance_id))
            for i, page in kept
        ],
        OURS_KEY: {
            "format_version": FORMAT_VERSION,
            # The original's keys are in each record's X_Index, Y_Index, Z_Index order.
            "coordinate_order": orders.pop() if len(orders) == 1 else "per record",
            "tiles_per_page": per_page,
            **(extra or {}),
        },
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1)
