"""Parsing of the Open Data form's text fields, with messages that name the fix.

Each parser returns a value or raises ``FieldError`` whose text is shown under the field.
"""

from __future__ import annotations

import math
import re

from synanno_dash.core.geometry import AXES, BBox, Resolution, reorder

MAX_UINT64 = 2**64 - 1
_SPLIT = re.compile(r"[\s,;xX]+")


class FieldError(ValueError):
    """A form value that cannot be used; the message is for the user."""


def _numbers(text: str | None, what: str, count: int = 3) -> list[float]:
    parts = [p for p in _SPLIT.split((text or "").strip().strip("[]()")) if p]
    if len(parts) != count:
        raise FieldError(
            f"{what} needs {count} numbers separated by commas (e.g. "
            f"{', '.join(['8'] * count)}), got {len(parts)}."
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise FieldError(f"{what}: '{text}' holds something that is not a number.") from None
    if not all(math.isfinite(v) for v in values):
        raise FieldError(f"{what}: numbers must be finite.")
    return values


def parse_resolution(text: str | None, what: str) -> Resolution | None:
    """``"4, 4, 40"`` in x, y, z nm. Empty means: read it from the volume's info file."""
    if not (text or "").strip():
        return None
    values = _numbers(text, what)
    if any(v <= 0 for v in values):
        raise FieldError(f"{what}: every voxel size must be above 0 nm.")
    return Resolution.of(values)


def parse_int_triple(text: str | None, what: str, minimum: int = 1) -> tuple[int, int, int]:
    values = _numbers(text, what)
    if any(v != int(v) for v in values):
        raise FieldError(f"{what}: whole numbers of voxels only.")
    if any(v < minimum for v in values):
        raise FieldError(f"{what}: every value must be at least {minimum}.")
    return (int(values[0]), int(values[1]), int(values[2]))


def parse_axis_order(text: str | None) -> str:
    order = (text or AXES).strip().lower()
    if sorted(order) != sorted(AXES):
        raise FieldError(f"axis order must be a permutation of xyz (e.g. xyz or zyx), not {text}.")
    return order


def parse_bbox(start: str | None, stop: str | None, axis_order: str) -> BBox | None:
    """A box given as start and stop corners in ``axis_order``; both empty means none."""
    if not (start or "").strip() and not (stop or "").strip():
        return None
    if not (start or "").strip() or not (stop or "").strip():
        raise FieldError("give both corners of the box, or leave both empty for the whole table.")
    start_xyz = reorder(tuple(_numbers(start, "box start")), axis_order)
    stop_xyz = reorder(tuple(_numbers(stop, "box stop")), axis_order)
    if any(b <= a for a, b in zip(start_xyz, stop_xyz, strict=True)):
        raise FieldError(
            f"the box stop must be above its start on every axis ({axis_order}): "
            f"start {list(start_xyz)} and stop {list(stop_xyz)} in x, y, z."
        )
    return BBox.from_bounds(start_xyz, stop_xyz)


def parse_neuron_id(text: str | int | None) -> int:
    """An exact unsigned 64-bit id; never through float (``1e17`` is refused)."""
    raw = str(text if text is not None else "").strip()
    if not raw:
        raise FieldError("give a neuron id, or pick one from the list.")
    if not raw.isdigit():
        raise FieldError(f"a neuron id is a whole number of digits only, not '{raw}'.")
    value = int(raw)
    if value == 0 or value > MAX_UINT64:
        raise FieldError("a neuron id is between 1 and 2^64 - 1.")
    return value


def check_box_in_volume(box: BBox, volume: BBox) -> None:
    if not box.overlaps(volume):
        raise FieldError(
            f"the box {list(box.start_xyz)}..{list(box.stop_xyz)} (x, y, z, target voxels) lies "
            f"outside the volume, which spans {list(volume.start_xyz)}..{list(volume.stop_xyz)}. "
            "Check the axis order and the resolution the coordinates are in."
        )
