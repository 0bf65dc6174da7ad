"""A 24-tile page over HTTP with latency: the data layer against raw CloudVolume reads.

Dataset as in bench_page_read.py (source 1024x1024x64 uint8 at 4x4x40 nm, target 512x512x64
uint32 at 8x8x40 nm, chunks 64x64x16), once unsharded (CloudVolume) and once sharded
(tensorstore, raw, gzip), served by the HTTP fixture in its own process with ``--latency-ms``
per request and ``--bandwidth-mb-s`` shared by all requests. In one run, for each format:

- baseline: raw ``cv[x0:x1, y0:y1, z0:z1]`` of the page's 48 crops (24 source, 24 target) on
  threads over crops, CloudVolume objects opened beforehand; every thread count in
  ``--baseline-threads`` is tried and the best is the baseline;
- data layer cold: ``read_tiles`` on a freshly opened ``VolumeSet`` (opening timed apart);
- prefetched next page: ``prefetch`` page 2 while "the user looks at page 1" for ``--dwell-s``,
  then ``read_tiles`` of page 2 (what the review service does on Next).

    .venv/bin/python bench/bench_remote_page.py [--latency-ms 50] [--bandwidth-mb-s 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_page_read import CHUNK_XYZ, SOURCE_RES, TARGET_RES, build, page_boxes  # noqa: E402

from synanno_dash.core.geometry import BBox  # noqa: E402
from synanno_dash.data.http_fixture import LatencyServer  # noqa: E402
from synanno_dash.data.volumes import VolumeSet  # noqa: E402

SHARDING = {
    "@type": "neuroglancer_uint64_sharded_v1", "preshift_bits": 6, "hash": "identity",
    "minishard_bits": 3, "shard_bits": 4, "minishard_index_encoding": "gzip",
    "data_encoding": "gzip",
}  # fmt: skip


def write_sharded(root: Path) -> None:
    """Sharded copies of the unsharded layers, written by tensorstore."""
    import tensorstore as ts

    for layer, kind in (("source", "image"), ("target", "segmentation")):
        if (root / f"sharded-{layer}" / "info").is_file():
            continue
        plain = ts.open(
            {"driver": "neuroglancer_precomputed", "kvstore": f"file://{root}/{layer}/"}
        ).result()
        scale = {
            "resolution": (SOURCE_RES if layer == "source" else TARGET_RES).as_tuple(),
            "size": list(plain.shape[:3]), "voxel_offset": [0, 0, 0],
            "chunk_size": CHUNK_XYZ, "encoding": "raw", "sharding": SHARDING,
        }  # fmt: skip
        copy = ts.open({
            "driver": "neuroglancer_precomputed", "kvstore": f"file://{root}/sharded-{layer}/",
            "create": True, "scale_metadata": scale,
            "multiscale_metadata": {"type": kind, "data_type": str(plain.dtype.numpy_dtype),
                                    "num_channels": 1},
        }).result()  # fmt: skip
        copy.write(plain.read().result()).result()


def raw_page(cvs: tuple, boxes: list[BBox], threads: int) -> Callable[[], object]:
    cv_source, cv_target = cvs
    jobs = []
    for box in boxes:
        jobs.append((cv_target, box))
        jobs.append((cv_source, box.scaled(TARGET_RES, SOURCE_RES)))

    def read(job: tuple) -> np.ndarray:
        cv, b = job
        (x0, y0, z0), (x1, y1, z1) = b.start_xyz, b.stop_xyz
        return cv[x0:x1, y0:y1, z0:z1]

    def run() -> object:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(read, jobs))

    return run


def timed(work: Callable[..., object], *args: object) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - start, result


def measure(server: LatencyServer, prefix: str, args: argparse.Namespace) -> dict[str, float]:
    from cloudvolume import CloudVolume

    source_url = f"{server.url}/{prefix}source"
    target_url = f"{server.url}/{prefix}target"
    options = dict(mip=0, fill_missing=True, parallel=1, progress=False, cache=False)
    cvs = (CloudVolume(source_url, **options), CloudVolume(target_url, **options))
    times: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        page1, page2 = page_boxes(seed=10 + 2 * repeat), page_boxes(seed=11 + 2 * repeat)
        for threads in args.baseline_threads:
            name = f"raw CloudVolume, {threads} threads over crops"
            times.setdefault(name, []).append(timed(raw_page(cvs, page1, threads))[0])
        started = time.perf_counter()
        volumes = VolumeSet.open(f"precomputed://{source_url}", f"precomputed://{target_url}")
        times.setdefault("data layer: open the VolumeSet", []).append(
            time.perf_counter() - started
        )
        seconds, tiles = timed(volumes.read_tiles, page1)
        assert all(t.ok for t in tiles), [t.error for t in tiles if not t.ok][:1]
        times.setdefault("data layer cold page (read_tiles)", []).append(seconds)
        handle = volumes.prefetch(page2, lane="bench")
        time.sleep(args.dwell_s)  # the user looks at page 1
        if not handle.done():
            print("  note: the prefetch had not finished after the dwell time")
        seconds, tiles = timed(volumes.read_tiles, page2)
        assert all(t.ok for t in tiles)
        times.setdefault("data layer prefetched next page", []).append(seconds)
        volumes.close()
    return {name: statistics.median(values) for name, values in times.items()}


def measure_service(args: argparse.Namespace, scratch: Path) -> dict[str, float]:
    """The review service on the demo dataset served over HTTP: Next after ``dwell_s`` on a
    page (the next page was prefetched and encoded meanwhile), server-side."""
    from synanno_dash.demo.dataset import ensure_demo
    from synanno_dash.services import review
    from synanno_dash.services.context import AppContext
    from synanno_dash.services.prepare import OpenDataForm, prepare_session
    from synanno_dash.services.session import open_session
    from synanno_dash.settings import Settings

    demo = ensure_demo(scratch / "demo")
    root = Path(demo.source_url.removeprefix("file://")).parent
    layer = {u: Path(u.removeprefix("file://")).name for u in (demo.source_url, demo.target_url)}
    times: dict[str, list[float]] = {}
    with LatencyServer(root, args.latency_ms / 1e3, args.bandwidth_mb_s * 1e6) as server:
        for repeat in range(args.repeats):
            settings = Settings(data_dir=scratch, database_url=f"sqlite:///{scratch}/b{repeat}.db")
            context = AppContext.create(settings)
            form = OpenDataForm(
                source=server.precomputed(layer[demo.source_url]),
                target=server.precomputed(layer[demo.target_url]),
                table=demo.table_url, crop_size="64, 64, 6", tiles_per_page="24",
            )  # fmt: skip
            assert prepare_session(context, "s", form).ok
            page = 2 + 2 * repeat
            session = open_session(context, "s")
            seconds, _ = timed(review.load_page, session, page)  # a jump: nothing prefetched
            times.setdefault("service: page reached by a jump (cold)", []).append(seconds)
            time.sleep(args.dwell_s)  # the user looks at the page; the next one is prefetched
            seconds, _ = timed(review.load_page, open_session(context, "s"), page + 1)
            times.setdefault(f"service: Next after {args.dwell_s:g} s (prefetched)", []).append(
                seconds
            )
            context.volumes.close()
    return {name: statistics.median(values) for name, values in times.items()}


def report(title: str, results: dict[str, float]) -> None:
    baselines = {k: v for k, v in results.items() if k.startswith("raw")}
    best_name = min(baselines, key=lambda k: baselines[k])
    best = baselines[best_name]
    print(title)
    for name, seconds in results.items():
        mark = "  <- baseline (best raw)" if name == best_name else ""
        print(f"  {name:<44} {seconds * 1e3:8.1f} ms   x{seconds / best:.2f}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder to reuse")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--bandwidth-mb-s", type=float, default=100.0, help="0: no cap")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dwell-s", type=float, default=5.0)
    parser.add_argument("--baseline-threads", type=int, nargs="+", default=[8, 16, 48])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.data or Path(scratch)
        build(root)
        write_sharded(root)
        server = LatencyServer(root, args.latency_ms / 1e3, args.bandwidth_mb_s * 1e6)
        with server:
            print(
                f"HTTP fixture: {args.latency_ms:g} ms per request, "
                f"{args.bandwidth_mb_s:g} MB/s cap; page of 24 tiles, median of {args.repeats}"
            )
            report("unsharded:", measure(server, "", args))
            report("sharded:", measure(server, "sharded-", args))
        print("review service (read, encode, store) on the demo dataset over the fixture:")
        for name, seconds in measure_service(args, Path(scratch)).items():
            print(f"  {name:<44} {seconds * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
