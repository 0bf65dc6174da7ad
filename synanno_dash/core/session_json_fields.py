"""Checking the values of a session JSON record: numbers, text, flags, boxes.

Each check names the record (position and ``Image_Index``), the key, what is wrong and the
fix. A JSON number longer than ``MAX_NUMBER_DIGITS`` is never converted (``parse_int`` and
``parse_float`` keep it as a ``LongNumber`` to be refused where it is read); boxes are read in
the record's own axis order (``session_json_format``), must be ordered, hold the centre and
be no larger than a crop a page can hold.
"""

from __future__ import annotations

import math
import re
from typing import Any

from synanno_dash.core.geometry import AXES, BBox, Triple
from synanno_dash.core.limits import (
    MAX_COORDINATE_VX,
    MAX_CROP_SIDE_VX,
    MAX_CROP_VOXELS,
    MAX_NUMBER_DIGITS,
    MAX_TEXT_CHARS,
)
from synanno_dash.core.session_json_format import (
    DEFAULT_AXIS_ORDER,
    INDEX_KEYS,
    SessionJsonError,
    order_from_indexes,
    pairs_from_original,
)
from synanno_dash.core.synapse_types import parse_type

_DIGITS = re.compile(r"^\s*[+-]?[0-9]+\s*$")
LEGACY_ZYX = "zyx"  # format version 1: boxes in z, y, x order


class LongNumber:
    """A JSON number too long to convert: kept as its length, refused where it is read."""

    def __init__(self, text: str) -> None:
        self.digits = len(text)


def parse_int(text: str) -> int | LongNumber:
    return LongNumber(text) if len(text) > MAX_NUMBER_DIGITS else int(text)


def parse_float(text: str) -> float | LongNumber:
    return LongNumber(text) if len(text) > MAX_NUMBER_DIGITS else float(text)


def shown(value: Any) -> str:
    """A value as quoted in a message: short, so a message never carries a whole file."""
    if isinstance(value, LongNumber):
        return f"a number of {value.digits:,} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Record:
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
        if isinstance(value, LongNumber):
            raise self.fail(key, f"is {shown(value)}", fix)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(key, f"must be a whole number, not {shown(value)}", fix)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(key, f"is {shown(value)}, not a finite number", fix)
            if not value.is_integer():
                raise self.fail(key, f"must be a whole number, not {shown(value)}", fix)
        if isinstance(value, str):
            if not _DIGITS.match(value) or len(value.strip()) > MAX_NUMBER_DIGITS:
                raise self.fail(key, f"must be a whole number, not {shown(value)}", fix)
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
            raise self.fail(key, f"must be text, not {shown(value)}", "write it as a string")
        if len(value) > MAX_TEXT_CHARS:
            raise self.fail(
                key, f"holds {len(value):,} characters", f"shorten it to {MAX_TEXT_CHARS:,}"
            )
        return value

    def synapse_type(self, key: str) -> str | None:
        """A synapse type (``core/synapse_types.py``); ``None`` when absent or empty."""
        try:
            return parse_type(self.text(key) or None)
        except ValueError as exc:
            raise self.fail(key, f"is not usable ({exc})", "correct it or remove the key") from None

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
            return value.strip().lower() in ("yes", "true")
        raise self.fail(key, f"must be Yes or No, not {shown(value)}", "write Yes or No")


# -- boxes ----------------------------------------------------------------------------------
def axis_order(rec: Record, legacy: bool) -> str:
    """The record's axis order from ``X_Index``, ``Y_Index``, ``Z_Index`` (x, y, z if absent)."""
    if legacy:
        return LEGACY_ZYX
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


def _six_numbers(rec: Record, key: str, layout: str) -> list[int]:
    """Six voxel coordinates, each checked; ``layout`` says their order in messages."""
    values = rec.data.get(key)
    if not isinstance(values, list) or len(values) != 6:
        held = f"holds {len(values)} values" if isinstance(values, list) else f"is {shown(values)}"
        raise rec.fail(key, f"{held}; a box is six numbers {layout}", f"write the box as {layout}")
    return [
        rec.check_whole(key, v, -MAX_COORDINATE_VX, MAX_COORDINATE_VX, "a voxel coordinate")
        for v in values
    ]


def _six(rec: Record, key: str, order: str) -> tuple[Triple, Triple]:
    """A box of the original's keys, axes in ``order`` -> (start_xyz, stop_xyz)."""
    return pairs_from_original(_six_numbers(rec, key, _layout(order)), order)


def _checked_box(rec: Record, key: str, start: Triple, stop: Triple, layout: str) -> BBox:
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


def review_box(rec: Record, center: Triple, order: str) -> BBox:
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


def check_derived(rec: Record, order: str) -> None:
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
        raise rec.fail("Padding", f"is {shown(padding)}, not three pairs", fix)
    for pair in padding:
        if not isinstance(pair, list) or len(pair) != 2:
            raise rec.fail("Padding", f"holds {shown(pair)}, not a [before, after] pair", fix)
        for value in pair:
            rec.check_whole("Padding", value, 0, MAX_CROP_SIDE_VX, "a voxel count")
