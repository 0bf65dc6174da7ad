"""Read one page of 24 instances through the data layer against raw CloudVolume reads.

Dataset (like the demo): source 1024x1024x64 uint8 at 4x4x40 nm, target 512x512x64 uint32 at
8x8x40 nm, chunks 64x64x16, uncompressed, local. Crops are 64x64x6 target voxels, so
128x128x6 source voxels. Baseline: sequential ``cv[x0:x1, y0:y1, z0:z1]`` reads of the same
source and target boxes with CloudVolume objects opened beforehand, measured in the same run.

    .venv/bin/python bench/bench_page_read.py [--data DIR] [--repeats 9] [--workers 4]

``--data DIR`` reuses a dataset written there by an earlier run (or writes it there).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synanno_dash.core.geometry import BBox, Resolution, bbox_around  # noqa: E402
from synanno_dash.data.precomputed import write_volume  # noqa: E402
from synanno_dash.data.volumes import VolumeSet  # noqa: E402

SOURCE_RES = Resolution(4, 4, 40)
TARGET_RES = Resolution(8, 8, 40)
TARGET_SIZE_XYZ = (512, 512, 64)
CHUNK_XYZ = [64, 64, 16]
CROP_XYZ = (64, 64, 6)
PAGE = 24


def write_layer(url: str, data_xyz: np.ndarray, layer_type: str, res: Resolution) -> None:
    write_volume(Path(url.removeprefix("file://")), data_xyz, res.as_tuple(), CHUNK_XYZ, layer_type)


def build(root: Path) -> tuple[str, str]:
    source_url, target_url = f"file://{root}/source", f"file://{root}/target"
    if (root / "source" / "info").is_file() and (root / "target" / "info").is_file():
        return source_url, target_url
    rng = np.random.default_rng(0)
    tx, ty, tz = TARGET_SIZE_XYZ
    write_layer(
        source_url, rng.integers(0, 256, (2 * tx, 2 * ty, tz), np.uint8), "image", SOURCE_RES
    )
    clefts = np.zeros(TARGET_SIZE_XYZ, np.uint32)
    for label, (x, y, z) in enumerate(rng.integers(8, 500, (300, 3)), start=1):
        clefts[x - 4 : x + 4, y - 4 : y + 4, z % 60 : z % 60 + 3] = label
    write_layer(target_url, clefts, "segmentation", TARGET_RES)
    return source_url, target_url


def page_boxes(seed: int = 1) -> list[BBox]:
    rng = np.random.default_rng(seed)
    tx, ty, tz = TARGET_SIZE_XYZ
    centres = zip(rng.integers(32, tx - 32, PAGE), rng.integers(32, ty - 32, PAGE),
                  rng.integers(3, tz - 3, PAGE), strict=True)  # fmt: skip
    return [bbox_around(tuple(int(v) for v in c), CROP_XYZ) for c in centres]


def interleaved_medians_s(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median time of each run, taking turns so that load from other processes hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, work in runs.items():
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder to reuse")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.data or Path(scratch)
        started = time.perf_counter()
        source_url, target_url = build(root)
        print(f"dataset at {root} ready in {time.perf_counter() - started:.1f} s")
        run(source_url, target_url, args.repeats, args.workers)


def run(source_url: str, target_url: str, repeats: int, workers: int) -> None:
    from cloudvolume import CloudVolume

    boxes = page_boxes()
    source_boxes = [b.scaled(TARGET_RES, SOURCE_RES) for b in boxes]
    options = dict(mip=0, fill_missing=True, parallel=1, progress=False, cache=False)
    cv_source, cv_target = CloudVolume(source_url, **options), CloudVolume(target_url, **options)

    def raw() -> None:
        for box, source_box in zip(boxes, source_boxes, strict=True):
            (x0, y0, z0), (x1, y1, z1) = source_box.start_xyz, source_box.stop_xyz
            cv_source[x0:x1, y0:y1, z0:z1]
            (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
            cv_target[x0:x1, y0:y1, z0:z1]

    def cold(max_workers: int) -> Callable[[], object]:
        return lambda: VolumeSet.open(source_url, target_url).read_page(boxes, max_workers)

    warm_set = VolumeSet.open(source_url, target_url)
    warm_set.read_page(boxes, workers)
    raw()  # first touch of the files and imports before any timing
    runs: dict[str, Callable[[], object]] = {
        "raw CloudVolume, sequential (baseline)": raw,
        f"data layer cold (open + read_page, {workers} threads)": cold(workers),
        "data layer cold (open + read_page, 1 thread)": cold(1),
        "data layer warm (LRU hits)": lambda: warm_set.read_page(boxes, workers),
    }
    results = interleaved_medians_s(runs, repeats)
    baseline = next(iter(results.values()))
    print(f"page of {PAGE} instances, crop {CROP_XYZ} target vx, median of {repeats}")
    for name, seconds in results.items():
        print(f"  {name:<52} {seconds * 1e3:8.1f} ms   x{seconds / baseline:.2f} of baseline")
    print(f"  cache: {warm_set.cache.stats()}")


if __name__ == "__main__":
    main()
