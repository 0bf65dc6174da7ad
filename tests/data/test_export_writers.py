"""Correction exports on real files: the masks zip, a precomputed layer read back with
CloudVolume (and tensorstore), corrected tables loaded back with ``open_table``."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.data.corrected_table import (
    AddedSynapse,
    TableCorrections,
    write_corrected_table,
)
from synanno_dash.data.mask_layer import write_segmentation_layer
from synanno_dash.data.masks_zip import InstanceMask, MaskFileName, masks_zip, parse_mask_file_name
from synanno_dash.data.tables import open_table

BIG = 864691135000000123  # > 2**53: exact only if never a float


def test_mask_file_names_round_trip() -> None:
    box = BBox((100, -20, 7), (164, 44, 23))
    npy = MaskFileName(12, box)
    png = MaskFileName(12, box, 15)
    assert npy.name == "instance-00012_x100..164_y-20..44_z7..23.npy"
    assert png.name == "instance-00012_x100..164_y-20..44_z7..23_slice-z15.png"
    assert parse_mask_file_name(npy.name) == npy
    assert parse_mask_file_name("some/folder/" + png.name) == png
    with pytest.raises(ValueError):
        parse_mask_file_name("instance-1_x1..2.npy")


def test_masks_zip_holds_arrays_pngs_and_manifest() -> None:
    box = BBox((10, 20, 5), (14, 23, 7))  # 4 x 3 x 2 voxels
    mask = np.zeros((2, 3, 4), bool)
    mask[1, 0, 1:3] = True
    data = masks_zip(
        [InstanceMask(3, box, mask, (6, 99), {"materialization_index": 41})],
        {"resolution_nm": [8, 8, 40]},
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        assert names == [
            "instance-00003_x10..14_y20..23_z5..7.npy",
            "instance-00003_x10..14_y20..23_z5..7_slice-z6.png",  # z 99 lies outside: skipped
            "manifest.json",
        ]
        array = np.load(io.BytesIO(archive.read(names[0])))
        png = np.asarray(Image.open(io.BytesIO(archive.read(names[1]))))
        manifest = json.loads(archive.read("manifest.json"))
    assert array.dtype == np.uint8 and np.array_equal(array, mask.astype(np.uint8))
    parsed = parse_mask_file_name(names[1])
    assert parsed.instance_id == 3 and parsed.bbox_target_vx == box and parsed.z_vx == 6
    assert np.array_equal(png > 0, mask[parsed.z_vx - box.start_xyz[2]])
    assert manifest["resolution_nm"] == [8, 8, 40]
    assert manifest["instances"][0]["materialization_index"] == 41
    with pytest.raises(ValueError):
        masks_zip([InstanceMask(1, box, np.zeros((3, 3, 3), bool))], {})


def test_layer_reads_back_with_cloudvolume_and_tensorstore(tmp_path: Path) -> None:
    from cloudvolume import CloudVolume

    bounds = BBox((100, 200, 10), (228, 300, 42))
    resolution = Resolution(8, 8, 40)
    first = np.zeros((6, 20, 30), bool)  # z, y, x over box_a
    first[2:5, 5:15, 3:20] = True
    box_a = BBox((110, 210, 20), (140, 230, 26))
    second = np.zeros((4, 10, 10), bool)
    second[:, :, :] = True
    box_b = BBox((135, 225, 22), (145, 235, 26))  # overlaps box_a, and first's mask
    edge = np.ones((4, 8, 8), bool)
    box_c = BBox((224, 296, 40), (232, 304, 44))  # past the volume's corner: clipped
    url = write_segmentation_layer(
        tmp_path / "layer", bounds, resolution,
        [(1, box_a, first), (2, box_b, second), (3, box_c, edge)], {1: "instance 0"},
    )  # fmt: skip
    assert not list((tmp_path / "layer").rglob("*.gz"))  # uncompressed for Neuroglancer
    cv = CloudVolume(url, fill_missing=True, progress=False)
    assert cv.info["type"] == "segmentation" and list(cv.resolution) == [8, 8, 40]
    assert list(cv.voxel_offset) == [100, 200, 10]
    volume = np.asarray(cv[100:228, 200:300, 10:42])[..., 0].transpose(2, 1, 0)  # z, y, x
    expected = np.zeros(volume.shape, np.uint32)

    def paint(box: BBox, mask: np.ndarray, value: int) -> None:
        clipped = box.intersect(bounds)
        z0, y0, x0 = (c - b for c, b in zip(clipped.start_xyz[::-1], bounds.start_xyz[::-1]))
        lz, ly, lx = clipped.shape_xyz[::-1]
        oz, oy, ox = (c - b for c, b in zip(clipped.start_xyz[::-1], box.start_xyz[::-1]))
        part = mask[oz : oz + lz, oy : oy + ly, ox : ox + lx]
        expected[z0 : z0 + lz, y0 : y0 + ly, x0 : x0 + lx][part] = value

    for value, (box, mask) in enumerate(((box_a, first), (box_b, second), (box_c, edge)), 1):
        paint(box, mask, value)
    assert np.array_equal(volume, expected)
    assert set(np.unique(volume)) == {0, 1, 2, 3}
    properties = json.loads((tmp_path / "layer/segment_properties/info").read_text())
    assert properties["inline"]["ids"] == ["1", "2", "3"]
    assert properties["inline"]["properties"][0]["values"][0] == "instance 0"

    ts = pytest.importorskip("tensorstore")
    store = ts.open({"driver": "neuroglancer_precomputed", "kvstore": url + "/"}).result()
    read = np.asarray(store[ts.d["channel"][0]].read().result())  # x, y, z (absolute dims)
    assert np.array_equal(read.transpose(2, 1, 0), expected)


def test_layer_refuses_a_used_folder(tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "info").write_text("{}")
    with pytest.raises(FileExistsError):
        write_segmentation_layer(tmp_path / "used", BBox((0, 0, 0), (4, 4, 4)),
                                 Resolution(1, 1, 1), [])  # fmt: skip


SYNANNO_HEADER = ["pre_pt_x", "pre_pt_y", "pre_pt_z", "post_pt_x", "post_pt_y", "post_pt_z",
                  "x", "y", "z", "pre_neuron_id", "post_neuron_id", "note"]  # fmt: skip


def _synanno_csv(path: Path) -> Path:
    rows = [
        [1, 2, 3, 5, 6, 3, 3, 4, 3, BIG, 7, "a"],
        [10, 20, 30, 12, 22, 30, 11, 21, 30, 8, BIG, "b, quoted"],
        [40, 41, 42, 43, 44, 42, 41, 42, 42, "", 9, ""],
    ]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(SYNANNO_HEADER)
        writer.writerows(rows)
    return path


def test_corrected_synanno_csv_loads_back(tmp_path: Path) -> None:
    source = _synanno_csv(tmp_path / "synapses.csv")
    corrections = TableCorrections(
        drop=frozenset({1}),
        points={0: {"pre": (100, 101, 3)}, 2: {"post": (7, 8, 42)}},
        added=(AddedSynapse((60, 61, 62), (59, 61, 62), (61, 61, 62)), AddedSynapse((1, 1, 1))),
    )
    out = tmp_path / "out" / "corrected.csv"
    assert write_corrected_table(source, out, corrections) == 4
    with out.open(newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == SYNANNO_HEADER
    assert lines[1][-3:] == [str(BIG), "7", "a"]  # untouched cells stay exactly as they were
    table = open_table(out, tmp_path / "cache")
    assert table.schema == "synanno" and table.count() == 4
    rows = table.query()
    assert [r.center_xyz_vx for r in rows] == [(3, 4, 3), (41, 42, 42), (60, 61, 62), (1, 1, 1)]
    assert rows[0].pre_xyz_vx == (100, 101, 3) and rows[0].post_xyz_vx == (5, 6, 3)
    assert rows[0].pre_neuron_id == BIG
    assert rows[1].post_xyz_vx == (7, 8, 42) and rows[1].pre_neuron_id is None
    assert rows[2].pre_xyz_vx == (59, 61, 62) and rows[2].post_neuron_id is None
    assert rows[3].pre_xyz_vx is None and rows[3].post_xyz_vx is None


def test_corrected_cave_parquet_with_ids_and_list_points(tmp_path: Path) -> None:
    source = tmp_path / "cave.parquet"
    points = pa.list_(pa.int64())
    pq.write_table(
        pa.table({
            "id": pa.array([500, 7, 90], pa.int64()),
            "ctr_pt_position": pa.array([[1, 1, 1], [2, 2, 2], [3, 3, 3]], points),
            "pre_pt_position": pa.array([[0, 1, 1], [1, 2, 2], [2, 3, 3]], points),
            "post_pt_position": pa.array([[2, 1, 1], [3, 2, 2], [4, 3, 3]], points),
            "pre_pt_root_id": pa.array([BIG, 1, 2], pa.uint64()),
            "post_pt_root_id": pa.array([3, BIG, None], pa.uint64()),
        }),
        source,
    )  # fmt: skip
    corrections = TableCorrections(
        drop=frozenset({7}),
        points={90: {"pre": (9, 9, 9), "post": (8, 8, 8)}},
        added=(AddedSynapse((50, 50, 5), (49, 50, 5), (51, 50, 5)),),
    )
    out = tmp_path / "cave_corrected.parquet"
    assert write_corrected_table(source, out, corrections) == 3
    assert pq.read_schema(out) == pq.read_schema(source)
    table = open_table(out, tmp_path / "cache")
    assert table.schema == "cave"
    by_id = {s.materialization_index: s for s in table.query()}
    assert sorted(by_id) == [90, 500, 501]  # the added row gets the next id
    assert by_id[90].pre_xyz_vx == (9, 9, 9) and by_id[90].post_xyz_vx == (8, 8, 8)
    assert by_id[500].pre_neuron_id == BIG and by_id[500].pre_xyz_vx == (0, 1, 1)
    assert by_id[501].center_xyz_vx == (50, 50, 5) and by_id[501].pre_neuron_id is None


def test_cave_csv_with_text_points(tmp_path: Path) -> None:
    source = tmp_path / "cave.csv"
    source.write_text(
        "id,ctr_pt_position,pre_pt_position,post_pt_position\n"
        '4,"[1, 2, 3]","[0, 2, 3]","[2, 2, 3]"\n'
        '9,"[5 6 7]","[4 6 7]","[6 6 7]"\n'
    )
    out = tmp_path / "fixed.csv"
    write_corrected_table(
        source,
        out,
        TableCorrections(
            points={9: {"post": (16, 6, 7)}}, added=(AddedSynapse((1, 1, 1)),)
        ),  # fmt: skip
    )
    rows = {s.materialization_index: s for s in open_table(out, tmp_path / "c").query()}
    assert rows[4].post_xyz_vx == (2, 2, 3) and rows[9].post_xyz_vx == (16, 6, 7)
    assert rows[10].center_xyz_vx == (1, 1, 1) and rows[10].pre_xyz_vx is None
