"""Labelled EM for training and measuring the U-Net: the real VNC stack with its split by
position, the demo generator's synthetic clefts, scoring crops and training crops.

Arrays are (z, y, x); boxes are half-open ``(z0, z1, y0, y1, x0, x1)`` in voxels.

The VNC split (issue 15): clefts whose centroid has x < 512 px are the training half, the
rest are held out and never read in training or model selection. Of the training half,
clefts with centroid y >= 768 px are the validation set (model selection) and training
crops never reach y >= 768 or x >= 512.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

VNC_FILE = "vnc_stack1_raw_synapses.npz"
VNC_RESOLUTION_XYZ_NM = (4.6, 4.6, 50.0)
HELD_OUT_MIN_X_PX = 512
VALIDATION_MIN_Y_PX = 768
SCORING_CROP_PX = 128
SCORED_MIN_SECTIONS = 3

Box = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, eq=False)
class LabelledStack:
    """EM (uint8) with cleft ids (0 = background), both (z, y, x)."""

    em_zyx: np.ndarray
    clefts_zyx: np.ndarray
    name: str


@dataclass(frozen=True)
class Cleft:
    cleft_id: int
    box: Box
    centroid_zyx: tuple[float, float, float]

    @property
    def sections(self) -> int:
        return self.box[1] - self.box[0]


@dataclass(frozen=True, eq=False)
class Case:
    """One cleft to complete: the EM crop, its true mask and the slices the user draws."""

    name: str
    em_zyx: np.ndarray
    truth_zyx: np.ndarray
    drawn_slices: tuple[int, ...]


def load_vnc(folder: Path) -> LabelledStack:
    """The VNC stack of ``folder`` (see its README; CC BY-NC-SA 3.0, never committed)."""
    path = Path(folder) / VNC_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass the folder of the VNC stack")
    with np.load(path) as data:
        return LabelledStack(data["raw"], data["synapses"].astype(np.int32), "vnc")


def clefts_of(stack: LabelledStack) -> list[Cleft]:
    found = []
    for index, box in enumerate(ndimage.find_objects(stack.clefts_zyx), start=1):
        if box is None:
            continue
        voxels = np.argwhere(stack.clefts_zyx[box] == index) + [s.start for s in box]
        z, y, x = voxels.mean(axis=0)
        bounds = tuple(v for s in box for v in (int(s.start), int(s.stop)))
        found.append(Cleft(index, bounds, (float(z), float(y), float(x))))  # type: ignore[arg-type]
    return found


def vnc_part(cleft: Cleft) -> str:
    """``"train"``, ``"validation"`` or ``"test"`` (held out) by the cleft's centroid."""
    _, y, x = cleft.centroid_zyx
    if x >= HELD_OUT_MIN_X_PX:
        return "test"
    return "validation" if y >= VALIDATION_MIN_Y_PX else "train"


def vnc_region(part: str, shape_zyx: tuple[int, ...]) -> Box:
    """The voxels a part may read: training crops stay inside theirs."""
    depth, height, width = shape_zyx
    if part == "train":
        return (0, depth, 0, VALIDATION_MIN_Y_PX, 0, HELD_OUT_MIN_X_PX)
    return (0, depth, 0, height, 0, width)


def chosen_slices(truth_zyx: np.ndarray, drawn: int) -> tuple[int, ...]:
    """The slices the user draws in the protocol: K = 1 the largest cleft slice; K = 2 adds
    the largest slice at least two sections from it (the largest other slice when the cleft
    has none that far)."""
    areas = truth_zyx.sum(axis=(1, 2))
    first = int(np.argmax(areas))
    if drawn == 1:
        return (first,)
    others = [z for z in range(len(areas)) if z != first and areas[z] > 0]
    far = [z for z in others if abs(z - first) >= 2] or others
    if not far:
        return (first,)
    second = max(far, key=lambda z: (areas[z], -z))
    return tuple(sorted((first, second)))


def _centred(center: float, size: int, low: int, high: int) -> tuple[int, int]:
    start = int(round(center - size / 2))
    start = max(low, min(start, high - size))
    return start, start + size


def scoring_case(stack: LabelledStack, cleft: Cleft, drawn: int) -> Case:
    """The crop that scores a cleft: 128 x 128 px around its box, one section beyond each
    end (inside the stack)."""
    z0, z1, y0, y1, x0, x1 = cleft.box
    depth, height, width = stack.em_zyx.shape
    ya, yb = _centred((y0 + y1) / 2, SCORING_CROP_PX, 0, height)
    xa, xb = _centred((x0 + x1) / 2, SCORING_CROP_PX, 0, width)
    za, zb = max(0, z0 - 1), min(depth, z1 + 1)
    box = (slice(za, zb), slice(ya, yb), slice(xa, xb))
    truth = stack.clefts_zyx[box] == cleft.cleft_id
    name = f"{stack.name}-{cleft.cleft_id}"
    return Case(name, stack.em_zyx[box], truth, chosen_slices(truth, drawn))


def scoring_cases(stack: LabelledStack, part: str, drawn: int) -> list[Case]:
    """The scored clefts of a part (those spanning ``SCORED_MIN_SECTIONS`` or more)."""
    return [
        scoring_case(stack, cleft, drawn)
        for cleft in clefts_of(stack)
        if vnc_part(cleft) == part and cleft.sections >= SCORED_MIN_SECTIONS
    ]


@dataclass(frozen=True)
class CropPlan:
    """How training crops are cut and varied."""

    size_px: int = 96
    jitter_px: int = 24
    max_extra_sections: int = 2
    protocol_share: float = 0.5  # drawn slices chosen as in the protocol, else at random


def _random_slices(truth_zyx: np.ndarray, rng: np.random.Generator, plan: CropPlan) -> tuple:
    drawn = int(rng.integers(1, 3))
    if rng.random() < plan.protocol_share:
        return chosen_slices(truth_zyx, drawn)
    with_cleft = np.flatnonzero(truth_zyx.any(axis=(1, 2)))
    count = min(drawn, len(with_cleft))
    return tuple(sorted(int(z) for z in rng.choice(with_cleft, count, replace=False)))


def training_box(cleft: Cleft, region: Box, rng: np.random.Generator, plan: CropPlan) -> Box:
    """A crop around ``cleft`` inside ``region``, shifted at random in y and x, with 0 to
    ``max_extra_sections`` sections beyond each end."""
    z0, z1, y0, y1, x0, x1 = cleft.box
    rz0, rz1, ry0, ry1, rx0, rx1 = region
    size, jitter = plan.size_px, plan.jitter_px
    ya, yb = _centred((y0 + y1) / 2 + rng.integers(-jitter, jitter + 1), size, ry0, ry1)
    xa, xb = _centred((x0 + x1) / 2 + rng.integers(-jitter, jitter + 1), size, rx0, rx1)
    extra = rng.integers(0, plan.max_extra_sections + 1, size=2)
    za, zb = max(rz0, z0 - int(extra[0])), min(rz1, z1 + int(extra[1]))
    return (za, zb, ya, yb, xa, xb)


def training_case(
    stack: LabelledStack, cleft: Cleft, region: Box, rng: np.random.Generator, plan: CropPlan
) -> Case:
    """A crop from ``training_box``, flipped, rotated and re-contrasted at random."""
    za, zb, ya, yb, xa, xb = training_box(cleft, region, rng, plan)
    box = (slice(za, zb), slice(ya, yb), slice(xa, xb))
    em, truth = stack.em_zyx[box], stack.clefts_zyx[box] == cleft.cleft_id
    em, truth = _augmented(em, truth, rng)
    return Case(f"{stack.name}-{cleft.cleft_id}", em, truth, _random_slices(truth, rng, plan))


def _augmented(
    em: np.ndarray, truth: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    turns = int(rng.integers(4))
    em, truth = np.rot90(em, turns, axes=(1, 2)), np.rot90(truth, turns, axes=(1, 2))
    for axis in (0, 2):
        if rng.random() < 0.5:
            em, truth = np.flip(em, axis), np.flip(truth, axis)
    grey = em.astype(np.float32) / 255.0
    grey = grey ** float(np.exp(rng.normal(0, 0.25)))
    grey = grey * float(rng.uniform(0.8, 1.2)) + float(rng.normal(0, 0.05))
    grey = grey + rng.normal(0, float(rng.uniform(0, 0.04)), size=grey.shape)
    em = np.clip(grey * 255.0, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(em), np.ascontiguousarray(truth)


def training_stream(
    stacks: list[tuple[LabelledStack, list[Cleft], Box]],
    weights: list[float],
    rng: np.random.Generator,
    plan: CropPlan,
) -> Iterator[Case]:
    """Training crops forever: a stack by ``weights``, then one of its clefts uniformly."""
    probabilities = np.asarray(weights, dtype=float) / sum(weights)
    while True:
        stack, clefts, region = stacks[int(rng.choice(len(stacks), p=probabilities))]
        yield training_case(stack, clefts[int(rng.integers(len(clefts)))], region, rng, plan)
