"""Completing a cleft mask in 3D from the slices the user drew (issue 15).

``complete_mask`` is the public entry point behind ``synanno-dash complete-mask`` and the
drawing view's Auto button. PyTorch is imported only when a mask is completed, never by
the web process; the jobs' fork server imports ``PRELOAD_MODULES`` once (``ui.jobs``), so an
Auto job forked from it starts with torch loaded instead of importing it (tens of seconds
on a loaded machine) and only reads the 1 MB of weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from synanno_dash.ml.inputs import completed

if TYPE_CHECKING:
    from synanno_dash.ml.predict import LoadedModel

MAX_VOXELS = 64 * 256 * 256  # bounds memory: about 2 GB of activations at most
# Imported by the jobs' fork server (not by the web process): torch and the network code.
PRELOAD_MODULES = ("torch", "synanno_dash.ml.network", "synanno_dash.ml.predict")


class MaskCompletionError(ValueError):
    """Input that cannot be completed; the message names the problem and the fix."""


def _check_arrays(em_zyx: np.ndarray, drawn_zyx: np.ndarray) -> None:
    if em_zyx.dtype != np.uint8:
        raise MaskCompletionError(f"EM must be uint8 (z, y, x), got dtype {em_zyx.dtype}")
    if em_zyx.ndim != 3 or min(em_zyx.shape) < 1:
        raise MaskCompletionError(
            f"EM must be a non-empty 3-D array (z, y, x), got shape {em_zyx.shape}"
        )
    if drawn_zyx.dtype not in (np.bool_, np.uint8):
        raise MaskCompletionError(
            f"the drawn mask must be bool or uint8, got dtype {drawn_zyx.dtype}"
        )
    if drawn_zyx.shape != em_zyx.shape:
        raise MaskCompletionError(
            f"the drawn mask has shape {drawn_zyx.shape} but the EM has {em_zyx.shape}: "
            "both must be (z, y, x) of the same crop"
        )
    if em_zyx.size > MAX_VOXELS:
        raise MaskCompletionError(
            f"the crop has {em_zyx.size} voxels, more than {MAX_VOXELS}: complete a smaller crop"
        )


def _check_slices(drawn_slices: Iterable[int], depth: int) -> tuple[int, ...]:
    slices = tuple(sorted({int(z) for z in drawn_slices}))
    if not slices:
        raise MaskCompletionError("no drawn slice given: list at least one slice index")
    for z in slices:
        if not 0 <= z < depth:
            raise MaskCompletionError(
                f"slice index {z} is out of range: the crop has {depth} slices (0..{depth - 1})"
            )
    return slices


def _check_resolution(resolution_xyz_nm: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(r) for r in resolution_xyz_nm)
    if len(values) != 3 or not all(math.isfinite(r) and r > 0 for r in values):
        raise MaskCompletionError(
            f"resolution must be three positive numbers x, y, z in nm, got {resolution_xyz_nm}"
        )
    return values[0], values[1], values[2]


def complete_mask(
    em_zyx: np.ndarray,
    drawn_zyx: np.ndarray,
    drawn_slices: Iterable[int],
    resolution_xyz_nm: Sequence[float],
    model: LoadedModel | None = None,
) -> np.ndarray:
    """The cleft mask in every slice of a crop, from the slices the user drew.

    ``em_zyx``: uint8 EM crop (z, y, x). ``drawn_zyx``: bool or uint8 (z, y, x), of which only
    the ``drawn_slices`` (indices into z) count; a drawn slice may be empty ("no cleft
    here"). ``resolution_xyz_nm``: voxel size x, y, z in nm (crops whose pixel size differs
    much from the training data's 4.6 nm are resampled in y and x for the network).
    ``model``: a loaded network (default: the weights shipped with the package).

    Returns a bool (z, y, x) array of the same shape whose drawn slices equal what was drawn;
    on the other slices, what the network finds that is connected in 3D to the drawn cleft
    (``ml.inputs.completed``).
    Raises ``MaskCompletionError`` for input it cannot complete.
    """
    em_zyx, drawn_zyx = np.asarray(em_zyx), np.asarray(drawn_zyx)
    _check_arrays(em_zyx, drawn_zyx)
    slices = _check_slices(drawn_slices, em_zyx.shape[0])
    resolution = _check_resolution(resolution_xyz_nm)
    from synanno_dash.ml.predict import load_model, probabilities

    model = model or load_model()
    p = probabilities(model, em_zyx, drawn_zyx, slices, resolution)
    return completed(p, drawn_zyx, slices)


def load_completion_model(weights: Path | None = None) -> LoadedModel:
    """The network for ``complete_mask`` (default: the shipped weights)."""
    from synanno_dash.ml.predict import load_model

    return load_model(weights)
