"""Mask geometry for the correction view: splines, polygons, fill and erase (pure, no I/O).

Coordinates of curves are (x, y) in target voxel units where the *centre* of voxel (i, j)
is the point (i, j) (the convention of the plotly figures, whose image traces put pixel
centres on integer coordinates). A pixel belongs to a polygon when its centre lies
inside, with a half-open rule on the boundary (centres on a left or top edge are in, on a
right or bottom edge out), so a polygon's pixel count approximates its area without the
bias of a boundary-inclusive rule, and abutting polygons never share pixels.

Masks are boolean arrays, slices as (y, x), stacks as (z, y, x).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

DEFAULT_POINTS_PER_SEGMENT = 8
MAX_POINTS_PER_SEGMENT = 64
_CENTRIPETAL = 0.5


def _without_repeats(points: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Drop points (nearly) equal to the previous kept one, and a last one equal to the
    first: a spline needs distinct consecutive knots (a double click adds a point twice)."""
    kept: list[np.ndarray] = []
    for point in points:
        if not kept or np.hypot(*(point - kept[-1])) > tolerance:
            kept.append(point)
    while len(kept) > 1 and np.hypot(*(kept[-1] - kept[0])) <= tolerance:
        kept.pop()
    return np.asarray(kept, dtype=float).reshape(-1, 2)


def _segment(p: np.ndarray, samples: int, alpha: float) -> np.ndarray:
    """``samples`` points of the Catmull-Rom segment from p[1] to p[2] (p[2] excluded).

    Barry-Goldman's pyramid of linear interpolations with knots spaced by distance**alpha
    (0.5: centripetal, which never forms cusps or self-intersections within a segment).
    """
    gaps = np.linalg.norm(np.diff(p, axis=0), axis=1) ** alpha
    t0, t1, t2, t3 = 0.0, gaps[0], gaps[0] + gaps[1], gaps[0] + gaps[1] + gaps[2]
    t = np.linspace(t1, t2, samples, endpoint=False)[:, None]

    def lerp(a: np.ndarray, b: np.ndarray, ta: float, tb: float) -> np.ndarray:
        return ((tb - t) * a + (t - ta) * b) / (tb - ta)

    a1 = lerp(p[0], p[1], t0, t1)
    a2 = lerp(p[1], p[2], t1, t2)
    a3 = lerp(p[2], p[3], t2, t3)
    b1 = lerp(a1, a2, t0, t2)
    b2 = lerp(a2, a3, t1, t3)
    return lerp(b1, b2, t1, t2)


def closed_spline(
    control_xy: Sequence[Sequence[float]] | np.ndarray,
    points_per_segment: int = DEFAULT_POINTS_PER_SEGMENT,
) -> np.ndarray:
    """A smooth closed curve through every control point, as an (n, 2) polygon.

    ``points_per_segment`` points are placed between consecutive control points (the first
    being the control point itself), so 1 gives the straight polygon through the points.
    Fewer than three distinct points cannot enclose anything and come back unchanged.
    """
    points = _without_repeats(np.asarray(control_xy, dtype=float).reshape(-1, 2))
    samples = int(min(max(1, points_per_segment), MAX_POINTS_PER_SEGMENT))
    n = len(points)
    if n < 3 or samples == 1:
        return points.copy()
    parts = [
        _segment(points[[(i - 1) % n, i, (i + 1) % n, (i + 2) % n]], samples, _CENTRIPETAL)
        for i in range(n)
    ]
    return np.vstack(parts)


def polygon_area(polygon_xy: np.ndarray) -> float:
    """Area enclosed by a simple polygon (shoelace formula), in voxel units squared."""
    pts = np.asarray(polygon_xy, dtype=float).reshape(-1, 2)
    if len(pts) < 3:
        return 0.0
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def polygon_mask(
    polygon_xy: np.ndarray | Sequence[Sequence[float]],
    shape_yx: tuple[int, int],
    origin_xy: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """The pixels of a (y, x) grid whose centres lie inside a closed polygon (even-odd).

    Pixel (r, c) has its centre at ``(origin_x + c, origin_y + r)``. Scanline fill: for the
    centre row of each pixel row, the crossings with edges that span it half-open in y;
    pixels whose centre lies in ``[a, b)`` between pairs of crossings are inside.
    """
    height, width = int(shape_yx[0]), int(shape_yx[1])
    mask = np.zeros((height, width), dtype=bool)
    pts = np.asarray(polygon_xy, dtype=float).reshape(-1, 2) - np.asarray(origin_xy, float)
    if len(pts) < 3 or height == 0 or width == 0:
        return mask
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    first = max(0, math.ceil(float(pts[:, 1].min())))
    last = min(height - 1, math.floor(float(pts[:, 1].max())))
    if last < first:
        return mask
    rows = np.arange(first, last + 1, dtype=float)[:, None]
    spans = ((y0 <= rows) & (rows < y1)) | ((y1 <= rows) & (rows < y0))
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = x0 + (rows - y0) * (x1 - x0) / (y1 - y0)
    crossing = np.sort(np.where(spans, crossing, np.inf), axis=1)
    columns = np.arange(width, dtype=float)
    for k, row_crossings in enumerate(crossing):
        found = row_crossings[np.isfinite(row_crossings)]
        inside = np.zeros(width, dtype=bool)
        for a, b in zip(found[0::2], found[1::2], strict=False):
            inside |= (columns >= a) & (columns < b)
        mask[first + k] = inside
    return mask


def fill(mask_yx: np.ndarray, polygon_xy: np.ndarray, origin_xy: tuple[float, float]) -> np.ndarray:
    """A new mask: ``mask_yx`` plus the pixels inside the polygon."""
    return np.asarray(mask_yx, bool) | polygon_mask(polygon_xy, mask_yx.shape, origin_xy)


def erase(
    mask_yx: np.ndarray, polygon_xy: np.ndarray, origin_xy: tuple[float, float]
) -> np.ndarray:
    """A new mask: ``mask_yx`` without the pixels inside the polygon."""
    return np.asarray(mask_yx, bool) & ~polygon_mask(polygon_xy, mask_yx.shape, origin_xy)


# -- plotly drawn shapes -----------------------------------------------------------------
_PATH_TOKEN = re.compile(r"[MLHVZmlhvz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_svg_path(path: str) -> list[np.ndarray]:
    """The vertices of each subpath of an SVG path with straight segments (M, L, H, V, Z).

    Plotly's ``drawclosedpath`` writes absolute ``M x,y L x,y ... Z`` paths in data
    coordinates; relative commands are accepted too. Curves (C, Q, A) are not produced by
    plotly's freehand tools and raise ``ValueError``.
    """
    if re.search(r"[ACQSTacqst]", path):
        raise ValueError(f"curved path segments are not supported: {path[:40]!r}")
    tokens = _PATH_TOKEN.findall(path)
    subpaths: list[list[tuple[float, float]]] = []
    x = y = 0.0
    command = ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.isalpha():
            command = token
            i += 1
            if command in "Zz":
                if subpaths and subpaths[-1]:
                    x, y = subpaths[-1][0]
                command = ""
            continue
        relative = command.islower()
        kind = command.upper()
        if kind in ("M", "L"):
            dx, dy = float(tokens[i]), float(tokens[i + 1])
            i += 2
            x, y = (x + dx, y + dy) if relative else (dx, dy)
            if kind == "M":
                subpaths.append([])
                command = "l" if relative else "L"  # further pairs after M are lines
        elif kind in ("H", "V"):
            value = float(tokens[i])
            i += 1
            if kind == "H":
                x = x + value if relative else value
            else:
                y = y + value if relative else value
        else:
            raise ValueError(f"a path must start with M, got {token!r}")
        if not subpaths:
            subpaths.append([])
        subpaths[-1].append((x, y))
    return [np.asarray(points, dtype=float) for points in subpaths if len(points) >= 3]


def _shape_polygon(shape: Mapping[str, Any]) -> np.ndarray | None:
    if shape.get("type") == "path" and shape.get("path"):
        subpaths = parse_svg_path(str(shape["path"]))
        return subpaths[0] if subpaths else None
    if shape.get("type") == "rect":
        x0, x1 = float(shape["x0"]), float(shape["x1"])
        y0, y1 = float(shape["y0"]), float(shape["y1"])
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return None


def drawn_polygon(relayout: Mapping[str, Any] | None) -> np.ndarray | None:
    """The newest closed shape in a plotly ``relayoutData`` event, or ``None``.

    A new drawing arrives as the whole ``shapes`` list (the newest last); an edited one as
    ``shapes[i].path`` (or ``shapes[i].x0``... for a rectangle, ignored here).
    """
    if not relayout:
        return None
    shapes = relayout.get("shapes")
    if isinstance(shapes, list) and shapes:
        return _shape_polygon(shapes[-1])
    edited = [k for k in relayout if re.fullmatch(r"shapes\[\d+\]\.path", k)]
    if edited:
        subpaths = parse_svg_path(str(relayout[edited[-1]]))
        return subpaths[0] if subpaths else None
    return None


# -- initial masks ------------------------------------------------------------------------
def instance_mask(
    segmentation_zyx: np.ndarray,
    center_zyx: tuple[int, int, int],
    spacing_zyx: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """The instance's own cleft in a segmentation crop, as a boolean (z, y, x) mask.

    With one id per synapse, a crop may hold neighbouring clefts too: keep the id whose
    voxel lies nearest the centre (in nm when ``spacing_zyx`` is given). A binary
    segmentation has a single id, so all its nonzero voxels are kept.
    """
    seg = np.asarray(segmentation_zyx)
    nonzero = np.argwhere(seg != 0)
    if len(nonzero) == 0:
        return np.zeros(seg.shape, dtype=bool)
    offsets = (nonzero - np.asarray(center_zyx)) * np.asarray(spacing_zyx, float)
    nearest = nonzero[int(np.argmin((offsets**2).sum(axis=1)))]
    return seg == seg[tuple(nearest)]
