"""The baselines the U-Net is measured against (numpy and scipy only).

Both take the drawn mask (z, y, x) and the drawn slice indices and return a bool (z, y, x)
mask whose drawn slices equal what was drawn.

- ``nearest_slice``: every slice copies the nearest drawn slice (ties: the lower index).
- ``shape_interpolation``: signed-distance interpolation between the two drawn slices that
  bracket a slice; outside the drawn range, the nearest drawn slice is copied.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import ndimage

from synanno_dash.ml.inputs import with_drawn_slices


def _sorted(drawn_slices: Iterable[int]) -> list[int]:
    slices = sorted(set(int(z) for z in drawn_slices))
    if not slices:
        raise ValueError("at least one drawn slice is needed")
    return slices


def nearest_slice(drawn_zyx: np.ndarray, drawn_slices: Iterable[int]) -> np.ndarray:
    slices = np.array(_sorted(drawn_slices))
    out = np.zeros(drawn_zyx.shape, dtype=bool)
    for z in range(drawn_zyx.shape[0]):
        out[z] = drawn_zyx[slices[np.argmin(np.abs(slices - z))]] > 0
    return with_drawn_slices(out, drawn_zyx, slices)


def signed_distance(mask_yx: np.ndarray) -> np.ndarray:
    """Distance to the boundary in pixels: negative inside, positive outside. An empty
    mask is far outside everywhere."""
    mask = mask_yx > 0
    if not mask.any():
        return np.full(mask.shape, float(sum(mask.shape)))
    if mask.all():
        return np.full(mask.shape, -float(sum(mask.shape)))
    outside = ndimage.distance_transform_edt(~mask)
    inside = ndimage.distance_transform_edt(mask)
    return np.asarray(outside - inside, dtype=float)


def shape_interpolation(drawn_zyx: np.ndarray, drawn_slices: Iterable[int]) -> np.ndarray:
    slices = _sorted(drawn_slices)
    distances = {z: signed_distance(drawn_zyx[z]) for z in slices}
    out = nearest_slice(drawn_zyx, slices)
    for low, high in zip(slices, slices[1:]):
        for z in range(low + 1, high):
            t = (z - low) / (high - low)
            out[z] = (1 - t) * distances[low] + t * distances[high] < 0
    return with_drawn_slices(out, drawn_zyx, slices)
