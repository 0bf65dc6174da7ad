"""The parts of mask completion without a trained model: inputs, baselines, scoring, the
VNC split and the protocol's choice of drawn slices (numpy only; no torch)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synanno_dash.ml.baselines import nearest_slice, shape_interpolation
from synanno_dash.ml.inputs import (
    completed,
    connected_to_drawn,
    input_channels,
    with_drawn_slices,
)
from synanno_dash.ml.samples import (
    HELD_OUT_MIN_X_PX,
    VALIDATION_MIN_Y_PX,
    Cleft,
    CropPlan,
    chosen_slices,
    training_box,
    vnc_part,
    vnc_region,
)
from synanno_dash.ml.scoring import undrawn_dice


def disc(radius: float, size: int = 64) -> np.ndarray:
    y, x = np.mgrid[:size, :size]
    return (y - size / 2) ** 2 + (x - size / 2) ** 2 <= radius**2


def test_input_channels_show_only_the_drawn_slices() -> None:
    em = np.arange(4 * 8 * 8, dtype=np.uint8).reshape(4, 8, 8)
    drawn = np.ones((4, 8, 8), dtype=bool)
    channels = input_channels(em, drawn, [1, 3])
    assert channels.shape == (3, 4, 8, 8)
    assert abs(channels[0].mean()) < 1e-5 and abs(channels[0].std() - 1) < 0.05
    assert channels[1, [1, 3]].all() and not channels[1, [0, 2]].any()
    assert channels[2, [1, 3]].all() and not channels[2, [0, 2]].any()


def test_drawn_slices_are_kept_exactly_even_when_empty() -> None:
    drawn = np.zeros((3, 8, 8), dtype=np.uint8)
    drawn[0, 2:4, 2:4] = 1
    out = with_drawn_slices(np.ones((3, 8, 8)), drawn, [0, 2])
    assert out.dtype == bool
    assert (out[0] == (drawn[0] > 0)).all() and not out[2].any() and out[1].all()


def test_only_parts_connected_to_the_drawn_cleft_are_kept() -> None:
    drawn = np.zeros((5, 16, 16), dtype=bool)
    drawn[2, 4:8, 4:8] = True
    mask = np.zeros_like(drawn)
    mask[1:4, 5:9, 5:9] = True  # touches the drawn square (26-neighbourhood across z)
    mask[0, 4, 8] = True  # diagonal neighbour of the first part, one section up
    mask[1:4, 12:15, 12:15] = True  # a blob elsewhere
    kept = connected_to_drawn(mask, drawn, [2])
    assert kept[1:4, 5:9, 5:9][[0, 2]].all() and kept[0, 4, 8]
    assert not kept[:, 12:, 12:].any()


def test_with_every_drawn_slice_empty_nothing_is_removed() -> None:
    mask = np.zeros((4, 8, 8), dtype=bool)
    mask[1, 2:4, 2:4] = mask[3, 6:8, 6:8] = True
    assert (connected_to_drawn(mask, np.zeros_like(mask), [0, 2]) == mask).all()


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    slices=st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True),
    threshold=st.floats(0.05, 0.95),
)
def test_completed_keeps_drawn_slices_and_adds_only_connected_voxels(
    seed: int, slices: list[int], threshold: float
) -> None:
    rng = np.random.default_rng(seed)
    p = rng.random((6, 12, 12)).astype(np.float32)
    drawn = rng.random((6, 12, 12)) < 0.2
    out = completed(p, drawn, slices, threshold)
    assert out.dtype == bool and out.shape == p.shape
    assert (out[slices] == drawn[slices]).all()
    undrawn = np.setdiff1d(np.arange(6), slices)
    assert not (out[undrawn] & (p[undrawn] < threshold)).any()  # never adds below threshold
    assert (out == connected_to_drawn(out, drawn, slices)).all()  # nothing unconnected left


def test_nearest_slice_copies_the_closest_drawn_slice() -> None:
    drawn = np.zeros((6, 64, 64), dtype=bool)
    drawn[1], drawn[4] = disc(5), disc(20)
    out = nearest_slice(drawn, [1, 4])
    assert (out[0] == disc(5)).all() and (out[2] == disc(5)).all()
    assert (out[3] == disc(20)).all() and (out[5] == disc(20)).all()


def test_shape_interpolation_grows_a_disc_between_two_radii() -> None:
    drawn = np.zeros((5, 64, 64), dtype=bool)
    drawn[0], drawn[4] = disc(8), disc(24)
    out = shape_interpolation(drawn, [0, 4])
    areas = out.sum(axis=(1, 2))
    expected = [np.pi * r**2 for r in (8, 12, 16, 20, 24)]
    assert np.allclose(areas, expected, rtol=0.12), areas
    assert (out[0] == drawn[0]).all() and (out[4] == drawn[4]).all()


def test_shape_interpolation_towards_an_empty_slice_shrinks_to_nothing() -> None:
    drawn = np.zeros((5, 64, 64), dtype=bool)
    drawn[0] = disc(20)
    out = shape_interpolation(drawn, [0, 4])
    assert not out[4].any() and out[1].sum() < drawn[0].sum()


def test_undrawn_dice_skips_drawn_slices() -> None:
    truth = np.zeros((3, 4, 4), dtype=bool)
    truth[1, :2] = True
    predicted = truth.copy()
    predicted[0] = True  # a drawn slice: not scored
    assert undrawn_dice(predicted, truth, [0]) == 1.0
    predicted[2, :2] = True  # half wrong on an undrawn slice
    assert undrawn_dice(predicted, truth, [0]) == 2 * 8 / (16 + 8)
    assert undrawn_dice(np.zeros_like(truth), np.zeros_like(truth), [1]) == 1.0


def test_protocol_draws_the_largest_slice_then_one_two_sections_away() -> None:
    truth = np.zeros((6, 64, 64), dtype=bool)
    for z, r in zip(range(1, 5), (10, 18, 16, 12), strict=True):
        truth[z] = disc(r)
    assert chosen_slices(truth, 1) == (2,)
    assert chosen_slices(truth, 2) == (2, 4)  # 3 is larger but adjacent
    short = np.zeros((3, 64, 64), dtype=bool)
    short[0], short[1] = disc(5), disc(9)
    assert chosen_slices(short, 2) == (0, 1)  # nothing two away: the largest other slice


def test_split_by_centroid_position() -> None:
    def cleft(y: float, x: float) -> Cleft:
        return Cleft(1, (0, 3, 0, 1, 0, 1), (1.0, y, x))

    assert vnc_part(cleft(100, HELD_OUT_MIN_X_PX)) == "test"
    assert vnc_part(cleft(900, 1000)) == "test"
    assert vnc_part(cleft(VALIDATION_MIN_Y_PX, 100)) == "validation"
    assert vnc_part(cleft(VALIDATION_MIN_Y_PX - 1, HELD_OUT_MIN_X_PX - 1)) == "train"


@settings(max_examples=200, deadline=None)
@given(
    z0=st.integers(0, 18), y0=st.integers(0, 760), x0=st.integers(0, 500),
    depth=st.integers(1, 8), size=st.integers(1, 130), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_training_crops_never_leave_the_training_region(
    z0: int, y0: int, x0: int, depth: int, size: int, seed: int
) -> None:
    """Held-out (x >= 512) and validation (y >= 768) voxels are never read in training."""
    box = (z0, min(20, z0 + depth), y0, y0 + size, x0, x0 + size)
    region = vnc_region("train", (20, 1024, 1024))
    za, zb, ya, yb, xa, xb = training_box(
        Cleft(1, box, (0, 0, 0)), region, np.random.default_rng(seed), CropPlan()
    )
    assert 0 <= za < zb <= 20
    assert 0 <= ya < yb <= VALIDATION_MIN_Y_PX and 0 <= xa < xb <= HELD_OUT_MIN_X_PX
