"""``import-predictions`` on TIFF stacks and zarr/N5 arrays (``data.map_readers``): the blob
map of ``test_prediction_import`` written with tifffile and with tensorstore (independent
writers), imported in small blocks, gives exactly the same components, sizes and cleft ids as
the precomputed map; bad files get one line and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synanno_dash.cli import main
from tests.data.test_prediction_import import BLOBS, SHAPE, SIZES_KEPT, _map

RES = "8,8,40"


def _import(map_path: str, out: Path, *extra: str) -> int:
    return main(["import-predictions", "--map", map_path, "--out", str(out), "--resolution",
                 RES, "--min-size", "100", "--max-size", "1000", "--memory-mib", "1",
                 *extra])  # fmt: skip


def _check(out: Path) -> None:
    from cloudvolume import CloudVolume

    table = pd.read_csv(out / "synapses.csv")
    assert table["size_vx"].tolist() == SIZES_KEPT
    assert table["confidence"].round(4).tolist() == [0.65, 0.7, 0.8]
    ids = np.asarray(CloudVolume((out / "target").as_uri(), progress=False)[:, :, :])[..., 0]
    assert ids.shape == SHAPE
    for k, blob in zip((1, 2, 4), range(1, 4), strict=True):
        x, y, z, sx, sy, sz = BLOBS[k]
        assert (ids[x : x + sx, y : y + sy, z : z + sz] == blob).all()
    assert int((ids > 0).sum()) == sum(SIZES_KEPT)


def _zyx(values_xyz: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values_xyz.transpose(2, 1, 0))


def test_tiff_stack_gives_the_exact_components(tmp_path: Path) -> None:
    import tifffile

    path = tmp_path / "prob.tif"
    tifffile.imwrite(path, _zyx(_map()))  # one page per z slice
    assert _import(str(path), tmp_path / "out") == 0
    _check(tmp_path / "out")


def test_uint8_tiff_is_scaled_and_checked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    import tifffile

    path = tmp_path / "prob8.tif"
    tifffile.imwrite(path, np.round(_zyx(_map()) * 255).astype(np.uint8))
    assert _import(str(path), tmp_path / "bad", "--threshold", "300") == 2
    assert "outside the range" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    assert _import(str(path), tmp_path / "out", "--threshold", "127") == 0
    assert pd.read_csv(tmp_path / "out" / "synapses.csv")["size_vx"].tolist() == SIZES_KEPT


@pytest.mark.parametrize("driver, name", [("zarr", "prob.zarr"), ("zarr3", "prob3.zarr"),
                                          ("n5", "prob.n5")])  # fmt: skip
def test_zarr_and_n5_arrays_give_the_exact_components(
    tmp_path: Path, driver: str, name: str
) -> None:
    import tensorstore as ts

    data = _zyx(_map())
    spec = {"driver": driver, "kvstore": {"driver": "file", "path": str(tmp_path / name)}}
    store = ts.open(
        spec, create=True, dtype=ts.float32, shape=data.shape,
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[8, 32, 32]),
    ).result()  # fmt: skip
    store.write(data).result()
    assert _import(str(tmp_path / name), tmp_path / "out") == 0
    _check(tmp_path / "out")


def test_a_channel_of_a_4d_zarr_is_picked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    import tensorstore as ts

    data = np.stack([np.zeros(SHAPE[::-1], np.float32), _zyx(_map())])  # c, z, y, x
    path = tmp_path / "two.zarr"
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}}
    ts.open(spec, create=True, dtype=ts.float32, shape=data.shape).result().write(data).result()
    assert _import(str(path), tmp_path / "none") == 2
    assert "has 2 channels" in capsys.readouterr().err
    assert _import(str(path), tmp_path / "out", "--channel", "1") == 0
    _check(tmp_path / "out")


def test_bad_files_are_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    import tifffile

    (tmp_path / "empty.zarr").mkdir()
    assert _import(str(tmp_path / "empty.zarr"), tmp_path / "o1") == 2
    assert "holds no zarr or N5 array" in capsys.readouterr().err
    (tmp_path / "text.tif").write_text("not a tiff")
    assert _import(str(tmp_path / "text.tif"), tmp_path / "o2") == 2
    assert "not a readable TIFF" in capsys.readouterr().err
    tifffile.imwrite(
        tmp_path / "signed.tif", np.zeros((5, 8, 8), np.int16), photometric="minisblack"
    )
    assert _import(str(tmp_path / "signed.tif"), tmp_path / "o3") == 2
    assert "int16 voxels" in capsys.readouterr().err
    assert main(["import-predictions", "--map", str(tmp_path / "signed.tif"), "--out",
                 str(tmp_path / "o4")]) == 2  # fmt: skip
    assert "carries no voxel size" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.zarr", "signed.tif", "text.tif"]
