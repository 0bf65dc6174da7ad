"""Remote and sharded volumes: layers written by tensorstore, served by the HTTP fixture.

Layout (boxes x, y, z): target 8x8x40 nm uint32, offset (4, 2, 1), size (65, 49, 23), chunks
16x16x8 (border chunks are partial); source 4x4x40 nm uint8 covering the same region (offset
(8, 4, 1), size (130, 98, 23), chunks 32x32x8); neuropil like the target but uint64. Each
layer exists unsharded raw and in the sharded format (raw or compressed_segmentation), the
source also as jpeg. Expected crops come from tensorstore's own read of the same files,
zero-padded and sliced.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.data.http_fixture import LatencyServer
from synanno_dash.data.volumes import VolumeError, VolumeSet
from tests.data.precomputed_layers import read_layer, write_layer

SOURCE_RES, TARGET_RES = Resolution(4, 4, 40), Resolution(8, 8, 40)
TARGET_OFFSET, SOURCE_OFFSET = (4, 2, 1), (8, 4, 1)
TARGET_SIZE = (65, 49, 23)
MARGIN = 64

# name: (source encoding, source sharded, target encoding, target sharded)
VARIANTS = {
    "plain": ("raw", False, "raw", False),
    "sharded": ("raw", True, "compressed_segmentation", True),
    "jpeg": ("jpeg", False, "compressed_segmentation", False),
    "jpeg-sharded": ("jpeg", True, "raw", True),
}


@dataclass(frozen=True)
class Reference:
    """A layer as tensorstore reads it, x, y, z, with its voxel offset."""

    data_xyz: np.ndarray
    offset_xyz: tuple[int, int, int]

    def expected_zyx(self, bbox: BBox) -> np.ndarray:
        padded = np.pad(self.data_xyz, MARGIN)
        (x0, y0, z0), (x1, y1, z1) = (
            tuple(v - o + MARGIN for v, o in zip(corner, self.offset_xyz, strict=True))
            for corner in (bbox.start_xyz, bbox.stop_xyz)
        )
        return padded[x0:x1, y0:y1, z0:z1].transpose(2, 1, 0)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("remote")
    rng = np.random.default_rng(5)
    tx, ty, tz = TARGET_SIZE
    # Smooth EM-like source (jpeg-friendly) and blocky labels with large ids.
    base = rng.integers(0, 256, (tx // 4 + 2, ty // 4 + 2, tz), dtype=np.uint8)
    source = np.repeat(np.repeat(base, 8, axis=0), 8, axis=1)[: 2 * tx, : 2 * ty]
    source = np.ascontiguousarray(source)
    labels = rng.integers(1, 2**32 - 1, (tx // 5 + 1, ty // 5 + 1, tz // 3 + 1), dtype=np.uint32)
    target = labels.repeat(5, 0).repeat(5, 1).repeat(3, 2)[:tx, :ty, :tz]
    target[rng.random(target.shape) < 0.3] = 0
    neuropil = target.astype(np.uint64) * np.uint64(2**31) + np.uint64(2**53 + 1)
    for name, (s_enc, s_sharded, t_enc, t_sharded) in VARIANTS.items():
        write_layer(folder / name / "source", np.ascontiguousarray(source), layer_type="image",
                    resolution=SOURCE_RES.as_tuple(), chunk_xyz=(32, 32, 8), encoding=s_enc,
                    sharded=s_sharded, voxel_offset=SOURCE_OFFSET)  # fmt: skip
        for layer, data in (("target", target), ("neuropil", neuropil)):
            write_layer(folder / name / layer, np.ascontiguousarray(data),
                        layer_type="segmentation", resolution=TARGET_RES.as_tuple(),
                        chunk_xyz=(16, 16, 8), encoding=t_enc, sharded=t_sharded,
                        voxel_offset=TARGET_OFFSET)  # fmt: skip
    return folder


def reference(root: Path, name: str, layer: str) -> Reference:
    kvstore = f"file://{root / name / layer}/"
    data = read_layer({"driver": "neuroglancer_precomputed", "kvstore": kvstore})
    return Reference(data, SOURCE_OFFSET if layer == "source" else TARGET_OFFSET)


@pytest.fixture(scope="module")
def server(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LatencyServer]:
    log = tmp_path_factory.mktemp("log") / "requests.log"
    with LatencyServer(root, latency_s=0.002, log_path=log) as running:
        yield running


def open_set(base: str, name: str, neuropil: bool = False) -> VolumeSet:
    return VolumeSet.open(
        f"{base}/{name}/source", f"{base}/{name}/target",
        f"{base}/{name}/neuropil" if neuropil else None,
    )  # fmt: skip


BOXES = [
    BBox((4, 2, 1), (20, 14, 4)),  # the volume's first corner
    BBox((14, 10, 5), (40, 36, 12)),  # straddles chunk borders in x, y and z
    BBox((60, 45, 20), (80, 60, 30)),  # sticks out past the far corner: zero padded
    BBox((-10, -5, -3), (12, 9, 3)),  # sticks out before the first corner
    BBox((30, 20, 8), (46, 36, 16)),  # exactly one target chunk
]


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.parametrize("where", ["local", "http"])
def test_layers_read_like_tensorstore(
    root: Path, server: LatencyServer, name: str, where: str
) -> None:
    base = f"file://{root}" if where == "local" else f"precomputed://{server.url}"
    source, target = reference(root, name, "source"), reference(root, name, "target")
    with open_set(base, name) as volumes:
        tiles = volumes.read_tiles(BOXES)
        for bbox, tile in zip(BOXES, tiles, strict=True):
            assert tile.ok, tile.error
            assert tile.crops is not None
            np.testing.assert_array_equal(tile.crops.cleft_zyx, target.expected_zyx(bbox))
            source_box = bbox.scaled(TARGET_RES, SOURCE_RES)
            np.testing.assert_array_equal(tile.crops.em_zyx, source.expected_zyx(source_box))


def test_sharded_and_unsharded_read_identical_lossless_crops(
    root: Path, server: LatencyServer
) -> None:
    base = f"precomputed://{server.url}"
    with open_set(base, "plain", True) as plain, open_set(base, "sharded", True) as sharded:
        for bbox in BOXES:
            a, b = plain.read_instance(bbox), sharded.read_instance(bbox)
            np.testing.assert_array_equal(a.em_zyx, b.em_zyx)
            np.testing.assert_array_equal(a.cleft_zyx, b.cleft_zyx)
            np.testing.assert_array_equal(
                plain.read_neuropil(bbox).data_zyx, sharded.read_neuropil(bbox).data_zyx
            )
        assert sharded.read_neuropil(BOXES[1]).data_zyx.max() > 2**53  # 64-bit ids exact


def _chunk_gets(server: LatencyServer, layer: str) -> list[str]:
    return [r.split()[1] for r in server.requests() if f"/{layer}/" in r and r.startswith("GET")]


def test_a_crop_fetches_only_the_chunks_it_overlaps(root: Path, server: LatencyServer) -> None:
    with open_set(f"precomputed://{server.url}", "plain") as volumes:
        server.clear_log()
        volumes.read_instance(BBox((14, 10, 5), (40, 36, 12)))
    # Target chunks are 16x16x8 from the offset (4, 2, 1): x 14..40 spans chunks 0-2,
    # y 10..36 chunks 0-2, z 5..12 chunks 0-1: 18 files, each fetched once.
    gets = _chunk_gets(server, "plain/target")
    assert len(gets) == 18 == len(set(gets))
    assert all(re.search(r"/8_8_40/\d+-\d+_\d+-\d+_\d+-\d+$", g) for g in gets)


def test_neighbouring_crops_share_fetched_chunks(root: Path, server: LatencyServer) -> None:
    page = [BBox((x, y, 5), (x + 12, y + 12, 11)) for x in (6, 14, 22) for y in (4, 12)]
    for name in ("plain", "sharded"):
        with open_set(f"precomputed://{server.url}", name) as volumes:
            server.clear_log()
            assert all(t.ok for t in volumes.read_tiles(page))
            target_gets = [
                r for r in server.requests() if f"/{name}/target/" in r and r.startswith("GET")
            ]
        ranges = [(r.split()[1], r.split()[2]) for r in target_gets]
        assert len(ranges) == len(set(ranges)), f"{name}: a chunk was fetched twice"
        if name == "plain":
            # chunks start at the offset (4, 2, 1): x 6..34, y 4..24, z 5..11 span 2 each
            assert len(ranges) == 2 * 2 * 2


def test_a_dead_server_fails_tile_by_tile_and_retry_reads_them(
    root: Path, tmp_path: Path
) -> None:
    page = [BBox((x, 10, 5), (x + 14, 24, 11)) for x in (4, 20, 36, 52)]
    with LatencyServer(root, latency_s=0.0) as server:
        volumes = open_set(f"precomputed://{server.url}", "sharded")
        first_half = volumes.read_tiles(page[:2])
        assert all(t.ok for t in first_half)
        server.kill()  # the bucket stops answering in the middle of the page
        tiles = volumes.read_tiles(page, deadline_s=20)
        assert [t.ok for t in tiles] == [True, True, False, False]
        assert all("Could not read" in (t.error or "") for t in tiles[2:])
        assert "Retry" in (tiles[2].error or "")
        with pytest.raises(VolumeError, match="Could not read"):
            volumes.read_page(page)  # the old all-or-nothing call still says what failed
        server.start()
        again = volumes.retry(tiles)
        assert all(t.ok for t in again)
        assert again[0] is tiles[0]  # tiles already read are not read again
        reference_target = reference(root, "sharded", "target")
        for bbox, tile in zip(page, again, strict=True):
            assert tile.crops is not None
            np.testing.assert_array_equal(
                tile.crops.cleft_zyx, reference_target.expected_zyx(bbox)
            )
        volumes.close()


def test_a_missing_chunk_reads_as_fill_value_and_is_logged_once(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(root / "plain", tmp_path / "plain")
    missing = tmp_path / "plain" / "target" / "8_8_40" / "20-36_18-34_9-17"
    missing.unlink()
    expected = reference(root, "plain", "target")
    box = BBox((14, 10, 5), (40, 36, 12))
    with LatencyServer(tmp_path, latency_s=0.0) as server, caplog.at_level(logging.WARNING):
        with open_set(f"precomputed://{server.url}", "plain") as volumes:
            crop = volumes.read_instance(box).cleft_zyx
            volumes.read_instance(BBox((18, 16, 8), (30, 30, 12)))  # the same missing chunk
    want = expected.expected_zyx(box).copy()
    want[9 - 5 : 12 - 5, 18 - 10 : 34 - 10, 20 - 14 : 36 - 14] = 0  # the chunk, crop-relative
    np.testing.assert_array_equal(crop, want)
    warnings = [r for r in caplog.records if "has no chunk" in r.getMessage()]
    assert len(warnings) == 1 and "target" in warnings[0].getMessage()


def test_prefetch_is_cancelled_when_the_user_jumps(root: Path) -> None:
    page_a = [BBox((x, 10, 5), (x + 14, 24, 11)) for x in (4, 20)]
    page_b = [BBox((x, 30, 13), (x + 14, 44, 19)) for x in (36, 52)]
    with LatencyServer(root, latency_s=0.0) as server:
        with open_set(f"precomputed://{server.url}", "plain") as volumes:
            first = volumes.prefetch(page_a, lane="session-1")
            assert volumes.prefetch(page_a, lane="session-1") is first  # same page: same work
            other = volumes.prefetch(page_b, lane="session-2")  # another session is untouched
            jumped = volumes.prefetch(page_b, lane="session-1")
            assert first.cancelled and not other.cancelled and not jumped.cancelled
            assert all(t.ok for t in jumped.result(timeout=60))
            volumes.cancel_prefetch("session-2")
            assert other.cancelled
            misses = volumes.cache.stats().misses
            volumes.read_tiles(page_b)  # read by the prefetch: no new miss
            assert volumes.cache.stats().misses == misses


def test_a_damaged_chunk_costs_its_tiles_only(root: Path, tmp_path: Path) -> None:
    shutil.copytree(root / "plain", tmp_path / "plain")
    damaged = tmp_path / "plain" / "target" / "8_8_40" / "20-36_18-34_9-17"
    damaged.write_bytes(damaged.read_bytes()[:100])  # truncated: not a 16x16x8 uint32 block
    page = [BBox((22, 20, 10), (30, 30, 14)), BBox((40, 40, 1), (50, 50, 5))]
    with LatencyServer(tmp_path, latency_s=0.0) as server:
        with open_set(f"precomputed://{server.url}", "plain") as volumes:
            bad, good = volumes.read_tiles(page)
    assert not bad.ok and "not valid raw data" in (bad.error or "")
    assert "target" in (bad.error or "") and "20-36_18-34_9-17" in (bad.error or "")
    assert good.ok
