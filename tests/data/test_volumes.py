"""The volume data layer against real precomputed volumes written with CloudVolume.

Layout of the test dataset (all boxes x, y, z; arrays kept here in z, y, x):
- target: 8x8x40 nm, uint32, voxel offset (4, 2, 1), size (48, 40, 10), every voxel distinct;
- source: 4x4x40 nm, uint8, random, covering the same physical region: offset (8, 4, 1),
  size (96, 80, 10);
- neuropil: 16x16x40 nm, uint64, offset (2, 1, 1), size (24, 20, 10).
Expected crops come from padding the whole reference array with zeros and slicing it, an
independent way of computing what the reader does with intersections.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data.crop_cache import CropCache
from synanno_dash.data.precomputed import write_volume
from synanno_dash.data.volume_registry import VolumeRegistry
from synanno_dash.data.volumes import VolumeError, VolumeSet, normalize_url

SOURCE_RES = Resolution(4, 4, 40)
TARGET_RES = Resolution(8, 8, 40)
NEUROPIL_RES = Resolution(16, 16, 40)
MARGIN_ZYX = (16, 200, 200)  # zeros around the reference arrays: more than any box sticks out


@dataclass(frozen=True)
class Layer:
    url: str
    offset_xyz: tuple[int, int, int]
    data_zyx: np.ndarray

    @functools.cached_property
    def padded_zyx(self) -> np.ndarray:
        return np.pad(self.data_zyx, [(m, m) for m in MARGIN_ZYX])

    def expected(self, bbox: BBox) -> np.ndarray:
        """The zero-padded crop of ``bbox`` computed by slicing a padded copy of the array."""
        (x0, y0, z0), (x1, y1, z1) = bbox.start_xyz, bbox.stop_xyz
        ox, oy, oz = (m - o for m, o in zip(MARGIN_ZYX[::-1], self.offset_xyz, strict=True))
        return self.padded_zyx[z0 + oz : z1 + oz, y0 + oy : y1 + oy, x0 + ox : x1 + ox]


@dataclass(frozen=True)
class Dataset:
    source: Layer
    target: Layer
    neuropil: Layer


def write_layer(
    path: Path,
    data_zyx: np.ndarray,
    resolution: Resolution,
    offset_xyz: tuple[int, int, int],
    layer_type: str = "image",
    chunk_xyz: tuple[int, int, int] = (16, 16, 4),
) -> Layer:
    url = write_volume(
        path, data_zyx.transpose(2, 1, 0), resolution.as_tuple(), chunk_xyz, layer_type, offset_xyz
    )
    return Layer(url, offset_xyz, data_zyx)


def make_dataset(root: Path) -> Dataset:
    rng = np.random.default_rng(7)
    source = rng.integers(0, 256, size=(10, 80, 96), dtype=np.uint8)
    target = np.arange(1, 10 * 40 * 48 + 1, dtype=np.uint32).reshape(10, 40, 48)
    neuropil = (np.arange(10 * 20 * 24, dtype=np.uint64) + 2**40).reshape(10, 20, 24)
    return Dataset(
        write_layer(root / "source", source, SOURCE_RES, (8, 4, 1)),
        write_layer(root / "target", target, TARGET_RES, (4, 2, 1), "segmentation"),
        write_layer(root / "neuropil", neuropil, NEUROPIL_RES, (2, 1, 1), "segmentation"),
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return make_dataset(tmp_path_factory.mktemp("volumes"))


@pytest.fixture
def volumes(dataset: Dataset) -> Iterator[VolumeSet]:
    with VolumeSet.open(
        dataset.source.url, dataset.target.url, dataset.neuropil.url, cache_bytes=10**7
    ) as opened:
        yield opened


def assert_crop(dataset: Dataset, volumes: VolumeSet, bbox: BBox) -> None:
    crops = volumes.read_instance(bbox)
    source_box = bbox.scaled(TARGET_RES, SOURCE_RES)
    assert crops.bbox_target_vx == bbox and crops.bbox_source_vx == source_box
    assert crops.cleft_zyx.dtype == np.uint32 and crops.em_zyx.dtype == np.uint8
    np.testing.assert_array_equal(crops.cleft_zyx, dataset.target.expected(bbox))
    np.testing.assert_array_equal(crops.em_zyx, dataset.source.expected(source_box))


def test_opened_geometry_comes_from_the_info(volumes: VolumeSet) -> None:
    assert volumes.source_resolution == SOURCE_RES
    assert volumes.target_resolution == TARGET_RES
    assert volumes.neuropil_resolution == NEUROPIL_RES
    assert volumes.target_bounds == BBox((4, 2, 1), (52, 42, 11))
    assert volumes.source_bounds == BBox((8, 4, 1), (104, 84, 11))


def test_crop_inside_matches_both_resolutions(dataset: Dataset, volumes: VolumeSet) -> None:
    bbox = BBox((10, 7, 3), (26, 19, 9))
    crops = volumes.read_instance(bbox)
    assert crops.cleft_zyx.shape == (6, 12, 16)
    assert crops.em_zyx.shape == (6, 24, 32)  # twice as many voxels in x and y
    assert crops.bbox_source_vx == BBox((20, 14, 3), (52, 38, 9))
    assert crops.padding_target_before_xyz == (0, 0, 0)
    assert crops.padding_source_after_xyz == (0, 0, 0)
    # The first voxel of the target crop is the target voxel (10, 7, 3): known content.
    assert crops.cleft_zyx[0, 0, 0] == dataset.target.data_zyx[3 - 1, 7 - 2, 10 - 4]
    assert_crop(dataset, volumes, bbox)


def test_crop_at_border_is_zero_padded_not_shifted(dataset: Dataset, volumes: VolumeSet) -> None:
    low = BBox((0, 0, 0), (10, 8, 4))  # sticks out by (4, 2, 1) before the target volume
    crops = volumes.read_instance(low)
    assert crops.padding_target_before_xyz == (4, 2, 1)
    assert crops.padding_target_after_xyz == (0, 0, 0)
    assert crops.padding_source_before_xyz == (8, 4, 1)
    assert not crops.cleft_zyx[:1].any() and not crops.cleft_zyx[:, :2].any()
    assert not crops.cleft_zyx[:, :, :4].any()
    assert crops.cleft_zyx[1, 2, 4] == dataset.target.data_zyx[0, 0, 0]
    assert_crop(dataset, volumes, low)

    high = BBox((45, 38, 8), (60, 50, 14))  # sticks out by (8, 8, 3) after it
    crops = volumes.read_instance(high)
    assert crops.padding_target_before_xyz == (0, 0, 0)
    assert crops.padding_target_after_xyz == (8, 8, 3)
    assert crops.padding_source_after_xyz == (16, 16, 3)
    assert crops.cleft_zyx.shape == (6, 12, 15)
    assert not crops.em_zyx[3:].any() and not crops.em_zyx[:, 8:].any()
    assert not crops.em_zyx[:, :, 14:].any()
    assert_crop(dataset, volumes, high)


def test_crops_are_read_only(volumes: VolumeSet) -> None:
    crops = volumes.read_instance(BBox((10, 10, 2), (20, 20, 5)))
    with pytest.raises(ValueError):
        crops.em_zyx[0, 0, 0] = 1


def test_box_outside_the_volume_is_a_clear_error(volumes: VolumeSet) -> None:
    with pytest.raises(VolumeError, match="entirely outside the target volume") as caught:
        volumes.read_instance(BBox((100, 100, 0), (164, 164, 6)))
    assert "x 100..164" in str(caught.value) and "x 4..52" in str(caught.value)
    with pytest.raises(VolumeError, match="empty"):
        volumes.read_instance(BBox((10, 10, 2), (10, 20, 5)))


def test_neuropil_crop_at_its_own_resolution(dataset: Dataset, volumes: VolumeSet) -> None:
    bbox = BBox((6, 4, 2), (20, 16, 6))
    crop = volumes.read_neuropil(bbox)
    assert crop.bbox_vx == BBox((3, 2, 2), (10, 8, 6))
    assert crop.data_zyx.dtype == np.uint64
    np.testing.assert_array_equal(crop.data_zyx, dataset.neuropil.expected(crop.bbox_vx))


def test_neuropil_missing_is_an_error(dataset: Dataset) -> None:
    with VolumeSet.open(dataset.source.url, dataset.target.url) as opened:
        with pytest.raises(VolumeError, match="No neuropil volume"):
            opened.read_neuropil(BBox((6, 4, 2), (20, 16, 6)))


def test_addresses_in_every_local_form_open_the_same_data(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = dataset.source.url[len("file://") :]
    monkeypatch.chdir(Path(folder).parent)
    forms = [folder, "precomputed://" + dataset.source.url, "source", "precomputed://" + folder]
    bbox = BBox((10, 7, 3), (26, 19, 9))
    for form in forms:
        with VolumeSet.open(form, "precomputed://" + dataset.target.url) as opened:
            np.testing.assert_array_equal(
                opened.read_instance(bbox).em_zyx,
                dataset.source.expected(bbox.scaled(TARGET_RES, SOURCE_RES)),
            )


def test_normalize_url() -> None:
    assert normalize_url("precomputed://gs://bucket/em/") == "gs://bucket/em"
    assert normalize_url("s3://b/x") == "s3://b/x"
    assert normalize_url(" https://host/a/b ") == "https://host/a/b"
    assert normalize_url("/data/vol") == "file:///data/vol"
    assert normalize_url("file:///data/vol/") == "file:///data/vol"
    assert normalize_url("relative/vol") == "file://" + str(Path("relative/vol").resolve())
    with pytest.raises(VolumeError, match="Unsupported address scheme 'ftp://'"):
        normalize_url("ftp://host/vol")
    with pytest.raises(VolumeError, match="empty"):
        normalize_url("  ")


def test_nonexistent_folder(dataset: Dataset, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-volume"
    with pytest.raises(VolumeError, match="does not exist: check the path") as caught:
        VolumeSet.open(str(missing), dataset.target.url)
    assert str(missing) in str(caught.value) and "source (EM)" in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_file_instead_of_folder(dataset: Dataset, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(VolumeError, match="is a file, not a folder"):
        VolumeSet.open(dataset.source.url, str(tmp_path / "a.txt"))


def test_missing_info(dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(VolumeError, match="No info file") as caught:
        VolumeSet.open(dataset.source.url, str(tmp_path))
    assert f"file://{tmp_path}/info" in str(caught.value)
    assert "target (cleft segmentation)" in str(caught.value)


@pytest.mark.parametrize(
    ("info_text", "expected"),
    [
        ("not json {", "not valid JSON"),
        (json.dumps({"@type": "neuroglancer_skeletons"}), "not a precomputed image or seg"),
        (json.dumps({"type": "mesh", "scales": []}), "its info says type 'mesh'"),
        (json.dumps({"type": "image", "data_type": "uint8", "scales": []}), "'scales'"),
        (json.dumps([1, 2]), "not a JSON object"),
    ],
)
def test_info_that_is_not_a_volume(
    dataset: Dataset, tmp_path: Path, info_text: str, expected: str
) -> None:
    (tmp_path / "info").write_text(info_text)
    with pytest.raises(VolumeError, match=expected):
        VolumeSet.open(str(tmp_path), dataset.target.url)


def test_source_must_be_uint8(dataset: Dataset) -> None:
    with pytest.raises(VolumeError) as caught:
        VolumeSet.open(dataset.target.url, dataset.target.url)
    message = str(caught.value)
    assert "uint32" in message and "must be uint8" in message and "swapped" in message


def test_target_must_be_unsigned(dataset: Dataset, tmp_path: Path) -> None:
    url = write_layer(tmp_path / "f", np.zeros((2, 8, 8), np.float32), TARGET_RES, (0, 0, 0)).url
    with pytest.raises(VolumeError, match="holds float32 voxels"):
        VolumeSet.open(dataset.source.url, url)


def test_resolution_mismatch_names_both_values(dataset: Dataset) -> None:
    with pytest.raises(VolumeError) as caught:
        VolumeSet.open(
            dataset.source.url, dataset.target.url, target_resolution=Resolution(8, 8, 33)
        )
    message = str(caught.value)
    assert "8 x 8 x 33 nm" in message and "8 x 8 x 40 nm" in message and "target" in message
    matching = VolumeSet.open(
        dataset.source.url, dataset.target.url, None, None, SOURCE_RES, TARGET_RES
    )
    assert matching.source_resolution == SOURCE_RES


def test_secrets_file_errors(dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(VolumeError, match="secrets file .* does not exist"):
        VolumeSet.open(dataset.source.url, dataset.target.url, secrets_path=str(tmp_path / "s"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(VolumeError, match="could not be read as JSON"):
        VolumeSet.open(
            dataset.source.url, dataset.target.url, secrets_path=str(tmp_path / "bad.json")
        )
    (tmp_path / "ok.json").write_text('{"token": "x"}')  # unused by file://, but accepted
    VolumeSet.open(dataset.source.url, dataset.target.url, secrets_path=str(tmp_path / "ok.json"))


def test_cache_serves_repeats_and_is_bounded_by_bytes(dataset: Dataset) -> None:
    bbox = BBox((10, 7, 3), (26, 19, 9))  # EM 6*24*32 = 4608 bytes, cleft 6*12*16*4 = 4608
    with VolumeSet.open(dataset.source.url, dataset.target.url, cache_bytes=3 * 4608) as opened:
        first = opened.read_instance(bbox)
        again = opened.read_instance(bbox)
        assert again.em_zyx is first.em_zyx and opened.cache.stats().hits == 2
        others = [BBox((x, 7, 3), (x + 16, 19, 9)) for x in (4, 20, 30)]
        opened.read_page(others, max_workers=1)
        stats = opened.cache.stats()
        assert stats.nbytes <= 3 * 4608 and stats.entries == 3
        assert opened.read_instance(bbox).em_zyx is not first.em_zyx  # evicted, read again


def test_read_page_keeps_order_with_threads(dataset: Dataset, volumes: VolumeSet) -> None:
    boxes = [
        BBox((x, y, z), (x + 12, y + 10, z + 4))
        for x in (0, 17, 40)
        for y in (0, 25)
        for z in (0, 5)
    ]
    crops = volumes.read_page(boxes, max_workers=4)
    assert [c.bbox_target_vx for c in crops] == boxes
    for bbox, crop in zip(boxes, crops, strict=True):
        np.testing.assert_array_equal(crop.cleft_zyx, dataset.target.expected(bbox))
        source_box = bbox.scaled(TARGET_RES, SOURCE_RES)
        np.testing.assert_array_equal(crop.em_zyx, dataset.source.expected(source_box))
    assert volumes.read_page([]) == []


def test_prefetch_warms_the_cache(dataset: Dataset, volumes: VolumeSet) -> None:
    boxes = [BBox((x, 10, 2), (x + 8, 18, 6)) for x in (5, 15, 25)]
    future = volumes.prefetch(boxes)
    assert [c.bbox_target_vx for c in future.result(timeout=60)] == boxes
    misses = volumes.cache.stats().misses
    for bbox in boxes:
        assert_crop(dataset, volumes, bbox)
    assert volumes.cache.stats().misses == misses


def test_closed_volumes_refuse_reads(dataset: Dataset) -> None:
    opened = VolumeSet.open(dataset.source.url, dataset.target.url)
    opened.close()
    with pytest.raises(VolumeError, match="closed"):
        opened.read_instance(BBox((10, 7, 3), (26, 19, 9)))
    with pytest.raises(VolumeError, match="closed"):
        opened.prefetch([BBox((10, 7, 3), (26, 19, 9))])


def _config(dataset: Dataset, target_res: Resolution = TARGET_RES) -> DatasetConfig:
    return DatasetConfig(
        "precomputed://" + dataset.source.url, dataset.target.url, "table.csv",
        SOURCE_RES, target_res,
    )  # fmt: skip


def test_registry_reuses_sets_and_evicts_the_oldest(dataset: Dataset) -> None:
    registry = VolumeRegistry(max_sets=1, cache_bytes=10**6)
    first = registry.get(_config(dataset))
    assert registry.get(_config(dataset).with_changes(source_url=dataset.source.url)) is first
    assert first.cache is registry.cache
    with pytest.raises(VolumeError, match="8 x 8 x 33 nm"):
        registry.get(_config(dataset, Resolution(8, 8, 33)))
    other = registry.get(_config(dataset).with_changes(tiles_per_page=6))  # same volumes
    assert other is first
    neuropil = _config(dataset).with_changes(neuropil_url=dataset.neuropil.url)
    with_neuropil = registry.get(neuropil)
    assert with_neuropil is not first and len(registry) == 1
    latest = registry.get(_config(dataset))
    assert latest is not first  # evicted, opened anew
    with_neuropil.read_instance(BBox((10, 7, 3), (26, 19, 9)))  # evicted sets still work
    registry.close()
    with pytest.raises(VolumeError, match="closed"):
        latest.read_instance(BBox((10, 7, 3), (26, 19, 9)))


@pytest.fixture(scope="module")
def http_root(dataset: Dataset) -> Iterator[str]:
    """The dataset served over HTTP on the loopback address, as a remote volume would be."""
    root = Path(dataset.source.url[len("file://") :]).parent

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_volumes_read_like_local_ones(dataset: Dataset, http_root: str) -> None:
    bbox = BBox((0, 30, 2), (20, 50, 8))
    with VolumeSet.open(f"{http_root}/source", f"{http_root}/target/") as opened:
        assert opened.target_bounds == BBox((4, 2, 1), (52, 42, 11))
        assert_crop(dataset, opened, bbox)
    with pytest.raises(VolumeError, match=f"No info file at {http_root}/nothing/info"):
        VolumeSet.open(f"{http_root}/nothing", f"{http_root}/target")


def test_unresponsive_server_times_out() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/vol"
        with pytest.raises(VolumeError, match="timed out after 0.5 s"):
            VolumeSet.open(url, url, open_timeout_s=0.5)


def test_missing_credentials_message_points_to_https() -> None:
    from google.auth.exceptions import DefaultCredentialsError

    from synanno_dash.data.volume_layer import _access_error

    error = _access_error("source (EM)", "gs://bucket/em", DefaultCredentialsError("none"))
    assert "https://storage.googleapis.com/bucket/em" in str(error)
    assert "secrets file" in str(error)


def test_crop_cache_lru_by_bytes() -> None:
    cache = CropCache(max_bytes=300)
    a, b, c = (np.full(100, i, np.uint8) for i in range(3))
    cache.put("a", a)
    cache.put("b", b)
    cache.put("c", c)
    assert cache.get("a") is a  # "a" is now the most recently used
    cache.put("d", np.zeros(100, np.uint8))
    assert "b" not in cache and "a" in cache and "c" in cache and "d" in cache
    assert cache.stats().nbytes == 300
    cache.put("big", np.zeros(301, np.uint8))  # larger than the whole cache: not kept
    assert "big" not in cache and len(cache) == 3
    assert not a.flags.writeable
    cache.clear()
    assert len(cache) == 0 and cache.stats().nbytes == 0


def test_crop_cache_loads_a_key_once_for_concurrent_callers() -> None:
    cache = CropCache(max_bytes=10**6)
    release = threading.Event()
    calls: list[int] = []

    def load() -> np.ndarray:
        calls.append(1)
        release.wait(timeout=10)
        return np.ones(10, np.uint8)

    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("k", load)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    threading.Event().wait(0.2)  # let the other callers reach the pending load
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(calls) == 1 and len(results) == 3
    assert all(r is results[0] for r in results)


def test_crop_cache_failed_load_is_not_cached() -> None:
    cache = CropCache(max_bytes=10**6)

    def fail() -> np.ndarray:
        raise VolumeError("boom")

    with pytest.raises(VolumeError):
        cache.get_or_load("k", fail)
    assert cache.get_or_load("k", lambda: np.zeros(3, np.uint8)).shape == (3,)


boxes_near_the_volume = st.builds(
    lambda start, size: BBox.from_bounds(start, tuple(a + s for a, s in zip(start, size))),
    st.tuples(st.integers(-20, 60), st.integers(-20, 50), st.integers(-6, 12)),
    st.tuples(st.integers(1, 24), st.integers(1, 24), st.integers(1, 8)),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bbox=boxes_near_the_volume)
def test_property_crop_equals_padded_slice(
    dataset: Dataset, volumes: VolumeSet, bbox: BBox
) -> None:
    if not bbox.overlaps(volumes.target_bounds):
        with pytest.raises(VolumeError, match="outside"):
            volumes.read_instance(bbox)
        return
    crops = volumes.read_instance(bbox)
    assert_crop(dataset, volumes, bbox)
    assert (crops.padding_target_before_xyz, crops.padding_target_after_xyz) == (
        bbox.padding_within(volumes.target_bounds)
    )
    # the padding is where the zeros are: the crop without it has no padded voxels
    (bx, by, bz), (ax, ay, az) = crops.padding_target_before_xyz, crops.padding_target_after_xyz
    sz, sy, sx = crops.cleft_zyx.shape
    inner = crops.cleft_zyx[bz : sz - az, by : sy - ay, bx : sx - ax]
    assert inner.size and inner.all()  # every target voxel is nonzero in the volume
    assert crops.cleft_zyx.sum() == inner.sum()


def test_kept_crops_survive_eviction_and_stay_bounded(dataset: Dataset) -> None:
    """Crops of instances to fix are kept apart from the LRU; memory stays bounded."""
    crop_bytes = 8 * 8 * 2 * 4 + 16 * 16 * 2  # target uint32 + source uint8 for one box
    cache = CropCache(max_bytes=3 * crop_bytes, max_kept_bytes=2 * crop_bytes)
    volumes = VolumeSet.open(dataset.source.url, dataset.target.url, cache=cache)
    boxes = [BBox((x, 2, 1), (x + 8, 10, 3)) for x in range(4, 52, 8)]
    volumes.read_instance(boxes[0])
    assert volumes.keep_instance(boxes[0])
    assert not volumes.keep_instance(boxes[5])  # not read yet: nothing to keep
    for box in boxes[1:]:
        volumes.read_instance(box)  # more than the LRU holds
    key_target, key_source = volumes._crop_keys(boxes[0])
    assert cache.is_kept(key_target) and cache.is_kept(key_source)
    assert cache.stats().nbytes <= cache.max_bytes and cache.kept_nbytes <= 2 * crop_bytes
    volumes.release_instance(boxes[0])
    assert not cache.is_kept(key_target) and key_target in cache
    volumes.close()


def test_local_volumes_read_pages_without_threads(volumes: VolumeSet) -> None:
    """Local reads are CPU-bound: the default page read is sequential there (see bench)."""
    assert volumes.is_local
    boxes = [BBox((4 + 8 * i, 2, 1), (12 + 8 * i, 10, 3)) for i in range(4)]
    crops = volumes.read_page(boxes)
    assert [c.bbox_target_vx for c in crops] == boxes
