"""Marker coordinates: display pixel <-> target voxel <-> source voxel (property-based)."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.core.markers import (
    DisplayFrame,
    clicked_pixel,
    data_to_target,
    display_pixel_to_target,
    display_to_data,
    display_to_target,
    pixel_centre_data,
    source_to_target,
    target_to_display,
    target_to_display_pixel,
    target_to_source,
)

start = st.integers(-1000, 1000)
extent = st.integers(1, 200)
pixels = st.integers(1, 1600)
nm = st.sampled_from([1.0, 2.0, 3.0, 4.0, 4.6, 5.0, 6.0, 8.0, 16.0, 33.0, 40.0])


@st.composite
def frames(draw: st.DrawFn) -> DisplayFrame:
    x0, y0, z0 = draw(start), draw(start), draw(start)
    sx, sy, sz = draw(extent), draw(extent), draw(extent)
    box = BBox((x0, y0, z0), (x0 + sx, y0 + sy, z0 + sz))
    return DisplayFrame(box, draw(pixels), draw(pixels))


@st.composite
def pixel_in(draw: st.DrawFn, frame: DisplayFrame) -> tuple[int, int]:
    return (draw(st.integers(0, frame.width_px - 1)), draw(st.integers(0, frame.height_px - 1)))


@given(st.data())
def test_a_clicked_pixel_gives_the_voxel_holding_its_centre(data: st.DataObject) -> None:
    frame = data.draw(frames())
    column, row = data.draw(pixel_in(frame))
    box = frame.box_target_vx
    x, y, z = display_pixel_to_target(frame, column, row, 5)
    assert box.contains_point((x, y, box.start_xyz[2])) and z == 5
    # the pixel's centre, in target voxel units, lies inside voxel (x, y)
    (x0, y0, _), (sx, sy, _) = box.start_xyz, box.shape_xyz
    centre_x = x0 + (column + 0.5) * sx / frame.width_px
    centre_y = y0 + (row + 0.5) * sy / frame.height_px
    assert x <= centre_x < x + 1 + 1e-9 and y <= centre_y < y + 1 + 1e-9


@given(st.data())
def test_pixel_to_voxel_to_pixel_is_stable(data: st.DataObject) -> None:
    frame = data.draw(frames())
    column, row = data.draw(pixel_in(frame))
    voxel = display_pixel_to_target(frame, column, row, 0)
    shown = target_to_display_pixel(frame, voxel)
    assert display_pixel_to_target(frame, *shown, 0) == voxel


@given(st.data())
def test_voxel_round_trip_when_the_display_is_finer(data: st.DataObject) -> None:
    frame = data.draw(frames())
    sx, sy, _ = frame.box_target_vx.shape_xyz
    assume(frame.width_px >= sx and frame.height_px >= sy)
    x0, y0, z0 = frame.box_target_vx.start_xyz
    voxel = (x0 + data.draw(st.integers(0, sx - 1)), y0 + data.draw(st.integers(0, sy - 1)), z0)
    column, row = target_to_display_pixel(frame, voxel)
    assert display_pixel_to_target(frame, column, row, z0) == voxel
    px, py = target_to_display(frame, voxel)
    assert display_to_target(frame, px, py, z0) == voxel


@given(st.data())
def test_any_position_inside_a_pixel_of_an_integer_zoom_gives_its_voxel(
    data: st.DataObject,
) -> None:
    """Integer display zoom (e.g. 2 EM pixels per voxel, 3 screen pixels per EM pixel)."""
    x0, y0 = data.draw(start), data.draw(start)
    sx, sy = data.draw(st.integers(1, 64)), data.draw(st.integers(1, 64))
    zoom = data.draw(st.integers(1, 8))
    frame = DisplayFrame(BBox((x0, y0, 0), (x0 + sx, y0 + sy, 1)), sx * zoom, sy * zoom)
    column, row = data.draw(pixel_in(frame))
    fx, fy = data.draw(st.floats(0, 0.999)), data.draw(st.floats(0, 0.999))
    expected = display_pixel_to_target(frame, column, row, 0)
    assert display_to_target(frame, column + fx, row + fy, 0) == expected
    assert expected == (x0 + column // zoom, y0 + row // zoom, 0)


@given(st.tuples(start, start, start), nm, nm, nm, st.integers(1, 4))
def test_target_to_source_to_target_when_the_source_is_finer(
    point: tuple[int, int, int], t_xy: float, t_z: float, s_z: float, ratio: int
) -> None:
    target = Resolution(t_xy, t_xy, t_z)
    source = Resolution(t_xy / ratio, t_xy / ratio, min(s_z, t_z))
    source_voxel = target_to_source(point, target, source)
    assert source_to_target(source_voxel, source, target) == point


@given(st.tuples(start, start, start), nm, nm, nm, nm)
def test_source_voxel_holds_the_target_voxel_centre(
    point: tuple[int, int, int], t_xy: float, t_z: float, s_xy: float, s_z: float
) -> None:
    target, source = Resolution(t_xy, t_xy, t_z), Resolution(s_xy, s_xy, s_z)
    sv = target_to_source(point, target, source)
    for axis, (t_nm, s_nm) in enumerate(((t_xy, s_xy), (t_xy, s_xy), (t_z, s_z))):
        centre_nm = (point[axis] + 0.5) * t_nm
        assert sv[axis] * s_nm <= centre_nm + 1e-6 and centre_nm < (sv[axis] + 1) * s_nm + 1e-6


def test_known_values_for_the_demo_resolutions() -> None:
    target, source = Resolution(8, 8, 40), Resolution(4, 4, 40)
    assert target_to_source((10, 20, 3), target, source) == (21, 41, 3)
    assert source_to_target((20, 41, 3), source, target) == (10, 20, 3)
    assert source_to_target((21, 40, 3), source, target) == (10, 20, 3)
    # a 64x64 voxel crop shown as its 128x128 EM image
    frame = DisplayFrame(BBox((100, 200, 7), (164, 264, 13)), 128, 128)
    assert display_pixel_to_target(frame, 0, 0, 9) == (100, 200, 9)
    assert display_pixel_to_target(frame, 3, 126, 9) == (101, 263, 9)
    assert target_to_display_pixel(frame, (101, 263, 9)) == (3, 127)


def test_figure_data_coordinates() -> None:
    assert data_to_target(10.0, 20.49, 3) == (10, 20, 3)
    assert data_to_target(9.5, -0.5, 3) == (10, 0, 3)
    assert data_to_target(-0.75, 4.25, 1) == (-1, 4, 1)


def test_invalid_frames() -> None:
    with pytest.raises(ValueError):
        DisplayFrame(BBox((0, 0, 0), (4, 4, 1)), 0, 10)
    with pytest.raises(ValueError):
        DisplayFrame(BBox((0, 0, 0), (0, 4, 1)), 10, 10)
    assert math.isclose(
        target_to_display(DisplayFrame(BBox((0, 0, 0), (4, 4, 1)), 8, 8), (1, 1, 0))[0], 3.0
    )


@given(st.data())
def test_a_click_anywhere_in_a_displayed_pixel_finds_that_pixel(data: st.DataObject) -> None:
    frame = data.draw(frames())
    column, row = data.draw(pixel_in(frame))
    fx, fy = data.draw(st.floats(0.01, 0.99)), data.draw(st.floats(0.01, 0.99))
    x, y = display_to_data(frame, column + fx, row + fy)
    assert clicked_pixel(frame, x, y) == (column, row)
    cx, cy = pixel_centre_data(frame, column, row)
    assert clicked_pixel(frame, cx, cy) == (column, row)
    # the pixel's voxel, found from the click, is the voxel holding the pixel's centre
    voxel = display_pixel_to_target(frame, *clicked_pixel(frame, x, y), 0)
    assert voxel == data_to_target(cx, cy, 0)


def test_demo_figure_pixels() -> None:
    """The demo's EM (4 nm) over a target crop (8 nm): two displayed pixels per voxel."""
    frame = DisplayFrame(BBox((100, 200, 0), (164, 264, 16)), 128, 128)
    assert pixel_centre_data(frame, 0, 0) == (99.75, 199.75)
    assert pixel_centre_data(frame, 21, 3) == (110.25, 201.25)
    assert clicked_pixel(frame, 110.14, 201.3) == (21, 3)
    assert display_pixel_to_target(frame, 21, 3, 5) == (110, 201, 5)
