"""Mask checks on hand-built masks: one hole, one island, one gap, one border contact."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from synanno_dash.core.mask_checks import Problem, check_mask, gaps, holes, islands


def _clean() -> np.ndarray:
    mask = np.zeros((6, 20, 20), dtype=bool)
    mask[1:5, 5:15, 5:15] = True  # a solid block, slices 1-4
    return mask


def test_a_clean_mask_has_no_issues() -> None:
    assert check_mask(_clean(), z0=100) == []


def test_one_hole_one_island_one_gap_one_border_contact() -> None:
    mask = _clean()
    mask[2, 9:11, 9:12] = False  # a 2 x 3 hole in slice 2
    mask[4, 0:2, 17:19] = True  # an island on slice 4 touching the border (y = 0)
    mask[3] = False  # slice 3 empty: a gap between 2 and 4
    issues = check_mask(mask, z0=100)
    kinds = [(i.problem, i.z, i.voxels) for i in issues]
    assert kinds == [
        (Problem.HOLE, 102, 6),
        (Problem.GAP, 103, 1),
        (Problem.ISLAND, 104, 4),
        (Problem.BORDER, 104, 2),  # the island's row y = 0
    ]
    assert "z=102" in issues[0].message and "hole of 6 voxels" in issues[0].message


def test_a_notch_open_to_the_outside_is_not_a_hole() -> None:
    mask = _clean()
    mask[2, 9:11, 5:12] = False  # reaches the block's edge: open
    assert holes(mask) == []


def test_diagonal_neighbours_in_a_slice_are_one_component() -> None:
    mask = np.zeros((1, 5, 5), dtype=bool)
    mask[0, 1, 1] = mask[0, 2, 2] = mask[0, 3, 3] = True
    assert islands(mask) == []
    mask[0, 0, 4] = True  # no neighbour in the mask
    (island,) = islands(mask, z0=4)
    assert (island.z, island.voxels) == (4, 1)


def test_a_run_of_empty_slices_is_one_gap() -> None:
    mask = np.zeros((8, 4, 4), dtype=bool)
    mask[1, 1, 1] = mask[5, 1, 1] = True
    (gap,) = gaps(mask, z0=-3)
    assert (gap.z, gap.voxels) == (-1, 3)


@settings(max_examples=50, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 5), st.integers(1, 8), st.integers(1, 8))))
def test_any_mask_gets_checked_without_error(mask: np.ndarray) -> None:
    issues = check_mask(mask, z0=7)
    assert all(7 <= i.z < 7 + len(mask) and i.voxels > 0 for i in issues)
