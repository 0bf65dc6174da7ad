"""The demo's synapse table with known injected errors, and its ground truth.

Error kinds are the review taxonomy's category values (``synanno_dash.core.labels``) so that
a review of the demo can be scored directly: false positives (rows with no cleft), poorly
aligned masks (target cleft shifted off the EM cleft), wrong direction (pre/post swapped),
missing pre or post markers, and false negatives (clefts drawn but left out of the table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from synanno_dash.core.labels import Category
from synanno_dash.demo.synapses import Cleft, FalseSite, Voxel

NO_ERROR = "none"
# shares of the real clefts; false positives are added on top as a share of the table
ERROR_SHARES: dict[str, float] = {
    Category.FALSE_NEGATIVE.value: 0.06,
    Category.POORLY_ALIGNED.value: 0.05,
    Category.WRONG_DIRECTION.value: 0.05,
    Category.PRE_MARKER.value: 0.025,
    Category.POST_MARKER.value: 0.025,
}
FALSE_POSITIVE_SHARE = 0.05
SHIFT_VX = (6, 9)  # misalignment distance in target voxels (48-72 nm at 8 nm)


@dataclass(frozen=True)
class TableRow:
    """One synapse table row, points in target voxels (``None`` = missing marker)."""

    center_vx: Voxel
    pre_vx: Voxel | None
    post_vx: Voxel | None
    pre_neuron_id: int
    post_neuron_id: int


@dataclass(frozen=True)
class TruthRow:
    """What a table row (or a left-out cleft) really is."""

    materialization_index: int | None  # None: a false negative, not in the table
    error: str
    cleft_id: int  # 0 for a false positive
    center_vx: Voxel  # where the EM shows the cleft (for a false positive: the row's centre)
    pre_neuron_id: int
    post_neuron_id: int
    shift_vx: Voxel = (0, 0, 0)  # target mask offset from the EM cleft


def assign_errors(clefts: list[Cleft], demo: int, rng: np.random.Generator) -> dict[int, str]:
    """Error kind per cleft id; the demo neuron's synapses get their share of every kind."""
    kinds = {c.cleft_id: NO_ERROR for c in clefts}
    on_demo = [c.cleft_id for c in clefts if demo in (c.pre, c.post)]
    others = [c.cleft_id for c in clefts if demo not in (c.pre, c.post)]
    for group in (on_demo, others):
        order = list(rng.permutation(group))
        for kind, share in ERROR_SHARES.items():
            count = round(share * len(group))
            for _ in range(max(1, count) if len(group) >= 20 else count):
                kinds[int(order.pop())] = kind
    return kinds


def plan_shifts(
    clefts: list[Cleft], kinds: dict[int, str], rng: np.random.Generator
) -> dict[int, Voxel]:
    """Target-mask offsets of the poorly aligned clefts: along the cleft normal, off the band."""
    shifts: dict[int, Voxel] = {}
    for c in clefts:
        if kinds[c.cleft_id] != Category.POORLY_ALIGNED.value:
            continue
        distance = rng.uniform(*SHIFT_VX) * (1 if rng.random() < 0.5 else -1)
        dx, dy = (round(v * distance) for v in c.normal_xy)
        shifts[c.cleft_id] = (int(dx), int(dy), int(rng.integers(-1, 2)))
    return shifts


def shift_clefts(clefts_xyz: np.ndarray, shifts: dict[int, Voxel]) -> np.ndarray:
    """The target volume: a copy of the EM clefts with the misaligned ones moved."""
    target = clefts_xyz.copy(order="F")
    shape = np.array(target.shape)
    boxes = ndimage.find_objects(clefts_xyz)
    for cleft_id, shift in shifts.items():
        box = boxes[cleft_id - 1]
        lo = np.array([s.start for s in box])
        voxels = np.argwhere(clefts_xyz[box] == cleft_id) + lo
        target[tuple(voxels.T)] = 0
        moved = voxels + np.array(shift)
        moved = moved[np.all((moved >= 0) & (moved < shape), axis=1)]
        free = target[tuple(moved.T)] == 0
        target[tuple(moved[free].T)] = cleft_id
    return target


def _moved(v: Voxel, shift: Voxel) -> Voxel:
    return (v[0] + shift[0], v[1] + shift[1], v[2] + shift[2])


def _real_row(c: Cleft, kind: str, shift: Voxel, ids: list[int]) -> TableRow:
    pre_id, post_id = ids[c.pre], ids[c.post]
    pre_vx: Voxel | None = c.pre_vx
    post_vx: Voxel | None = c.post_vx
    if kind == Category.WRONG_DIRECTION.value:
        pre_vx, post_vx, pre_id, post_id = post_vx, pre_vx, post_id, pre_id
    elif kind == Category.PRE_MARKER.value:
        pre_vx = None
    elif kind == Category.POST_MARKER.value:
        post_vx = None
    return TableRow(_moved(c.center_vx, shift), pre_vx, post_vx, pre_id, post_id)


def build_table(
    clefts: list[Cleft], kinds: dict[int, str], shifts: dict[int, Voxel],
    false: list[FalseSite], ids: list[int], rng: np.random.Generator,
) -> tuple[list[TableRow], list[TruthRow]]:
    """Table rows in a shuffled order, and one truth row per table row plus the left-outs."""
    entries: list[tuple[TableRow, TruthRow]] = []
    left_out: list[TruthRow] = []
    for c in clefts:
        kind, shift = kinds[c.cleft_id], shifts.get(c.cleft_id, (0, 0, 0))
        truth = TruthRow(None, kind, c.cleft_id, c.center_vx, ids[c.pre], ids[c.post], shift)
        if kind == Category.FALSE_NEGATIVE.value:
            left_out.append(truth)
        else:
            entries.append((_real_row(c, kind, shift, ids), truth))
    for s in false:
        row = TableRow(s.center_vx, s.pre_vx, s.post_vx, ids[s.pre], ids[s.post])
        fp = Category.FALSE_POSITIVE.value
        entries.append((row, TruthRow(None, fp, 0, s.center_vx, ids[s.pre], ids[s.post])))
    order = rng.permutation(len(entries))
    rows = [entries[i][0] for i in order]
    truths = [_indexed(entries[i][1], k) for k, i in enumerate(order)]
    return rows, truths + left_out


def _indexed(t: TruthRow, index: int) -> TruthRow:
    return TruthRow(
        index, t.error, t.cleft_id, t.center_vx, t.pre_neuron_id, t.post_neuron_id, t.shift_vx
    )


def false_positive_count(n_clefts: int) -> int:
    in_table = n_clefts * (1.0 - ERROR_SHARES[Category.FALSE_NEGATIVE.value])
    return max(2, round(FALSE_POSITIVE_SHARE * in_table / (1.0 - FALSE_POSITIVE_SHARE)))
