"""``synanno-dash import-predictions`` end to end: real precomputed maps written with
``data/precomputed.py`` (and HDF5 with h5py), the cleft layer read back with CloudVolume and
tensorstore, the table read with our loader, the pre/post rule scored on the demo's truth, and
every bad input refused with one line and exit code 2, leaving nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synanno_dash.cli import main
from synanno_dash.core.detection import DetectionParameters
from synanno_dash.data.precomputed import write_volume
from synanno_dash.data.prediction_import import ImportRequest, run_import

RES = (8.0, 8.0, 40.0)
SHAPE = (96, 80, 24)
CHUNK = (32, 32, 8)
# Blobs (x0, y0, z0, sx, sy, sz) with sizes either side of the limits 100 and 1000 voxels;
# several cross chunk borders (x 32/64, y 32/64, z 8/16).
BLOBS = [
    (2, 2, 2, 9, 11, 1),  # 99: too small
    (28, 4, 2, 10, 10, 1),  # 100: the lower limit, across x = 32
    (60, 28, 6, 10, 10, 10),  # 1000: the upper limit, across x, y and z borders
    (4, 50, 3, 7, 11, 13),  # 1001: too large, across y = 64 and z = 8, 16
    (70, 60, 18, 4, 5, 6),  # 120, across y = 64
]
SIZES_KEPT = [100, 1000, 120]


def _map(values: np.ndarray | None = None) -> np.ndarray:
    prob = np.full(SHAPE, 0.05, np.float32) if values is None else values
    for k, (x, y, z, sx, sy, sz) in enumerate(BLOBS):
        prob[x : x + sx, y : y + sy, z : z + sz] = 0.6 + 0.05 * k
    return prob


def _cli(*args: str) -> int:
    return main(["import-predictions", *args])


@pytest.fixture
def blob_map(tmp_path: Path) -> Path:
    write_volume(tmp_path / "map", _map(), RES, CHUNK, "image", (100, 200, 10))
    return tmp_path / "map"


def test_blobs_give_exact_components_sizes_and_table(blob_map: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cli("--map", str(blob_map), "--out", str(out), "--min-size", "100",
                "--max-size", "1000", "--memory-mib", "1") == 0  # fmt: skip
    table = pd.read_csv(out / "synapses.csv")
    assert table["size_vx"].tolist() == sorted(SIZES_KEPT, key=[100, 1000, 120].index)
    assert table["id"].tolist() == [1, 2, 3]
    assert table["confidence"].round(4).tolist() == [0.65, 0.7, 0.8]
    first = table.iloc[0]
    assert (first.bbox_x0, first.bbox_y0, first.bbox_z0) == (128, 204, 12)  # offset included
    assert (first.bbox_x1, first.bbox_y1, first.bbox_z1) == (138, 214, 13)
    assert (first.x, first.y, first.z) == (132, 208, 12)  # floor of the centroid 132.5, 208.5
    assert table["pre_neuron_id"].isna().all()  # no neuropil given
    params = json.loads((out / "import.json").read_text())
    assert params["parameters"]["min_size_vx"] == 100
    assert params["parameters"]["threshold"] == 0.5
    assert params["components_too_small"] == 1 and params["components_too_large"] == 1
    assert not list(tmp_path.glob(".out.partial-*"))


def test_cleft_layer_reads_back_with_cloudvolume_and_tensorstore(
    blob_map: Path, tmp_path: Path
) -> None:
    from cloudvolume import CloudVolume

    out = tmp_path / "out"
    run_import(ImportRequest(str(blob_map), out, DetectionParameters(0.5, None, 100, 1000),
                             budget_bytes=1 << 20))  # fmt: skip
    expected = np.zeros(SHAPE, np.uint32)
    for new_id, k in enumerate((1, 2, 4), start=1):
        x, y, z, sx, sy, sz = BLOBS[k]
        expected[x : x + sx, y : y + sy, z : z + sz] = new_id
    volume = CloudVolume((out / "target").as_uri(), progress=False)
    assert volume.info["type"] == "segmentation" and list(volume.voxel_offset) == [100, 200, 10]
    assert np.array_equal(np.asarray(volume[:, :, :])[..., 0], expected)
    ts = pytest.importorskip("tensorstore")
    store = ts.open({"driver": "neuroglancer_precomputed",
                     "kvstore": (out / "target").as_uri() + "/"}).result()  # fmt: skip
    assert np.array_equal(np.asarray(store[ts.d["channel"][0]].read().result()), expected)


def test_hysteresis_keeps_only_seeded_components(tmp_path: Path) -> None:
    prob = np.zeros(SHAPE, np.float32)
    prob[2:12, 2:12, 2:4] = 0.5  # 200 voxels, none above 0.8
    prob[40:50, 40:50, 2:4] = 0.5
    prob[45, 45, 3] = 0.9  # one seed
    write_volume(tmp_path / "map", prob, RES, CHUNK, "image")
    assert _cli("--map", str(tmp_path / "map"), "--out", str(tmp_path / "out"),
                "--hysteresis", "0.3,0.8", "--min-size", "10") == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "out" / "synapses.csv")
    assert table["size_vx"].tolist() == [200] and table["bbox_x0"].tolist() == [40]


def test_hdf5_map_gives_the_same_table_as_precomputed(blob_map: Path, tmp_path: Path) -> None:
    import h5py

    with h5py.File(tmp_path / "map.h5", "w") as handle:  # ilastik layout: z, y, x, channel
        stack = np.stack([1 - _map(), _map()], axis=-1).transpose(2, 1, 0, 3)
        handle.create_dataset("exported_data", data=stack, chunks=(8, 32, 32, 2))
    assert _cli("--map", str(tmp_path / "map.h5"), "--out", str(tmp_path / "h5"),
                "--resolution", "8,8,40", "--channel", "1", "--min-size", "100",
                "--max-size", "1000") == 0  # fmt: skip
    assert _cli("--map", str(blob_map), "--out", str(tmp_path / "pc"), "--min-size", "100",
                "--max-size", "1000") == 0  # fmt: skip
    from_h5 = pd.read_csv(tmp_path / "h5" / "synapses.csv")
    from_pc = pd.read_csv(tmp_path / "pc" / "synapses.csv")
    assert from_h5["size_vx"].tolist() == from_pc["size_vx"].tolist() == SIZES_KEPT
    assert (from_pc["x"] - from_h5["x"]).tolist() == [100, 100, 100]  # the precomputed offset


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    out = tmp_path / "bad-out"
    code = _cli(*args, "--out", str(out))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert not out.exists() and not list(tmp_path.glob(".bad-out.partial-*"))
    assert err and err[-1].startswith("error: ")
    return err[-1]


def test_bad_inputs_name_the_problem_and_leave_nothing(
    blob_map: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_info
) -> None:  # type: ignore[no-untyped-def]
    write_volume(tmp_path / "int16", np.zeros((8, 8, 8), np.int16), RES, (8, 8, 8))
    message = _bad(tmp_path, capsys, "--map", str(tmp_path / "int16"))
    assert "int16" in message and "probability map" in message
    message = _bad(tmp_path, capsys, "--map", str(blob_map), "--threshold", "0.95")
    assert "not below the map's largest value 0.8" in message
    message = _bad(tmp_path, capsys, "--map", str(blob_map), "--threshold", "1.5")
    assert "outside the range" in message
    message = _bad(tmp_path, capsys, "--map", str(blob_map), "--min-size", "5000",
                   "--max-size", "9000")  # fmt: skip
    assert "No synapse is left" in message and "5 components of 99-1001 voxels" in message
    message = _bad(tmp_path, capsys, "--map", str(blob_map), "--source", demo_info.source_url)
    assert "not the same volume" in message
    write_volume(tmp_path / "past", _map(), RES, CHUNK, "image", (450, 0, 50))  # x to 546
    message = _bad(tmp_path, capsys, "--map", str(tmp_path / "past"), "--neuropil",
                   demo_info.neuropil_url)  # fmt: skip
    assert "does not cover the map" in message
    message = _bad(tmp_path, capsys, "--map", str(blob_map), "--resolution", "4,4,40")
    assert "differs from the map's info" in message
    message = _bad(tmp_path, capsys, "--map", str(blob_map), "--hysteresis", "0.8,0.3")
    assert "LOW must be below HIGH" in message
    message = _bad(tmp_path, capsys, "--map", str(tmp_path / "nowhere"))
    assert "does not exist" in message
    (tmp_path / "bad-out").mkdir()
    (tmp_path / "bad-out" / "keep.txt").write_text("x")
    assert _cli("--map", str(blob_map), "--out", str(tmp_path / "bad-out")) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert (tmp_path / "bad-out" / "keep.txt").read_text() == "x"


def test_a_map_above_the_voxel_limit_is_refused_before_any_read(
    blob_map: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from synanno_dash.data.prediction_import import PredictionImportError, check_map_size
    from synanno_dash.data.prediction_maps import open_map

    size_vx = int(np.prod(SHAPE))
    opened = open_map(str(blob_map), None, None, None)
    reads: list[object] = []
    unread = type(opened)(opened.url, opened.resolution, opened.bounds_vx, opened.chunk_xyz_vx,
                          opened.dtype, lambda box: reads.append(box))  # type: ignore[arg-type,return-value]  # fmt: skip
    check_map_size(unread, size_vx)  # exactly at the limit: accepted
    with pytest.raises(PredictionImportError) as refused:
        check_map_size(unread, size_vx - 1)
    assert f"{size_vx:,} voxels (96 x 80 x 24)" in str(refused.value)
    assert f"at most {size_vx - 1:,} voxels" in str(refused.value) and reads == []
    # The command line applies the limit only when SYNANNO_MAX_IMPORT_VOXELS is set.
    monkeypatch.setenv("SYNANNO_MAX_IMPORT_VOXELS", str(size_vx - 1))
    message = _bad(tmp_path, capsys, "--map", str(blob_map), "--min-size", "100")
    assert f"has {size_vx:,} voxels" in message and "SYNANNO_MAX_IMPORT_VOXELS" in message
    monkeypatch.delenv("SYNANNO_MAX_IMPORT_VOXELS")
    out = tmp_path / "unlimited"
    assert _cli("--map", str(blob_map), "--out", str(out), "--min-size", "100",
                "--max-size", "1000") == 0  # fmt: skip
    assert len(pd.read_csv(out / "synapses.csv")) == len(SIZES_KEPT)
