"""Mask-check benchmark: the drawing view runs ``core.mask_checks.check_mask`` after every
stroke, so it has to take milliseconds on a crop.

Usage:
    .venv/bin/python bench/bench_mask_checks.py [--rounds R]

Per crop size (slices x height x width; a synapse-sized mask with one hole, one island and
one gap slice): the time of ``check_mask`` and, measured in the same run on the same masks,
the baseline: the same checks on whole slices (the implementation before the bounding-box
cut, kept here), reported as a ratio. A second reference is the encoding of one mask slice as
PNG, which every stroke already pays.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from synanno_dash.core.mask_checks import EIGHT, check_mask
from synanno_dash.services.tile_images import mask_slice_uri

SIZES = ((16, 64, 64), (16, 256, 256), (32, 512, 512), (128, 512, 512))


def whole_slice_checks(mask_zyx: np.ndarray) -> int:
    """The baseline: holes and islands labelled over whole slices; the count of issues."""
    found = 0
    for plane in mask_zyx:
        if plane.any():
            filled = ndimage.binary_fill_holes(plane)
            found += ndimage.label(filled & ~plane)[1]
        found += max(0, ndimage.label(plane, structure=EIGHT)[1] - 1)
    return found


def synapse_mask(shape: tuple[int, int, int]) -> np.ndarray:
    n, height, width = shape
    yy, xx = np.mgrid[:height, :width]
    cy, cx = height // 2, width // 2
    blob = (yy - cy) ** 2 / 20**2 + (xx - cx) ** 2 / 12**2 < 1
    mask = np.zeros(shape, dtype=bool)
    mask[n // 4 : 3 * n // 4] = blob
    mask[n // 2, cy - 2 : cy + 2, cx - 2 : cx + 2] = False  # a hole
    mask[n // 2, 3:6, 3:6] = True  # an island
    mask[n // 2 + 1] = False  # a gap slice
    return mask


def _ms(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    print(f"{'crop (z, y, x)':>18} {'check_mask':>11} {'whole slices':>13} {'ratio':>6} "
          f"{'1 PNG':>7}")  # fmt: skip
    for shape in SIZES:
        mask = synapse_mask(shape)
        ours = _ms(lambda m=mask: check_mask(m), rounds)
        base = _ms(lambda m=mask: whole_slice_checks(m), rounds)
        png = _ms(lambda m=mask: mask_slice_uri(m[len(m) // 2]), rounds)
        print(f"{str(shape):>18} {ours:9.2f}ms {base:11.2f}ms {base / ours:6.1f} {png:5.2f}ms")


if __name__ == "__main__":
    main()
