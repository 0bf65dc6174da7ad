"""Parsing of the Open Data form's text fields, with messages that name the fix.

Each parser returns a value or raises ``FieldError`` whose text is shown under the field.
"""

from __future__ import annotations

import math
import re

from synanno_dash.core.geometry import AXES, BBox, Resolution, Triple, reorder
from synanno_dash.core.limits import (
    MAX_CROP_SIDE_VX,
    MAX_CROP_VOXELS,
    MAX_NEURON_ID_DIGITS,
    MAX_UINT64,
    PAGE_CROP_BUDGET_BYTES,
    megabytes,
)
from synanno_dash.core.paging import PAGE_SIZES

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


def parse_crop_size(text: str | None) -> Triple:
    """A crop size in target voxels (x, y, z): at most ``MAX_CROP_SIDE_VX`` per axis and
    ``MAX_CROP_VOXELS`` in all (the page budget is checked once the volumes are open)."""
    size = parse_int_triple(text, "crop size")
    if max(size) > MAX_CROP_SIDE_VX:
        raise FieldError(
            f"crop size: at most {MAX_CROP_SIDE_VX} voxels per axis, got "
            f"{' x '.join(str(v) for v in size)}."
        )
    voxels = size[0] * size[1] * size[2]
    if voxels > MAX_CROP_VOXELS:
        raise FieldError(
            f"crop size: {' x '.join(str(v) for v in size)} is {voxels:,} voxels; a crop holds "
            f"at most {MAX_CROP_VOXELS:,} (e.g. 256 x 256 x 16). Give a smaller crop."
        )
    return size


def parse_tiles_per_page(text: str | int | None) -> int:
    """Tiles per page: one of ``PAGE_SIZES`` (6, 12 or 24), nothing else."""
    raw = str(text if text is not None else "").strip()
    if raw not in {str(n) for n in PAGE_SIZES}:
        shown = raw if len(raw) <= 20 else raw[:20] + "..."
        choices = ", ".join(str(n) for n in PAGE_SIZES[:-1]) + f" or {PAGE_SIZES[-1]}"
        raise FieldError(f"tiles per page is {choices}, not '{shown}'.")
    return int(raw)


def page_crop_bytes(
    crop_size_xyz_vx: Triple,
    tiles_per_page: int,
    source_per_target_xyz: tuple[float, float, float],
    source_itemsize: int,
    target_itemsize: int,
) -> int:
    """Bytes of the decoded crops of one page: each tile holds the cleft crop (target voxels)
    and the EM crop over the same region (source voxels: ``source_per_target_xyz`` per
    target voxel and axis, rounded up like the read)."""
    target_voxels = math.prod(crop_size_xyz_vx)
    source_voxels = math.prod(
        math.ceil(size * ratio) for size, ratio in zip(crop_size_xyz_vx, source_per_target_xyz)
    )
    return tiles_per_page * (source_voxels * source_itemsize + target_voxels * target_itemsize)


def check_page_budget(
    crop_size_xyz_vx: Triple,
    tiles_per_page: int,
    source_per_target_xyz: tuple[float, float, float],
    source_itemsize: int,
    target_itemsize: int,
) -> None:
    """``FieldError`` when one page's crops exceed ``PAGE_CROP_BUDGET_BYTES``."""
    needed = page_crop_bytes(
        crop_size_xyz_vx, tiles_per_page, source_per_target_xyz, source_itemsize, target_itemsize
    )
    if needed <= PAGE_CROP_BUDGET_BYTES:
        return
    shown = " x ".join(str(v) for v in crop_size_xyz_vx)
    raise FieldError(
        f"crop size: {tiles_per_page} crops of {shown} target voxels need {megabytes(needed)} "
        f"per page at these resolutions (EM {source_itemsize} byte(s) per voxel, clefts "
        f"{target_itemsize}); a page may hold {megabytes(PAGE_CROP_BUDGET_BYTES)}. Give a "
        "smaller crop or fewer tiles per page."
    )


def parse_axis_order(text: str | None) -> str:
    order = (text or AXES).strip().lower()
    if sorted(order) != sorted(AXES):
        shown = order if len(order) <= 20 else order[:20] + "..."
        raise FieldError(
            f"axis order must be a permutation of xyz (e.g. xyz or zyx), not '{shown}'."
        )
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
    """An exact unsigned 64-bit id; never through float (``1e17`` is refused), only the
    ASCII digits 0-9 (``²`` and other Unicode digits are refused), at most 20 of them."""
    raw = str(text if text is not None else "").strip()
    if not raw:
        raise FieldError("give a neuron id, or pick one from the list.")
    if not (raw.isascii() and raw.isdigit()):
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise FieldError(f"a neuron id is a whole number of digits only (0-9), not '{shown}'.")
    if len(raw.lstrip("0")) > MAX_NEURON_ID_DIGITS:
        raise FieldError(
            f"a neuron id has at most {MAX_NEURON_ID_DIGITS} digits (it is an unsigned "
            f"64-bit number); this one has {len(raw):,}."
        )
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
