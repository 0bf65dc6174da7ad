"""Connected components of a map larger than memory, block by block.

Pass 1 reads the map in blocks (whole chunks, as many as the memory budget allows), labels
each block (``core.detection.label_block``) and keeps its labels in a scratch ``.npy`` file.
Labels are numbered block after block; labels touching across a block face are joined and the
equivalences resolved as a graph (``core.detection.resolve_components``). Pass 2
(``write_labels``) maps every block's labels to the final ids and hands the block to a writer.
Only one block (plus its halo and the face planes being compared) is in memory at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from synanno_dash.core.detection import (
    BlockComponents,
    Components,
    DetectionParameters,
    components_of_ids,
    face_pairs,
    final_ids,
    label_block,
    merge_statistics,
    resolve_components,
)
from synanno_dash.core.geometry import BBox, Triple

# Bytes per voxel while a block is labelled: the map value (up to 8), the mask and its
# closing, scipy's int32 labels and our uint32 copy, np.nonzero's coordinates of foreground
# voxels (3 x int64) and bincount weights. A conservative bound, so blocks stay in budget.
BYTES_PER_VOXEL = 48
Progress = Callable[[float, str], None]


def _no_progress(_fraction: float, _message: str) -> None:
    return None


@dataclass(frozen=True)
class BlockGrid:
    """Blocks of ``block_xyz_vx`` voxels (whole chunks) tiling ``bounds_vx``."""

    bounds_vx: BBox
    block_xyz_vx: Triple

    @classmethod
    def plan(cls, bounds_vx: BBox, chunk_xyz_vx: Triple, budget_bytes: int, halo_vx: int) -> (
        BlockGrid
    ):
        """The largest blocks of whole chunks whose labelling (with halo) fits the budget,
        grown along x, then y, then z; at least one chunk."""
        size = bounds_vx.shape_xyz
        chunk = [max(1, min(c, s)) for c, s in zip(chunk_xyz_vx, size, strict=True)]
        block = list(chunk)

        def cost(shape: list[int]) -> int:
            return int(np.prod([n + 2 * halo_vx for n in shape])) * BYTES_PER_VOXEL

        for axis in range(3):
            while block[axis] < size[axis]:
                grown = list(block)
                grown[axis] = min(size[axis], block[axis] + chunk[axis])
                if cost(grown) > budget_bytes:
                    break
                block = grown
        return cls(bounds_vx, (block[0], block[1], block[2]))

    @property
    def counts_xyz(self) -> Triple:
        c = [-(-s // b) for s, b in zip(self.bounds_vx.shape_xyz, self.block_xyz_vx, strict=True)]
        return (c[0], c[1], c[2])

    def __len__(self) -> int:
        return int(np.prod(self.counts_xyz))

    def index(self, ijk: Triple) -> int:
        cx, cy, _ = self.counts_xyz
        return ijk[0] + cx * (ijk[1] + cy * ijk[2])

    def positions(self) -> Iterator[Triple]:
        """Block positions in storage order (x fastest)."""
        cx, cy, cz = self.counts_xyz
        for k, j, i in itertools.product(range(cz), range(cy), range(cx)):
            yield (i, j, k)

    def box(self, ijk: Triple) -> BBox:
        start = [o + i * b for o, i, b in zip(self.bounds_vx.start_xyz, ijk, self.block_xyz_vx)]
        stop = [min(s + b, e) for s, b, e in zip(start, self.block_xyz_vx, self.bounds_vx.stop_xyz)]
        return BBox.from_bounds(tuple(start), tuple(stop))


@dataclass(frozen=True, eq=False)
class LabelledMap:
    """The result of pass 1: components and what pass 2 needs to write them."""

    grid: BlockGrid
    scratch_dir: Path
    label_offsets: np.ndarray  # global label of each block's local label 0 (block order)
    components: Components
    kept: np.ndarray  # bool per component
    lookup: np.ndarray  # uint32: global label -> output id (0 = none)
    value_min: float
    value_max: float

    @property
    def count(self) -> int:
        return int(self.kept.sum())


def label_map(
    read_xyz: Callable[[BBox], np.ndarray], bounds_vx: BBox, chunk_xyz_vx: Triple,
    params: DetectionParameters, scratch_dir: Path, budget_bytes: int,
    progress: Progress = _no_progress,
) -> LabelledMap:
    """Pass 1 over the map read through ``read_xyz`` (a box -> x, y, z array)."""
    grid = BlockGrid.plan(bounds_vx, chunk_xyz_vx, budget_bytes, params.halo_vx)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    blocks: list[BlockComponents] = []
    offsets = np.zeros(len(grid), dtype=np.int64)
    total, low, high = 0, np.inf, -np.inf
    for n, ijk in enumerate(grid.positions()):
        values_low, values_high, block = _label_one(read_xyz, grid, ijk, params)
        low, high = min(low, values_low), max(high, values_high)
        np.save(scratch_dir / f"block-{n}.npy", block.labels_xyz)
        offsets[n] = total
        total += block.count
        blocks.append(replace(block, labels_xyz=np.zeros(0, np.uint32)))
        progress(0.8 * (n + 1) / len(grid), f"labelled block {n + 1} of {len(grid)}")
    if params.is_label_volume:
        component = components_of_ids(blocks)
    else:
        component = resolve_components(total, _border_pairs(grid, scratch_dir, offsets))
    components = merge_statistics(blocks, component)
    kept = components.kept(params)
    progress(0.85, f"{int(kept.sum())} of {components.count} components within the limits")
    return LabelledMap(
        grid, scratch_dir, offsets, components, kept, final_ids(component, kept),
        float(low), float(high),
    )  # fmt: skip


def _label_one(
    read_xyz: Callable[[BBox], np.ndarray], grid: BlockGrid, ijk: Triple,
    params: DetectionParameters,
) -> tuple[float, float, BlockComponents]:
    box = grid.box(ijk)
    halo = params.halo_vx
    start = [max(a - halo, b) for a, b in zip(box.start_xyz, grid.bounds_vx.start_xyz)]
    stop = [min(a + halo, b) for a, b in zip(box.stop_xyz, grid.bounds_vx.stop_xyz)]
    values = read_xyz(BBox.from_bounds(tuple(start), tuple(stop)))
    margins = tuple(
        (a - s, t - b) for a, b, s, t in zip(box.start_xyz, box.stop_xyz, start, stop)
    )
    inner = tuple(slice(b, n - a) for (b, a), n in zip(margins, values.shape))
    core = values[inner]
    low = float(core.min()) if core.size else np.inf
    high = float(core.max()) if core.size else -np.inf
    return low, high, label_block(values, params, box.start_xyz, margins)


def _border_pairs(grid: BlockGrid, scratch_dir: Path, offsets: np.ndarray) -> np.ndarray:
    """Global label pairs touching across every face between neighbouring blocks."""
    pairs = [np.zeros((0, 2), np.int64)]
    counts = grid.counts_xyz
    for ijk in grid.positions():
        n = grid.index(ijk)
        mine = np.load(scratch_dir / f"block-{n}.npy", mmap_mode="r")
        for axis in range(3):
            if ijk[axis] + 1 >= counts[axis]:
                continue
            other_ijk = list(ijk)
            other_ijk[axis] += 1
            m = grid.index((other_ijk[0], other_ijk[1], other_ijk[2]))
            theirs = np.load(scratch_dir / f"block-{m}.npy", mmap_mode="r")
            low_face = _globalised(np.take(mine, -1, axis=axis), offsets[n])
            high_face = _globalised(np.take(theirs, 0, axis=axis), offsets[m])
            pairs.append(face_pairs(low_face, high_face))
    return np.concatenate(pairs)


def _globalised(local: np.ndarray, offset: np.int64) -> np.ndarray:
    out = np.asarray(local, dtype=np.int64)
    return np.where(out > 0, out + offset, 0)


def write_labels(
    labelled: LabelledMap, write_xyz: Callable[[BBox, np.ndarray], None],
    progress: Progress = _no_progress,
) -> None:
    """Pass 2: every block's final ids (uint32, 0 = background) to ``write_xyz``."""
    grid = labelled.grid
    for n, ijk in enumerate(grid.positions()):
        local = np.load(labelled.scratch_dir / f"block-{n}.npy")
        out = labelled.lookup[_globalised(local, labelled.label_offsets[n])]
        write_xyz(grid.box(ijk), out)
        progress(0.85 + 0.1 * (n + 1) / len(grid), f"wrote block {n + 1} of {len(grid)}")
