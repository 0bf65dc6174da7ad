"""The session JSON, compatible with the original SynAnno (SPEC section 4).

``{"Proofread Time": {...}, "Metadata": [record, ...], "SynAnno Dash": {...}}``. Each
record carries the original's 28 keys, in its conventions (boxes as flat lists of
(start, stop) pairs in z, y, x order; labels capitalised; ``Error_Description`` values
``falsePositive``/``badFit``/``polaritySwitch``/custom text), plus our own keys, all
prefixed ``sd_``, which the original's loader ignores. Neuron ids are JSON integers:
Python writes them exactly; readers that go through float must not be used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Instance, Synapse
from synanno_dash.core.labels import Category, Label, category_from_original, category_to_original
from synanno_dash.core.paging import ReviewPages

FORMAT_VERSION = 1
ORIGINAL_KEYS = (
    "Page", "Image_Index", "materialization_index", "section_index", "tree_traversal_index",
    "Label", "Annotated", "neuron_id", "Error_Description", "Y_Index", "X_Index", "Z_Index",
    "Middle_Slice", "Original_Bbox", "cz0", "cy0", "cx0", "pre_pt_z", "pre_pt_x", "pre_pt_y",
    "post_pt_y", "post_pt_z", "post_pt_x", "crop_size_x", "crop_size_y", "crop_size_z",
    "Adjusted_Bbox", "Padding",
)  # fmt: skip
_ZYX = (2, 1, 0)
ADDED_BY_HAND_KEY = "added_by_hand"  # Instance.extra key of a synapse added by hand


class SessionJsonError(ValueError):
    """A session JSON that cannot be restored; the message names the record and key."""


@dataclass(frozen=True)
class RestoredSession:
    instances: list[Instance]
    proofread_time: dict[str, Any] = field(default_factory=dict)
    page: int = 1
    neuron_id: int | None = None
    tiles_per_page: int | None = None  # ours only; the original's JSON does not say


def _zyx_pairs(box: BBox) -> list[int]:
    return [v for axis in _ZYX for v in (box.start_xyz[axis], box.stop_xyz[axis])]


def _box_from_zyx_pairs(values: list[Any]) -> BBox:
    z0, z1, y0, y1, x0, x1 = (int(v) for v in values)
    return BBox((x0, y0, z0), (x1, y1, z1))


def _point_or_none(point: tuple[int, int, int] | None, axis: int) -> int | None:
    return None if point is None else int(point[axis])


def instance_record(
    item: Instance, page: int, neuron_id: int | None, volume: BBox | None = None
) -> dict[str, Any]:
    """One ``Metadata`` record: the original's 28 keys, then ours (``sd_`` keys).
    ``page``: the review page holding the instance (``core.paging``)."""
    syn, box = item.synapse, item.bbox_target_vx
    clipped = box if volume is None else box.intersect(volume)
    before, after = ((0, 0, 0), (0, 0, 0)) if volume is None else box.padding_within(volume)
    cx, cy, cz = syn.center_xyz_vx
    record: dict[str, Any] = {
        "Page": page,
        "Image_Index": item.instance_id,
        "materialization_index": syn.materialization_index,
        "section_index": item.compartment,
        "tree_traversal_index": item.traversal_index,
        "Label": item.label.value.capitalize(),
        "Annotated": "Yes" if item.seen else "No",
        "neuron_id": neuron_id,
        "Error_Description": category_to_original(item.category, item.custom_category),
        "Y_Index": cy - box.start_xyz[1],
        "X_Index": cx - box.start_xyz[0],
        "Z_Index": cz - box.start_xyz[2],
        "Middle_Slice": cz,
        "Original_Bbox": _zyx_pairs(box),
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
        "Adjusted_Bbox": _zyx_pairs(clipped),
        "Padding": [[before[a], after[a]] for a in _ZYX],
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
        sd_bbox_target_xyz_vx=box.as_list(),
        sd_compartment=item.compartment,
        sd_traversal_index=item.traversal_index,
        sd_added_by_hand=bool(item.extra.get(ADDED_BY_HAND_KEY, False)),
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
) -> dict[str, Any]:
    """``items`` in review order, all of them (pages are those of the review grid).
    Discarded instances leave the export unless asked for (they stay in the log)."""
    pages = ReviewPages.of([i.compartment for i in items], per_page).page_of_each_position()
    kept = [
        (item, page)
        for item, page in zip(items, pages, strict=True)
        if include_discarded or not item.discarded
    ]
    return {
        "Proofread Time": dict(proofread_time),
        "Metadata": [instance_record(i, page, neuron_id, volume) for i, page in kept],
        "SynAnno Dash": {
            "format_version": FORMAT_VERSION,
            "coordinate_order": "zyx",
            "tiles_per_page": per_page,
            **(extra or {}),
        },
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1)


# -- reading ------------------------------------------------------------------------------
def _int_or_none(record: dict, key: str, where: str) -> int | None:
    value = record.get(key)
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        raise SessionJsonError(f"{where}: '{key}' must be a number, not {value!r}.")
    if isinstance(value, float):
        if not value.is_integer():
            raise SessionJsonError(f"{where}: '{key}' must be a whole number, not {value!r}.")
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise SessionJsonError(f"{where}: '{key}' must be a whole number, not {value!r}.") from None


def _required_int(record: dict, key: str, where: str) -> int:
    value = _int_or_none(record, key, where)
    if value is None:
        raise SessionJsonError(f"{where}: the key '{key}' is missing or empty.")
    return value


def _point(record: dict, prefix: str, where: str) -> tuple[int, int, int] | None:
    values = [_int_or_none(record, f"{prefix}_{axis}", where) for axis in "xyz"]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise SessionJsonError(f"{where}: '{prefix}_x/y/z' are only partly given.")
    return (values[0], values[1], values[2])  # type: ignore[return-value]


def _record_box(record: dict, center: tuple[int, int, int], where: str) -> BBox:
    if isinstance(record.get("sd_bbox_target_xyz_vx"), list):
        values = record["sd_bbox_target_xyz_vx"]
        return BBox.from_bounds(tuple(values[:3]), tuple(values[3:]))
    original = record.get("Original_Bbox")
    if isinstance(original, list) and len(original) == 6:
        try:
            return _box_from_zyx_pairs(original)
        except (TypeError, ValueError):
            raise SessionJsonError(f"{where}: 'Original_Bbox' must hold six numbers.") from None
    sizes = [_required_int(record, f"crop_size_{a}", where) for a in "xyz"]
    start = tuple(c - s // 2 for c, s in zip(center, sizes, strict=True))
    return BBox.from_bounds(start, tuple(a + s for a, s in zip(start, sizes, strict=True)))


def _record_to_instance(record: Any, position: int) -> Instance:
    where = f"record {position}"
    if not isinstance(record, dict):
        raise SessionJsonError(f"{where} of 'Metadata' is not an object.")
    center = (
        _required_int(record, "cx0", where),
        _required_int(record, "cy0", where),
        _required_int(record, "cz0", where),
    )
    try:
        label = Label.parse(record.get("sd_label") or record.get("Label") or "correct")
    except ValueError as exc:
        raise SessionJsonError(f"{where}: 'Label': {exc}.") from None
    if "sd_category" in record:
        category = None if record["sd_category"] is None else Category(record["sd_category"])
        custom = str(record.get("sd_custom_category") or "")
    else:
        category, custom = category_from_original(record.get("Error_Description"))
    _int_or_none(record, "neuron_id", where)  # validated; the session keeps it
    instance_id = _int_or_none(record, "sd_instance_id", where)
    return Instance(
        instance_id=position if instance_id is None else instance_id,
        synapse=Synapse(
            materialization_index=_int_or_none(record, "materialization_index", where)
            if record.get("materialization_index") is not None
            else position,  # type: ignore[arg-type]
            center_xyz_vx=center,
            pre_xyz_vx=_point(record, "pre_pt", where),
            post_xyz_vx=_point(record, "post_pt", where),
            pre_neuron_id=_int_or_none(record, "sd_pre_neuron_id", where),
            post_neuron_id=_int_or_none(record, "sd_post_neuron_id", where),
        ),
        bbox_target_vx=_record_box(record, center, where),
        label=label,
        seen=bool(record.get("sd_seen", str(record.get("Annotated", "No")).lower() == "yes")),
        category=category,
        custom_category=custom,
        note=str(record.get("sd_note") or ""),
        discarded=bool(record.get("sd_discarded", False)),
        compartment=_int_or_none(record, "section_index", where),
        traversal_index=_int_or_none(record, "tree_traversal_index", where),
        extra={ADDED_BY_HAND_KEY: True} if record.get("sd_added_by_hand") else {},
    )


def parse_session_json(text: str | bytes) -> RestoredSession:
    """Read ours or the original's JSON; raise ``SessionJsonError`` naming what is wrong."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SessionJsonError(f"this file is not valid JSON ({exc}).") from None
    if not isinstance(document, dict) or not isinstance(document.get("Metadata"), list):
        raise SessionJsonError(
            "this JSON has no 'Metadata' list: it is not a session JSON of SynAnno or SynAnno Dash."
        )
    items = [_record_to_instance(r, i) for i, r in enumerate(document["Metadata"])]
    ids = [i.instance_id for i in items]
    if len(set(ids)) == len(ids):  # our ids: kept, so labels stay tied to their instances
        items.sort(key=lambda i: i.instance_id)
    else:  # the original's Image_Index counts within a page: number in file order
        items = [replace(item, instance_id=i) for i, item in enumerate(items)]
    times = document.get("Proofread Time") or {}
    ours = document.get("SynAnno Dash") or {}
    neuron_ids = {r.get("neuron_id") for r in document["Metadata"] if isinstance(r, dict)}
    neuron_ids.discard(None)
    neuron = next(iter(neuron_ids)) if len(neuron_ids) == 1 else None
    return RestoredSession(
        instances=items,
        proofread_time=dict(times) if isinstance(times, dict) else {},
        page=int(ours.get("page", 1)) if isinstance(ours, dict) else 1,
        neuron_id=None if neuron is None else int(neuron),
        tiles_per_page=int(ours["tiles_per_page"])
        if isinstance(ours, dict) and ours.get("tiles_per_page")
        else None,
    )
