"""The network's input channels, built from an EM crop and the drawn slices (numpy only).

Arrays are (z, y, x). ``drawn_slices`` are indices into z; only those slices of the drawn
mask count (a drawn slice may be empty: "no cleft here").
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import ndimage

EM_EPSILON = 1.0  # grey levels: keeps a flat crop from dividing by zero
THRESHOLD = 0.5  # probability at which a voxel is in the completed mask


def normalised_em(em_zyx: np.ndarray) -> np.ndarray:
    """EM as float32 with zero mean and unit spread over the crop (contrast differs a lot
    between datasets and sections; the network sees only relative grey levels)."""
    em = em_zyx.astype(np.float32)
    return (em - em.mean()) / (em.std() + EM_EPSILON)


def drawn_index(drawn_slices: Iterable[int], depth: int) -> np.ndarray:
    """A (depth,) bool array, True on the drawn slices."""
    drawn = np.zeros(depth, dtype=bool)
    drawn[list(drawn_slices)] = True
    return drawn


def input_channels(
    em_zyx: np.ndarray, drawn_zyx: np.ndarray, drawn_slices: Iterable[int]
) -> np.ndarray:
    """(3, z, y, x) float32: normalised EM, drawn mask (on drawn slices only), drawn-slice
    indicator."""
    drawn = drawn_index(drawn_slices, em_zyx.shape[0])
    mask = np.zeros(em_zyx.shape, dtype=np.float32)
    mask[drawn] = drawn_zyx[drawn] > 0
    indicator = np.zeros(em_zyx.shape, dtype=np.float32)
    indicator[drawn] = 1.0
    return np.stack([normalised_em(em_zyx), mask, indicator])


def with_drawn_slices(
    predicted_zyx: np.ndarray, drawn_zyx: np.ndarray, drawn_slices: Iterable[int]
) -> np.ndarray:
    """``predicted_zyx`` as bool with every drawn slice replaced by what was drawn."""
    out = predicted_zyx.astype(bool, copy=True)
    drawn = drawn_index(drawn_slices, out.shape[0])
    out[drawn] = drawn_zyx[drawn] > 0
    return out


def connected_to_drawn(
    mask_zyx: np.ndarray, drawn_zyx: np.ndarray, drawn_slices: Iterable[int]
) -> np.ndarray:
    """``mask_zyx`` (bool) keeping only its parts connected in 3D (26-neighbourhood) to a
    voxel drawn on a drawn slice: a blob the network finds elsewhere in the crop (another
    cleft, a dark membrane) is not the cleft the user drew. When every drawn slice is empty
    ("no cleft here") there is nothing to connect to and the mask is returned as is."""
    mask = mask_zyx.astype(bool, copy=False)
    drawn = drawn_index(drawn_slices, mask.shape[0])
    seeds = np.zeros(mask.shape, dtype=bool)
    seeds[drawn] = drawn_zyx[drawn] > 0
    if not seeds.any():
        return mask.copy()
    labels, _count = ndimage.label(mask | seeds, structure=np.ones((3, 3, 3), dtype=bool))
    kept = np.unique(labels[seeds])
    return np.isin(labels, kept[kept > 0]) & mask | seeds


def completed(
    probabilities_zyx: np.ndarray, drawn_zyx: np.ndarray, drawn_slices: Iterable[int],
    threshold: float = THRESHOLD,
) -> np.ndarray:
    """The completed mask: probabilities at ``threshold``, drawn slices exactly as drawn,
    then only what is connected to the drawn cleft (``connected_to_drawn``)."""
    slices = list(drawn_slices)
    mask = with_drawn_slices(probabilities_zyx >= threshold, drawn_zyx, slices)
    return with_drawn_slices(connected_to_drawn(mask, drawn_zyx, slices), drawn_zyx, slices)
