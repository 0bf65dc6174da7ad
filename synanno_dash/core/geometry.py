"""Geometry value types: points, resolutions and bounding boxes in voxel space.

Every value here is in x, y, z order unless its name says otherwise. Voxel boxes are
half-open: ``start`` is inside, ``stop`` is not. Conversions between resolutions are
always explicit (``Resolution`` objects), never hard-coded factors, because source and
target volumes may differ (H01: source 4x4x33 nm, target 8x8x33 nm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Triple = tuple[int, int, int]
FloatTriple = tuple[float, float, float]

AXES = "xyz"


def reorder(values: tuple, from_order: str, to_order: str = AXES) -> tuple:
    """Reorder a 3-tuple from one axis order (e.g. ``"zyx"``) to another."""
    from_order, to_order = from_order.lower(), to_order.lower()
    if sorted(from_order) != sorted(AXES) or sorted(to_order) != sorted(AXES):
        raise ValueError(f"axis order must be a permutation of 'xyz', got {from_order!r}")
    if len(values) != 3:
        raise ValueError(f"expected three values, got {len(values)}")
    by_axis = dict(zip(from_order, values, strict=True))
    return tuple(by_axis[axis] for axis in to_order)


@dataclass(frozen=True)
class Resolution:
    """Voxel size in nanometres, x, y, z."""

    x_nm: float
    y_nm: float
    z_nm: float

    def __post_init__(self) -> None:
        for value in self.as_tuple():
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"resolution must be positive and finite, got {self.as_tuple()}")

    @classmethod
    def of(cls, values: tuple[float, float, float] | list[float]) -> Resolution:
        x, y, z = (float(v) for v in values)
        return cls(x, y, z)

    def as_tuple(self) -> FloatTriple:
        return (self.x_nm, self.y_nm, self.z_nm)

    def factor_to(self, other: Resolution) -> FloatTriple:
        """How many ``other`` voxels fit in one of ours, per axis."""
        return (self.x_nm / other.x_nm, self.y_nm / other.y_nm, self.z_nm / other.z_nm)


def point_to_nm(point_xyz_vx: tuple[float, ...], resolution: Resolution) -> FloatTriple:
    x, y, z = point_xyz_vx
    return (x * resolution.x_nm, y * resolution.y_nm, z * resolution.z_nm)


def convert_point(
    point_xyz_vx: tuple[float, ...], from_res: Resolution, to_res: Resolution
) -> FloatTriple:
    """Voxel coordinates at ``from_res`` to voxel coordinates at ``to_res`` (same nm point)."""
    fx, fy, fz = from_res.factor_to(to_res)
    x, y, z = point_xyz_vx
    return (x * fx, y * fy, z * fz)


@dataclass(frozen=True)
class BBox:
    """Half-open voxel box ``[start, stop)``, x, y, z."""

    start_xyz: Triple
    stop_xyz: Triple

    def __post_init__(self) -> None:
        if len(self.start_xyz) != 3 or len(self.stop_xyz) != 3:
            raise ValueError("a box needs three start and three stop values")
        if any(b < a for a, b in zip(self.start_xyz, self.stop_xyz, strict=True)):
            raise ValueError(f"box stop {self.stop_xyz} lies before its start {self.start_xyz}")

    @classmethod
    def from_bounds(cls, start: tuple[float, ...], stop: tuple[float, ...]) -> BBox:
        return cls(
            (int(start[0]), int(start[1]), int(start[2])),
            (int(stop[0]), int(stop[1]), int(stop[2])),
        )

    @property
    def shape_xyz(self) -> Triple:
        a, b = self.start_xyz, self.stop_xyz
        return (b[0] - a[0], b[1] - a[1], b[2] - a[2])

    @property
    def size(self) -> int:
        sx, sy, sz = self.shape_xyz
        return sx * sy * sz

    @property
    def is_empty(self) -> bool:
        return self.size == 0

    def contains_point(self, point_xyz: tuple[float, ...]) -> bool:
        return all(a <= p < b for a, p, b in zip(self.start_xyz, point_xyz, self.stop_xyz))

    def intersect(self, other: BBox) -> BBox:
        start = tuple(max(a, b) for a, b in zip(self.start_xyz, other.start_xyz, strict=True))
        stop = tuple(min(a, b) for a, b in zip(self.stop_xyz, other.stop_xyz, strict=True))
        stop = tuple(max(s, e) for s, e in zip(start, stop, strict=True))
        return BBox.from_bounds(start, stop)

    def overlaps(self, other: BBox) -> bool:
        return not self.intersect(other).is_empty

    def padding_within(self, volume: BBox) -> tuple[Triple, Triple]:
        """Voxels of this box that lie outside ``volume``: (before_xyz, after_xyz)."""
        before = tuple(max(0, v - s) for s, v in zip(self.start_xyz, volume.start_xyz))
        after = tuple(max(0, s - v) for s, v in zip(self.stop_xyz, volume.stop_xyz))
        return (before, after)  # type: ignore[return-value]

    def scaled(self, from_res: Resolution, to_res: Resolution) -> BBox:
        """The smallest box at ``to_res`` covering the same physical region."""
        fx = from_res.factor_to(to_res)
        start = tuple(math.floor(a * f + 1e-9) for a, f in zip(self.start_xyz, fx, strict=True))
        stop = tuple(math.ceil(b * f - 1e-9) for b, f in zip(self.stop_xyz, fx, strict=True))
        return BBox.from_bounds(start, stop)

    @property
    def center_xyz(self) -> Triple:
        """The middle voxel (rounded down), x, y, z."""
        a, b = self.start_xyz, self.stop_xyz
        return ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2, (a[2] + b[2]) // 2)

    def as_list(self) -> list[int]:
        return [*self.start_xyz, *self.stop_xyz]


def bbox_around(center_xyz_vx: tuple[float, ...], crop_size_xyz_vx: Triple) -> BBox:
    """A box of exactly ``crop_size`` voxels whose middle voxel is the centre voxel.

    For an even size the centre sits just right of the middle, so the centre voxel is
    always inside the box and ``center - start == size // 2``.
    """
    center = tuple(int(math.floor(c)) for c in center_xyz_vx)
    start = tuple(c - s // 2 for c, s in zip(center, crop_size_xyz_vx, strict=True))
    stop = tuple(a + s for a, s in zip(start, crop_size_xyz_vx, strict=True))
    return BBox.from_bounds(start, stop)
