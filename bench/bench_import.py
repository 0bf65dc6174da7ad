"""Import of a probability map larger than the memory budget: time and peak memory.

Writes a float32 map (default 256^3 = 64 MiB, blobs of 300-3,000 voxels, many across chunk
borders) as a precomputed layer in a temporary folder, then imports it with a 16 MiB budget
(``--budget-mib``). The baseline, measured in the same run on the same map, is the whole map
read into memory and labelled at once with ``scipy.ndimage.label``. Peak memory is the peak
of Python allocations (``tracemalloc``, numpy included) during each phase.

    .venv/bin/python bench/bench_import.py [--size 256] [--budget-mib 16] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synanno_dash.core.detection import DetectionParameters  # noqa: E402
from synanno_dash.data.precomputed import new_layer  # noqa: E402
from synanno_dash.data.prediction_import import ImportRequest, run_import  # noqa: E402

MIB = 1024**2
CHUNK = (64, 64, 64)


def write_map(path: Path, size: int, seed: int = 0) -> int:
    """A size^3 float32 map written slab by slab; returns the number of blobs."""
    rng = np.random.default_rng(seed)
    volume = new_layer(path, "image", "float32", (8, 8, 40), (size,) * 3, CHUNK)
    n_blobs = size**3 // 20_000
    centres = rng.integers(0, size, (n_blobs, 3))
    radii = rng.uniform(4, 9, n_blobs)
    for z0 in range(0, size, CHUNK[2]):
        slab = rng.uniform(0, 0.3, (size, size, CHUNK[2])).astype(np.float32)
        grid = np.ogrid[0:size, 0:size, z0 : z0 + CHUNK[2]]
        for (cx, cy, cz), r in zip(centres, radii):
            if abs(cz - (z0 + CHUNK[2] / 2)) > CHUNK[2] / 2 + r:
                continue
            inside = (grid[0] - cx) ** 2 + (grid[1] - cy) ** 2 + (grid[2] - cz) ** 2 <= r * r
            slab[inside] = 0.9
        volume[:, :, z0 : z0 + CHUNK[2]] = slab
    return n_blobs


def measured(work: Callable[[], Any]) -> tuple[float, float, Any]:
    tracemalloc.start()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / MIB
    tracemalloc.stop()
    return seconds, peak, result


def baseline(path: Path) -> int:
    from cloudvolume import CloudVolume
    from scipy import ndimage

    values = np.asarray(CloudVolume(path.as_uri(), progress=False)[:, :, :])[..., 0]
    labels, count = ndimage.label(values > 0.5)
    sizes = np.bincount(labels.ravel())[1:]
    return int(np.sum((sizes >= 100) & (sizes <= 200_000)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--budget-mib", type=int, default=16)
    parser.add_argument("--keep", help="folder to keep the map and the import in")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        blobs = write_map(folder / "map", args.size)
        map_mib = args.size**3 * 4 / MIB
        base_s, base_peak, base_count = measured(lambda: baseline(folder / "map"))
        request = ImportRequest(
            str(folder / "map"), folder / "out", DetectionParameters(0.5, None, 100, 200_000),
            budget_bytes=args.budget_mib * MIB,
        )
        run_s, run_peak, result = measured(lambda: run_import(request))
        assert result.count == base_count, (result.count, base_count)
        print(f"map {args.size}^3 float32 = {map_mib:.0f} MiB, {blobs} blobs planted, "
              f"{result.count} synapses kept; budget {args.budget_mib} MiB")
        print(f"whole map in memory (scipy): {base_s:6.2f} s, peak {base_peak:7.1f} MiB")
        print(f"chunked import:              {run_s:6.2f} s, peak {run_peak:7.1f} MiB "
              f"(time x{run_s / base_s:.1f}, memory x{run_peak / base_peak:.2f} of the baseline)")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
