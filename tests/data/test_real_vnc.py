"""Real EM: the Drosophila VNC stack (shared/data/vnc-stack1) through the volume layer.

The stack is written into a local precomputed dataset (source and target at the same
resolution, uncompressed) and read back around each synapse centroid: the crop must hold that
synapse's id near its centre and equal the original arrays, zero-padded at the border.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from synanno_dash.core.geometry import BBox, Resolution, bbox_around
from synanno_dash.core.instances import DEFAULT_CROP_SIZE_XYZ_VX
from synanno_dash.data.precomputed import write_volume
from synanno_dash.data.volumes import VolumeSet

pytestmark = pytest.mark.realdata

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "vnc-stack1"
NPZ = DATA_DIR / "vnc_stack1_raw_synapses.npz"
CENTROIDS = DATA_DIR / "vnc_stack1_synapse_centroids.csv"


@dataclass(frozen=True)
class VncStack:
    raw_zyx: np.ndarray
    synapses_zyx: np.ndarray
    resolution: Resolution
    source_url: str
    target_url: str


def _write(url: str, data_zyx: np.ndarray, layer_type: str, resolution: Resolution) -> None:
    path = Path(url.removeprefix("file://"))
    data_xyz = data_zyx.transpose(2, 1, 0)
    write_volume(path, data_xyz, resolution.as_tuple(), (128, 128, 10), layer_type)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> VncStack:
    if not NPZ.is_file() or not CENTROIDS.is_file():
        pytest.skip(f"../shared/data/vnc-stack1 not found: expected {NPZ} and {CENTROIDS}")
    with np.load(NPZ) as npz:
        raw, synapses = npz["raw"], npz["synapses"]
        z_nm, y_nm, x_nm = (float(v) for v in npz["resolution_zyx_nm"])
    resolution = Resolution(x_nm, y_nm, z_nm)
    root = tmp_path_factory.mktemp("vnc")
    source_url, target_url = f"file://{root}/em", f"file://{root}/clefts"
    _write(source_url, raw, "image", resolution)
    _write(target_url, synapses, "segmentation", resolution)
    return VncStack(raw, synapses, resolution, source_url, target_url)


def _centroids() -> list[tuple[int, tuple[int, int, int]]]:
    """(synapse id, centre voxel x, y, z) for every row of the centroid table."""
    with CENTROIDS.open() as handle:
        rows = list(csv.DictReader(handle))
    voxel = [{a: math.floor(float(row[a])) for a in "xyz"} for row in rows]
    return [(int(row["id"]), (v["x"], v["y"], v["z"])) for row, v in zip(rows, voxel, strict=True)]


def _padded_slice(array_zyx: np.ndarray, bbox: BBox) -> np.ndarray:
    margin = [(s, s) for s in bbox.shape_xyz[::-1]]  # more than a box can stick out
    (x0, y0, z0), (x1, y1, z1) = bbox.start_xyz, bbox.stop_xyz
    mz, my, mx = (m for m, _ in margin)
    return np.pad(array_zyx, margin)[z0 + mz : z1 + mz, y0 + my : y1 + my, x0 + mx : x1 + mx]


def test_crops_around_each_synapse_hold_it_and_match_the_stack(stack: VncStack) -> None:
    centroids = _centroids()
    assert len(centroids) == 50
    with VolumeSet.open(
        stack.source_url, stack.target_url, None, None, stack.resolution, stack.resolution
    ) as volumes:
        assert volumes.target_bounds == BBox((0, 0, 0), (1024, 1024, 20))
        boxes = [bbox_around(centre, DEFAULT_CROP_SIZE_XYZ_VX) for _, centre in centroids]
        pages = [volumes.read_page(boxes[i : i + 24]) for i in range(0, len(boxes), 24)]
    crops = [crop for page in pages for crop in page]
    padded = 0
    for (synapse_id, centre), bbox, crop in zip(centroids, boxes, crops, strict=True):
        assert crop.bbox_source_vx == bbox  # same resolution: same box
        assert crop.em_zyx.shape == crop.cleft_zyx.shape == (6, 64, 64)
        cz, cy, cx = (c - a for c, a in zip(centre[::-1], bbox.start_xyz[::-1], strict=True))
        near_centre = crop.cleft_zyx[max(cz - 1, 0) : cz + 2, cy - 1 : cy + 2, cx - 1 : cx + 2]
        assert synapse_id in near_centre, f"synapse {synapse_id} not at the centre of its crop"
        np.testing.assert_array_equal(crop.em_zyx, _padded_slice(stack.raw_zyx, bbox))
        np.testing.assert_array_equal(crop.cleft_zyx, _padded_slice(stack.synapses_zyx, bbox))
        padded += any(crop.padding_target_before_xyz) or any(crop.padding_target_after_xyz)
    assert padded > 0  # some synapses sit at z = 0: their crops are padded, not shifted
    assert crops[0].em_zyx.std() > 10  # real EM texture, not an empty volume
