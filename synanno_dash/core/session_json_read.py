"""Reading a session JSON, ours or the original SynAnno's, with every value checked.

Nothing a file holds reaches a loop or an allocation it controls unchecked: the text's size,
its nesting and the number of records are bounded before anything is built; a number of
more than ``MAX_NUMBER_DIGITS`` digits is never converted; ``NaN``/``Infinity`` and numbers
outside the voxel range are refused; boxes must be ordered and of a size a page can hold.
Every refusal is a ``SessionJsonError`` whose message names the record (its position and
``Image_Index``), the key, what is wrong and the fix.

Records are read in their own axis order (``X_Index``, ``Y_Index``, ``Z_Index``; see
``session_json_format``), which each instance keeps so an export writes it back the same way.
Our format version 1 wrote boxes in z, y, x order with other meanings of those keys; it is
still read.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from synanno_dash.core.geometry import AXES, BBox, Triple
from synanno_dash.core.instances import Instance, Synapse
from synanno_dash.core.labels import Category, Label, category_from_original
from synanno_dash.core.limits import (
    MAX_COORDINATE_VX,
    MAX_CROP_SIDE_VX,
    MAX_CROP_VOXELS,
    MAX_INT64,
    MAX_JSON_NESTING,
    MAX_NUMBER_DIGITS,
    MAX_PAGE,
    MAX_SESSION_JSON_BYTES,
    MAX_SESSION_RECORDS,
    MAX_TEXT_CHARS,
    MAX_UINT64,
    megabytes,
)
from synanno_dash.core.paging import PAGE_SIZES
from synanno_dash.core.session_json_format import (
    ADDED_BY_HAND_KEY,
    AXIS_ORDER_KEY,
    DEFAULT_AXIS_ORDER,
    INDEX_KEYS,
    NO_NEURON,
    OURS_KEY,
    RestoredSession,
    SessionJsonError,
    order_from_indexes,
    pairs_from_original,
)
from synanno_dash.core.stage_times import clean_stage_times

_DIGITS = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_LEGACY_ZYX = "zyx"  # format version 1: boxes in z, y, x order


class _LongNumber:
    """A JSON number too long to convert: kept as its length, refused where it is read."""

    def __init__(self, text: str) -> None:
        self.digits = len(text)


def _parse_int(text: str) -> int | _LongNumber:
    return _LongNumber(text) if len(text) > MAX_NUMBER_DIGITS else int(text)


def _parse_float(text: str) -> float | _LongNumber:
    return _LongNumber(text) if len(text) > MAX_NUMBER_DIGITS else float(text)


def _shown(value: Any) -> str:
    """A value as quoted in a message: short, so a message never carries a whole file."""
    if isinstance(value, _LongNumber):
        return f"a number of {value.digits:,} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Record:
    """One ``Metadata`` record and how to name it in a message."""

    def __init__(self, record: dict[str, Any], position: int) -> None:
        self.data = record
        index = record.get("Image_Index")
        named = f", Image_Index {index}" if isinstance(index, int) else ""
        self.where = f"record {position}{named}"
        self.position = position

    def fail(self, key: str, problem: str, fix: str) -> SessionJsonError:
        return SessionJsonError(f"{self.where}: '{key}' {problem}. Fix: {fix}")

    def whole(self, key: str, low: int, high: int, what: str, required: bool = False) -> int | None:
        """A whole number in ``low..high``; ``None`` when absent (unless ``required``)."""
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise SessionJsonError(
                    f"{self.where}: the key '{key}' is missing or empty. Fix: give {what}."
                )
            return None
        return self.check_whole(key, value, low, high, what)

    def check_whole(self, key: str, value: Any, low: int, high: int, what: str) -> int:
        fix = f"write {what} as a whole number from {low:,} to {high:,}"
        if isinstance(value, _LongNumber):
            raise self.fail(key, f"is {_shown(value)}", fix)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(key, f"must be a whole number, not {_shown(value)}", fix)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(key, f"is {_shown(value)}, not a finite number", fix)
            if not value.is_integer():
                raise self.fail(key, f"must be a whole number, not {_shown(value)}", fix)
        if isinstance(value, str):
            if not _DIGITS.match(value) or len(value.strip()) > MAX_NUMBER_DIGITS:
                raise self.fail(key, f"must be a whole number, not {_shown(value)}", fix)
        number = int(value)
        if not low <= number <= high:
            raise self.fail(key, f"is {number:,}, outside {low:,}..{high:,}", fix)
        return number

    def coordinate(self, key: str, required: bool = False) -> int | None:
        return self.whole(
            key, -MAX_COORDINATE_VX, MAX_COORDINATE_VX, "a voxel coordinate", required
        )

    def text(self, key: str, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"must be text, not {_shown(value)}", "write it as a string")
        if len(value) > MAX_TEXT_CHARS:
            raise self.fail(
                key, f"holds {len(value):,} characters", f"shorten it to {MAX_TEXT_CHARS:,}"
            )
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
            return value.strip().lower() in ("yes", "true")
        raise self.fail(key, f"must be Yes or No, not {_shown(value)}", "write Yes or No")


# -- boxes ----------------------------------------------------------------------------------
def _axis_order(rec: _Record, legacy: bool) -> str:
    """The record's axis order from ``X_Index``, ``Y_Index``, ``Z_Index`` (x, y, z if absent)."""
    if legacy:
        return _LEGACY_ZYX
    given = [rec.data.get(key) is not None for key in INDEX_KEYS]
    if not any(given):
        return DEFAULT_AXIS_ORDER
    if not all(given):
        missing = [k for k, g in zip(INDEX_KEYS, given, strict=True) if not g]
        raise rec.fail(
            missing[0],
            "is missing while the other axis indexes are given",
            "give X_Index, Y_Index and Z_Index (0, 1 and 2 in the boxes' axis order), or none",
        )
    x, y, z = (rec.check_whole(k, rec.data[k], 0, 2, "0, 1 or 2") for k in INDEX_KEYS)
    order = order_from_indexes(x, y, z)
    if order is None:
        raise SessionJsonError(
            f"{rec.where}: 'X_Index', 'Y_Index', 'Z_Index' are {x}, {y}, {z}; each axis needs "
            "its own position. Fix: give 0, 1 and 2 in some order (0, 1, 2 when boxes read "
            "[x0, x1, y0, y1, z0, z1])."
        )
    return order


def _layout(order: str) -> str:
    return "[" + ", ".join(f"{a}0, {a}1" for a in order) + "]"


def _six_numbers(rec: _Record, key: str, layout: str) -> list[int]:
    """Six voxel coordinates, each checked; ``layout`` says their order in messages."""
    values = rec.data.get(key)
    if not isinstance(values, list) or len(values) != 6:
        held = f"holds {len(values)} values" if isinstance(values, list) else f"is {_shown(values)}"
        raise rec.fail(key, f"{held}; a box is six numbers {layout}", f"write the box as {layout}")
    return [
        rec.check_whole(key, v, -MAX_COORDINATE_VX, MAX_COORDINATE_VX, "a voxel coordinate")
        for v in values
    ]


def _six(rec: _Record, key: str, order: str) -> tuple[Triple, Triple]:
    """A box of the original's keys, axes in ``order`` -> (start_xyz, stop_xyz)."""
    return pairs_from_original(_six_numbers(rec, key, _layout(order)), order)


def _checked_box(rec: _Record, key: str, start: Triple, stop: Triple, layout: str) -> BBox:
    for axis, a, b in zip(AXES, start, stop, strict=True):
        if b <= a:
            raise rec.fail(
                key,
                f"runs in {axis} from {a} to {b}: the stop must be above the start",
                f"write each axis as (start, stop) with start < stop, in the order {layout}; "
                "check X_Index, Y_Index and Z_Index",
            )
    box = BBox(start, stop)
    shape = box.shape_xyz
    if max(shape) > MAX_CROP_SIDE_VX or box.size > MAX_CROP_VOXELS:
        raise rec.fail(
            key,
            f"spans {shape[0]} x {shape[1]} x {shape[2]} voxels (x, y, z)",
            f"a crop spans at most {MAX_CROP_SIDE_VX} voxels per axis and "
            f"{MAX_CROP_VOXELS:,} in all; give a smaller box",
        )
    return box


def _review_box(rec: _Record, center: Triple, order: str) -> BBox:
    data = rec.data
    if data.get("sd_bbox_target_xyz_vx") is not None:
        layout = "[x0, y0, z0, x1, y1, z1]"
        v = _six_numbers(rec, "sd_bbox_target_xyz_vx", layout)
        return _checked_box(
            rec, "sd_bbox_target_xyz_vx", (v[0], v[1], v[2]), (v[3], v[4], v[5]), layout
        )
    if data.get("Original_Bbox") is not None:
        start, stop = _six(rec, "Original_Bbox", order)
        box = _checked_box(rec, "Original_Bbox", start, stop, _layout(order))
        if not box.contains_point(center):
            raise rec.fail(
                "Original_Bbox",
                f"{box.start_xyz}..{box.stop_xyz} (x, y, z) does not hold the centre "
                f"(cx0, cy0, cz0) = {center}",
                f"check X_Index, Y_Index and Z_Index: the box reads {_layout(order)}",
            )
        return box
    sizes = [rec.whole(f"crop_size_{a}", 1, MAX_CROP_SIDE_VX, "a crop size", True) for a in AXES]
    sx, sy, sz = (int(s or 1) for s in sizes)
    start = (center[0] - sx // 2, center[1] - sy // 2, center[2] - sz // 2)
    stop = (start[0] + sx, start[1] + sy, start[2] + sz)
    return _checked_box(rec, "crop_size_x/y/z", start, stop, "x, y, z")


def _check_derived(rec: _Record, order: str) -> None:
    """``Adjusted_Bbox`` and ``Padding`` are recomputed on export; they must still be sane."""
    if rec.data.get("Adjusted_Bbox") is not None:
        start, stop = _six(rec, "Adjusted_Bbox", order)
        for axis, a, b in zip(AXES, start, stop, strict=True):
            if b < a:
                raise rec.fail(
                    "Adjusted_Bbox",
                    f"runs in {axis} from {a} to {b}: the stop lies before the start",
                    f"write each axis as (start, stop) in the order {_layout(order)}",
                )
    padding = rec.data.get("Padding")
    if padding is None:
        return
    fix = f"write three [before, after] pairs of voxel counts, axes in the order {order}"
    if not isinstance(padding, list) or len(padding) != 3:
        raise rec.fail("Padding", f"is {_shown(padding)}, not three pairs", fix)
    for pair in padding:
        if not isinstance(pair, list) or len(pair) != 2:
            raise rec.fail("Padding", f"holds {_shown(pair)}, not a [before, after] pair", fix)
        for value in pair:
            rec.check_whole("Padding", value, 0, MAX_CROP_SIDE_VX, "a voxel count")


# -- one record ---------------------------------------------------------------------------
def _point(rec: _Record, prefix: str) -> Triple | None:
    values = [rec.coordinate(f"{prefix}_{axis}") for axis in AXES]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise rec.fail(
            f"{prefix}_x/y/z", "are only partly given", "give all three coordinates, or none"
        )
    return (values[0], values[1], values[2])  # type: ignore[return-value]


def _neuron(rec: _Record, key: str, low: int) -> int | None:
    value = rec.data.get(key)
    if value is None or value == "" or (isinstance(value, str) and value.strip() == NO_NEURON):
        return None
    return rec.check_whole(key, value, low, MAX_UINT64, "a neuron id (unsigned 64-bit)")


def _label(rec: _Record) -> Label:
    key = "sd_label" if rec.data.get("sd_label") is not None else "Label"
    value = rec.data.get(key)
    if value is None:
        return Label.CORRECT
    if not isinstance(value, str):
        raise rec.fail(
            key, f"must be text, not {_shown(value)}", "write correct, incorrect or unsure"
        )
    try:
        return Label.parse(value)
    except ValueError:
        raise rec.fail(
            key, f"is {_shown(value)}", "write correct, incorrect or unsure (any case)"
        ) from None


def _category(rec: _Record) -> tuple[Category | None, str]:
    if "sd_category" in rec.data:
        value = rec.data["sd_category"]
        if value is None:
            return None, ""
        known = [c.value for c in Category]
        if not isinstance(value, str) or value not in known:
            raise rec.fail(
                "sd_category", f"is {_shown(value)}, not a category", f"use one of {known} or null"
            )
        return Category(value), rec.text("sd_custom_category")
    return category_from_original(rec.text("Error_Description", "None"))


def _materialization_index(rec: _Record, added: bool) -> int:
    """The table row: ``materialization_index``; the original writes -1 without one, and
    then its ``Image_Index`` is the row of the table."""
    mat = rec.whole("materialization_index", -1, MAX_INT64, "a table row index")
    if added:
        return -1 if mat is None else mat
    if mat is not None and mat >= 0:
        return mat
    image = rec.whole("Image_Index", -1, MAX_INT64, "an instance index")
    return image if image is not None and image >= 0 else rec.position


def _record_to_instance(record: Any, position: int, legacy: bool) -> Instance:
    if not isinstance(record, dict):
        raise SessionJsonError(
            f"record {position} of 'Metadata' is {_shown(record)}, not an object. Fix: each "
            "record is an object of keys such as cx0, cy0, cz0 and Original_Bbox."
        )
    rec = _Record(record, position)
    center = (rec.coordinate("cx0", True), rec.coordinate("cy0", True), rec.coordinate("cz0", True))
    order = _axis_order(rec, legacy)
    box = _review_box(rec, center, order)  # type: ignore[arg-type]
    _check_derived(rec, order)
    rec.coordinate("Middle_Slice")
    category, custom = _category(rec)
    _neuron(rec, "neuron_id", 1)
    added = rec.flag("sd_added_by_hand", False)
    instance_id = rec.whole("sd_instance_id", 0, MAX_SESSION_RECORDS * 10, "an instance id")
    extra: dict[str, Any] = {AXIS_ORDER_KEY: DEFAULT_AXIS_ORDER if legacy else order}
    if added:
        extra[ADDED_BY_HAND_KEY] = True
    compartment = rec.whole("section_index", -1, MAX_SESSION_RECORDS, "a compartment")
    traversal = rec.whole("tree_traversal_index", -1, MAX_INT64, "a traversal index")
    return Instance(
        instance_id=position if instance_id is None else instance_id,
        synapse=Synapse(
            materialization_index=_materialization_index(rec, added),
            center_xyz_vx=center,  # type: ignore[arg-type]
            pre_xyz_vx=_point(rec, "pre_pt"),
            post_xyz_vx=_point(rec, "post_pt"),
            pre_neuron_id=_neuron(rec, "sd_pre_neuron_id", 0),
            post_neuron_id=_neuron(rec, "sd_post_neuron_id", 0),
        ),
        bbox_target_vx=box,
        label=_label(rec),
        seen=rec.flag("sd_seen", rec.flag("Annotated", False)),
        category=category,
        custom_category=custom,
        note=rec.text("sd_note"),
        discarded=rec.flag("sd_discarded", False),
        compartment=None if compartment is None or compartment < 0 else compartment,
        traversal_index=None if traversal is None or traversal < 0 else traversal,
        extra=extra,
    )


# -- the document ---------------------------------------------------------------------------
def _load(text: str | bytes) -> Any:
    if len(text) > MAX_SESSION_JSON_BYTES:
        raise SessionJsonError(
            f"this file is {megabytes(len(text))}; a session JSON may be at most "
            f"{megabytes(MAX_SESSION_JSON_BYTES)}. Fix: split the review into smaller sessions."
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise SessionJsonError(
                "this file is not UTF-8 text, so not a JSON. Fix: upload the .json file that "
                "SynAnno or SynAnno Dash wrote."
            ) from None
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=float
        )
    except json.JSONDecodeError as exc:
        raise SessionJsonError(
            f"this file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "Fix: upload the .json file that SynAnno or SynAnno Dash wrote, unedited."
        ) from None
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> SessionJsonError:
    return SessionJsonError(
        f"this JSON nests lists and objects more than {MAX_JSON_NESTING} levels deep; a "
        "session JSON needs 5. Fix: upload the .json file that SynAnno or SynAnno Dash wrote."
    )


def _check_nesting(document: Any) -> None:
    """Iteratively (no recursion a file could exhaust), stopping at the first level too deep."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_NESTING:
            raise _too_deep()
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def _ours_value(
    ours: dict[str, Any], key: str, check: Callable[[int], bool], rule: str
) -> int | None:
    value = ours.get(key)
    if value is None:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and check(value)
    if not ok:
        raise SessionJsonError(
            f"'{OURS_KEY}' -> '{key}' is {_shown(value)}; it must be {rule}. Fix: set it to "
            f"{rule}, or remove the key."
        )
    return int(value)


def _single_neuron(records: list[Any]) -> int | None:
    found = set()
    for position, record in enumerate(records):
        found.add(_neuron(_Record(record, position), "neuron_id", 1))
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _sizes_text() -> str:
    *first, last = (str(size) for size in PAGE_SIZES)
    return f"{', '.join(first)} or {last}"


def parse_session_json(text: str | bytes) -> RestoredSession:
    """Read ours or the original's JSON; raise ``SessionJsonError`` naming what is wrong."""
    document = _load(text)
    if not isinstance(document, dict) or not isinstance(document.get("Metadata"), list):
        raise SessionJsonError(
            "this JSON has no 'Metadata' list: it is not a session JSON of SynAnno or SynAnno "
            "Dash. Fix: upload the .json file their Download JSON wrote."
        )
    records = document["Metadata"]
    if len(records) > MAX_SESSION_RECORDS:
        raise SessionJsonError(
            f"'Metadata' holds {len(records):,} records; a session holds at most "
            f"{MAX_SESSION_RECORDS:,}. Fix: split the review into smaller sessions."
        )
    _check_nesting(document)
    ours = document.get(OURS_KEY)
    if ours is not None and not isinstance(ours, dict):
        raise SessionJsonError(f"'{OURS_KEY}' is {_shown(ours)}, not an object. Fix: remove it.")
    ours = ours or {}
    legacy = ours.get("format_version") == 1 and ours.get("coordinate_order") == _LEGACY_ZYX
    items = [_record_to_instance(r, i, legacy) for i, r in enumerate(records)]
    ids = [i.instance_id for i in items]
    if len(set(ids)) == len(ids):  # our ids: kept, so labels stay tied to their instances
        items.sort(key=lambda i: i.instance_id)
    else:  # ids that repeat (the original's Image_Index may): number in file order
        items = [replace(item, instance_id=i) for i, item in enumerate(items)]
    page = _ours_value(ours, "page", lambda p: 1 <= p <= MAX_PAGE, "a page number of 1 or more")
    tiles = _ours_value(ours, "tiles_per_page", lambda t: t in PAGE_SIZES, _sizes_text())
    times, _dropped = clean_stage_times(document.get("Proofread Time"))
    return RestoredSession(
        instances=items,
        proofread_time=times,
        page=page or 1,
        neuron_id=_single_neuron(records),
        tiles_per_page=tiles,
    )
