from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synanno_dash.core.geometry import (
    BBox,
    Resolution,
    bbox_around,
    convert_point,
    point_to_nm,
    reorder,
)

coord = st.integers(min_value=-500, max_value=500)
size = st.integers(min_value=0, max_value=100)
res_value = st.sampled_from([1.0, 2.0, 4.0, 4.6, 8.0, 33.0, 40.0, 50.0])
resolutions = st.builds(Resolution, res_value, res_value, res_value)


@st.composite
def boxes(draw: st.DrawFn) -> BBox:
    start = (draw(coord), draw(coord), draw(coord))
    shape = (draw(size), draw(size), draw(size))
    return BBox.from_bounds(start, tuple(a + s for a, s in zip(start, shape)))


def test_reorder_zyx_to_xyz_and_back() -> None:
    assert reorder((3, 2, 1), "zyx") == (1, 2, 3)
    assert reorder((1, 2, 3), "xyz", "zyx") == (3, 2, 1)
    with pytest.raises(ValueError):
        reorder((1, 2, 3), "xxy")


@given(st.tuples(coord, coord, coord), st.permutations("xyz"))
def test_reorder_round_trip(values: tuple[int, int, int], order: list[str]) -> None:
    axis = "".join(order)
    assert reorder(reorder(values, "xyz", axis), axis, "xyz") == values


def test_box_rejects_inverted_bounds() -> None:
    with pytest.raises(ValueError):
        BBox((0, 0, 5), (10, 10, 4))


@given(boxes(), boxes())
def test_intersection_lies_in_both(a: BBox, b: BBox) -> None:
    inter = a.intersect(b)
    assert inter.size <= min(a.size, b.size)
    if not inter.is_empty:
        assert a.contains_point(inter.start_xyz) and b.contains_point(inter.start_xyz)


@given(boxes(), boxes())
def test_padding_plus_inside_equals_shape(box: BBox, volume: BBox) -> None:
    before, after = box.padding_within(volume)
    inside = box.intersect(volume)
    if not inside.is_empty:
        for axis in range(3):
            assert before[axis] + inside.shape_xyz[axis] + after[axis] == box.shape_xyz[axis]


@given(boxes(), resolutions, resolutions)
def test_scaled_box_covers_the_same_region(box: BBox, a: Resolution, b: Resolution) -> None:
    scaled = box.scaled(a, b)
    for axis in range(3):
        start_nm = box.start_xyz[axis] * a.as_tuple()[axis]
        stop_nm = box.stop_xyz[axis] * a.as_tuple()[axis]
        assert scaled.start_xyz[axis] * b.as_tuple()[axis] <= start_nm + 1e-6
        assert scaled.stop_xyz[axis] * b.as_tuple()[axis] >= stop_nm - 1e-6
        # and not more than one voxel of slack on either side
        assert scaled.start_xyz[axis] * b.as_tuple()[axis] > start_nm - b.as_tuple()[axis]
        assert scaled.stop_xyz[axis] * b.as_tuple()[axis] < stop_nm + b.as_tuple()[axis]


def test_scaled_box_target_to_source_doubles_xy() -> None:
    target, source = Resolution(8, 8, 40), Resolution(4, 4, 40)
    box = BBox((10, 20, 3), (74, 84, 9))
    assert box.scaled(target, source) == BBox((20, 40, 3), (148, 168, 9))


@given(st.tuples(coord, coord, coord), resolutions, resolutions)
def test_point_conversion_round_trip(point: tuple, a: Resolution, b: Resolution) -> None:
    there = convert_point(point, a, b)
    back = convert_point(there, b, a)
    assert back == pytest.approx(point, abs=1e-6)
    assert point_to_nm(there, b) == pytest.approx(point_to_nm(point, a))


@given(st.tuples(coord, coord, coord), st.tuples(*[st.integers(1, 64)] * 3))
def test_bbox_around_has_exact_size_and_holds_centre(center: tuple, crop: tuple) -> None:
    box = bbox_around(center, crop)
    assert box.shape_xyz == crop
    assert box.contains_point(center)
    assert tuple(c - s for c, s in zip(center, box.start_xyz)) == tuple(n // 2 for n in crop)


def test_resolution_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Resolution(0, 4, 40)
