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


# -- an independent implementation: plain breadth-first flood fills, slice by slice ----------
def _components(plane: np.ndarray, value: bool, diagonal: bool) -> list[set[tuple[int, int]]]:
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if diagonal:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    height, width = plane.shape
    seen: set[tuple[int, int]] = set()
    found = []
    for start in zip(*np.nonzero(plane == value)):
        start = (int(start[0]), int(start[1]))
        if start in seen:
            continue
        part, todo = {start}, [start]
        seen.add(start)
        while todo:
            r, c = todo.pop()
            for dr, dc in steps:
                n = (r + dr, c + dc)
                if 0 <= n[0] < height and 0 <= n[1] < width and plane[n] == value and n not in seen:
                    seen.add(n)
                    part.add(n)
                    todo.append(n)
        found.append(part)
    return found


def _reference(mask: np.ndarray, z0: int) -> dict[Problem, list[tuple[int, int]]]:
    height, width = mask.shape[1:]
    found: dict[Problem, list[tuple[int, int]]] = {p: [] for p in Problem}
    for k, plane in enumerate(mask):
        if not plane.any():
            continue
        for part in _components(plane, False, diagonal=False):
            if not any(r in (0, height - 1) or c in (0, width - 1) for r, c in part):
                found[Problem.HOLE].append((z0 + k, len(part)))
        sizes = sorted((len(p) for p in _components(plane, True, diagonal=True)), reverse=True)
        found[Problem.ISLAND] += [(z0 + k, s) for s in sizes[1:]]
        edge = plane.copy()
        edge[1:-1, 1:-1] = False
        if edge.any():
            found[Problem.BORDER].append((z0 + k, int(edge.sum())))
    filled = [k for k in range(len(mask)) if mask[k].any()]
    for before, after in zip(filled[:-1], filled[1:]):
        if after - before > 1:
            found[Problem.GAP].append((z0 + before + 1, after - before - 1))
    return {p: sorted(v) for p, v in found.items()}


@settings(max_examples=150, deadline=None)
@given(
    arrays(bool, st.tuples(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12))),
    st.integers(-50, 50),
)
def test_the_checks_agree_with_plain_flood_fills(mask: np.ndarray, z0: int) -> None:
    """Cutting each slice to its mask's box (the fast path) finds exactly what flood fills
    over the whole slice find."""
    issues = check_mask(mask, z0)
    found = {p: sorted((i.z, i.voxels) for i in issues if i.problem is p) for p in Problem}
    assert found == _reference(mask, z0)


def test_a_small_mask_in_a_large_crop_keeps_its_hole_and_island() -> None:
    """A ring far from the crop border, and one whose hole touches the mask's bounding box
    edge only diagonally: both holes are found; the open notch is not."""
    mask = np.zeros((3, 300, 300), dtype=bool)
    mask[1, 100:105, 200:205] = True
    mask[1, 102, 202] = False  # a one-voxel hole in a 5 x 5 square
    mask[1, 150:152, 10:12] = True  # an island of 4
    mask[2, 50:53, 50:53] = True
    mask[2, 51, 52] = False  # a notch open to the right: not a hole
    kinds = sorted((i.problem, i.z, i.voxels) for i in check_mask(mask))
    assert kinds == sorted([(Problem.HOLE, 1, 1), (Problem.ISLAND, 1, 4)])
