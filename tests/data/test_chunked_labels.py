"""Block-by-block labelling equals whole-volume labelling (scipy.ndimage.label), whatever the
block shape: components crossing block faces are joined, sizes and statistics add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from synanno_dash.core.detection import DetectionParameters
from synanno_dash.core.geometry import BBox
from synanno_dash.data.chunked_labels import BlockGrid, LabelledMap, label_map, write_labels


def _reader(volume: np.ndarray, origin: tuple[int, int, int]):  # type: ignore[no-untyped-def]
    def read(box: BBox) -> np.ndarray:
        (x0, y0, z0), (x1, y1, z1) = (
            tuple(a - o for a, o in zip(corner, origin)) for corner in (box.start_xyz, box.stop_xyz)
        )
        return volume[x0:x1, y0:y1, z0:z1].copy()

    return read


def _run(
    volume: np.ndarray, chunk: tuple[int, int, int], params: DetectionParameters, scratch: Path,
    origin: tuple[int, int, int] = (0, 0, 0),
) -> tuple[LabelledMap, np.ndarray]:
    bounds = BBox.from_bounds(origin, tuple(o + s for o, s in zip(origin, volume.shape)))
    labelled = label_map(_reader(volume, origin), bounds, chunk, params, scratch, budget_bytes=0)
    out = np.zeros(volume.shape, np.uint32)

    def write(box: BBox, ids: np.ndarray) -> None:
        x, y, z = (a - o for a, o in zip(box.start_xyz, origin))
        sx, sy, sz = ids.shape
        out[x : x + sx, y : y + sy, z : z + sz] = ids

    write_labels(labelled, write)
    return labelled, out


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """The two label volumes split the voxels the same way (ids may differ)."""
    if not np.array_equal(a > 0, b > 0):
        return False
    pairs = np.unique(np.column_stack([a[a > 0], b[b > 0]]), axis=0)
    return len(pairs) == len(np.unique(pairs[:, 0])) == len(np.unique(pairs[:, 1]))


def _whole(volume: np.ndarray, params: DetectionParameters) -> np.ndarray:
    mask = volume > params.low
    if params.closing_vx:
        mask |= ndimage.binary_closing(mask, iterations=params.closing_vx)
    labels, n = ndimage.label(mask)
    sizes = np.bincount(labels.ravel())
    keep = (sizes >= params.min_size_vx) & (sizes <= params.max_size_vx)
    if params.hysteresis:
        seeded = np.bincount(labels.ravel(), weights=volume.ravel() > params.hysteresis[1]) > 0
        keep &= seeded
    keep[0] = False
    return np.where(keep[labels], labels, 0)


FIXTURE_OK = [HealthCheck.function_scoped_fixture]
volumes = st.tuples(
    st.integers(3, 14), st.integers(3, 14), st.integers(2, 9), st.integers(0, 2**32 - 1)
).map(lambda t: np.random.default_rng(t[3]).random((t[0], t[1], t[2])).astype(np.float32))
chunks = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4))


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(volume=volumes, chunk=chunks, threshold=st.sampled_from([0.3, 0.5, 0.7]),
       closing=st.sampled_from([0, 0, 1]), min_size=st.integers(1, 4))
def test_chunked_labelling_equals_whole_volume(
    tmp_path_factory: pytest.TempPathFactory, volume: np.ndarray, chunk: tuple[int, int, int],
    threshold: float, closing: int, min_size: int,
) -> None:
    params = DetectionParameters(threshold, None, min_size, 30, closing)
    labelled, chunked = _run(volume, chunk, params, tmp_path_factory.mktemp("s"), (5, -3, 7))
    whole = _whole(volume, params)
    assert _same_partition(chunked, whole)
    assert labelled.count == len(np.unique(whole)) - 1
    kept = labelled.kept
    sizes = np.sort(labelled.components.size_vx[kept])
    whole_sizes = np.bincount(whole.ravel())[1:]
    assert np.array_equal(sizes, np.sort(whole_sizes[whole_sizes > 0]))


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURE_OK)
@given(volume=volumes, chunk=chunks)
def test_chunked_hysteresis_equals_whole_volume(
    tmp_path_factory: pytest.TempPathFactory, volume: np.ndarray, chunk: tuple[int, int, int]
) -> None:
    params = DetectionParameters(None, (0.4, 0.9), 1, 10_000)
    _, chunked = _run(volume, chunk, params, tmp_path_factory.mktemp("s"))
    assert _same_partition(chunked, _whole(volume, params))


def test_a_component_winding_through_many_blocks_is_one(tmp_path: Path) -> None:
    # a helix-like path crossing block faces in x, y and z, back and forth
    volume = np.zeros((24, 24, 12), np.float32)
    volume[1:23, 2, 1] = 1  # along x through 6 blocks
    volume[22, 2:20, 1] = 1  # then along y
    volume[22, 19, 1:11] = 1  # then up in z
    volume[3:23, 19, 10] = 1  # and back along x
    volume[10, 10, 5] = 1  # a lone voxel
    labelled, out = _run(volume, (4, 4, 3), DetectionParameters(0.5, None, 1, 10_000), tmp_path)
    assert len(labelled.grid) == 6 * 6 * 4
    assert labelled.count == 2
    sizes = sorted(labelled.components.size_vx[labelled.kept].tolist())
    assert sizes == [1, 22 + 17 + 9 + 19]  # the segments share their corner voxels
    path_id = out[1, 2, 1]
    assert path_id and out[3, 19, 10] == path_id and out[10, 10, 5] not in (0, path_id)


def test_statistics_of_a_component_split_by_blocks(tmp_path: Path) -> None:
    volume = np.zeros((10, 10, 6), np.float32)
    volume[2:8, 3:6, 1:5] = 0.75  # 6 x 3 x 4 = 72 voxels across 8 blocks
    volume[2:8, 3:6, 1] = 0.95
    labelled, _ = _run(volume, (5, 5, 3), DetectionParameters(0.5, None, 1, 1000), tmp_path)
    c = labelled.components
    assert c.count == 1 and c.size_vx[0] == 72
    assert c.mean_value[0] == pytest.approx((54 * 0.75 + 18 * 0.95) / 72, rel=1e-6)
    assert np.allclose(c.centroid_xyz[0], [4.5, 4.0, 2.5])
    assert c.start_xyz[0].tolist() == [2, 3, 1] and c.stop_xyz[0].tolist() == [8, 6, 5]


def test_a_label_volume_keeps_its_ids_across_blocks(tmp_path: Path) -> None:
    volume = np.zeros((12, 12, 4), np.uint64)
    volume[0:9, 0:2, 0:2] = 2**60  # 36 voxels over three blocks
    volume[10:12, 10:12, 3] = 7  # 4 voxels
    volume[5, 5, 0] = 9
    volume[7, 9, 3] = 9  # id 9: two voxels far apart, one instance
    params = DetectionParameters(None, None, 2, 100, is_label_volume=True)
    labelled, out = _run(volume, (4, 4, 4), params, tmp_path)
    assert labelled.components.size_vx.tolist() == [4, 2, 36]  # ids 7, 9, 2**60 in order
    assert labelled.count == 3
    assert out[5, 5, 0] == out[7, 9, 3] == 2 and out[0, 0, 0] == 3 and out[11, 11, 3] == 1


def test_blocks_fit_the_budget_and_hold_whole_chunks() -> None:
    bounds = BBox((0, 0, 0), (256, 256, 256))
    grid = BlockGrid.plan(bounds, (64, 64, 64), 16 * 1024**2, halo_vx=0)
    voxels = int(np.prod(grid.block_xyz_vx))
    assert voxels * 48 <= 16 * 1024**2
    assert all(b % 64 == 0 for b in grid.block_xyz_vx)
    assert BlockGrid.plan(bounds, (64, 64, 64), 0, 0).block_xyz_vx == (64, 64, 64)
