"""Marker coordinates: displayed pixels, target voxels and source voxels (pure).

Markers are stored in absolute TARGET voxels (x, y, z). A view shows a crop (a target-voxel
box) as an image of any pixel size, often the EM at the source resolution, scaled to the
screen. The rule everywhere: a displayed pixel stands for the voxel that contains its
centre, so a click on a pixel gives that pixel's voxel whatever the display size or the
source/target resolution ratio. Going back, a voxel is shown at the pixel containing the
voxel's centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from synanno_dash.core.geometry import BBox, Resolution, Triple


@dataclass(frozen=True)
class DisplayFrame:
    """An image of ``width_px`` x ``height_px`` pixels showing the x, y extent of a box."""

    box_target_vx: BBox
    width_px: int
    height_px: int

    def __post_init__(self) -> None:
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(f"a display needs pixels, got {self.width_px}x{self.height_px}")
        sx, sy, _sz = self.box_target_vx.shape_xyz
        if sx <= 0 or sy <= 0:
            raise ValueError(f"the box {self.box_target_vx.as_list()} has no x or y extent")


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


def display_to_target(frame: DisplayFrame, px: float, py: float, z_vx: int) -> Triple:
    """The target voxel under display position (px, py) (pixel units, 0 = left/top edge).

    A pixel index ``c`` given as ``c + 0.5`` (its centre) gives that pixel's voxel.
    """
    box = frame.box_target_vx
    (x0, y0, _z0), (sx, sy, _sz) = box.start_xyz, box.shape_xyz
    # Multiply before dividing: exact for every pixel centre of an integer scale.
    x = x0 + math.floor(px * sx / frame.width_px)
    y = y0 + math.floor(py * sy / frame.height_px)
    return (_clamp(x, x0, x0 + sx - 1), _clamp(y, y0, y0 + sy - 1), int(z_vx))


def display_pixel_to_target(frame: DisplayFrame, column: int, row: int, z_vx: int) -> Triple:
    """The target voxel of displayed pixel (column, row): the voxel holding its centre."""
    return display_to_target(frame, column + 0.5, row + 0.5, z_vx)


def target_to_display(frame: DisplayFrame, point_xyz_vx: tuple[int, ...]) -> tuple[float, float]:
    """Where a voxel's centre appears on the display, in pixel units."""
    box = frame.box_target_vx
    (x0, y0, _z0), (sx, sy, _sz) = box.start_xyz, box.shape_xyz
    px = (point_xyz_vx[0] - x0 + 0.5) * frame.width_px / sx
    py = (point_xyz_vx[1] - y0 + 0.5) * frame.height_px / sy
    return (px, py)


def target_to_display_pixel(frame: DisplayFrame, point_xyz_vx: tuple[int, ...]) -> tuple[int, int]:
    """The displayed pixel (column, row) that shows a voxel: the one holding its centre."""
    px, py = target_to_display(frame, point_xyz_vx)
    column = _clamp(math.floor(px), 0, frame.width_px - 1)
    row = _clamp(math.floor(py), 0, frame.height_px - 1)
    return (column, row)


def _voxel_holding_centre(point: tuple[int, ...], factor: tuple[float, ...]) -> Triple:
    x, y, z = ((p + 0.5) * f for p, f in zip(point, factor, strict=True))
    return (math.floor(x), math.floor(y), math.floor(z))


def target_to_source(
    point_xyz_vx: tuple[int, ...], target: Resolution, source: Resolution
) -> Triple:
    """The source voxel holding the centre of a target voxel."""
    return _voxel_holding_centre(point_xyz_vx, target.factor_to(source))


def source_to_target(
    point_xyz_vx: tuple[int, ...], source: Resolution, target: Resolution
) -> Triple:
    """The target voxel holding the centre of a source voxel."""
    return _voxel_holding_centre(point_xyz_vx, source.factor_to(target))


def data_to_target(x: float, y: float, z_vx: int) -> Triple:
    """Figure data coordinates (voxel centres on integers) to the voxel holding the point."""
    return (math.floor(x + 0.5), math.floor(y + 0.5), int(z_vx))


def data_to_display(frame: DisplayFrame, x: float, y: float) -> tuple[float, float]:
    """Figure data coordinates (voxel centres on integers) to display pixel units."""
    (x0, y0, _z0), (sx, sy, _sz) = frame.box_target_vx.start_xyz, frame.box_target_vx.shape_xyz
    return ((x - x0 + 0.5) * frame.width_px / sx, (y - y0 + 0.5) * frame.height_px / sy)


def display_to_data(frame: DisplayFrame, px: float, py: float) -> tuple[float, float]:
    """Display pixel units to figure data coordinates (the inverse of ``data_to_display``)."""
    (x0, y0, _z0), (sx, sy, _sz) = frame.box_target_vx.start_xyz, frame.box_target_vx.shape_xyz
    return (x0 - 0.5 + px * sx / frame.width_px, y0 - 0.5 + py * sy / frame.height_px)


def clicked_pixel(frame: DisplayFrame, x: float, y: float) -> tuple[int, int]:
    """The displayed pixel (column, row) under a click at figure data coordinates."""
    px, py = data_to_display(frame, x, y)
    column = _clamp(math.floor(px), 0, frame.width_px - 1)
    row = _clamp(math.floor(py), 0, frame.height_px - 1)
    return (column, row)


def pixel_centre_data(frame: DisplayFrame, column: int, row: int) -> tuple[float, float]:
    """Figure data coordinates of a displayed pixel's centre (where control points snap)."""
    return display_to_data(frame, column + 0.5, row + 0.5)
