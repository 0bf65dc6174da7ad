"""Detector output to synapse instances: thresholds, 3D connected components, size filter.

Pure functions over blocks of a probability map (arrays indexed x, y, z). A map larger than
memory is labelled block by block (``label_block``); the components of neighbouring blocks are
joined where their labels touch across a shared face (``face_pairs``) and the equivalences are
resolved with a graph's connected components (``resolve_components``). Components are
face-connected (6-neighbourhood), as ``scipy.ndimage.label``'s default.

Probability semantics: a voxel is foreground when its value is strictly above the threshold
(``value > threshold``, as ilastik and scikit-image); with hysteresis, a component of the
``value > low`` mask is kept when at least one of its voxels is above ``high``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

DEFAULT_MIN_SIZE_VX = 1_000  # ilastik's synapse guide: about two vesicles
DEFAULT_MAX_SIZE_VX = 200_000  # ilastik's synapse guide: drops large myelin-like objects
DEFAULT_THRESHOLD = 0.5
MAX_CLOSING_VX = 8
PROBABILITY_DTYPES = ("float32", "float64", "uint8")
LABEL_DTYPES = ("uint16", "uint32", "uint64")


class DetectionError(ValueError):
    """Parameters that cannot work; the message names the problem and the fix."""


@dataclass(frozen=True)
class DetectionParameters:
    """The steps of an import, saved with the dataset.

    ``threshold`` or ``hysteresis`` (low, high) in the map's own units (0-1 for a float map,
    0-255 for uint8); sizes in voxels of the map, both limits inclusive; ``closing_vx`` the
    radius (iterations of the 6-neighbourhood) of a binary closing applied to the mask before
    labelling (0: none). A label volume (``is_label_volume``) skips the threshold: each
    non-zero id is one instance.
    """

    threshold: float | None = DEFAULT_THRESHOLD
    hysteresis: tuple[float, float] | None = None
    min_size_vx: int = DEFAULT_MIN_SIZE_VX
    max_size_vx: int = DEFAULT_MAX_SIZE_VX
    closing_vx: int = 0
    is_label_volume: bool = False

    def __post_init__(self) -> None:
        if self.min_size_vx < 1 or self.max_size_vx < self.min_size_vx:
            raise DetectionError(
                f"Size limits {self.min_size_vx}-{self.max_size_vx} voxels are not a range: "
                "give --min-size of 1 or more and --max-size at least as large."
            )
        if not 0 <= self.closing_vx <= MAX_CLOSING_VX:
            raise DetectionError(
                f"Closing radius {self.closing_vx} is outside 0-{MAX_CLOSING_VX} voxels: "
                "give a small radius (1 or 2 fills pinholes) or 0 for none."
            )
        if self.hysteresis is not None:
            low, high = self.hysteresis
            if not low < high:
                raise DetectionError(
                    f"Hysteresis LOW,HIGH = {low:g},{high:g}: LOW must be below HIGH, "
                    "e.g. --hysteresis 0.3,0.7."
                )

    @property
    def low(self) -> float:
        """The threshold of the foreground mask."""
        if self.hysteresis is not None:
            return self.hysteresis[0]
        return DEFAULT_THRESHOLD if self.threshold is None else self.threshold

    @property
    def halo_vx(self) -> int:
        """Voxels of context a block needs on each side for the closing to be exact."""
        return 2 * self.closing_vx

    def as_json(self) -> dict[str, object]:
        return {
            "threshold": None if self.hysteresis else self.low,
            "hysteresis": list(self.hysteresis) if self.hysteresis else None,
            "comparison": "value > threshold",
            "min_size_vx": self.min_size_vx,
            "max_size_vx": self.max_size_vx,
            "closing_vx": self.closing_vx,
            "connectivity": "6 (face neighbours)",
            "is_label_volume": self.is_label_volume,
        }


def check_threshold_range(params: DetectionParameters, low: float, high: float) -> None:
    """Fail when the thresholds leave nothing above them in data spanning ``low``-``high``."""
    if params.is_label_volume:
        return
    limit = params.hysteresis[1] if params.hysteresis else params.low
    if not limit < high:
        raise DetectionError(
            f"Threshold {limit:g} is not below the map's largest value {high:g} (values span "
            f"{low:g}-{high:g}): no voxel can pass it. Give a threshold inside the data range."
        )
    if params.low < low and params.hysteresis is None:
        raise DetectionError(
            f"Threshold {params.low:g} is below the map's smallest value {low:g} (values span "
            f"{low:g}-{high:g}): every voxel would pass it. Give a threshold inside the data range."
        )


def foreground(values_xyz: np.ndarray, params: DetectionParameters) -> np.ndarray:
    """The mask to label, closed when asked (never removing a voxel of the plain mask)."""
    mask = values_xyz > 0 if params.is_label_volume else values_xyz > params.low
    if params.closing_vx:
        closed = ndimage.binary_closing(mask, iterations=params.closing_vx)
        mask |= closed  # scipy's closing erodes at the array border; a closing only adds
    return mask


@dataclass(frozen=True, eq=False)
class BlockComponents:
    """The components of one block: local labels 1..count and per-label statistics.

    Arrays of statistics have one row per local label (label - 1). Coordinates are absolute
    voxels of the map, x, y, z; ``stop_xyz`` is exclusive.
    """

    labels_xyz: np.ndarray  # uint32, 0 = background
    count: int
    size_vx: np.ndarray  # int64
    value_sum: np.ndarray  # float64, sum of map values (probabilities)
    coord_sum_xyz: np.ndarray  # (count, 3) float64
    start_xyz: np.ndarray  # (count, 3) int64
    stop_xyz: np.ndarray  # (count, 3) int64
    seeded: np.ndarray  # bool: holds a voxel above the high hysteresis threshold
    source_ids: np.ndarray | None = None  # label volumes: the input id of each local label


def label_block(
    values_xyz: np.ndarray, params: DetectionParameters, origin_xyz: tuple[int, int, int],
    halo_xyz: tuple[tuple[int, int], ...] = ((0, 0), (0, 0), (0, 0)),
) -> BlockComponents:
    """Label one block read with ``halo_xyz`` (before, after) extra voxels per axis; the
    labels cover the block without its halo, which starts at ``origin_xyz``."""
    origin = np.asarray(origin_xyz, np.int64)
    inner = tuple(slice(b, n - a) for (b, a), n in zip(halo_xyz, values_xyz.shape, strict=True))
    if params.is_label_volume:
        return _gather_ids(values_xyz[inner], params, origin)
    mask = foreground(values_xyz, params)[inner]
    labels, count = ndimage.label(mask)
    labels = labels.astype(np.uint32, copy=False)
    return _statistics(labels, int(count), values_xyz[inner], params, origin)


def _gather_ids(ids_xyz: np.ndarray, params: DetectionParameters, origin: np.ndarray) -> (
    BlockComponents
):
    """A label volume's block: each distinct non-zero id is one local label (confidence 1)."""
    ids, inverse = np.unique(ids_xyz, return_inverse=True)
    inverse = inverse.reshape(ids_xyz.shape).astype(np.uint32)
    if len(ids) and ids[0] == 0:
        ids = ids[1:]
    else:
        inverse += 1
    labels = inverse
    ones = (labels > 0).astype(np.float32)
    block = _statistics(labels, len(ids), ones, params, origin)
    return BlockComponents(**{**block.__dict__, "source_ids": ids.astype(np.uint64)})


def _statistics(
    labels: np.ndarray, count: int, values: np.ndarray, params: DetectionParameters,
    origin: np.ndarray,
) -> BlockComponents:
    coords = np.nonzero(labels)
    ids = labels[coords]
    n = count + 1
    size = np.bincount(ids, minlength=n)[1:].astype(np.int64)
    value_sum = np.bincount(ids, weights=values[coords].astype(np.float64), minlength=n)[1:]
    coord_sum = np.column_stack([
        np.bincount(ids, weights=c.astype(np.float64), minlength=n)[1:] + size * o
        for c, o in zip(coords, origin, strict=True)
    ]) if count else np.zeros((0, 3))  # fmt: skip
    start = np.zeros((count, 3), np.int64)
    stop = np.zeros((count, 3), np.int64)
    for k, box in enumerate(ndimage.find_objects(labels, max_label=count)):
        if box is not None:
            start[k] = [s.start for s in box]
            stop[k] = [s.stop for s in box]
    seeded = np.ones(count, dtype=bool)
    if params.hysteresis is not None:
        high = np.bincount(ids, weights=values[coords] > params.hysteresis[1], minlength=n)[1:]
        seeded = high > 0
    return BlockComponents(
        labels, count, size, value_sum, coord_sum.reshape(-1, 3), start + origin,
        stop + origin, seeded,
    )  # fmt: skip


def face_pairs(low_face: np.ndarray, high_face: np.ndarray) -> np.ndarray:
    """(n, 2) distinct label pairs touching across a face: the last plane of one block and
    the first plane of its neighbour (global labels, 0 = background)."""
    both = (low_face > 0) & (high_face > 0)
    pairs = np.column_stack([low_face[both], high_face[both]]).astype(np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def resolve_components(count: int, pairs: np.ndarray) -> np.ndarray:
    """Component index (0-based, in order of each component's smallest label) of every label
    1..count (index 0 of the result belongs to label 1), given touching label pairs."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = pairs.reshape(-1, 2) - 1
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(count, count)
    )
    _, component = connected_components(graph, directed=False)
    # connected_components numbers components in order of their first node: the smallest label
    return np.asarray(component, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Components:
    """Merged components over the whole map, one row per component (see BlockComponents)."""

    size_vx: np.ndarray
    mean_value: np.ndarray
    centroid_xyz: np.ndarray  # float voxels
    start_xyz: np.ndarray
    stop_xyz: np.ndarray
    seeded: np.ndarray

    @property
    def count(self) -> int:
        return len(self.size_vx)

    def kept(self, params: DetectionParameters) -> np.ndarray:
        """Which components pass the size filter (and hysteresis), as a bool array."""
        return (
            (self.size_vx >= params.min_size_vx) & (self.size_vx <= params.max_size_vx)
            & self.seeded
        )  # fmt: skip


def components_of_ids(blocks: list[BlockComponents]) -> np.ndarray:
    """The label -> component map of a label volume: labels with one input id are one
    component, components in increasing id order."""
    ids = [b.source_ids for b in blocks if b.source_ids is not None]
    if not ids:
        return np.zeros(0, dtype=np.int64)
    _, component = np.unique(np.concatenate(ids), return_inverse=True)
    return np.asarray(component, dtype=np.int64)


def merge_statistics(
    blocks: list[BlockComponents], component_of_label: np.ndarray
) -> Components:
    """Per-component statistics from per-block label statistics and the label -> component
    map of ``resolve_components`` (labels numbered block after block)."""
    comp = component_of_label
    n = int(comp.max()) + 1 if len(comp) else 0

    def cat(name: str, width: int = 0) -> np.ndarray:
        parts = [getattr(b, name) for b in blocks]
        if not parts:
            return np.zeros((0, width) if width else 0)
        return np.concatenate(parts)

    size = np.bincount(comp, weights=cat("size_vx"), minlength=n).astype(np.int64)
    value_sum = np.bincount(comp, weights=cat("value_sum"), minlength=n)
    coord_sum = cat("coord_sum_xyz", 3)
    centroid = np.column_stack(
        [np.bincount(comp, weights=coord_sum[:, a], minlength=n) for a in range(3)]
    ).reshape(-1, 3) / np.maximum(size, 1)[:, None]
    start = np.full((n, 3), np.iinfo(np.int64).max)
    stop = np.full((n, 3), np.iinfo(np.int64).min)
    np.minimum.at(start, comp, cat("start_xyz", 3).reshape(-1, 3))
    np.maximum.at(stop, comp, cat("stop_xyz", 3).reshape(-1, 3))
    seeded = np.bincount(comp, weights=cat("seeded").astype(np.float64), minlength=n) > 0
    return Components(size, value_sum / np.maximum(size, 1), centroid, start, stop, seeded)


def final_ids(component_of_label: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Lookup table from global label (index) to output id: 1..k for kept components in
    component order, 0 for background and dropped ones."""
    new_id = np.zeros(len(kept), dtype=np.uint32)
    new_id[kept] = np.arange(1, int(kept.sum()) + 1, dtype=np.uint32)
    return np.concatenate([[np.uint32(0)], new_id[component_of_label]]).astype(np.uint32)
