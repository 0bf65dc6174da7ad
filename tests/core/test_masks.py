"""Splines, polygon rasterization, fill and erase, plotly shapes, initial masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path as MplPath

from synanno_dash.core.masks import (
    closed_spline,
    drawn_polygon,
    erase,
    fill,
    instance_mask,
    parse_svg_path,
    polygon_area,
    polygon_mask,
)


def _circle(cx: float, cy: float, r: float, n: int) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)])


def test_square_covers_exactly_its_area() -> None:
    square = [(10, 10), (30, 10), (30, 25), (10, 25)]
    mask = polygon_mask(square, (64, 64))
    assert mask.sum() == 20 * 15 == polygon_area(np.array(square, float))
    # half-open: centres on the left/top edges are in, on the right/bottom edges out
    assert mask[10, 10] and mask[24, 29] and not mask[25, 10] and not mask[10, 30]


@pytest.mark.parametrize(
    "polygon",
    [
        _circle(40.3, 37.8, 22.5, 200),
        np.array([[5.2, 7.9], [90.1, 12.4], [40.7, 80.3]]),  # a triangle
        np.array(
            [[10.3, 10.6], [110.2, 10.9], [110.7, 100.1], [60.4, 45.8], [10.1, 100.3]]
        ),  # concave
    ],
)
def test_known_polygon_area_within_one_percent(polygon: np.ndarray) -> None:
    mask = polygon_mask(polygon, (128, 128))
    assert mask.sum() == pytest.approx(polygon_area(polygon), rel=0.01)


def test_mask_matches_an_independent_point_in_polygon_test() -> None:
    # no pixel centre on an edge: there the two tests may legitimately disagree
    polygon = np.array([[3.31, 4.17], [50.73, 9.29], [41.93, 44.41], [22.27, 20.13], [8.61, 39.7]])
    height, width = 48, 56
    rows, cols = np.mgrid[0:height, 0:width]
    centres = np.column_stack([cols.ravel(), rows.ravel()]).astype(float)
    reference = MplPath(polygon).contains_points(centres).reshape(height, width)
    assert np.array_equal(polygon_mask(polygon, (height, width)), reference)


def test_origin_places_the_polygon_in_absolute_coordinates() -> None:
    square = np.array([[100, 200], [104, 200], [104, 203], [100, 203]], float)
    mask = polygon_mask(square, (10, 10), origin_xy=(98, 199))
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (1, 3, 2, 5)


def test_polygon_outside_or_degenerate_gives_an_empty_mask() -> None:
    assert not polygon_mask([(200, 200), (210, 200), (210, 210)], (20, 20)).any()
    assert not polygon_mask([(1, 1), (5, 5)], (20, 20)).any()
    assert not polygon_mask([(1, 1), (5, 1), (9, 1)], (20, 20)).any()  # zero area


def test_spline_passes_through_every_control_point() -> None:
    control = np.array([[10, 10], [40, 12], [45, 40], [12, 35]], float)
    curve = closed_spline(control, points_per_segment=10)
    assert curve.shape == (40, 2)
    assert np.allclose(curve[::10], control)


def test_one_point_per_segment_is_the_polygon_itself() -> None:
    control = [(1, 1), (9, 1), (9, 7)]
    assert np.array_equal(closed_spline(control, 1), np.array(control, float))


def test_repeated_clicks_and_too_few_points() -> None:
    curve = closed_spline([(5, 5), (5, 5), (20, 5), (20, 20), (5, 5)], 6)
    assert len(curve) == 3 * 6  # the repeats (also the closing one) are dropped
    assert closed_spline([(1, 1), (4, 4)], 8).shape == (2, 2)


def test_spline_of_points_on_a_circle_is_close_to_the_circle() -> None:
    control = _circle(50.2, 49.7, 30, 12)
    curve = closed_spline(control, 16)
    radii = np.hypot(curve[:, 0] - 50.2, curve[:, 1] - 49.7)
    assert np.all(np.abs(radii - 30) < 0.2)
    # spline -> polygon -> mask: the polygon's and the circle's area within 1%
    mask = polygon_mask(curve, (100, 100))
    assert mask.sum() == pytest.approx(polygon_area(curve), rel=0.01)
    assert mask.sum() == pytest.approx(math.pi * 30**2, rel=0.01)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 60, allow_nan=False), st.floats(0, 60, allow_nan=False)),
        min_size=3,
        max_size=9,
    ),
    st.integers(1, 20),
)
def test_spline_stays_finite_and_mask_within_grid(points: list, per_segment: int) -> None:
    curve = closed_spline(points, per_segment)
    assert np.all(np.isfinite(curve))
    mask = polygon_mask(curve, (64, 64))
    assert mask.shape == (64, 64) and mask.dtype == bool


def test_fill_then_erase() -> None:
    base = np.zeros((40, 40), bool)
    big = [(5, 5), (35, 5), (35, 35), (5, 35)]
    filled = fill(base, np.array(big, float), (0, 0))
    assert filled.sum() == 900
    hole = np.array([(10, 10), (20, 10), (20, 20), (10, 20)], float)
    erased = erase(filled, hole, (0, 0))
    assert erased.sum() == 900 - 100
    assert not erased[15, 15] and erased[25, 25]
    assert filled.sum() == 900  # inputs are never modified
    # erasing outside the mask changes nothing; filling twice is idempotent
    assert np.array_equal(erase(base, hole, (0, 0)), base)
    assert np.array_equal(fill(filled, np.array(big, float), (0, 0)), filled)


def test_parse_plotly_paths() -> None:
    (points,) = parse_svg_path("M10.5,20L30,20.25L30,40Z")
    assert points.tolist() == [[10.5, 20], [30, 20.25], [30, 40]]
    (rel,) = parse_svg_path("m 1 1 l 4 0 l 0 3 h -2 v -1 z")
    assert rel.tolist() == [[1, 1], [5, 1], [5, 4], [3, 4], [3, 3]]
    two = parse_svg_path("M0,0L5,0L5,5ZM10,10L12,10L12,12Z")
    assert len(two) == 2 and two[1][0].tolist() == [10, 10]
    assert parse_svg_path("M1e1,2E0L3,4L5,-6.5Z")[0][2].tolist() == [5, -6.5]
    with pytest.raises(ValueError):
        parse_svg_path("M0,0C1,1,2,2,3,3Z")


def _drawn(relayout: dict) -> np.ndarray:
    found = drawn_polygon(relayout)
    assert found is not None
    return found


def test_drawn_polygon_from_relayout_events() -> None:
    new = {"shapes": [{"type": "path", "path": "M0,0L9,0L9,9Z"},
                      {"type": "path", "path": "M1,1L2,1L2,2Z"}]}  # fmt: skip
    assert _drawn(new).tolist() == [[1, 1], [2, 1], [2, 2]]
    edited = {"shapes[0].path": "M3,3L6,3L6,6Z"}
    assert _drawn(edited).tolist() == [[3, 3], [6, 3], [6, 6]]
    rect = {"shapes": [{"type": "rect", "x0": 1, "y0": 2, "x1": 5, "y1": 4}]}
    assert polygon_area(_drawn(rect)) == 8
    assert drawn_polygon({"xaxis.range[0]": 3}) is None
    assert drawn_polygon(None) is None


def test_instance_mask_keeps_the_cleft_nearest_the_centre() -> None:
    seg = np.zeros((3, 20, 20), np.uint32)
    seg[1, 2:4, 2:4] = 7  # a neighbour's cleft
    seg[1, 9:12, 9:12] = 3  # ours, at the centre
    mask = instance_mask(seg, (1, 10, 10))
    assert mask.sum() == 9 and mask[1, 10, 10] and not mask[1, 2, 2]
    binary = (seg > 0).astype(np.uint8)
    assert instance_mask(binary, (1, 10, 10)).sum() == 13
    assert not instance_mask(np.zeros((2, 4, 4), np.uint8), (0, 0, 0)).any()
